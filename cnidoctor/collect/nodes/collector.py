"""The node-state collector for `scan`/`collect --exec [--node-probe IMAGE]`.

Opt-in: it needs `pods/exec` (and, for probes, pod create/delete), which the read-only default
ClusterRole does not grant, so without the flags it collects nothing and records a gap saying so.
It plugs into the live runner as a collector (one task per node, after the inventory) and leaves each
node's `NodeRecord` in `records` for the manifest's `nodes` section (`manifest_nodes`).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from cnidoctor.bundle import layout
from cnidoctor.collect.base import Access, Phase, Task
from cnidoctor.collect.nodes.fallback import NodeStateOptions, collect_one_node, iter_node_names
from cnidoctor.node.agents import agents_by_node
from cnidoctor.node.gather import NodeRecord
from cnidoctor.node.plan import Budget

if TYPE_CHECKING:
    from cnidoctor.collect.session import Session
    from cnidoctor.kube.client import KubeClient

NOT_ENABLED = (
    "node state (routes, iptables, sysctls, CNI files) not collected: the read-only default does not "
    "exec into pods; pass --exec (needs pods/exec) and/or --node-probe IMAGE (needs pod create/delete), "
    "or run `cnidoctor node -o DIR` on each node and merge its bundle"
)


def node_state_options(session: Session) -> NodeStateOptions:
    """The node-state options of a live collection (CollectOptions fields `node_exec`, `node_probe`...)."""
    o = session.options
    budget = Budget(
        command_timeout=float(getattr(o, "node_command_timeout", 30.0)),
        node_timeout=float(getattr(o, "node_timeout", min(300.0, max(30.0, o.timeout * 0.8)))),
    )
    return NodeStateOptions(
        exec=bool(getattr(o, "node_exec", False)),
        probe_image=getattr(o, "node_probe", None),
        probe_namespace=str(getattr(o, "node_probe_namespace", "kube-system")),
        budget=budget,
    )


class NodeStateCollector:
    """Each node's state through its CNI agent pod (exec) or a probe pod; opt-in."""

    name = "node-state"
    phase = Phase.LOGS
    opt_in = True  # its permissions are not part of the read-only ClusterRole

    def __init__(self) -> None:
        self.records: dict[str, NodeRecord] = {}
        self._lock = threading.Lock()
        self._access = None

    def access(self) -> list[Access]:
        return [Access("", "pods/exec", ("create",)), Access("", "pods", ("create", "get", "delete"))]

    def plan(self, session: Session) -> list[Task]:
        options = node_state_options(session)
        if not options.enabled:  # registered without --exec/--node-probe: say so, collect nothing
            session.gap(f"{layout.NODES}/", NOT_ENABLED)
            return []
        nodes = list(iter_node_names(session.items("nodes")))
        if session.options.nodes:
            nodes = [n for n in nodes if n in set(session.options.nodes)]
        agents = agents_by_node(session.items("pods"))

        def one(node: str):  # noqa: ANN202
            def run(client: KubeClient) -> None:
                access = self._kube_access(client, options)
                rec = collect_one_node(access, node, agents.get(node, []), session, options)
                with self._lock:
                    self.records[node] = rec

            return run

        need = Access("", "pods/exec", ("create",)) if options.exec else Access("", "pods", ("create",))
        return [Task(f"node state of {n}", f"{layout.NODES}/{n}/", need, one(n)) for n in nodes]

    def _kube_access(self, client: KubeClient, options: NodeStateOptions):  # noqa: ANN202
        from cnidoctor.collect.nodes.probe import KubeNodeAccess

        with self._lock:
            if self._access is None:
                self._access = KubeNodeAccess(client, options.probe_image, options.probe_namespace)
            return self._access

    def finish(self, session: Session) -> None:
        if self._access is not None:
            self._access.close()

    def manifest_nodes(self) -> dict:
        """The manifest's `nodes` section: per node, how its state was obtained and what each command did."""
        with self._lock:
            return {n: r.to_dict() for n, r in sorted(self.records.items())}


def live_collectors(options: object) -> list[NodeStateCollector]:
    """What a live run adds for node state: the collector when --exec or --node-probe was given, else none."""
    enabled = bool(getattr(options, "node_exec", False) or getattr(options, "node_probe", None))
    return [NodeStateCollector()] if enabled else []


def manifest_nodes(collectors: list) -> dict:
    """The manifest's `nodes` section of a live run ({} when node state was not requested)."""
    out: dict = {}
    for c in collectors:
        if isinstance(c, NodeStateCollector):
            out.update(c.manifest_nodes())
    return out
