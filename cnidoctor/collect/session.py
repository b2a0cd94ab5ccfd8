"""The state of one collection: options, what has been collected so far, the writer, the gaps."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

from cnidoctor.bundle import layout
from cnidoctor.bundle.writer import BundleWriter, UnsafePath
from cnidoctor.kube.resources import ResourceKind
from cnidoctor.model import Gap

# Namespaces where CNI agents, kube-proxy and coredns usually live.
SYSTEM_NAMESPACES = (
    "kube-system",
    "kube-flannel",
    "calico-system",
    "tigera-operator",
    "calico-apiserver",
    "cilium",
    "cilium-system",
    "kube-multus",
)


@dataclass
class LogScope:
    """Pods whose logs a check reads (full-match regexes; None = any)."""

    namespace: re.Pattern[str] | None = None
    pod: re.Pattern[str] | None = None

    def accepts(self, namespace: str, pod: str) -> bool:
        return (self.namespace is None or bool(self.namespace.fullmatch(namespace))) and (
            self.pod is None or bool(self.pod.fullmatch(pod))
        )


@dataclass
class CollectOptions:
    namespace: str | None = None  # -n: namespaced lists for this namespace plus the system ones
    nodes: list[str] = field(default_factory=list)  # --nodes: logs only from pods on these nodes
    since_seconds: int = 6 * 3600  # 0 = whole logs
    max_log_bytes: int = 5 << 20
    workers: int = 16
    timeout: float = 120.0
    log_scopes: list[LogScope] = field(default_factory=list)
    small_cluster_nodes: int = 20  # above this, agent logs only from suspect nodes plus a sample
    healthy_sample: int = 3
    app_log_pods: int = 40  # application pods (outside the system namespaces) whose logs are read, at most
    node_exec: bool = False  # --exec: node state by exec into each node's CNI agent pod (needs pods/exec)
    node_probe: str | None = None  # --node-probe IMAGE: else a privileged probe pod (needs pods create/delete)
    node_probe_namespace: str = "kube-system"


def trim(obj: dict) -> dict:
    """Drop `metadata.managedFields`: bookkeeping of field owners, large and never evidence."""
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    return obj


class Session:
    """Shared, thread-safe state; once closed (deadline passed) late results are dropped."""

    def __init__(self, writer: BundleWriter, options: CollectOptions) -> None:
        self.writer = writer
        self.options = options
        self._lock = threading.Lock()
        self.closed = False
        self.objects: dict[str, list[dict]] = {}
        self.namespaces: list[str] | None = None
        self.api_groups: dict[str, str] = {}  # group -> preferred version
        self.served: dict[tuple[str, str], ResourceKind] = {}  # discovered resources of the CNI groups
        self.crds: list[dict] = []
        self.version: dict = {}
        self.cnis: list[str] = []
        self.gaps: list[Gap] = []
        self.log_streams = 0
        self._pending: list[tuple[ResourceKind, dict]] = []

    # -- results ----------------------------------------------------------------------------------
    def gap(self, path: str, reason: str) -> None:
        with self._lock:
            self.gaps.append(Gap(path, reason, "collect"))

    def write_json(self, path: str, doc: object, force: bool = False) -> None:
        with self._lock:
            if self.closed and not force:
                return
        try:
            self.writer.write_json(path, doc)
        except UnsafePath as exc:
            self.gap(path[:200], str(exc))

    def write_text(self, path: str, data: bytes) -> None:
        with self._lock:
            if self.closed:
                return
        try:
            self.writer.write_text(path, data)
        except UnsafePath as exc:
            self.gap(path[:200], str(exc))

    def keep_list(self, kind: ResourceKind, doc: dict) -> None:
        """Remember a List; cluster-scoped ones are written now, namespaced ones split at phase end."""
        items = [trim(i) for i in doc.get("items") or [] if isinstance(i, dict)]
        doc["items"] = items
        with self._lock:
            if self.closed:
                return
            self.objects.setdefault(kind.plural if not kind.cni else kind.group_resource, []).extend(items)
        if kind.namespaced:
            with self._lock:
                self._pending.append((kind, doc))
        else:
            self.write_json(layout.cluster_list(kind.file_stem), doc)

    def items(self, plural: str) -> list[dict]:
        with self._lock:
            return list(self.objects.get(plural, []))

    def flush_namespaced(self, force: bool = False) -> None:
        """Write `<ns>/<resource>.json` for every namespace (empty lists too, as cluster-info dump does)."""
        with self._lock:
            pending, self._pending = self._pending, []
            known = list(self.namespaces or [])
        seen = {
            str((i.get("metadata") or {}).get("namespace"))
            for _, d in pending
            for i in d.get("items") or []
            if isinstance(i, dict) and (i.get("metadata") or {}).get("namespace")
        }
        namespaces = sorted(set(known) | seen)
        if self.options.namespace:
            allowed = {self.options.namespace, *SYSTEM_NAMESPACES}
            namespaces = [ns for ns in namespaces if ns in allowed]
        merged: dict[ResourceKind, dict] = {}
        for kind, doc in pending:  # with -n a kind arrives as one List per namespace
            if kind in merged:
                merged[kind]["items"] = list(merged[kind].get("items") or []) + list(doc.get("items") or [])
            else:
                merged[kind] = dict(doc)
        for kind, doc in merged.items():
            by_ns: dict[str, list[dict]] = {ns: [] for ns in namespaces}
            for item in doc.get("items") or []:
                ns = (item.get("metadata") or {}).get("namespace") if isinstance(item, dict) else None
                if isinstance(ns, str) and ns in by_ns:
                    by_ns[ns].append(item)
            meta = {k: v for k, v in (doc.get("metadata") or {}).items() if k == "resourceVersion"}
            for ns, items in by_ns.items():
                self.write_json(
                    layout.namespaced_list(ns, kind.file_stem),
                    {"kind": doc.get("kind"), "apiVersion": doc.get("apiVersion"), "metadata": meta, "items": items},
                    force=force,
                )

    def close(self) -> None:
        with self._lock:
            self.closed = True

    @property
    def list_namespaces(self) -> list[str | None]:
        """Namespaces to list namespaced kinds in: all at once, or -n plus the system namespaces."""
        if not self.options.namespace:
            return [None]
        existing = set(self.namespaces) if self.namespaces is not None else set(SYSTEM_NAMESPACES)
        return sorted({self.options.namespace} | (set(SYSTEM_NAMESPACES) & existing))
