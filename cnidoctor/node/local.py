"""`cnidoctor node`: collect this node's state into a small bundle (`nodes/<node>/` plus a manifest).

Run it on the node (over SSH, from a DaemonSet, or by hand); `cnidoctor analyze cluster.tar.gz
node-*.tar.gz` lays the node bundles over a cluster bundle.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from cnidoctor import __version__
from cnidoctor.bundle import layout
from cnidoctor.bundle.writer import BundleWriter, UnsafePath
from cnidoctor.model import Gap
from cnidoctor.node.gather import NodeRecord, gather_node_state
from cnidoctor.node.plan import Budget, NodePaths
from cnidoctor.node.runner import CommandRunner, LocalRunner


class NodeBundleSink:
    """A `Sink` over a BundleWriter: files are redacted as written, gaps kept for the manifest."""

    def __init__(self, writer: BundleWriter) -> None:
        self.writer = writer
        self.gaps: list[Gap] = []

    def write_text(self, path: str, data: bytes) -> None:
        try:
            self.writer.write_text(path, data)
        except UnsafePath as exc:
            self.gap(path[:200], str(exc))

    def gap(self, path: str, reason: str) -> None:
        self.gaps.append(Gap(path, reason, "node"))


@dataclass
class NodeCollectResult:
    path: Path
    record: NodeRecord
    gaps: list[Gap] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)


def default_node_name() -> str:
    """The short host name (Kubernetes node names are usually the host name, not the FQDN)."""
    return socket.gethostname().split(".")[0] or "node"


def node_manifest(
    records: list[NodeRecord], gaps: list[Gap], created: datetime, elapsed: float, collector: str
) -> dict:
    """manifest.json of a node bundle (docs/bundle-format.md, docs/node-state.md)."""
    return {
        "format_version": layout.FORMAT_VERSION,
        "cnidoctor_version": __version__,
        "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "elapsed_seconds": round(elapsed, 3),
        "collectors": [{"name": collector, "status": "ok" if not gaps else "partial", "seconds": round(elapsed, 3)}],
        "nodes": {r.node: r.to_dict() for r in records},
        "gaps": [g.to_dict() for g in gaps],
    }


def collect_local_node(
    dest: Path,
    node: str,
    *,
    paths: NodePaths | None = None,
    budget: Budget | None = None,
    skip: frozenset[str] = frozenset(),
    runner: CommandRunner | None = None,
) -> NodeCollectResult:
    """Run the node plan here (or through RUNNER) and publish DEST (a folder or .tar.gz)."""
    safe = layout.node_file(node, "x")
    try:
        from cnidoctor.bundle.writer import safe_relpath

        safe_relpath(safe)
    except UnsafePath:
        from cnidoctor.errors import UsageError

        raise UsageError(f"--node-name {node!r}: not a valid node name") from None
    writer = BundleWriter(dest)
    sink = NodeBundleSink(writer)
    created = datetime.now(timezone.utc)
    started = time.monotonic()
    try:
        record = gather_node_state(runner or LocalRunner(), node, sink, paths=paths, budget=budget, skip=skip)
        record.attempts.append({"method": record.method, "where": record.where, "outcome": "collected"})
        manifest = node_manifest([record], sink.gaps, created, time.monotonic() - started, "node")
        path = writer.finish(manifest)
    except BaseException:
        writer.abort()
        raise
    return NodeCollectResult(path, record, sink.gaps, manifest)
