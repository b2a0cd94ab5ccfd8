"""Nodes without a pod CIDR while the controller-manager allocates them: the cluster CIDR is full."""

from __future__ import annotations

import ipaddress
import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence, Hit

from .._lib import flannel_lib as fl

FULL = re.compile(r"(?i)no remaining CIDRs|CIDR allocation failed|failed to allocate cidr")


def _capacity(ctx: Context, args: list[str], pod: dict) -> tuple[list[Evidence], dict[str, str]]:
    """Evidence that every node-sized block of --cluster-cidr is taken, computed from the nodes."""
    ranges = [r for r in (fl.flag(args, "cluster-cidr") or "").split(",") if r]
    out: list[Evidence] = []
    values: dict[str, str] = {}
    for text in ranges:
        try:
            net = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            continue
        size_flag = "node-cidr-mask-size-ipv4" if net.version == 4 else "node-cidr-mask-size-ipv6"
        mask = int(fl.flag(args, size_flag) or fl.flag(args, "node-cidr-mask-size") or (24 if net.version == 4 else 64))
        if mask < net.prefixlen:
            continue
        capacity = 2 ** (mask - net.prefixlen)
        used = sum(1 for n in ctx.nodes for c in fl.pod_cidrs(n) if c.version == net.version and c.subnet_of(net))
        values.update(cluster_cidr=str(net), mask=str(mask), capacity=str(capacity))
        if used >= capacity:
            ns = str(meta(pod).get("namespace"))
            text = f"--cluster-cidr={net} with /{mask} node blocks holds {capacity}; {used} nodes hold one"
            out.append(
                Evidence(
                    layout.namespaced_list(ns, "pods"),
                    text,
                    f"{ns}/Pod/{obj_name(pod)}",
                    (pod.get("spec") or {}).get("nodeName"),
                )
            )
    return out, values


def _not_ready_holders(ctx: Context) -> list[tuple[str, str, str]]:
    """Nodes holding a pod CIDR whose Ready condition is not True: candidates for machines that are gone."""
    out = []
    for n in ctx.nodes:
        ready = next((c for c in (n.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), None)
        if fl.pod_cidrs(n) and ready is not None and ready.get("status") != "True":
            since = f"{ready.get('status')} since {ready.get('lastTransitionTime', '?')}"
            out.append((obj_name(n), ", ".join(map(str, fl.pod_cidrs(n))), since))
    return out


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    if not ctx.nodes:
        return None
    without = [obj_name(n) for n in ctx.nodes if not fl.pod_cidrs(n)]
    if not without:
        return []
    evidence: list[Evidence] = []
    values: dict[str, str] = {}
    for pod, args in fl.controller_manager_args(ctx):
        if args and fl.flag(args, "allocate-node-cidrs") not in ("true", "True"):
            return []  # allocation is off: GEN001's business
        ev, vals = _capacity(ctx, args, pod)
        evidence += ev
        values.update(vals)
    for e in ctx.events:
        inv = e.get("involvedObject") or {}
        if e.get("reason") == "CIDRNotAvailable" and inv.get("name") in without:
            ns = str(meta(e).get("namespace") or "default")
            evidence.append(
                Evidence(
                    layout.namespaced_list(ns, "events"),
                    f"{e.get('reason')} Node/{inv.get('name')}: {e.get('message')}"[:400],
                    f"Node/{inv.get('name')}",
                    str(inv.get("name")),
                )
            )
    for ref in ctx.bundle.logs:
        if ref.pod.startswith("kube-controller-manager"):
            line = next(ctx.bundle.grep_log(ref, FULL), None)
            if line is not None:
                evidence.insert(
                    0,
                    Evidence(
                        ref.path,
                        line.text.strip()[:400],
                        f"{ref.namespace}/Pod/{ref.pod}",
                        ctx.pod_node(ref.namespace, ref.pod),
                        line.lineno,
                    ),
                )
    if not evidence:
        return []
    evidence += [fl.node_evidence(n, f"node {n} has no spec.podCIDR") for n in without[:6]]
    stale = _not_ready_holders(ctx)
    evidence += [
        fl.node_evidence(n, f"node {n} holds {cidr} but is not Ready ({since})") for n, cidr, since in stale[:4]
    ]
    values["stale_nodes"] = " ".join(n for n, _, _ in stale) or "<gone-node>"
    return [
        Hit(
            evidence,
            [f"Node/{n}" for n in without],
            without,
            values,
            message=f"{len(without)} node(s) got no pod CIDR: the cluster CIDR has no free block left",
        )
    ]
