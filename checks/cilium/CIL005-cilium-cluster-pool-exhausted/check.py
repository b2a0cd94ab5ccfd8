"""cluster-pool IPAM has no node-sized CIDR left: nodes that joined last get no pod CIDR."""

from __future__ import annotations

import ipaddress
import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, obj_name
from cnidoctor.model import Evidence, Hit

from .._cilium import (
    CILIUM_NODES,
    OPERATOR,
    agent_pods,
    base_values,
    cilium_config,
    first_per_pod,
    log_lines,
    natural,
    node_of,
    operator_error,
    pod_cidrs,
)

RES = CILIUM_NODES
FULL = re.compile(r"(?i)allocator full|(no|unable to allocate).*(cidr|prefix).*(left|available|exhausted)")
FAMILIES = (
    ("IPv4", "cluster-pool-ipv4-cidr", "cluster-pool-ipv4-mask-size", "enable-ipv4", 24, 4),
    ("IPv6", "cluster-pool-ipv6-cidr", "cluster-pool-ipv6-mask-size", "enable-ipv6", 112, 6),
)


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    cfg = cilium_config(ctx)
    if cfg is None or not ctx.has_resource(RES):
        return None
    if (cfg.get("ipam") or "cluster-pool") not in ("cluster-pool", "cluster-pool-v2beta"):
        return []
    cns = ctx.resource(RES)
    allocated = {obj_name(cn): pod_cidrs(cn) for cn in cns}
    missing = sorted((n for n, c in allocated.items() if not c), key=natural)
    if not missing:
        return []
    evidence: list[Evidence] = []
    exhausted = []
    for fam, cidr_key, mask_key, enable_key, default_mask, version in FAMILIES:
        pools = _networks(cfg.get(cidr_key), version)
        if not pools or (cfg.get(enable_key) or ("true" if version == 4 else "false")) != "true":
            continue
        mask = int(cfg.get(mask_key) or default_mask)
        capacity = sum(2 ** (mask - p.prefixlen) if mask >= p.prefixlen else 0 for p in pools)
        used = sorted({c for cs in allocated.values() for c in cs if _in(c, pools)})
        evidence += [cfg.evidence(cidr_key), cfg.evidence(mask_key)]
        text = (
            f"{fam} pool {' '.join(map(str, pools))} split into /{mask} holds {capacity} node CIDR(s); "
            f"{len(used)} allocated ({', '.join(used[:6])}), {len(missing)} CiliumNode(s) without one: "
            f"{', '.join(missing[:6])}"
        )
        evidence.append(Evidence(cfg.path, text, cfg.ref))
        if len(used) >= capacity:
            exhausted.append((fam, cidr_key, pools, mask, capacity))
    errors = _allocator_errors(ctx, cns)
    op_lines = first_per_pod(list(log_lines(ctx, FULL, OPERATOR)))
    if not exhausted and not errors and not op_lines:
        return []
    evidence = errors + [h.evidence for h in op_lines] + evidence
    values = base_values(ctx)
    values.update(node=missing[0], nodes=" ".join(missing))
    agent = next((obj_name(p) for p in agent_pods(ctx) if node_of(p) == missing[0]), None)
    if agent:
        values["agent_pod"] = agent
    if exhausted:
        fam, cidr_key, pools, mask, capacity = exhausted[0]
        values.update(pool=" ".join(map(str, pools)), mask=str(mask), capacity=str(capacity))
    else:
        fam, cidr_key = "IPv4", "cluster-pool-ipv4-cidr"
        values["pool"] = " ".join((cfg.get(cidr_key) or "<pool>").split())
    values.update(
        pool_list=values["pool"].replace(" ", ","),
        cidr_key=cidr_key,
        helm_key=f"ipam.operator.clusterPool{fam}PodCIDRList",
    )
    msg = (
        f"cluster-pool exhausted: {values.get('capacity', 'all')} node CIDR(s) of /{values.get('mask', '?')} in "
        f"{values['pool']} are taken; {', '.join(missing)} got none"
    )
    return [Hit(evidence, [f"CiliumNode/{n}" for n in missing], missing, values, msg)]


def _networks(value: str | None, version: int) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    out = []
    for tok in re.split(r"[\s,]+", value or ""):
        try:
            net = ipaddress.ip_network(tok.strip("[]\"'"), strict=False)
        except ValueError:
            continue
        if net.version == version:
            out.append(net)
    return out


def _in(cidr: str, pools: list) -> bool:
    try:
        net = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
    return any(net.version == p.version and net.subnet_of(p) for p in pools)


def _allocator_errors(ctx: Context, cns: list[dict]) -> list[Evidence]:
    out = []
    for cn in cns:
        err = operator_error(cn)
        if err and FULL.search(err) and not pod_cidrs(cn):
            text = f"CiliumNode {obj_name(cn)}: status.ipam.operator-status.error: {err}; no spec.ipam.podCIDRs"
            out.append(Evidence(layout.cluster_list(RES), text, f"CiliumNode/{obj_name(cn)}", obj_name(cn)))
    return out
