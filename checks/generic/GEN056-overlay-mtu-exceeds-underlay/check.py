"""Overlay devices, and the pod veths behind them, with an MTU larger than the underlay can carry."""

from __future__ import annotations

import ipaddress
import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.iproute import AddrInterface, Link, parse_addrs, parse_links, parse_routes

# Encapsulation overhead for an IPv4 / IPv6 underlay.
OVERHEAD = {"vxlan": (50, 70), "geneve": (50, 70), "ipip": (20, 40), "wireguard": (60, 80)}
FLANNEL_OVERLAY = re.compile(r"flannel[.\-].*")
CALICO_OVERLAY = re.compile(r"vxlan\.calico|vxlan-v6\.calico|tunl0|wireguard\.cali|wg-v6\.cali")


def _flannel_backend(ctx: Context) -> str | None:
    """Backend.Type of flannel's net-conf.json (vxlan, host-gw, wireguard, ...), if the bundle has it."""
    for cm in ctx.configmaps:
        conf = (cm.get("data") or {}).get("net-conf.json")
        if conf:
            m = re.search(r'"Type"\s*:\s*"([^"]+)"', str(conf))
            if m:
                return m.group(1).lower()
    return None


def _node_ip(ctx: Context, node: str) -> str | None:
    for a in ((ctx.node_by_name.get(node) or {}).get("status") or {}).get("addresses") or []:
        if a.get("type") == "InternalIP":
            return str(a.get("address"))
    return None


def _iface_of(addrs: tuple[AddrInterface, ...], ip: str | None) -> str | None:
    if not ip or ip in ("any", "0.0.0.0"):
        return None
    return next((i.name for i in addrs for a in i.addrs if a.local == ip), None)


def _default_dev(ctx: Context, node: str) -> str | None:
    routes = ctx.parsed(node, "ip-route.json", parse_routes) or ()
    return next((r.devs[0] for r in routes if r.dst == "default" and r.table == "main" and r.devs), None)


def _external(link: Link) -> bool:
    d = link.info_data
    return bool((link.vxlan and link.vxlan.external) or d.get("external") or d.get("collect_metadata"))


def _overlays(links: tuple[Link, ...], addrs: tuple[AddrInterface, ...]) -> list[Link]:
    with_addr = {i.name for i in addrs if any(a.family == "inet" for a in i.addrs)}
    out = []
    for link in links:
        if link.kind not in OVERHEAD or not link.up or link.mtu is None or _external(link):
            continue
        if link.kind == "ipip" and link.name not in with_addr:
            continue  # the kernel's fallback tunl0 exists whenever ipip is loaded; unused without an address
        out.append(link)
    return out


def _underlay(ctx: Context, node: str, link: Link, addrs: tuple[AddrInterface, ...]) -> str | None:
    if link.vxlan and link.vxlan.underlay:
        return link.vxlan.underlay
    local = link.vxlan.local if link.vxlan else link.tunnel_local
    return _iface_of(addrs, local) or _iface_of(addrs, _node_ip(ctx, node)) or _default_dev(ctx, node)


def _v6(ip: str | None) -> bool:
    try:
        return ip is not None and ipaddress.ip_address(ip).version == 6
    except ValueError:
        return False


def _ev(node: str, link: Link, text: str) -> Evidence:
    return Evidence(layout.node_file(node, "ip-link.json"), text, f"Node/{node}", node, link.line or None)


def _node_hits(ctx: Context, node: str, links: tuple[Link, ...], addrs: tuple[AddrInterface, ...]) -> list[Hit]:
    by_name = {link.name: link for link in links}
    hits = []
    overlays = _overlays(links, addrs)
    for ov in overlays:
        under_name = _underlay(ctx, node, ov, addrs)
        under = by_name.get(under_name or "")
        if under is None or under.mtu is None or ov.mtu is None:
            continue
        local = ov.vxlan.local if ov.vxlan else ov.tunnel_local
        overhead = OVERHEAD[str(ov.kind)][1 if _v6(local) else 0]
        if ov.mtu + overhead <= under.mtu:
            continue
        fit = under.mtu - overhead
        text = (
            f"{ov.name} ({ov.kind}) mtu {ov.mtu} + {overhead} bytes of encapsulation = {ov.mtu + overhead}"
            f" > {under.name} mtu {under.mtu}; at most {fit} fits"
        )
        hits.append(
            Hit(
                [_ev(node, ov, text), _ev(node, under, f"{under.name} mtu {under.mtu} (underlay)")],
                [f"Node/{node}"],
                [node],
                {"overlay": ov.name, "underlay": under.name, "fit_mtu": str(fit), "overlay_mtu": str(ov.mtu)},
                f"{node}: {text}",
            )
        )
    host_gw = _flannel_backend(ctx) == "host-gw"
    for pattern, veth_of in (
        (FLANNEL_OVERLAY, lambda v: v.master in ("cni0", "cbr0")),
        (CALICO_OVERLAY, lambda v: v.name.startswith("cali")),
    ):
        if pattern is FLANNEL_OVERLAY and host_gw:
            continue  # host-gw routes pod traffic without encapsulation; a leftover flannel.1 is not on the path
        mine = [o for o in overlays if pattern.fullmatch(o.name) and o.mtu]
        if not mine:
            continue
        smallest = min(mine, key=lambda o: o.mtu or 0)
        big = [v for v in links if v.kind == "veth" and veth_of(v) and (v.mtu or 0) > (smallest.mtu or 0)]
        if not big:
            continue
        v = big[0]
        text = (
            f"{len(big)} pod veth(s) such as {v.name} have mtu {v.mtu} > {smallest.name} mtu {smallest.mtu}:"
            " pods send packets the overlay cannot carry"
        )
        hits.append(
            Hit(
                [_ev(node, v, text), _ev(node, smallest, f"{smallest.name} mtu {smallest.mtu} (overlay)")],
                [f"Node/{node}"],
                [node],
                {
                    "overlay": smallest.name,
                    "fit_mtu": str(smallest.mtu),
                    "overlay_mtu": str(smallest.mtu),
                    "underlay": smallest.name,
                },
                f"{node}: {text}",
            )
        )
    return hits


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits: list[Hit] = []
    seen = False
    for node in ctx.bundle.node_dirs:
        links = ctx.parsed(node, "ip-link.json", parse_links)
        if links is None:
            continue
        seen = True
        addrs = ctx.parsed(node, "ip-addr.json", parse_addrs) or ()
        hits += _node_hits(ctx, node, links, addrs)
    return hits if hits or seen else None
