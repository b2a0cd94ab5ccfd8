"""An agent waits for its pod CIDR / IPs from the operator (CRD-backed IPAM) and never gets them."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, obj_name
from cnidoctor.model import Evidence, Hit

from .._cilium import CILIUM_NODES, base_values, first_per_pod, log_lines, natural, operator_error, pod_cidrs

WAITING = re.compile(
    r"Waiting for IPs to become available in CRD-backed allocation pool|"
    r"(?i:waiting for .*(pod ?cidr|allocation).*(cilium ?node|operator))"
)
MIN_WAITS = 2  # a fresh node may log it once before the operator answers


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits = list(log_lines(ctx, WAITING))
    by_node: dict[str, int] = {}
    for h in hits:
        if h.node:
            by_node[h.node] = by_node.get(h.node, 0) + 1
    errors = _operator_errors(ctx)
    nodes = sorted({n for n, c in by_node.items() if c >= MIN_WAITS} | set(errors), key=natural)
    if not nodes:
        return []
    evidence = [h.evidence for h in first_per_pod([h for h in hits if h.node in nodes])]
    evidence += [errors[n] for n in nodes if n in errors]
    values = base_values(ctx)
    values.update(node=nodes[0], pod=next((h.pod for h in hits if h.node == nodes[0]), "<cilium pod>"))
    msg = f"no pod CIDR/IPs allocated for {', '.join(nodes)}: the agent there cannot start"
    return [Hit(evidence, [f"Node/{n}" for n in nodes], nodes, values, msg)]


def _operator_errors(ctx: Context) -> dict[str, Evidence]:
    """CiliumNodes whose IPAM status carries an operator error and that hold no pod CIDR."""
    out: dict[str, Evidence] = {}
    if not ctx.has_resource(CILIUM_NODES):
        return out
    for cn in ctx.resource(CILIUM_NODES):
        err = operator_error(cn)
        if err and not pod_cidrs(cn) and not ((cn.get("spec") or {}).get("ipam") or {}).get("pool"):
            text = f"CiliumNode {obj_name(cn)}: no spec.ipam.podCIDRs, operator-status error: {err}"
            out[obj_name(cn)] = Evidence(
                layout.cluster_list(CILIUM_NODES), text, f"CiliumNode/{obj_name(cn)}", obj_name(cn)
            )
    return out
