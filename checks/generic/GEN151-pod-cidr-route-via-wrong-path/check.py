"""A node whose route to another node's pod CIDR bypasses the CNI: wrong device or gateway, or a blackhole."""

from __future__ import annotations

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context
from cnidoctor.model import Evidence, Hit

from .._lib import noderoutes as nr


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits: list[Hit] = []
    evaluated = False
    for node in ctx.bundle.node_dirs:
        found = nr.route_problems(ctx, node)
        if found is None:
            continue
        evaluated = True
        cni, problems = found
        wrong = [p for p in problems if p.kind in ("wrong", "dropped")]
        if not wrong:
            continue
        path = layout.node_file(node, "ip-route.json")
        evidence = [
            Evidence(
                path,
                f"{nr.route_text(p.route)}: {p.peer.cidr} is the pod CIDR of {p.peer.node}; "
                f"{p.peer.expect.mode} expects {p.peer.expect.text}",
                f"Node/{node}",
                node,
                p.route.line,
            )
            for p in wrong[:6]
        ]
        evidence.append(nr.source_evidence(ctx, wrong[0].peer))
        first = wrong[0]
        values = {
            "cidr": str(first.peer.cidr),
            "first_ip": nr.first_host(first.peer.cidr),
            "route": nr.route_text(first.route),
            "expected": first.peer.expect.text,
            "mode": first.peer.expect.mode,
            "peer": first.peer.node,
            "cni": cni,
            "route_del": "sudo ip route del " + nr.route_text(first.route).split(" proto ")[0],
            **nr.agent_values(ctx, node, cni),
        }
        hits.append(
            Hit(
                evidence,
                [f"Node/{node}"],
                [node],
                values,
                message=f"{node}: " + "; ".join(p.summary for p in wrong[:4]),
            )
        )
    return hits if hits or evaluated else None
