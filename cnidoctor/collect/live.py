"""One call from the commands to a bundle on disk: resolve the cluster, run the collectors, write."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cnidoctor.bundle.writer import BundleWriter
from cnidoctor.collect.nodes.collector import live_collectors
from cnidoctor.collect.progress import Progress
from cnidoctor.collect.registry import load_collectors
from cnidoctor.collect.runner import CollectResult, Runner
from cnidoctor.collect.session import CollectOptions
from cnidoctor.kube.client import KubeClient
from cnidoctor.kube.config import load_target


@dataclass
class Connection:
    kubeconfig: str | None = None
    context: str | None = None
    request_timeout: float = 30.0
    qps: float = 50.0
    burst: int = 100


def collect_to(dest: Path, conn: Connection, options: CollectOptions, progress: Progress) -> CollectResult:
    """Collect from the cluster of CONN into DEST (a folder or .tar.gz)."""
    target = load_target(conn.kubeconfig, conn.context)
    writer = BundleWriter(dest)
    client = KubeClient(
        target, qps=conn.qps, burst=conn.burst, request_timeout=conn.request_timeout, pool_size=options.workers
    )
    collectors, load_errors = load_collectors()
    collectors += live_collectors(options)  # node state, only with --exec / --node-probe
    if options.node_probe:  # SIGTERM/SIGHUP handlers can only be set here, in the main thread: probes are
        from cnidoctor.collect.nodes.probe import install_cleanup  # created in workers

        install_cleanup()
    try:
        runner = Runner(
            client,
            writer,
            options,
            collectors,
            context=target.context,
            server=target.server,
            progress=progress,
            load_errors=load_errors,
        )
        return runner.run()
    except BaseException:
        writer.abort()
        progress.stop()
        raise
    finally:
        client.close()
