"""A node hit the IPAM per-host block limit (maxBlocksPerHost) with blocks its running pods really use."""

from __future__ import annotations

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, obj_name
from cnidoctor.model import Evidence, Hit

from .._lib import calico as lib

CONFIGS = ("ipamconfigs.crd.projectcalico.org", "ipamconfigurations.projectcalico.org")


def _limit(ctx: Context) -> tuple[int | None, Evidence | None]:
    for res in CONFIGS:
        for item in ctx.resource(res):
            spec = item.get("spec") or {}
            value = spec.get("maxBlocksPerHost")
            if isinstance(value, int) and value > 0:
                return value, Evidence(
                    layout.cluster_list(res),
                    f"IPAMConfig {obj_name(item)}: maxBlocksPerHost="
                    f"{value}, strictAffinity={spec.get('strictAffinity', False)}",
                    f"IPAMConfig/{obj_name(item)}",
                )
    return None, None


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    usage = lib.node_ipam(ctx)
    if usage is None:
        return None
    limit, limit_ev = _limit(ctx)
    hits = []
    for node, evs in sorted(lib.ipam_failures(ctx).items()):
        evs = [e for e in evs if "per host block limit" in e.message]
        n = usage.get(node)
        if not evs or n is None or not n.full or n.mostly_leaked:
            continue  # leaked addresses are CAL012's; a block with room is not this
        if limit is not None and len(n.blocks) < limit:
            continue
        evidence = [lib.block_evidence(n)] + ([limit_ev] if limit_ev else []) + [e.evidence() for e in evs[:2]]
        hits.append(
            Hit(
                evidence,
                [f"Node/{node}"] + [e.obj for e in evs],
                [node],
                {
                    "node": node,
                    "limit": str(limit or len(n.blocks)),
                    "block_count": str(len(n.blocks)),
                    "wanted": str((limit or len(n.blocks)) + 1),
                },
                f"{node} holds {len(n.blocks)} block(s), the per-host limit"
                f"{' of ' + str(limit) if limit else ''}, all used by {n.live_pods} running pod(s)",
            )
        )
    return hits
