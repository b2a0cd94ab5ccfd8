"""`cnidoctor scan`: collect from the live cluster, analyse that bundle, report (as `analyze` does)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from cnidoctor.cli.common import FailOn, OutputFormat, emit, exit_code, require_checks, split_ids
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
    catalog_log_scopes,
    collect_settings,
    require_evidence,
)


def scan(
    node_bundles: Annotated[
        list[Path] | None,
        typer.Argument(help="Node bundles (from `cnidoctor node`) to merge, as `analyze` does.", show_default=False),
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
    save_bundle: Annotated[
        Path | None, typer.Option("--save-bundle", help="Keep the collected bundle (folder or .tar.gz).")
    ] = None,
    format: Annotated[OutputFormat, typer.Option("--format", "-f", help="Report format.")] = OutputFormat.terminal,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to a file.")] = None,
    select: Annotated[list[str] | None, typer.Option(help="Only checks with these IDs or ID prefixes.")] = None,
    ignore: Annotated[list[str] | None, typer.Option(help="Skip checks with these IDs or ID prefixes.")] = None,
    fail_on: Annotated[FailOn, typer.Option(help="Lowest severity that makes the exit code non-zero.")] = (
        FailOn.warning
    ),
    checks_dir: Annotated[
        list[Path] | None, typer.Option("--checks-dir", help="Extra folder of checks (repeatable).")
    ] = None,
    quiet: QuietOpt = False,
    width: Annotated[int | None, typer.Option(help="Terminal report width.", hidden=True)] = None,
) -> None:
    """Diagnose the live cluster: collect, analyse, report (same formats and exit codes as analyze)."""
    from cnidoctor.bundle.reader import Bundle
    from cnidoctor.catalog.loader import load_catalog
    from cnidoctor.collect.live import collect_to
    from cnidoctor.collect.progress import Progress
    from cnidoctor.diagnose.engine import diagnose, select_checks

    catalog = select_checks(load_catalog(checks_dir), split_ids(select), split_ids(ignore))
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
        log_scopes=catalog_log_scopes(catalog),
    )
    for p in node_bundles or []:
        if not p.exists():
            from cnidoctor.errors import BundleError

            raise BundleError(f"{p}: no such file or directory")
    tmp = None
    if save_bundle is None:
        tmp = Path(tempfile.mkdtemp(prefix="cnidoctor-scan-"))
        dest = tmp / "bundle"
    else:
        dest = save_bundle
    try:
        progress = Progress(quiet)
        result = collect_to(dest, conn, options, progress)
        progress.message(
            f"collect: {result.requests} API requests, {len(result.gaps)} gap(s), "
            f"{result.elapsed:.1f}s{'; timed out, analysing what was collected' if result.timed_out else ''}"
        )
        bundle = Bundle.open([result.path, *(node_bundles or [])])
        diagnosis = diagnose(bundle, catalog)
        cluster = result.manifest.get("cluster") or {}
        diagnosis.source = f"live scan of context {cluster.get('context')} ({cluster.get('server')})"
        if save_bundle is not None:
            progress.message(f"bundle saved to {result.path}")
        emit(diagnosis, format, output, width)
        require_evidence(bundle, result.gaps, cluster.get("server"))
        require_checks(diagnosis)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    raise typer.Exit(int(exit_code(diagnosis, fail_on)))
