"""Every block of the IP pool is claimed and the addresses are really in use: the pool is too small."""

from __future__ import annotations

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context
from cnidoctor.model import Evidence, Hit

from .._lib import calico as lib


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    pools, blocks, usage = lib.ippools(ctx), lib.ipam_blocks(ctx), lib.node_ipam(ctx)
    if pools is None or blocks is None or usage is None:
        return None
    failures = lib.ipam_failures(ctx)
    if not failures:
        return []
    hits = []
    for pool in [p for p in pools if not p.disabled and p.workload]:
        inside = [b for b in blocks if b.cidr.version == pool.cidr.version and b.cidr.subnet_of(pool.cidr)]
        if len(inside) < pool.blocks:
            continue  # free blocks left: not exhausted
        owners = sorted({b.node for b in inside if b.node})
        leaked = sum(usage[n].leaked for n in owners if n in usage)
        pod_allocs = sum(b.pod_handles for b in inside)
        if pod_allocs and leaked * 2 >= pod_allocs:
            continue  # the addresses are leaked, not used: CAL012
        allocated = sum(b.allocated for b in inside)
        without = sorted(n for n in ctx.node_names if n not in owners)
        text = (
            f"{lib.pool_line(pool)}: all {pool.blocks} block(s) claimed (by {', '.join(owners) or '?'}), "
            f"{allocated}/{pool.cidr.num_addresses} addresses allocated"
            + (f"; node(s) without a block: {', '.join(without)}" if without else "")
        )
        evidence = [Evidence(layout.cluster_list("ippools.crd.projectcalico.org"), text, f"IPPool/{pool.name}")]
        evs = [e for node_evs in failures.values() for e in node_evs]
        evidence += [e.evidence() for e in evs[:3]]
        nodes = sorted({e.node for e in evs if e.node and e.node != "?"})
        hits.append(
            Hit(
                evidence,
                [f"IPPool/{pool.name}"] + [e.obj for e in evs],
                nodes,
                {
                    "pool": pool.name,
                    "cidr": str(pool.cidr),
                    "block_size": str(pool.block_size),
                    "blocks": str(pool.blocks),
                    "nodes_total": str(len(ctx.node_names)),
                },
                f"IP pool {pool.name} ({pool.cidr}, /{pool.block_size} blocks) is exhausted: "
                f"{pool.blocks} blocks for {len(ctx.node_names)} nodes",
            )
        )
    return hits
