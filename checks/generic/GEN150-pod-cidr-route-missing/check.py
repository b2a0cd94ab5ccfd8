"""A node without a route to another node's pod CIDR (the route its CNI installs per remote node)."""

from __future__ import annotations

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context
from cnidoctor.model import Evidence, Hit
from cnidoctor.node.agents import agents_by_node

from .._lib import noderoutes as nr


def _peer_has_it(ctx: Context, problem, nodes: list[str]) -> Evidence | None:  # noqa: ANN001
    """A third node that does route the missing CIDR, as the expected route looks."""
    from cnidoctor.parse.iproute import parse_routes

    for other in nodes:
        if other in (problem.node, problem.peer.node):
            continue
        r = nr.best_route(ctx.parsed(other, "ip-route.json", parse_routes) or (), problem.peer.cidr)
        if r is not None and r.network is not None and r.network.prefixlen and problem.peer.expect.accepts(r):
            return Evidence(
                layout.node_file(other, "ip-route.json"), f"{other} has it: {nr.route_text(r)}", f"Node/{other}", other
            )
    return None


def _agent_running(agents: dict, node: str, cni: str) -> bool | None:
    """Whether NODE's CNI agent runs (None when the bundle has no agent pod there)."""
    agent = next((a for a in agents.get(node, []) if a.cni in (cni, "canal")), None)
    return None if agent is None else agent.running


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    agents = agents_by_node(ctx.pods)
    hits: list[Hit] = []
    evaluated = False
    for node in ctx.bundle.node_dirs:
        found = nr.route_problems(ctx, node)
        if found is None:
            continue
        evaluated = True
        cni, problems = found
        missing = [p for p in problems if p.kind == "missing"]
        if cni == "calico":  # BGP routes come from the peer: a peer whose agent is down withdrew them
            missing = [p for p in missing if _agent_running(agents, p.peer.node, cni) is not False]
        if not missing:
            continue
        agent = next((a for a in agents.get(node, []) if a.cni in (cni, "canal")), None)
        if agent is not None and not agent.running:
            continue  # this node's agent is down: that finding is the cause, these routes its consequence
        if cni == "flannel" and agent is not None and agent.ready:
            continue  # FLN050 reports a running flannel's missing routes, with flannel's own remediation
        text = ", ".join(p.summary for p in missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
        mode = missing[0].peer.expect.mode
        evidence = [
            Evidence(
                layout.node_file(node, "ip-route.json"),
                f"no route to the pod CIDRs of other nodes: {text}; {mode} expects {missing[0].peer.expect.text}",
                f"Node/{node}",
                node,
            )
        ]
        evidence.append(nr.source_evidence(ctx, missing[0].peer))
        if (e := _peer_has_it(ctx, missing[0], ctx.bundle.node_dirs)) is not None:
            evidence.append(e)
        first = missing[0].peer.cidr
        values = {
            "missing": text,
            "mode": mode,
            "cidr": str(first),
            "first_ip": nr.first_host(first),
            "expected": missing[0].peer.expect.text,
            "cni": cni,
            **nr.agent_values(ctx, node, cni),
        }
        hits.append(
            Hit(
                evidence,
                [f"Node/{node}"],
                [node],
                values,
                message=f"{node} has no route to {len(missing)} remote pod CIDR(s) ({mode})",
            )
        )
    return hits if hits or evaluated else None
