"""`cnidoctor collect -o PATH.tar.gz`: write a redacted support bundle from the live cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cnidoctor.cli.live import (
    BurstOpt,
    ContextOpt,
    ExecOpt,
    KubeconfigOpt,
    MaxLogOpt,
    NamespaceOpt,
    NodeProbeNamespaceOpt,
    NodeProbeOpt,
    NodesOpt,
    QpsOpt,
    QuietOpt,
    RequestTimeoutOpt,
    SinceOpt,
    TimeoutOpt,
    WorkersOpt,
    collect_settings,
    default_output,
    human_size,
    installed_catalog_scopes,
    require_evidence,
)


def collect(
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Bundle to write: PATH.tar.gz, or a new folder. Default: cnidoctor-<context>-<time>.tar.gz",
        ),
    ] = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    namespace: NamespaceOpt = None,
    nodes: NodesOpt = None,
    since: SinceOpt = "6h",
    max_log_bytes: MaxLogOpt = "5MiB",
    timeout: TimeoutOpt = "120s",
    request_timeout: RequestTimeoutOpt = "30s",
    workers: WorkersOpt = 16,
    qps: QpsOpt = 50.0,
    burst: BurstOpt = 100,
    node_exec: ExecOpt = False,
    node_probe: NodeProbeOpt = None,
    node_probe_namespace: NodeProbeNamespaceOpt = "kube-system",
    quiet: QuietOpt = False,
) -> None:
    """Collect a support bundle (API objects, CNI resources, agent logs; secrets redacted)."""
    from cnidoctor.bundle.reader import Bundle
    from cnidoctor.collect.live import collect_to
    from cnidoctor.collect.progress import Progress

    conn, options = collect_settings(
        kubeconfig=kubeconfig,
        context=context,
        namespace=namespace,
        nodes=nodes,
        since=since,
        max_log_bytes=max_log_bytes,
        timeout=timeout,
        request_timeout=request_timeout,
        workers=workers,
        qps=qps,
        burst=burst,
        node_exec=node_exec,
        node_probe=node_probe,
        node_probe_namespace=node_probe_namespace,
        log_scopes=installed_catalog_scopes(),
    )
    dest = output or default_output(context)
    result = collect_to(dest, conn, options, Progress(quiet))
    redacted = sum(r["count"] for r in result.manifest.get("redactions", []))
    typer.echo(f"{result.path} {human_size(result.size)}")
    if not quiet:
        typer.echo(
            f"collect: {result.requests} API requests in {result.elapsed:.1f}s, {len(result.gaps)} gap(s), "
            f"{redacted} value(s) redacted{', timed out (partial bundle)' if result.timed_out else ''}; "
            f"analyse with: cnidoctor analyze {result.path}",
            err=True,
        )
    require_evidence(Bundle.open([result.path]), result.gaps, (result.manifest.get("cluster") or {}).get("server"))
