"""Enabled Calico IP pools outside the pod network Kubernetes was told about (--cluster-cidr, podSubnet)."""

from __future__ import annotations

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context
from cnidoctor.model import Evidence, Hit

from .._lib import calico as lib


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    pools = lib.ippools(ctx)
    declared = lib.cluster_cidrs(ctx)
    if pools is None or not declared:
        return None
    hits = []
    for pool in [p for p in pools if not p.disabled and p.workload]:
        same = [d for d in declared if d.net.version == pool.cidr.version]
        if not same or any(pool.cidr.subnet_of(d.net) for d in same):
            continue
        nets = sorted({str(d.net) for d in same})
        evidence = [
            Evidence(layout.cluster_list("ippools.crd.projectcalico.org"), lib.pool_line(pool), f"IPPool/{pool.name}")
        ]
        seen: set[str] = set()
        for d in same:
            if d.evidence.excerpt not in seen:
                seen.add(d.evidence.excerpt)
                evidence.append(d.evidence)
        hits.append(
            Hit(
                evidence,
                [f"IPPool/{pool.name}"],
                [],
                {"pool": pool.name, "pool_cidr": str(pool.cidr), "cluster_cidr": nets[0]},
                f"IP pool {pool.name} ({pool.cidr}) is outside the cluster's pod CIDR {', '.join(nets)}",
            )
        )
    return hits
