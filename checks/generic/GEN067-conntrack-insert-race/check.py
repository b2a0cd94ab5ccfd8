"""Conntrack insertions failing on a node whose table is far from full: the UDP (DNS) insert race."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.conntrack import parse_conntrack_stats
from cnidoctor.parse.sysctl import parse_sysctl

MIN_INSERT_FAILED = 1000
FAR_FROM_FULL = 0.8
TABLE_FULL = re.compile(r"table full, dropping packet")
# What the race looks like to pods: DNS lookups that time out (the counters alone accumulate since boot).
DNS_TIMEOUT = re.compile(
    r"lookup \S+ on \S+:53: (read|dial|write) (udp|tcp) \S*: i/o timeout"
    r"|;; connection timed out; no servers could be reached|Temporary failure in name resolution"
)


def _dns_timeout(ctx: Context, node: str) -> Evidence | None:
    """The first DNS timeout logged by a pod on NODE."""
    for ref in ctx.bundle.logs:
        if ctx.pod_node(ref.namespace, ref.pod) != node:
            continue
        for line in ctx.bundle.grep_log(ref, DNS_TIMEOUT):
            if DNS_TIMEOUT.search(line.text):
                return Evidence(ref.path, line.text.strip()[:300], f"{ref.namespace}/Pod/{ref.pod}", node, line.lineno)
    return None


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits: list[Hit] = []
    seen = False
    for node in ctx.bundle.node_dirs:
        stats = ctx.parsed(node, "conntrack-stats.txt", parse_conntrack_stats)
        if stats is None:
            continue
        seen = True
        if stats.insert_failed < MIN_INSERT_FAILED or stats.early_drop > 0:
            continue
        if TABLE_FULL.search(ctx.node_file(node, "dmesg.txt") or ""):
            continue  # a full table is another fault (and explains the failures)
        s = ctx.parsed(node, "sysctl.txt", parse_sysctl)
        count = s.get_int("net.netfilter.nf_conntrack_count") if s else None
        limit = s.get_int("net.netfilter.nf_conntrack_max") if s else None
        if count is not None and limit and count >= FAR_FROM_FULL * limit:
            continue
        symptom = _dns_timeout(ctx, node)
        if symptom is None:
            continue
        busiest = max(stats.cpus, key=lambda c: c.counters.get("insert_failed", 0))
        fill = f"; table {count} of {limit} entries" if count is not None and limit else ""
        text = (
            f"{node}: conntrack insert_failed={stats.insert_failed} "
            f"(clash_resolve={stats.total('clash_resolve')}, drop={stats.drop}) over {len(stats.cpus)} CPUs"
            f"{fill}: insertions race, the table is not full"
        )
        evidence = [Evidence(layout.node_file(node, "conntrack-stats.txt"), text, f"Node/{node}", node, busiest.line)]
        if count is not None:
            evidence += [e for e in (ctx.evidence_line(node, "sysctl.txt", "net.netfilter.nf_conntrack_count ="),) if e]
        evidence.append(symptom)
        hits.append(Hit(evidence, [f"Node/{node}"], [node], {}, text))
    return hits if hits or seen else None
