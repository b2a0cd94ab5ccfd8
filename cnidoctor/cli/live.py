"""Live commands (`scan`, `collect`, `serve`): registration and the options they share.

Nothing here imports the `kubernetes` client: the commands import it inside their bodies, so
`cnidoctor --help` and `cnidoctor analyze` stay fast.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cnidoctor.errors import NothingCollected, UsageError

if TYPE_CHECKING:
    from cnidoctor.bundle.reader import Bundle

KubeconfigOpt = Annotated[
    str | None, typer.Option("--kubeconfig", help="Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster).")
]
ContextOpt = Annotated[str | None, typer.Option("--context", help="Kubeconfig context to use.")]
NamespaceOpt = Annotated[
    str | None,
    typer.Option("--namespace", "-n", help="Focus on one namespace (plus the system namespaces); default: all."),
]
NodesOpt = Annotated[list[str] | None, typer.Option("--nodes", help="Only logs from pods on these nodes (a,b,...).")]
SinceOpt = Annotated[str, typer.Option("--since", help="Logs newer than this (30m, 6h, 1d; 0 = whole logs).")]
MaxLogOpt = Annotated[str, typer.Option("--max-log-bytes", help="Cap per container log (5MiB, 512KiB, 0 = none).")]
TimeoutOpt = Annotated[str, typer.Option("--timeout", help="Global collection timeout; ends with a partial bundle.")]
RequestTimeoutOpt = Annotated[str, typer.Option("--request-timeout", help="Timeout of each API request.")]
WorkersOpt = Annotated[int, typer.Option("--workers", min=1, max=256, help="Concurrent API requests.")]
QpsOpt = Annotated[float, typer.Option("--qps", min=0.1, help="Client-side rate limit (requests per second).")]
BurstOpt = Annotated[int, typer.Option("--burst", min=1, help="Rate-limit burst.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")]
ExecOpt = Annotated[
    bool, typer.Option("--exec", help="Node state (routes, iptables, sysctls, CNI files) via exec into CNI agent pods.")
]
NodeProbeOpt = Annotated[
    str | None,
    typer.Option("--node-probe", help="Else a short-lived privileged pod of IMAGE per node (deleted after)."),
]
NodeProbeNamespaceOpt = Annotated[str, typer.Option("--node-probe-namespace", help="Namespace of the probe pods.")]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$", re.I)
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZES = {
    None: 1,
    "b": 1,
    "k": 1024,
    "kb": 1000,
    "kib": 1024,
    "m": 1 << 20,
    "mb": 10**6,
    "mib": 1 << 20,
    "g": 1 << 30,
    "gb": 10**9,
    "gib": 1 << 30,
}


def parse_duration(value: str, flag: str) -> float:
    """`90`, `90s`, `30m`, `1h30m`, `2d` → seconds."""
    text = value.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise UsageError(f"{flag} {value!r}: not a duration", hint="use e.g. 90s, 30m, 6h, 1d")
    return sum(float(n) * _UNITS[u] for n, u in parts)


def parse_size(value: str, flag: str) -> int:
    m = _SIZE.match(value.strip())
    if not m:
        raise UsageError(f"{flag} {value!r}: not a size", hint="use e.g. 5MiB, 512KiB, 1000000")
    return int(float(m.group(1)) * _SIZES[m.group(2).lower() if m.group(2) else None])


def split_nodes(values: list[str] | None) -> list[str]:
    return [n.strip() for v in values or [] for n in v.split(",") if n.strip()]


def register(app: typer.Typer) -> None:
    from cnidoctor.cli import collect, scan, serve

    app.command("scan")(scan.scan)
    app.command("collect")(collect.collect)
    app.command("serve")(serve.serve)


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def default_output(context: str | None) -> Path:
    import time

    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", context or "cluster").strip("-") or "cluster"
    return Path(f"cnidoctor-{name}-{time.strftime('%Y%m%d-%H%M%S')}.tar.gz")


def collect_settings(
    *,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    nodes: list[str] | None,
    since: str,
    max_log_bytes: str,
    timeout: str,
    request_timeout: str,
    workers: int,
    qps: float,
    burst: int,
    log_scopes: list | None = None,
    node_exec: bool = False,
    node_probe: str | None = None,
    node_probe_namespace: str = "kube-system",
):  # noqa: ANN201 - returns (Connection, CollectOptions); typed where the classes are importable
    """The connection and collection options of a live command (imports no client code)."""
    from cnidoctor.collect.live import Connection
    from cnidoctor.collect.session import CollectOptions

    secs = parse_duration(timeout, "--timeout")
    if secs <= 0:
        raise UsageError("--timeout must be positive")
    conn = Connection(kubeconfig, context, max(0.1, parse_duration(request_timeout, "--request-timeout")), qps, burst)
    options = CollectOptions(
        namespace=namespace,
        nodes=split_nodes(nodes),
        since_seconds=int(parse_duration(since, "--since")),
        max_log_bytes=parse_size(max_log_bytes, "--max-log-bytes"),
        workers=workers,
        timeout=secs,
        log_scopes=list(log_scopes or []),
        node_exec=node_exec,
        node_probe=node_probe or None,
        node_probe_namespace=node_probe_namespace,
    )
    return conn, options


def catalog_log_scopes(catalog: list) -> list:
    """The pods whose logs the catalog's log matchers read (scoped ones only: no scope means agents only)."""
    from cnidoctor.collect.session import LogScope
    from cnidoctor.diagnose.templates import compiled_params

    scopes = []
    for check in catalog:
        for group, specs in (("match", check.match), ("unless", check.unless)):
            for i, spec in enumerate(specs):
                if spec.template != "log":
                    continue
                scope = getattr(compiled_params(check, group, i), "scope", None)
                if scope is not None and (scope.namespace is not None or scope.pod is not None):
                    scopes.append(LogScope(scope.namespace, scope.pod))
    return scopes


def installed_catalog_scopes() -> list:
    """Log scopes of the installed catalog; a catalog that does not load leaves agents' logs only."""
    from cnidoctor.catalog.loader import load_catalog
    from cnidoctor.errors import CatalogError

    try:
        return catalog_log_scopes(load_catalog())
    except CatalogError:
        return []


def require_evidence(bundle: Bundle, gaps: list, server: str | None) -> None:
    """Raise NothingCollected when a collection got no API object, log or node state (exit 2, not 'healthy')."""
    for path in bundle.paths():
        if path.startswith("nodes/") or (path.startswith("cluster/") and not path.endswith(".json")):
            return
        if path.startswith("cluster/") and bundle.items(path):
            return
    first = f"; first: {gaps[0].path}: {gaps[0].reason}" if gaps else ""
    raise NothingCollected(
        f"nothing was collected from {server or 'the cluster'} ({len(gaps)} gap(s){first})",
        hint="the report and the bundle's manifest list every gap; check the RBAC rules in deploy/rbac.yaml",
    )
