"""Cilium's MTU is larger than the MTU of the interface that really carries node-to-node traffic."""

from __future__ import annotations

import ipaddress
import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, obj_name
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.iproute import Link, Route, parse_links, parse_routes

from .._cilium import base_values, cilium_config, first_per_pod, log_lines, natural, status

TUNNEL_OVERHEAD = 50  # VXLAN and Geneve: outer IPv4 + UDP + tunnel header + inner Ethernet
WIREGUARD_OVERHEAD = 80
CILIUM_DEV = re.compile(r"cilium_.*|lxc.*|lo")
INHERIT = re.compile(r"Inheriting MTU from external network interface")


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    peers = _node_ips(ctx)
    if not peers:
        return None
    tunnel, wireguard, mode_ev = _encapsulation(ctx)
    overhead = (TUNNEL_OVERHEAD if tunnel else 0) + (WIREGUARD_OVERHEAD if wireguard else 0)
    evidence: list[Evidence] = []
    nodes: list[str] = []
    values: dict[str, str] = {}
    evaluated = False
    for node in ctx.bundle.node_dirs:
        links = ctx.parsed(node, "ip-link.json", parse_links)
        routes = ctx.parsed(node, "ip-route.json", parse_routes)
        if not links or not routes:
            continue
        by_name = {link.name: link for link in links}
        host = by_name.get("cilium_host") or by_name.get("cilium_net")
        if host is None or not host.mtu:
            continue
        evaluated = True
        own = peers.get(node)
        others = [ip for n, ip in peers.items() if n != node and ip != own]
        route = next((r for ip in others if (r := _lookup(routes, ip))), None)
        under = by_name.get(route.devs[0]) if route and route.devs else None
        if route is None or under is None or not under.mtu or CILIUM_DEV.fullmatch(under.name):
            continue
        pod_mtu = _pod_route_mtu(routes) or host.mtu - overhead
        if pod_mtu + overhead <= under.mtu:
            continue
        nodes.append(node)
        if not values:
            values = {
                "underlay_dev": under.name,
                "underlay_mtu": str(under.mtu),
                "cilium_mtu": str(host.mtu),
                "pod_mtu": str(pod_mtu),
                "overhead": str(overhead),
                "new_pod_mtu": str(under.mtu - overhead),
                "node": node,
            }
        if len(nodes) <= 2:
            evidence += _node_evidence(node, under, route, host, by_name, routes, pod_mtu, overhead)
    if not evaluated:
        return None
    if not nodes:
        return []
    cfg = cilium_config(ctx)
    logs = [h.evidence for h in first_per_pod([h for h in log_lines(ctx, INHERIT) if h.node in nodes])][:2]
    evidence = logs + evidence + ([cfg.evidence("mtu")] if cfg else []) + ([mode_ev] if mode_ev else [])
    values.update(base_values(ctx))
    nodes.sort(key=natural)
    how = ("VXLAN/Geneve" if tunnel else "native routing") + (" + WireGuard" if wireguard else "")
    msg = (
        f"Cilium uses MTU {values['cilium_mtu']} (pods {values['pod_mtu']} + {overhead} bytes {how}) but node "
        f"traffic leaves through {values['underlay_dev']} with MTU {values['underlay_mtu']} on {', '.join(nodes)}"
    )
    return [Hit(evidence, [f"Node/{n}" for n in nodes], nodes, values, msg)]


def _node_ips(ctx: Context) -> dict[str, str]:
    """Node name -> primary (InternalIP, else cilium-status) IPv4 address."""
    out: dict[str, str] = {}
    for n in ctx.nodes:
        addrs = (n.get("status") or {}).get("addresses") or []
        ip = next(
            (a.get("address") for a in addrs if a.get("type") == "InternalIP" and "." in str(a.get("address"))), None
        )
        if ip:
            out[obj_name(n)] = str(ip)
    if not out:
        for node in ctx.bundle.node_dirs:
            st = status(ctx, node)
            for cn in st.cluster_nodes if st else ():
                if cn.ipv4:
                    out.setdefault(cn.name.rsplit("/", 1)[-1], cn.ipv4)
    return out


def _encapsulation(ctx: Context) -> tuple[bool, bool, Evidence | None]:
    """(tunnel, wireguard, evidence) from an agent status, else cilium-config."""
    for node in ctx.bundle.node_dirs:
        st = status(ctx, node)
        if st and (st.routing_mode or st.encryption):
            tunnel = (st.routing_mode or "").lower() == "tunnel"
            wg = (st.encryption or "").lower() == "wireguard"
            text = (
                f"routing: {st.routing_mode or '?'}"
                + (f" ({st.tunnel_protocol})" if st.tunnel_protocol else "")
                + f", encryption: {st.encryption or 'Disabled'}"
            )
            return tunnel, wg, Evidence(layout.node_file(node, "cilium-status.json"), text, f"Node/{node}", node)
    cfg = cilium_config(ctx)
    if cfg is None:
        return True, False, None
    mode = (cfg.get("routing-mode") or "").lower()
    legacy = (cfg.get("tunnel") or "").lower()
    tunnel = mode == "tunnel" or (not mode and legacy not in ("disabled", "")) or (not mode and not legacy)
    wg = (cfg.get("enable-wireguard") or "false") == "true"
    return tunnel, wg, cfg.evidence("routing-mode") if cfg.get("routing-mode") else cfg.evidence("tunnel")


def _lookup(routes: tuple[Route, ...], ip: str) -> Route | None:
    """Longest-prefix match of IP in the main table (unicast routes only)."""
    addr = ipaddress.ip_address(ip)
    best = None
    for r in routes:
        net = r.network
        if r.table != "main" or r.type != "unicast" or net is None or net.version != addr.version:
            continue
        if addr in net and (best is None or net.prefixlen > best[0]):
            best = (net.prefixlen, r)
    return best[1] if best else None


def _pod_route_mtu(routes: tuple[Route, ...]) -> int | None:
    mtus = [r.mtu for r in routes if r.mtu and r.dev == "cilium_host"]
    return max(mtus) if mtus else None


def _node_evidence(
    node: str,
    under: Link,
    route: Route,
    host: Link,
    links: dict[str, Link],
    routes: tuple[Route, ...],
    pod_mtu: int,
    overhead: int,
) -> list[Evidence]:
    obj = f"Node/{node}"
    link_path, route_path = layout.node_file(node, "ip-link.json"), layout.node_file(node, "ip-route.json")
    parent = f" ({under.kind} on {under.parent})" if under.kind and under.parent else ""
    tun = next((lk for name in ("cilium_vxlan", "cilium_geneve", "cilium_wg0") if (lk := links.get(name))), None)
    out = [
        Evidence(
            route_path,
            f"{node}: route {route.dst} dev {under.name}: node-to-node traffic uses {under.name}",
            obj,
            node,
            route.line,
        ),
        Evidence(link_path, f"{node}: {under.name}{parent} mtu {under.mtu}", obj, node, under.line),
        Evidence(
            link_path,
            f"{node}: cilium_host mtu {host.mtu}" + (f", {tun.name} mtu {tun.mtu}" if tun else ""),
            obj,
            node,
            host.line,
        ),
    ]
    pod_route = next((r for r in routes if r.mtu and r.dev == "cilium_host"), None)
    if pod_route:
        out.append(
            Evidence(
                route_path,
                f"{node}: pod route {pod_route.dst} via cilium_host mtu {pod_route.mtu} "
                f"(+{overhead} encapsulation = {pod_mtu + overhead} > {under.mtu})",
                obj,
                node,
                pod_route.line,
            )
        )
    return out
