"""Parsers of iproute2 JSON output: `ip -j route show table all`, `ip -j -d link show`, `ip -j addr show`.

Unknown fields are ignored, as newer iproute2 versions add them freely; fields a check needs are typed.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from cnidoctor.parse._json import Obj, load_items

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Nexthop:
    """One path of a multipath route."""

    gateway: str | None
    dev: str | None
    weight: int | None
    flags: tuple[str, ...]


@dataclass(frozen=True)
class Route:
    """One route; `table` is "main" and `type` "unicast" when ip leaves them out."""

    dst: str
    family: str  # "inet" or "inet6" (ip does not print it; inferred from the addresses)
    type: str
    table: str
    dev: str | None
    gateway: str | None
    protocol: str | None
    scope: str | None
    prefsrc: str | None
    metric: int | None
    mtu: int | None  # the route's `mtu` metric
    flags: tuple[str, ...]
    nexthops: tuple[Nexthop, ...]
    line: int

    @cached_property
    def network(self) -> IpNetwork | None:
        """The destination as a network (`default` is 0.0.0.0/0 or ::/0); None if it is not an address.
        Parsed once per route (route checks ask for it once per remote node)."""
        dst = self.dst
        if dst == "default":
            dst = "::/0" if self.family == "inet6" else "0.0.0.0/0"
        try:
            return ipaddress.ip_network(dst, strict=False)
        except ValueError:
            return None

    @property
    def devs(self) -> tuple[str, ...]:
        """Output devices of the route, including those of its nexthops."""
        devs = [self.dev] if self.dev else []
        devs += [nh.dev for nh in self.nexthops if nh.dev and nh.dev not in devs]
        return tuple(devs)


@dataclass(frozen=True)
class Vxlan:
    """VXLAN settings of a link (`linkinfo.info_data`)."""

    id: int | None
    port: int | None
    local: str | None
    remote: str | None  # remote or multicast group
    underlay: str | None  # the `link` device VXLAN packets leave through
    learning: bool | None
    external: bool  # collect_metadata / external (Cilium's cilium_vxlan)


@dataclass(frozen=True)
class Link:
    """One network device from `ip -d link`."""

    ifindex: int
    name: str
    kind: str | None  # linkinfo.info_kind: veth, bridge, vxlan, ipip, vlan, wireguard, ...
    mtu: int | None
    flags: tuple[str, ...]
    operstate: str | None
    address: str | None
    master: str | None  # bridge (or bond/vrf) this device is enslaved to
    slave_kind: str | None  # linkinfo.info_slave_kind, e.g. "bridge"
    parent: str | None  # top-level `link`: veth peer in this netns, vlan/macvlan parent
    link_index: int | None  # peer/parent ifindex when it lives in another netns
    link_netnsid: int | None
    vxlan: Vxlan | None
    vlan_id: int | None
    tunnel_local: str | None  # ipip/gre/sit local address
    tunnel_remote: str | None
    info_data: dict[str, Any] = field(compare=False, repr=False)
    line: int = 0

    @property
    def up(self) -> bool:
        return "UP" in self.flags

    @property
    def lower_up(self) -> bool:
        return "LOWER_UP" in self.flags

    @property
    def is_wireguard(self) -> bool:
        return self.kind == "wireguard"

    @property
    def veth_peer(self) -> str | None:
        """Name of the veth peer when it is in the same namespace, else `if<index>` (or None)."""
        if self.kind != "veth":
            return None
        if self.parent:
            return self.parent
        return f"if{self.link_index}" if self.link_index is not None else None


@dataclass(frozen=True)
class Addr:
    """One address of an interface."""

    family: str  # inet, inet6
    local: str
    prefixlen: int
    scope: str | None
    label: str | None
    broadcast: str | None
    peer: str | None  # point-to-point peer (`address` in addr_info)
    flags: tuple[str, ...]  # boolean flags set on the address: dynamic, tentative, dadfailed, ...

    @property
    def cidr(self) -> str:
        return f"{self.local}/{self.prefixlen}"

    @property
    def interface(self) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface | None:
        try:
            return ipaddress.ip_interface(self.cidr)
        except ValueError:
            return None


@dataclass(frozen=True)
class AddrInterface:
    """One interface from `ip addr` with its addresses."""

    ifindex: int
    name: str
    mtu: int | None
    flags: tuple[str, ...]
    operstate: str | None
    master: str | None
    parent: str | None
    addrs: tuple[Addr, ...]
    line: int

    @property
    def up(self) -> bool:
        return "UP" in self.flags

    def addresses(self, family: str | None = None) -> tuple[Addr, ...]:
        return tuple(a for a in self.addrs if family is None or a.family == family)


def _family(*addrs: str | None, v6_hint: bool = False) -> str:
    if any(a and ":" in a and a != "default" for a in addrs) or v6_hint:
        return "inet6"
    return "inet"


def _gateway(o: Obj) -> str | None:
    gw = o.get_str("gateway")
    if gw is None:
        via = o.get_obj("via")
        if via is not None:
            gw = via.get_str("host")
    return gw


def _route(o: Obj, line: int) -> Route:
    dst = o.req_str("dst")
    mtu = None
    metrics = o.data.get("metrics")
    for m in [Obj(metrics, o.source, line, "route.metrics")] if isinstance(metrics, dict) else o.objs("metrics"):
        mtu = m.get_int("mtu") if m.has("mtu") else mtu
    nexthops = tuple(
        Nexthop(
            gateway=_gateway(nh),
            dev=nh.get_str("dev"),
            weight=nh.get_int("weight"),
            flags=nh.get_strs("flags"),
        )
        for nh in o.objs("nexthops")
    )
    gateway = _gateway(o)
    prefsrc = o.get_str("prefsrc")
    nh_gateways = [nh.gateway for nh in nexthops]
    return Route(
        dst=dst,
        family=_family(dst, gateway, prefsrc, *nh_gateways, v6_hint=o.has("pref")),
        type=o.get_str("type") or "unicast",
        table=o.get_str("table") or "main",
        dev=o.get_str("dev"),
        gateway=gateway,
        protocol=o.get_str("protocol"),
        scope=o.get_str("scope"),
        prefsrc=prefsrc,
        metric=o.get_int("metric"),
        mtu=mtu,
        flags=o.get_strs("flags"),
        nexthops=nexthops,
        line=line,
    )


def parse_routes(text: str, source: str = "<input>") -> tuple[Route, ...]:
    """Parse `ip -j route show table all`."""
    items = load_items(text, source, "a JSON list of routes")
    return tuple(_route(Obj(item, source, line, "route"), line) for line, item in items)


def _link(o: Obj, line: int) -> Link:
    info = o.get_obj("linkinfo")
    kind = slave_kind = None
    data: Obj | None = None
    if info is not None:
        kind = info.get_str("info_kind")
        slave_kind = info.get_str("info_slave_kind")
        data = info.get_obj("info_data")
    vxlan = vlan_id = t_local = t_remote = None
    if data is not None:
        if kind == "vxlan":
            vxlan = Vxlan(
                id=data.get_int("id"),
                port=data.get_int("port"),
                local=data.get_str("local") or data.get_str("local6"),
                remote=data.get_str("remote") or data.get_str("group") or data.get_str("remote6"),
                underlay=data.get_str("link"),
                learning=data.get_bool("learning"),
                external=bool(data.get_bool("external") or data.get_bool("collect_metadata")),
            )
        elif kind in ("vlan",):
            vlan_id = data.get_int("id")
        elif kind in ("ipip", "gre", "gretap", "sit", "ip6tnl", "ip6gre", "ip6gretap", "vti", "geneve"):
            t_local = data.get_str("local")
            t_remote = data.get_str("remote")
    elif kind == "vxlan":
        vxlan = Vxlan(None, None, None, None, None, None, False)
    return Link(
        ifindex=o.req_int("ifindex"),
        name=o.req_str("ifname"),
        kind=kind,
        mtu=o.get_int("mtu"),
        flags=o.get_strs("flags"),
        operstate=o.get_str("operstate"),
        address=o.get_str("address"),
        master=o.get_str("master"),
        slave_kind=slave_kind,
        parent=o.get_str("link"),
        link_index=o.get_int("link_index"),
        link_netnsid=o.get_int("link_netnsid"),
        vxlan=vxlan,
        vlan_id=vlan_id,
        tunnel_local=t_local,
        tunnel_remote=t_remote,
        info_data=dict(data.data) if data is not None else {},
        line=line,
    )


def parse_links(text: str, source: str = "<input>") -> tuple[Link, ...]:
    """Parse `ip -j -d link show`."""
    items = load_items(text, source, "a JSON list of links")
    return tuple(_link(Obj(item, source, line, "link"), line) for line, item in items)


_ADDR_FIELDS = ("family", "local", "prefixlen", "scope", "label", "broadcast", "address")


def _addr(o: Obj) -> Addr:
    flags = tuple(k for k, v in o.data.items() if v is True and k not in _ADDR_FIELDS)
    return Addr(
        family=o.get_str("family") or _family(o.get_str("local")),
        local=o.req_str("local"),
        prefixlen=o.req_int("prefixlen"),
        scope=o.get_str("scope"),
        label=o.get_str("label"),
        broadcast=o.get_str("broadcast"),
        peer=o.get_str("address"),
        flags=flags,
    )


def parse_addrs(text: str, source: str = "<input>") -> tuple[AddrInterface, ...]:
    """Parse `ip -j addr show`."""
    out = []
    for line, item in load_items(text, source, "a JSON list of interfaces"):
        o = Obj(item, source, line, "interface")
        out.append(
            AddrInterface(
                ifindex=o.req_int("ifindex"),
                name=o.req_str("ifname"),
                mtu=o.get_int("mtu"),
                flags=o.get_strs("flags"),
                operstate=o.get_str("operstate"),
                master=o.get_str("master"),
                parent=o.get_str("link"),
                addrs=tuple(_addr(a) for a in o.objs("addr_info", "address") if a.has("local")),
                line=line,
            )
        )
    return tuple(out)
