"""flannel is deployed, but no flannel pod runs on a node whose pods need subnet.env."""

from __future__ import annotations

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, dict_at, dicts_at, meta, obj_name
from cnidoctor.model import Evidence, Hit

from .._lib import flannel_lib as fl


def _tolerates(tolerations: list[dict], taint: dict) -> bool:
    for t in tolerations:
        if t.get("effect") and t.get("effect") != taint.get("effect"):
            continue
        if t.get("operator") == "Exists" and (not t.get("key") or t.get("key") == taint.get("key")):
            return True
        if t.get("key") == taint.get("key") and str(t.get("value") or "") == str(taint.get("value") or ""):
            return True
    return False


def _why_not_scheduled(ds: dict, node: dict) -> tuple[str | None, dict[str, str]]:
    """The DaemonSet constraint that keeps its pod off NODE, if the objects show one."""
    spec = dict_at(ds, "spec", "template", "spec")
    tolerations = dicts_at(spec, "tolerations")
    for taint in dicts_at(node, "spec", "taints"):
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not _tolerates(tolerations, taint):
            text = f"{taint.get('key')}{'=' + str(taint['value']) if taint.get('value') else ''}:{taint.get('effect')}"
            return (
                f"node taint {text} is not tolerated by DaemonSet {obj_name(ds)}",
                {"taint_key": str(taint.get("key")), "taint_effect": str(taint.get("effect"))},
            )
    labels = dict_at(node, "metadata", "labels")
    for key, value in dict_at(spec, "nodeSelector").items():
        if labels.get(key) != value:
            return f"DaemonSet {obj_name(ds)} nodeSelector {key}={value} does not match the node", {}
    return None, {}


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    dss = fl.flannel_daemonsets(ctx)
    if not dss:
        return []  # not deployed at all: FLN004's business
    ds = dss[0]
    ns = str(meta(ds).get("namespace"))
    hits = []
    for node, evidence in sorted(fl.subnet_env_failures(ctx).items()):
        if fl.flannel_pod_on(ctx, node) is not None or node not in ctx.node_by_name:
            continue
        status = dict_at(ds, "status")
        evidence = [
            *evidence[:3],
            Evidence(
                layout.namespaced_list(ns, "pods"),
                f"no pod of DaemonSet {ns}/{obj_name(ds)} on {node} (desired "
                f"{status.get('desiredNumberScheduled', '?')} of {len(ctx.nodes)} nodes)",
                f"{ns}/DaemonSet/{obj_name(ds)}",
                node,
            ),
        ]
        why, values = _why_not_scheduled(ds, ctx.node_by_name[node])
        if why:
            evidence.append(fl.node_evidence(node, why))
        values.update(fl.ds_values(ctx))
        values.setdefault("taint_key", "<taint key>")
        values.setdefault("taint_effect", "NoSchedule")
        hits.append(
            Hit(
                evidence,
                [f"Node/{node}", f"{ns}/DaemonSet/{obj_name(ds)}"],
                [node],
                values,
                message=f"no flannel pod runs on {node}" + (f": {why}" if why else ""),
            )
        )
    return hits
