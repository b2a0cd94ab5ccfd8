"""Linux nodes on which the CNI agent DaemonSet places no pod, and the taint, nodeSelector or affinity why."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence, Hit

AGENT_DS = re.compile(
    r"calico-node|canal|cilium|cilium-agent|kube-flannel-ds.*|kube-flannel|flannel"
    r"|kube-multus-ds.*|kube-multus|rke2-multus.*"
)
# Tolerations the DaemonSet controller adds to every DaemonSet pod.
AUTO = {
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ("node.kubernetes.io/network-unavailable", "NoSchedule"),
}


def _tolerated(taint: dict, tolerations: list[dict]) -> bool:
    key, effect = taint.get("key"), taint.get("effect")
    if effect == "PreferNoSchedule" or (key, effect) in AUTO:
        return True
    for t in tolerations:
        if t.get("effect") and t.get("effect") != effect:
            continue
        op = t.get("operator") or "Equal"
        if op == "Exists" and (not t.get("key") or t.get("key") == key):
            return True
        if op == "Equal" and t.get("key") == key and (t.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def _expr_ok(expr: dict, labels: dict) -> bool:
    key, op, values = expr.get("key"), expr.get("operator"), [str(v) for v in expr.get("values") or []]
    v = labels.get(key)
    if op == "In":
        return v in values
    if op == "NotIn":
        return v not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    if op in ("Gt", "Lt") and v is not None and values and v.isdigit() and values[0].isdigit():
        return int(v) > int(values[0]) if op == "Gt" else int(v) < int(values[0])
    return False


def _why_not(ds: dict, node: dict) -> str | None:
    """Why the DaemonSet cannot place a pod on NODE, or None if it can."""
    spec = ((ds.get("spec") or {}).get("template") or {}).get("spec") or {}
    labels = meta(node).get("labels") or {}
    for k, v in (spec.get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return f"nodeSelector {k}={v} (node has {k}={labels.get(k, '<unset>')})"
    terms = (
        ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution")
        or {}
    ).get("nodeSelectorTerms") or []
    exprs = [t.get("matchExpressions") or [] for t in terms]
    if exprs and any(exprs) and not any(all(_expr_ok(e, labels) for e in term) for term in exprs if term):
        return f"required node affinity {exprs[0]} does not match the node's labels"
    for taint in (node.get("spec") or {}).get("taints") or []:
        if not _tolerated(taint, spec.get("tolerations") or []):
            value = f"={taint['value']}" if taint.get("value") else ""
            return f"taint {taint.get('key')}{value}:{taint.get('effect')} is not tolerated"
    return None


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    if not ctx.nodes or not ctx.has_resource("daemonsets"):
        return None
    hits = []
    for ds in ctx.daemonsets:
        name, ns = obj_name(ds), str(meta(ds).get("namespace"))
        if not AGENT_DS.fullmatch(name):
            continue
        placed = {str((p.get("spec") or {}).get("nodeName")) for p in ctx.pods_of_daemonset(ns, name)}
        status = ds.get("status") or {}
        for node in ctx.nodes:
            node_name = obj_name(node)
            labels = meta(node).get("labels") or {}
            if (
                node_name in placed
                or labels.get("kubernetes.io/os", "linux") != "linux"
                or labels.get("type") == "virtual-kubelet"
            ):
                continue
            reason = _why_not(ds, node)
            if reason is None:
                continue
            text = (
                f"{ns}/DaemonSet/{name} has no pod on {node_name}: {reason} (desired "
                f"{status.get('desiredNumberScheduled', '?')} for {len(ctx.nodes)} nodes)"
            )
            evidence = [Evidence(layout.namespaced_list(ns, "daemonsets"), text, f"{ns}/DaemonSet/{name}", node_name)]
            taints = [
                f"{t.get('key')}{'=' + t['value'] if t.get('value') else ''}:{t.get('effect')}"
                for t in (node.get("spec") or {}).get("taints") or []
            ]
            if taints:
                evidence.append(
                    Evidence(
                        layout.NODES_LIST,
                        f"node {node_name} taints: {', '.join(taints)}",
                        f"Node/{node_name}",
                        node_name,
                    )
                )
            values = {"namespace": ns, "name": name, "node": node_name, "reason": reason}
            m = re.match(r"taint (?P<key>[^=:]+)(=(?P<value>[^:]*))?:(?P<effect>\w+)", reason)
            if m:
                values["toleration"] = (
                    f'{{"key":"{m.group("key")}","operator":"Exists","effect":"{m.group("effect")}"}}'
                )
            else:
                values["toleration"] = '{"operator":"Exists"}'
            hits.append(Hit(evidence, [f"{ns}/DaemonSet/{name}", f"Node/{node_name}"], [node_name], values, text))
    return hits
