"""Pods fail on nodes without a running calico-node: its taints are not tolerated, its labels not selected,
or the calico-node pod there is not running."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence, Hit

from .._lib import calico as lib

NODENAME = re.compile(r"stat /var/lib/calico/nodename: no such file or directory")


def _tolerated(taint: dict, tolerations: list[dict]) -> bool:
    for t in tolerations:
        if t.get("effect") and t.get("effect") != taint.get("effect"):
            continue
        if t.get("operator") == "Exists" and not t.get("key"):
            return True
        if t.get("key") == taint.get("key") and (t.get("operator") == "Exists" or t.get("value") == taint.get("value")):
            return True
    return False


def _why_not_scheduled(node: dict, ds: dict | None) -> str | None:
    if ds is None:
        return None
    spec = lib.pod_spec(ds)
    tolerations = [t for t in spec.get("tolerations") or [] if isinstance(t, dict)]
    blocking = [
        t
        for t in (node.get("spec") or {}).get("taints") or []
        if t.get("effect") in ("NoSchedule", "NoExecute") and not _tolerated(t, tolerations)
    ]
    if blocking:
        taints = ", ".join(
            f"{t.get('key')}{'=' + t['value'] if t.get('value') else ''}:{t.get('effect')}" for t in blocking
        )
        return f"taint {taints} is not tolerated by the calico-node DaemonSet"
    labels = meta(node).get("labels") or {}
    missing = {k: v for k, v in (spec.get("nodeSelector") or {}).items() if labels.get(k) != v}
    if missing:
        return f"nodeSelector {missing} of the calico-node DaemonSet does not match its labels"
    return None


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    failing: dict[str, list] = {}
    for ev in lib.events(ctx, "FailedCreatePodSandBox|FailedKillPodSandbox", NODENAME):
        if ev.node:
            failing.setdefault(ev.node, []).append(ev)
    if not failing:
        return []
    agents = lib.calico_node_pod_on(ctx)
    dss = lib.calico_node_daemonsets(ctx)
    ds = dss[0] if dss else None
    ns = str(ds["metadata"].get("namespace")) if ds else "kube-system"
    hits = []
    for node, evs in sorted(failing.items()):
        pod = agents.get(node)
        if lib.agent_running(pod):
            continue  # calico-node runs there: the mount (CAL007) or a start-up race, not this
        node_obj = ctx.node_by_name.get(node, {})
        why = _why_not_scheduled(node_obj, ds) if pod is None else None
        if pod is None:
            state = f"no calico-node pod is scheduled on {node}" + (f": {why}" if why else "")
        else:
            cs = lib.container_status(pod, "calico-node")
            waiting = (cs.get("state") or {}).get("waiting") or {}
            state = f"{obj_name(pod)} on {node} is not running ({waiting.get('reason') or pod['status'].get('phase')})"
        evidence = [
            Evidence(
                layout.namespaced_list(ns, "pods") if pod else layout.NODES_LIST,
                state,
                f"{ns}/Pod/{obj_name(pod)}" if pod else f"Node/{node}",
                node,
            )
        ]
        evidence += [e.evidence() for e in evs[:2]]
        hits.append(
            Hit(
                evidence,
                [f"Node/{node}"] + [e.obj for e in evs],
                [node],
                {
                    "node": node,
                    "namespace": ns,
                    "pod_ref": f"pod/{obj_name(pod)}"
                    if pod
                    else f"$(kubectl -n {ns} get pods -l k8s-app=calico-node --field-selector spec.nodeName={node} "
                    "-o name)",
                },
                state,
            )
        )
    return hits
