"""A node has no CNI config, and why: its CNI agent is not scheduled there (computed) or is not running."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.catalog.placeholders import shell_comment, shell_join, shell_quote
from cnidoctor.diagnose.context import Context, dict_at, dicts_at, list_at, meta, obj_name, obj_ref
from cnidoctor.model import Evidence, Hit

from .._lib import cnilayer as cl

NOT_READY = re.compile(
    r"NetworkPluginNotReady|cni config uninitialized|cni plugin not initialized|"
    r"network plugin is not ready|no networks found in"
)
KUBELET = re.compile(
    r"no networks found in /\S+|cni config uninitialized|cni plugin not initialized|"
    r"No CNI configuration file in /\S+"
)
# Tolerations the DaemonSet controller adds to every DaemonSet pod.
DS_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]


def _tolerates(tol: dict, taint: dict) -> bool:
    if tol.get("effect") and tol.get("effect") != taint.get("effect"):
        return False
    if tol.get("operator") == "Exists":
        return not tol.get("key") or tol.get("key") == taint.get("key")
    return tol.get("key") == taint.get("key") and str(tol.get("value") or "") == str(taint.get("value") or "")


def _expr_ok(expr: dict, labels: dict) -> bool:
    key, op, vals = expr.get("key"), expr.get("operator"), [str(v) for v in list_at(expr, "values")]
    have = labels.get(key) if isinstance(key, str) else None
    if op == "In":
        return have is not None and str(have) in vals
    if op == "NotIn":
        return have is None or str(have) not in vals
    if op == "Exists":
        return have is not None
    if op == "DoesNotExist":
        return have is None
    if op in ("Gt", "Lt") and have is not None and vals:
        try:
            return int(have) > int(vals[0]) if op == "Gt" else int(have) < int(vals[0])
        except ValueError:
            return False
    return False


def why_not_scheduled(ds: dict, node: dict) -> list[str]:
    """Reasons the DaemonSet's pods cannot run on NODE (nodeSelector, required affinity, taints)."""
    spec = dict_at(ds, "spec", "template", "spec")
    labels = dict_at(node, "metadata", "labels")
    reasons = []
    for k, v in dict_at(spec, "nodeSelector").items():
        if str(labels.get(k)) != str(v):
            reasons.append(f"nodeSelector {k}={v} (node has {k}={labels.get(k) if k in labels else '<unset>'})")
    req = dicts_at(
        spec, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"
    )
    name = obj_name(node)
    if req and not any(
        all(_expr_ok(e, labels) for e in dicts_at(t, "matchExpressions"))
        and all(_expr_ok(e, {"metadata.name": name}) for e in dicts_at(t, "matchFields"))
        for t in req
    ):
        reasons.append("its required nodeAffinity matches none of the node's labels")
    tolerations = dicts_at(spec, "tolerations") + DS_TOLERATIONS
    if spec.get("hostNetwork"):
        tolerations.append(
            {"key": "node.kubernetes.io/network-unavailable", "operator": "Exists", "effect": "NoSchedule"}
        )
    for taint in dicts_at(node, "spec", "taints"):
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not any(_tolerates(t, taint) for t in tolerations):
            value = f"={taint['value']}" if taint.get("value") else ""
            reasons.append(f"taint {taint.get('key')}{value}:{taint.get('effect')} is not tolerated")
    return reasons


def _pod_state(pod: dict) -> str | None:
    """Why the agent pod is not working, or None when it runs and is ready."""
    st = dict_at(pod, "status")
    for cs in dicts_at(st, "initContainerStatuses") + dicts_at(st, "containerStatuses"):
        w = dict_at(cs, "state", "waiting")
        if w.get("reason") and w["reason"] != "PodInitializing":
            restarts = cs.get("restartCount") or 0
            return f"container {cs.get('name')} {w['reason']}" + (f" ({restarts} restarts)" if restarts else "")
    if st.get("phase") != "Running":
        return f"phase {st.get('phase') or 'unknown'}"
    for cs in dicts_at(st, "containerStatuses"):
        if cs.get("ready") is False:
            return f"container {cs.get('name')} not ready ({cs.get('restartCount') or 0} restarts)"
    return None


def _fix_scheduling(ds: dict, node: str, node_obj: dict, why: list[str]) -> str:
    ns, name = shell_quote(meta(ds).get("namespace")), shell_quote(obj_name(ds))
    cmds = []
    if any(w.startswith("taint ") for w in why):
        has = bool(dicts_at(ds, "spec", "template", "spec", "tolerations"))
        patch = (
            '[{"op":"add","path":"/spec/template/spec/tolerations/-","value":{"operator":"Exists"}}]'
            if has
            else '[{"op":"add","path":"/spec/template/spec/tolerations","value":[{"operator":"Exists"}]}]'
        )
        cmds.append(f"kubectl -n {ns} patch daemonset {name} --type=json -p '{patch}'")
    labels = dict_at(node_obj, "metadata", "labels")
    selector = dict_at(ds, "spec", "template", "spec", "nodeSelector")
    missing = {k: v for k, v in selector.items() if str(labels.get(k)) != str(v)}
    if missing:
        cmds.append(
            f"kubectl label node {shell_quote(node)} --overwrite " + shell_join(f"{k}={v}" for k, v in missing.items())
        )
    if any("nodeAffinity" in w for w in why):
        cmds.append(
            f"kubectl -n {ns} edit daemonset {name}  # spec.template.spec.affinity excludes {shell_comment(node)}"
        )
    return "\n".join(cmds)


def _signals(ctx: Context, node: str) -> list[Evidence]:
    out = []
    for c in dicts_at(ctx.node_by_name.get(node), "status", "conditions"):
        message = str(c.get("message") or "")
        if c.get("type") == "Ready" and c.get("status") != "True" and NOT_READY.search(message):
            out.append(Evidence(layout.NODES_LIST, f"{node}: {message[:300]}", f"Node/{node}", node))
    text = ctx.node_file(node, "kubelet.log") or ""
    for i, line in enumerate(text.splitlines(), start=1):
        if KUBELET.search(line):
            out.append(Evidence(layout.node_file(node, "kubelet.log"), line.strip()[:400], f"Node/{node}", node, i))
            break
    return out


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    if not ctx.nodes:
        return None
    agents = cl.cni_agent_daemonsets(ctx)
    hits = []
    for node in ctx.node_names:
        signals = _signals(ctx, node)
        if not signals:
            continue
        sel = cl.net_d(ctx, node)
        if sel is not None and sel.candidates:
            continue  # a config is there: whether it loads is GEN011's question
        evidence = list(signals)
        if sel is not None:
            extra = f" (only {', '.join(sel.backups + sel.ignored)})" if sel.backups or sel.ignored else ""
            evidence.append(
                Evidence(
                    layout.node_file(node, layout.CNI_NET_D + "/"),
                    f"/etc/cni/net.d on {node} holds no .conf/.conflist/.json{extra}",
                    f"Node/{node}",
                    node,
                )
            )
        reasons, values = _reasons(ctx, node, agents, evidence)
        values["node"] = node
        hits.append(Hit(evidence, [f"Node/{node}"], [node], values, f"{node} has no CNI config: " + "; ".join(reasons)))
    return hits


def _reasons(ctx: Context, node: str, agents: list[dict], evidence: list[Evidence]) -> tuple[list[str], dict]:
    node_obj = ctx.node_by_name.get(node) or {}
    reasons: list[str] = []
    values: dict[str, str] = {}
    if not agents:
        reasons.append("no CNI agent DaemonSet is installed in the cluster")
        values["fix_how"] = "install the cluster's CNI (its DaemonSet writes the config on every node)"
        values["fix_command"] = "kubectl get daemonsets -A"
        return reasons, values
    for ds in agents:
        ns, ref = str(meta(ds).get("namespace")), obj_ref(ds, "DaemonSet")
        path = layout.namespaced_list(ns, "daemonsets")
        pod = cl.agent_pod_on(ctx, ds, node)
        if pod is None:
            why = why_not_scheduled(ds, node_obj) if node_obj else []
            text = f"{ref} is not scheduled on {node}: {'; '.join(why)}" if why else f"{ref} has no pod on {node}"
            reasons.append(text)
            evidence.append(Evidence(path, text, ref, node))
            values.setdefault("namespace", ns)
            values.setdefault("daemonset", obj_name(ds))
            if why:
                values.setdefault(
                    "fix_how",
                    f"let {obj_name(ds)} run on {node}: CNI agents normally tolerate every taint and select every node",
                )
                values.setdefault("fix_command", _fix_scheduling(ds, node, node_obj, why))
            else:
                values.setdefault("fix_how", f"find out why the DaemonSet controller created no {obj_name(ds)} pod")
                values.setdefault(
                    "fix_command", f"kubectl -n {shell_quote(ns)} describe daemonset {shell_quote(obj_name(ds))}"
                )
            continue
        state = _pod_state(pod)
        if state is None:
            continue
        text = f"its agent {ns}/{obj_name(pod)} is not working ({state}); the agent writes the config once healthy"
        reasons.append(text)
        evidence.append(
            Evidence(
                layout.namespaced_list(ns, "pods"),
                f"{ns}/Pod/{obj_name(pod)} on {node}: {state}",
                f"{ns}/Pod/{obj_name(pod)}",
                node,
            )
        )
        values.setdefault("namespace", ns)
        values.setdefault("pod", obj_name(pod))
        values.setdefault("daemonset", obj_name(ds))
        values.setdefault("fix_how", f"fix {obj_name(pod)} first (its previous log says why it fails)")
        values.setdefault(
            "fix_command",
            f"kubectl -n {shell_quote(ns)} logs {shell_quote(obj_name(pod))} --all-containers --previous --tail=50",
        )
    if not reasons:
        dirs = sorted({p for ds in agents for p in cl.host_paths(ds) if "net.d" in p})
        reasons.append(
            f"the CNI agents on {node} are running, yet no config is in /etc/cni/net.d (they write to "
            f"{', '.join(dirs) or 'an unknown directory'})"
        )
        values.setdefault("fix_how", "compare the directory the agents write with the runtime's conf_dir")
        values.setdefault("fix_command", f'ssh {shell_quote(node)} "sudo containerd config dump | grep -n conf_dir"')
    return reasons, values
