"""`cnidoctor serve BUNDLE`: a local, read-only Kubernetes API for a bundle, so kubectl can browse it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer


def serve(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Bundle folder, .tar.gz or `kubectl cluster-info dump`; node bundles may follow.", show_default=False
        ),
    ],
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1 (0 = a free one).")] = 0,
    role: Annotated[
        Path | None, typer.Option("--role", help="Enforce this ClusterRole file (e.g. deploy/rbac.yaml).")
    ] = None,
    fault: Annotated[
        list[str] | None,
        typer.Option("--fault", help="Inject a fault: KIND:RESOURCE[:opts], e.g. 403:pods, 429:nodes:retry_after=2."),
    ] = None,
    kubeconfig_out: Annotated[
        Path | None, typer.Option("--write-kubeconfig", help="Also write the kubeconfig to this file.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No request log on stderr.")] = False,
) -> None:
    """Serve a bundle as a Kubernetes API on 127.0.0.1 and print a kubeconfig for it (Ctrl-C stops)."""
    import threading

    from cnidoctor.apiserver.faults import parse_fault
    from cnidoctor.apiserver.rbac import load_rules
    from cnidoctor.apiserver.server import LocalApiServer, Request
    from cnidoctor.bundle.reader import Bundle
    from cnidoctor.errors import UsageError

    faults = [parse_fault(f) for f in fault or []]
    rules = load_rules(role) if role else None
    bundle = Bundle.open(paths)

    def log(req: Request) -> None:
        q = "&".join(f"{k}={v}" for k, v in req.query.items())
        print(
            f"{req.method} {req.path}{'?' + q if q else ''} {req.status} {req.seconds * 1000:.0f}ms",
            file=sys.stderr,
            flush=True,
        )

    try:
        server = LocalApiServer(bundle, rules=rules, faults=faults, port=port, on_request=None if quiet else log)
    except OSError as exc:
        raise UsageError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    config = server.kubeconfig()
    if kubeconfig_out:
        kubeconfig_out.write_text(config, encoding="utf-8")
    sys.stdout.write(config)
    sys.stdout.flush()
    hint = f"--kubeconfig {kubeconfig_out}" if kubeconfig_out else "--kubeconfig <the YAML above saved to a file>"
    print(
        f"serving {bundle.source} at {server.url} (read-only); try: kubectl {hint} get pods -A",
        file=sys.stderr,
        flush=True,
    )
    server.start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
