"""Nodes whose pods fail Calico IPAM while no enabled IP pool selects them (pool disabled, nodeSelector)."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta
from cnidoctor.model import Evidence, Hit

from .._lib import calico as lib

STUCK = re.compile(r'plugin type="calico" failed \(add\)')
EQUALS = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*==\s*['\"]([^'\"]*)['\"]\s*$")


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    pools = lib.ippools(ctx)
    if pools is None:
        return None
    if not pools:
        return []
    failing: dict[str, list] = {}
    for ev in lib.events(ctx, "FailedCreatePodSandBox", STUCK):
        if ev.node:
            failing.setdefault(ev.node, []).append(ev)
    hits = []
    for node, evs in sorted(failing.items()):
        if lib.usable_pools(ctx, node, pools):
            continue
        labels = meta(ctx.node_by_name.get(node, {})).get("labels") or {}
        evidence = [
            Evidence(layout.cluster_list("ippools.crd.projectcalico.org"), lib.pool_line(p), f"IPPool/{p.name}")
            for p in pools[:4]
        ]
        evidence.append(
            Evidence(
                layout.NODES_LIST,
                f"node {node} labels: "
                + ", ".join(
                    f"{k}={v}"
                    for k, v in sorted(labels.items())
                    if "kubernetes.io/" not in k or k == "kubernetes.io/hostname"
                ),
                f"Node/{node}",
                node,
            )
        )
        evidence += [e.evidence() for e in evs[:2]]
        reasons = sorted(
            {
                "disabled"
                if p.disabled
                else "not for workloads"
                if not p.workload
                else f"nodeSelector {p.node_selector} does not select it"
                for p in pools
            }
        )
        disabled = [p for p in pools if p.disabled]
        label = next(
            (
                f"{m.group(1)}={m.group(2)}"
                for p in pools
                if not p.disabled
                for m in [EQUALS.match(p.node_selector)]
                if m
            ),
            "<label>=<value> selected by a pool",
        )
        hits.append(
            Hit(
                evidence,
                [f"Node/{node}"] + [e.obj for e in evs],
                [node],
                {"node": node, "pool": (disabled or pools)[0].name, "label": label},
                f"no enabled IP pool selects {node} ({'; '.join(reasons)})",
            )
        )
    return hits
