"""flanneld cannot pick an interface because the node has no default route."""

from __future__ import annotations

import ipaddress

from cnidoctor.diagnose.context import Context
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.iproute import Route, parse_routes

from .._lib import flannel_lib as fl

NO_DEFAULT = fl.log_pattern(r"(?i)unable to find default (v6 )?route|failed to get default (v6 )?interface")


def _main_table(routes: tuple[Route, ...]) -> list[Route]:
    return [r for r in routes if r.table == "main" and r.type == "unicast" and r.family == "inet"]


def _route_facts(ctx: Context, node: str) -> tuple[list[Evidence], dict[str, str], bool | None]:
    """Evidence from ip-route.json, a suggested interface, and whether a default route exists (None: unknown)."""
    routes = ctx.parsed(node, "ip-route.json", parse_routes)
    if routes is None:
        return [], {}, None
    main = _main_table(routes)
    if any(r.dst == "default" for r in main):
        return [], {}, True
    connected = [r for r in main if r.scope == "link" and r.dev and not r.dev.startswith(("cni", "flannel", "veth"))]
    shown = ", ".join(f"{r.dst} dev {r.dev}" for r in main[:4]) or "no IPv4 routes at all"
    evidence = [fl.file_evidence(node, "ip-route.json", f"no default route in the main table; routes: {shown}")]
    values = {"iface": connected[0].dev} if connected and connected[0].dev else {}
    peer = _peer_gateway(ctx, node, connected)
    if peer is not None:
        gateway, route, others = peer
        values.update(gateway=gateway, iface=str(route.dev))
        evidence.append(
            fl.file_evidence(
                others[0],
                "ip-route.json",
                f"{', '.join(others)} route default via {gateway}, which is on {node}'s {route.dst} dev {route.dev}",
            )
        )
    return evidence, values, False


def _peer_gateway(ctx: Context, node: str, connected: list[Route]) -> tuple[str, Route, list[str]] | None:
    """The default gateway other nodes use, when it lies on one of NODE's connected networks."""
    found: dict[str, list[str]] = {}
    for other in ctx.bundle.node_dirs:
        for r in _main_table(ctx.parsed(other, "ip-route.json", parse_routes) or ()) if other != node else []:
            if r.dst == "default" and r.gateway:
                found.setdefault(r.gateway, []).append(other)
    for gateway, others in sorted(found.items(), key=lambda kv: -len(kv[1])):
        for route in connected:
            net = route.network
            if net is not None and ipaddress.ip_address(gateway) in net:
                return gateway, route, others
    return None


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits: dict[str, Hit] = {}
    for ref, line, _ in fl.lasting_errors(ctx, NO_DEFAULT):
        pod = ctx.pod(ref.namespace, ref.pod)
        node = ctx.pod_node(ref.namespace, ref.pod) or "?"
        if node in hits:
            if len(hits[node].evidence) < 4:
                hits[node].evidence.insert(1, fl.log_evidence(ctx, ref, line))
            continue
        route_ev, values, has_default = _route_facts(ctx, node)
        if has_default and pod is not None and fl.pod_ready(pod):
            continue  # the route is back and flannel runs: an old line from a past start
        values = {
            "namespace": ref.namespace,
            "pod": ref.pod,
            "iface": "<interface of the node network>",
            "gateway": "<gateway>",
            **values,
            **fl.ds_values(ctx, pod),
        }
        hits[node] = Hit(
            [fl.log_evidence(ctx, ref, line), *route_ev],
            [f"{ref.namespace}/Pod/{ref.pod}"],
            [node] if node != "?" else [],
            values,
            message=f"flanneld on {node} finds no default route to choose its interface from",
        )
    return list(hits.values())
