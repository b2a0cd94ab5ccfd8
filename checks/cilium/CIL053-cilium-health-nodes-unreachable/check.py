"""cilium-health on some nodes cannot reach other nodes (host and/or endpoint probes fail)."""

from __future__ import annotations

from cnidoctor.diagnose.context import Context
from cnidoctor.model import Hit

from .._cilium import base_values, health_failures, natural


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    if not any(ctx.has_node_file(n, "cilium-health.txt") for n in ctx.bundle.node_dirs):
        return None
    failures = health_failures(ctx)
    if not failures:
        return []
    nodes = sorted({f.target for f in failures}, key=natural)
    evidence, seen = [], set()
    for f in sorted(failures, key=lambda f: (natural(f.target), f.kind != "Host")):
        if (f.target, f.observer) not in seen and len(evidence) < 8:  # one line per observer and target
            seen.add((f.target, f.observer))
            evidence.append(f.evidence)
    first = [f for f in failures if f.target == nodes[0]]
    values = base_values(ctx)
    values.update(
        observer=sorted({f.observer for f in first}, key=natural)[0],
        peer_ip=next((f.address for f in first if f.kind == "Host"), None) or _internal_ip(ctx, nodes[0]),
    )
    only_endpoints = all(f.kind == "Endpoint" for f in failures)
    what = (
        "pod (endpoint) paths only, hosts answer: the overlay/pod path between nodes is broken"
        if only_endpoints
        else "host and endpoint probes fail: the node is unreachable or down"
    )
    msg = f"cilium-health cannot reach {', '.join(nodes)}: {what}"
    return [Hit(evidence, [f"Node/{n}" for n in nodes], nodes, values, msg)]


def _internal_ip(ctx: Context, node: str) -> str:
    addrs = ((ctx.node_by_name.get(node) or {}).get("status") or {}).get("addresses") or []
    return next((str(a["address"]) for a in addrs if a.get("type") == "InternalIP"), "<peer node IP>")
