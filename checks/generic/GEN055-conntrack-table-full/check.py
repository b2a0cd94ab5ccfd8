"""A node whose connection-tracking table is (or was) full: the kernel drops packets of new flows."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.conntrack import parse_conntrack_stats
from cnidoctor.parse.sysctl import parse_sysctl

TABLE_FULL = re.compile(r"nf_conntrack: (nf_conntrack: )?table full, dropping packet|ip_conntrack: table full")
NEAR_FULL = 0.95
COUNT_KEYS = ("net.netfilter.nf_conntrack_count",)
MAX_KEYS = ("net.netfilter.nf_conntrack_max", "net.nf_conntrack_max")


def _first(s, keys: tuple[str, ...]) -> tuple[str, int] | None:  # noqa: ANN001
    for k in keys:
        v = s.get_int(k)
        if v is not None:
            return k, v
    return None


def _dmesg(ctx: Context, node: str) -> tuple[Evidence | None, int]:
    text = ctx.node_file(node, "dmesg.txt")
    if not text:
        return None, 0
    first, count = None, 0
    for i, line in enumerate(text.splitlines(), start=1):
        if TABLE_FULL.search(line):
            count += 1
            if first is None:
                first = Evidence(layout.node_file(node, "dmesg.txt"), line.strip()[:300], f"Node/{node}", node, i)
    return first, count


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits: list[Hit] = []
    seen = False
    for node in ctx.bundle.node_dirs:
        evidence: list[Evidence] = []
        reasons: list[str] = []
        kernel, n_kernel = _dmesg(ctx, node)
        if kernel is not None:
            evidence.append(kernel)
            reasons.append(f"kernel logged 'table full, dropping packet' {n_kernel} time(s)")
        s = ctx.parsed(node, "sysctl.txt", parse_sysctl)
        count = _first(s, COUNT_KEYS) if s is not None else None
        limit = _first(s, MAX_KEYS) if s is not None else None
        values: dict[str, str] = {}
        if count and limit and limit[1] > 0:
            values.update({"count": str(count[1]), "max": str(limit[1]), "suggested_max": str(limit[1] * 2)})
            if count[1] >= NEAR_FULL * limit[1]:
                reasons.append(f"{count[1]} of {limit[1]} entries in use ({100 * count[1] // limit[1]}%)")
                evidence += [
                    e
                    for e in (
                        ctx.evidence_line(node, "sysctl.txt", count[0] + " ="),
                        ctx.evidence_line(node, "sysctl.txt", limit[0] + " ="),
                    )
                    if e
                ]
        stats = ctx.parsed(node, "conntrack-stats.txt", parse_conntrack_stats)
        # counters are totals since boot: alone they prove a full table only when its fill is unknown
        dropped = stats is not None and (
            stats.early_drop > 0
            and stats.drop > 0
            and "count" not in values
            or stats.drop + stats.early_drop > 0
            and bool(reasons)
        )
        if stats is not None and dropped:
            reasons.append(
                f"conntrack -S: drop={stats.drop} early_drop={stats.early_drop} "
                f"insert_failed={stats.insert_failed} summed over {len(stats.cpus)} CPUs"
            )
            busiest = max(stats.cpus, key=lambda c: c.counters.get("drop", 0) + c.counters.get("early_drop", 0))
            evidence.append(
                Evidence(layout.node_file(node, "conntrack-stats.txt"), reasons[-1], f"Node/{node}", node, busiest.line)
            )
        if kernel is not None or s is not None or stats is not None:
            seen = True
        if not reasons:
            continue
        if limit and "max" not in values:
            values.update({"max": str(limit[1]), "suggested_max": str(limit[1] * 2)})
        values.setdefault("suggested_max", "<2x the current nf_conntrack_max>")
        hits.append(Hit(evidence, [f"Node/{node}"], [node], values, f"{node}: " + "; ".join(reasons)))
    return hits if hits or seen else None
