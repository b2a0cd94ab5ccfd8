"""A node's IPAM blocks are (nearly) full of allocations that no existing pod holds: leaked addresses."""

from __future__ import annotations

from cnidoctor.diagnose.context import Context
from cnidoctor.model import Hit

from .._lib import calico as lib


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    usage = lib.node_ipam(ctx)
    if usage is None:
        return None
    failures = lib.ipam_failures(ctx)
    hits = []
    for node, n in sorted(usage.items()):
        if not (n.full and n.mostly_leaked):
            continue
        evs = failures.get(node, [])
        evidence = [lib.block_evidence(n)] + [e.evidence() for e in evs[:2]]
        hits.append(
            Hit(
                evidence,
                [f"Node/{node}"] + [e.obj for e in evs],
                [node],
                {"node": node, "leaked": str(n.leaked), "blocks": " ".join(str(b.cidr) for b in n.blocks)},
                f"{node}: {n.leaked} of {n.pod_allocations} pod addresses in its block(s) belong to no existing pod",
            )
        )
    return hits
