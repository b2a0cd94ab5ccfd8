"""No cilium-operator is running, so nodes get no IPAM allocation (pod CIDR) and their agents cannot start."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence, Hit

from .._cilium import (
    CILIUM_NODES,
    base_values,
    cilium_config,
    first_per_pod,
    log_lines,
    natural,
    operator_deployments,
    operator_pods,
    pod_cidrs,
    pod_ready,
    ref,
)

WAITING = re.compile(r"Waiting for IPs to become available in CRD-backed allocation pool")
CRD_IPAM = ("cluster-pool", "cluster-pool-v2beta", "multi-pool", "eni", "azure", "alibabacloud", "crd")


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    if not ctx.has_resource("pods"):
        return None
    deps, pods = operator_deployments(ctx), operator_pods(ctx)
    if any(pod_ready(p) for p in pods):
        return []
    cfg = cilium_config(ctx)
    if cfg is None and not deps:
        return None  # not enough to tell a Cilium install without an operator from a partial bundle
    mode = (cfg.get("ipam") if cfg else None) or "cluster-pool"
    if mode not in CRD_IPAM:
        return []  # kubernetes IPAM: nodes get their pod CIDR from kube-controller-manager
    waiting = list(log_lines(ctx, WAITING))
    unserved = _without_allocation(ctx)
    starving = sorted({h.node for h in waiting if h.node} | set(unserved), key=natural)
    if not starving:
        return []
    values = base_values(ctx)
    evidence = []
    for d in deps:
        st, spec = d.get("status") or {}, d.get("spec") or {}
        evidence.append(
            Evidence(
                layout.namespaced_list(str(meta(d).get("namespace")), "deployments"),
                f"Deployment {obj_name(d)}: replicas {spec.get('replicas', 1)}, ready "
                f"{st.get('readyReplicas', 0)}, available {st.get('availableReplicas', 0)}",
                ref(d, "Deployment"),
            )
        )
        values["operator_namespace"] = str(meta(d).get("namespace"))
    if not deps:
        evidence.append(
            Evidence(
                layout.namespaced_list(values["namespace"], "deployments"),
                "no cilium-operator Deployment in the bundle",
            )
        )
    for p in pods[:3]:
        states = [
            f"{c.get('name')}: {next(iter((c.get('state') or {}).keys()), '?')} "
            f"{((c.get('state') or {}).get('waiting') or {}).get('reason', '')}".strip()
            for c in (p.get("status") or {}).get("containerStatuses") or []
        ]
        evidence.append(
            Evidence(
                layout.namespaced_list(str(meta(p).get("namespace")), "pods"),
                f"Pod {obj_name(p)}: phase {(p.get('status') or {}).get('phase')}, not ready"
                + (f" ({'; '.join(states)})" if states else ""),
                ref(p, "Pod"),
            )
        )
    evidence += [h.evidence for h in first_per_pod(waiting)]
    evidence += [unserved[n] for n in starving if n in unserved][:3]
    values.update(node=starving[0])
    msg = (
        f"no cilium-operator is running ({len(pods)} pod(s), none ready): "
        f"no pod CIDR for {', '.join(starving)} ({mode} IPAM)"
    )
    return [Hit(evidence, [f"Node/{n}" for n in starving], starving, values, msg)]


def _without_allocation(ctx: Context) -> dict[str, Evidence]:
    """CiliumNodes the operator has not served: no pod CIDR, no IP pool, no operator status."""
    out: dict[str, Evidence] = {}
    if not ctx.has_resource(CILIUM_NODES):
        return out
    for cn in ctx.resource(CILIUM_NODES):
        ipam = (cn.get("spec") or {}).get("ipam") or {}
        if not (pod_cidrs(cn) or ipam.get("pool") or (ipam.get("pools") or {}).get("allocated")):
            out[obj_name(cn)] = Evidence(
                layout.cluster_list(CILIUM_NODES),
                f"CiliumNode {obj_name(cn)}: no spec.ipam.podCIDRs or pool allocated",
                f"CiliumNode/{obj_name(cn)}",
                obj_name(cn),
            )
    return out
