"""The agent runs without the host's BPF filesystem: its pinned maps die with the container."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence, Hit

from .._cilium import (
    AGENT,
    agent_daemonset,
    agent_pods,
    base_values,
    cilium_config,
    container,
    containers,
    first_per_pod,
    log_lines,
    natural,
    node_of,
    pod_spec,
    ref,
)

NOT_MOUNTED = re.compile(r"BPF filesystem is not mounted")


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    warnings = list(log_lines(ctx, NOT_MOUNTED))
    ds = agent_daemonset(ctx)
    cfg = cilium_config(ctx)
    bpf_root = (cfg.get("bpf-root") if cfg else None) or "/sys/fs/bpf"
    ds_ev = _daemonset_without_bpffs(ds, bpf_root) if ds else None
    if not warnings and ds_ev is None:
        return [] if ds else None
    values = base_values(ctx)
    evidence = [h.evidence for h in first_per_pod(warnings)][:3]
    if ds_ev:
        evidence.append(ds_ev)
    nodes = {h.node for h in warnings if h.node}
    lost = _lost_after_restart(ctx)
    for node, evs in lost.items():
        nodes.add(node)
        evidence += evs
    if not nodes:
        nodes = {n for p in agent_pods(ctx) if (n := node_of(p))}
    ordered = sorted(nodes, key=natural)
    values.update(node=ordered[0], bpf_root=bpf_root)
    if lost:
        values["lost_node"] = sorted(lost, key=natural)[0]
    msg = f"cilium-agent has no host bpffs at {bpf_root}: its BPF state lives in the container" + (
        f"; after the agent restarted, {', '.join(sorted(lost, key=natural))} lost connectivity" if lost else ""
    )
    return [Hit(evidence, [f"Node/{n}" for n in ordered], ordered, values, msg)]


def _daemonset_without_bpffs(ds: dict, bpf_root: str) -> Evidence | None:
    """Evidence when the agent container mounts no hostPath volume at (or above) the BPF root."""
    volumes = {
        v.get("name"): (v.get("hostPath") or {}).get("path")
        for v in pod_spec(ds).get("volumes") or []
        if isinstance(v, dict)
    }
    agent = container(ds, AGENT) or {}
    for m in agent.get("volumeMounts") or []:
        host = volumes.get(m.get("name"))
        mount = str(m.get("mountPath") or "")
        if host and (bpf_root == mount or bpf_root.startswith(mount.rstrip("/") + "/")):
            return None
    inits = [c.get("name") for c in containers(ds, init=True) if c not in containers(ds)]
    ns = str(meta(ds).get("namespace"))
    return Evidence(
        layout.namespaced_list(ns, "daemonsets"),
        f"DaemonSet {obj_name(ds)}: container {AGENT} mounts no hostPath volume at {bpf_root} "
        f"(volumes: {', '.join(sorted(str(v) for v in volumes))}; init containers: "
        f"{', '.join(str(i) for i in inits) or 'none'})",
        ref(ds, "DaemonSet"),
    )


def _lost_after_restart(ctx: Context) -> dict[str, list[Evidence]]:
    """Nodes whose agent restarted and that then stopped reporting (Ready not True)."""
    ready = {}
    for n in ctx.nodes:
        cond = next((c for c in (n.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), None)
        if cond:
            ready[obj_name(n)] = cond
    out: dict[str, list[Evidence]] = {}
    for p in agent_pods(ctx):
        node = node_of(p)
        cs = next((c for c in (p.get("status") or {}).get("containerStatuses") or [] if c.get("name") == AGENT), {})
        cond = ready.get(node or "")
        if not node or not cs.get("restartCount") or not cond or cond.get("status") == "True":
            continue
        last = (cs.get("lastState") or {}).get("terminated") or {}
        ns = str(meta(p).get("namespace"))
        out[node] = [
            Evidence(
                layout.namespaced_list(ns, "pods"),
                f"Pod {obj_name(p)} on {node}: cilium-agent restarted {cs.get('restartCount')} time(s)"
                + (f", last exit {last.get('reason')} at {last.get('finishedAt')}" if last else ""),
                ref(p, "Pod"),
                node,
            ),
            Evidence(
                layout.NODES_LIST,
                f"node {node}: Ready={cond.get('status')} ({cond.get('reason', '')}) since "
                f"{cond.get('lastTransitionTime', '?')}: {cond.get('message', '')}"[:300],
                f"Node/{node}",
                node,
            ),
        ]
    return out
