"""CNI agent pods: which pod on a node is the CNI agent, which container to exec into, is it running.

Pure functions over Pod objects (from the API or a bundle), shared by live collection (where to exec)
and checks (a node whose agent is down has missing routes as a consequence, not a cause).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# (cni, pod name, preferred container); first match wins, so more specific patterns come first.
AGENTS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("calico", re.compile(r"calico-node-[a-z0-9]{5}"), "calico-node"),
    ("cilium", re.compile(r"cilium-(?!operator|envoy|node-init)[a-z0-9]{5}"), "cilium-agent"),
    ("flannel", re.compile(r"(kube-)?flannel(-ds)?(-[a-z0-9]+)?-[a-z0-9]{5}"), "kube-flannel"),
    ("canal", re.compile(r"canal-[a-z0-9]{5}"), "calico-node"),
)


@dataclass(frozen=True)
class AgentPod:
    """The CNI agent pod on one node and the container commands would run in."""

    cni: str
    namespace: str
    name: str
    container: str
    node: str
    host_network: bool
    running: bool
    state: str  # "running", or the waiting/terminated reason ("CrashLoopBackOff", "Error", ...)
    restarts: int
    ready: bool

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


def _meta(obj: dict) -> dict:
    m = obj.get("metadata")
    return m if isinstance(m, dict) else {}


def _container_state(pod: dict, container: str) -> tuple[bool, str, int, bool]:
    """(running, state or reason, restart count, ready) of CONTAINER."""
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        if not isinstance(cs, dict) or cs.get("name") != container:
            continue
        state = cs.get("state") if isinstance(cs.get("state"), dict) else {}
        restarts = cs.get("restartCount") if isinstance(cs.get("restartCount"), int) else 0
        if "running" in state:
            return True, "running", restarts, bool(cs.get("ready"))
        for key in ("waiting", "terminated"):
            if isinstance(state.get(key), dict):
                return False, str(state[key].get("reason") or key), restarts, False
        return False, "unknown", restarts, False
    phase = str((pod.get("status") or {}).get("phase") or "unknown")
    return False, f"no status for container {container} (pod {phase})", 0, False


def agent_pod(pod: dict) -> AgentPod | None:
    """POD as a CNI agent, or None when it is not one."""
    name = str(_meta(pod).get("name") or "")
    spec = pod.get("spec") if isinstance(pod.get("spec"), dict) else {}
    node = spec.get("nodeName")
    if not isinstance(node, str) or not node:
        return None
    containers = [str(c.get("name")) for c in spec.get("containers") or [] if isinstance(c, dict) and c.get("name")]
    for cni, rx, preferred in AGENTS:
        if rx.fullmatch(name) and containers:
            container = preferred if preferred in containers else containers[0]
            running, state, restarts, ready = _container_state(pod, container)
            return AgentPod(
                cni,
                str(_meta(pod).get("namespace") or ""),
                name,
                container,
                node,
                bool(spec.get("hostNetwork")),
                running,
                state,
                restarts,
                ready,
            )
    return None


def agents_by_node(pods: list[dict]) -> dict[str, list[AgentPod]]:
    """Agent pods per node, running ones first (a node may show an old and a new pod during a rollout)."""
    out: dict[str, list[AgentPod]] = {}
    for p in pods:
        a = agent_pod(p) if isinstance(p, dict) else None
        if a is not None:
            out.setdefault(a.node, []).append(a)
    for agents in out.values():
        agents.sort(key=lambda a: (not a.running, not a.ready, a.name))
    return out
