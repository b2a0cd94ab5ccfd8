"""Probe timeouts of several different pods on the same node: a node-level network fault, not one slow app."""

from __future__ import annotations

import re
from collections import defaultdict

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta
from cnidoctor.model import Evidence, Hit

TIMEOUT = re.compile(
    r"(Readiness|Liveness|Startup) probe failed: .*(context deadline exceeded|i/o timeout"
    r"|Client\.Timeout exceeded|timed out|timeout: failed to connect)"
)
MIN_PODS = 2
MIN_FAILURES = 5


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    if not ctx.has_resource("events"):
        return None
    by_node: dict[str, dict[str, tuple[int, Evidence]]] = defaultdict(dict)
    for ev in ctx.events:
        if ev.get("reason") != "Unhealthy":
            continue
        message = str(ev.get("message") or ev.get("note") or "")
        if not TIMEOUT.search(message):
            continue
        inv = ev.get("involvedObject") or {}
        ns = str(meta(ev).get("namespace") or inv.get("namespace") or "")
        name = str(inv.get("name") or "")
        node = ctx.pod_node(ns, name) or ((ev.get("source") or {}).get("host"))
        if not node or inv.get("kind") != "Pod":
            continue
        count = ev.get("count") if isinstance(ev.get("count"), int) else 1
        obj = f"{ns}/Pod/{name}"
        prev = by_node[node].get(obj)
        e = Evidence(
            layout.namespaced_list(ns, "events"), f"Warning Unhealthy {obj} (x{count}): {message}"[:400], obj, node
        )
        by_node[node][obj] = ((prev[0] if prev else 0) + count, prev[1] if prev else e)
    hits = []
    for node, pods in sorted(by_node.items()):
        total = sum(n for n, _ in pods.values())
        if len(pods) < MIN_PODS or total < MIN_FAILURES:
            continue
        others = sorted(n for n in by_node if n != node)
        text = f"{node}: {total} probe timeouts across {len(pods)} pods" + (
            f" (other nodes: {', '.join(f'{o}={sum(x for x, _ in by_node[o].values())}' for o in others)})"
            if others
            else "; no other node has probe timeouts"
        )
        evidence = [e for _, e in sorted(pods.values(), key=lambda t: -t[0])][:4]
        evidence.append(Evidence(layout.NODES_LIST, text, f"Node/{node}", node))
        hits.append(Hit(evidence, sorted(pods), [node], {"node": node}, text))
    return hits
