"""Nodes without spec.podCIDR while others have one, and a controller-manager not allocating CIDRs."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence, Hit

SKIPPED = "node-ipam-controller"
SKIPPED_RX = re.compile(re.escape(SKIPPED))


def _cm_args(pod: dict) -> list[str]:
    args: list[str] = []
    for c in (pod.get("spec") or {}).get("containers") or []:
        args += [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]
    return args


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    if not ctx.nodes:
        return None
    without = [n for n in ctx.nodes if not (n.get("spec") or {}).get("podCIDR")]
    if not without or len(without) == len(ctx.nodes) and not ctx.cnis & {"flannel"}:
        return []
    managers = [p for p in ctx.pods if obj_name(p).startswith("kube-controller-manager")]
    evidence: list[Evidence] = []
    for p in managers:
        args = _cm_args(p)
        if not args:
            continue
        if any(a in ("--allocate-node-cidrs=true", "--allocate-node-cidrs") for a in args):
            return []  # allocation is on: a full cluster CIDR is another check's business
        ns = str(meta(p).get("namespace"))
        flags = " ".join(a for a in args if a.startswith("--") and "cidr" in a) or "no --allocate-node-cidrs flag"
        evidence.append(
            Evidence(
                layout.namespaced_list(ns, "pods"),
                f"{obj_name(p)} args: {flags}",
                f"{ns}/Pod/{obj_name(p)}",
                (p.get("spec") or {}).get("nodeName"),
            )
        )
    for ref in ctx.bundle.logs:
        if ref.pod.startswith("kube-controller-manager"):
            for line in ctx.bundle.grep_log(ref, SKIPPED_RX):
                if SKIPPED in line.text and "skipping" in line.text.lower():
                    evidence.append(
                        Evidence(
                            ref.path,
                            line.text.strip()[:300],
                            f"{ref.namespace}/Pod/{ref.pod}",
                            ctx.pod_node(ref.namespace, ref.pod),
                            line.lineno,
                        )
                    )
                    break
    if not evidence:
        return []
    names = [obj_name(n) for n in without]
    have = [f"{obj_name(n)}={n['spec']['podCIDR']}" for n in ctx.nodes if (n.get("spec") or {}).get("podCIDR")]
    node_ev = [
        Evidence(
            layout.NODES_LIST,
            f"node {name} has no spec.podCIDR" + (f" (others: {', '.join(have[:4])})" if have else ""),
            f"Node/{name}",
            name,
        )
        for name in names
    ]
    return [
        Hit(
            node_ev + evidence,
            [f"Node/{n}" for n in names],
            names,
            message=f"{len(names)} node(s) without a pod CIDR; node CIDR allocation is off",
        )
    ]
