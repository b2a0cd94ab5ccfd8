"""Get each node's state the first way that works: exec into its CNI agent → probe pod → gap.

The ways in are behind the `NodeAccess` seam: `KubeNodeAccess` (exec stream and probe pods through
the API) in real use, any other implementation in tests (real runners inside network namespaces).
Every node ends with a `NodeRecord` whose `attempts` say what was tried and why it was not used.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

from cnidoctor.bundle import layout
from cnidoctor.node.agents import AgentPod, agents_by_node
from cnidoctor.node.gather import NodeRecord, Sink, gather_node_state
from cnidoctor.node.plan import Budget, NodePaths
from cnidoctor.node.runner import CommandRunner

AGENT_ROOTS = ("/host", "")  # agents mount host folders under /host (cilium, calico-node) or at their own path


class AccessError(Exception):
    """A way into a node that did not work (exec refused, probe pod not scheduled, image not pulled...)."""


class NodeAccess(Protocol):
    """The ways into a node."""

    def exec_runner(self, agent: AgentPod) -> tuple[CommandRunner, NodePaths]:
        """A runner executing commands in AGENT's container, and how it sees the host (raises AccessError)."""
        ...

    def probe(self, node: str, deadline: float) -> AbstractContextManager[tuple[CommandRunner, NodePaths]]:
        """A probe pod on NODE for the duration of the block, and how it sees the host (raises AccessError)."""
        ...


@dataclass
class NodeStateOptions:
    """What `--exec` and `--node-probe IMAGE` ask for."""

    exec: bool = False
    probe_image: str | None = None
    probe_namespace: str = "kube-system"
    budget: Budget = field(default_factory=Budget)
    workers: int = 8
    skip: frozenset[str] = frozenset()

    @property
    def enabled(self) -> bool:
        return self.exec or bool(self.probe_image)


def _alive(runner: CommandRunner, timeout: float) -> str | None:
    """None when RUNNER can run commands at all, else why not (an image without a shell is fine)."""
    res = runner.run(("sh", "-c", "exit 0"), timeout=timeout, max_bytes=4096)
    if res.ok or res.not_found:
        return None
    if res.error:
        return res.error
    if res.timed_out:
        return f"no answer within {timeout:g}s"
    return f"exit status {res.returncode}: {res.stderr_line() or 'no output'}"


def collect_one_node(
    access: NodeAccess,
    node: str,
    agents: list[AgentPod],
    sink: Sink,
    options: NodeStateOptions,
    clock: Callable[[], float] = time.monotonic,
) -> NodeRecord:
    """NODE's state by exec into its agent, else a probe pod, else a gap naming everything tried."""
    started = clock()
    deadline = started + options.budget.node_timeout
    attempts: list[dict] = []

    def budget_left() -> Budget:
        b = options.budget
        return Budget(b.command_timeout, max(1.0, deadline - clock()), b.max_bytes, b.max_conf_files)

    if options.exec:
        agent = next((a for a in agents if a.host_network), None)
        if agent is None:
            why = (
                "no CNI agent pod with host networking on the node"
                if not agents
                else (f"agent pod {agents[0].ref} does not use host networking")
            )
            attempts.append({"method": "exec", "where": agents[0].ref if agents else "", "outcome": why})
        elif not agent.running:
            attempts.append(
                {
                    "method": "exec",
                    "where": f"{agent.ref} container {agent.container}",
                    "outcome": f"skipped: container {agent.container} is not running ({agent.state}, "
                    f"{agent.restarts} restarts)",
                }
            )
        else:
            where = f"{agent.ref} container {agent.container}"
            runner = None
            try:
                runner, paths = access.exec_runner(agent)
                problem = _alive(runner, min(options.budget.command_timeout, 15.0))
            except AccessError as exc:
                problem = str(exc)
            if problem is None:
                try:
                    record = gather_node_state(
                        runner, node, sink, paths=paths, budget=budget_left(), skip=options.skip, clock=clock
                    )
                finally:
                    _close(runner)
                attempts.append({"method": "exec", "where": where, "outcome": "collected"})
                return _done(record, attempts, started, clock)
            if runner is not None:
                _close(runner)
            attempts.append({"method": "exec", "where": where, "outcome": f"failed: {problem}"})
    if options.probe_image:
        try:
            with access.probe(node, deadline) as (runner, paths):
                record = gather_node_state(
                    runner, node, sink, paths=paths, budget=budget_left(), skip=options.skip, clock=clock
                )
                attempts.append({"method": "probe", "where": runner.where, "outcome": "collected"})
                return _done(record, attempts, started, clock)
        except AccessError as exc:
            attempts.append({"method": "probe", "where": f"image {options.probe_image}", "outcome": f"failed: {exc}"})
    if not attempts:
        attempts.append({"method": "none", "where": "", "outcome": "neither --exec nor --node-probe was given"})
    record = NodeRecord(node, "none", "")
    reasons = "; ".join(f"{a['method']}: {a['outcome']}" for a in attempts)
    sink.gap(
        f"{layout.NODES}/{node}/",
        f"node state not collected, no way in ({reasons}); run `cnidoctor node` on the node and merge its bundle",
    )
    return _done(record, attempts, started, clock)


def _close(runner: object) -> None:
    close = getattr(runner, "close", None)
    if callable(close):
        close()


def _done(record: NodeRecord, attempts: list[dict], started: float, clock: Callable[[], float]) -> NodeRecord:
    record.attempts = attempts
    record.seconds = clock() - started
    return record


def collect_nodes_state(
    access: NodeAccess,
    nodes: list[str],
    pods: list[dict],
    sink: Sink,
    options: NodeStateOptions,
    *,
    on_node: Callable[[NodeRecord], None] | None = None,
) -> dict[str, NodeRecord]:
    """Every node's state, OPTIONS.workers nodes at a time; returns the manifest records by node."""
    agents = agents_by_node(pods)
    records: dict[str, NodeRecord] = {}
    lock = threading.Lock()

    def one(node: str) -> None:
        rec = collect_one_node(access, node, agents.get(node, []), sink, options)
        with lock:
            records[node] = rec
        if on_node:
            on_node(rec)

    with ThreadPoolExecutor(max_workers=max(1, min(options.workers, len(nodes) or 1))) as pool:
        for f in [pool.submit(one, n) for n in nodes]:
            f.result()
    return dict(sorted(records.items()))


def iter_node_names(nodes: list[dict]) -> Iterator[str]:
    for n in nodes:
        name = (n.get("metadata") or {}).get("name") if isinstance(n, dict) else None
        if isinstance(name, str) and name:
            yield name
