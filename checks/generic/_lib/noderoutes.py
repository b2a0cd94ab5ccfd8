"""Routes every node should have to every other node's pods, per CNI and mode, and where they differ.

Shared by GEN150 (route missing) and GEN151 (route via the wrong device or gateway). Pod CIDRs come
from Calico block affinities, CiliumNodes (cluster-pool IPAM) or Node `spec.podCIDRs`; the mode from
flannel's node annotations / net-conf.json, Calico's IP pools, `cilium-config`. A mode whose routes
come from outside the node (Cilium native routing without auto-direct-node-routes, flannel ipsec or
alloc) expects nothing.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass

from cnidoctor.bundle import layout
from cnidoctor.catalog.placeholders import shell_quote
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence
from cnidoctor.node.agents import agents_by_node
from cnidoctor.parse.iproute import Route, parse_routes

Net = ipaddress.IPv4Network | ipaddress.IPv6Network
FLANNEL = "flannel.alpha.coreos.com/"
DROP_TYPES = ("blackhole", "unreachable", "prohibit")


@dataclass(frozen=True)
class Expect:
    """How a node must reach one remote pod CIDR."""

    mode: str  # "flannel vxlan", "calico ipip", "cilium tunnel", ...
    devs: tuple[str, ...] = ()  # acceptable output devices (regexes); empty = any
    gateway: str | None = None  # required next hop; None = any
    label: str | None = None  # how to say it when devs and gateway do not say it well

    @property
    def text(self) -> str:
        if self.label:
            return self.label
        parts = []
        if self.gateway:
            parts.append(f"via {self.gateway}")
        if self.devs:
            parts.append("dev " + " or ".join(d.replace("\\", "").replace("d+", "N") for d in self.devs))
        return " ".join(parts) or "a route"

    def accepts(self, route: Route) -> bool:
        gateways = {route.gateway} | {nh.gateway for nh in route.nexthops}
        if self.gateway and self.gateway not in gateways:
            return False
        return not self.devs or any(re.fullmatch(d, dev) for d in self.devs for dev in route.devs)


@dataclass(frozen=True)
class Peer:
    """A remote node's pod CIDR and the route that must lead to it."""

    node: str
    cidr: Net
    source: str  # where the CIDR comes from, for the evidence
    expect: Expect


@dataclass(frozen=True)
class Problem:
    node: str
    peer: Peer
    kind: str  # missing | dropped | wrong
    route: Route | None  # the route that matches (none when missing)

    @property
    def summary(self) -> str:
        if self.kind == "missing":
            return f"{self.peer.cidr} ({self.peer.node})"
        r = self.route
        assert r is not None
        how = (
            r.type
            if self.kind == "dropped"
            else " ".join(
                x for x in (f"via {r.gateway}" if r.gateway else "", f"dev {','.join(r.devs)}" if r.devs else "") if x
            )
        )
        return f"{self.peer.cidr} ({self.peer.node}) goes {how}, expected {self.peer.expect.text}"


def _net(text: object) -> Net | None:
    try:
        return ipaddress.ip_network(str(text).strip(), strict=False)
    except ValueError:
        return None


def _ip(text: object) -> str | None:
    try:
        return str(ipaddress.ip_interface(str(text).strip()).ip)
    except ValueError:
        return None


def node_ip(node: dict, family: int = 4) -> str | None:
    for kind in ("InternalIP", "ExternalIP"):
        for a in (node.get("status") or {}).get("addresses") or []:
            if isinstance(a, dict) and a.get("type") == kind:
                ip = _ip(a.get("address"))
                if ip and ipaddress.ip_address(ip).version == family:
                    return ip
    return None


def node_pod_cidrs(node: dict) -> list[Net]:
    spec = node.get("spec") or {}
    raw = list(spec.get("podCIDRs") or []) or ([spec["podCIDR"]] if spec.get("podCIDR") else [])
    return [n for n in (_net(c) for c in raw) if n is not None]


# -- flannel ----------------------------------------------------------------------------------------
def _flannel_netconf(ctx: Context) -> dict:
    for cm in ctx.configmaps:
        if "flannel" in obj_name(cm):
            text = ((cm.get("data") or {}).get("net-conf.json")) or ""
            try:
                doc = json.loads(text)
            except ValueError:
                continue
            if isinstance(doc, dict):
                return doc
    return {}


def _backend_vni(ann: dict) -> int | None:
    try:
        data = json.loads(str(ann.get(FLANNEL + "backend-data") or "{}"))
    except ValueError:
        return None
    vni = data.get("VNI") if isinstance(data, dict) else None
    return vni if isinstance(vni, int) and not isinstance(vni, bool) else None


def flannel_peers(ctx: Context) -> list[Peer]:
    netconf = _flannel_netconf(ctx)
    backend = netconf.get("Backend") if isinstance(netconf.get("Backend"), dict) else {}
    direct = bool(backend.get("DirectRouting"))
    vni = backend.get("VNI") if isinstance(backend.get("VNI"), int) else None
    out = []
    for node in ctx.nodes:
        ann = meta(node).get("annotations") or {}
        kind = str(ann.get(FLANNEL + "backend-type") or backend.get("Type") or "").lower()
        public = _ip(ann.get(FLANNEL + "public-ip-overwrite") or ann.get(FLANNEL + "public-ip")) or node_ip(node)
        for cidr in node_pod_cidrs(node):
            v6 = cidr.version == 6
            gw = (_ip(ann.get(FLANNEL + "public-ipv6")) or node_ip(node, 6)) if v6 else public
            if kind == "vxlan":
                n = _backend_vni(ann) or vni
                dev = f"flannel-v6.{n or 1}" if v6 else f"flannel.{n}" if n else "flannel.N"
                pattern = re.escape(dev).replace("N", r"\d+")
                label = f"via {cidr.network_address} dev {dev} onlink"
                expect = Expect("flannel vxlan", (pattern,), label=label)
                if direct:  # same-subnet peers are reached directly; accept either
                    expect = Expect(
                        "flannel vxlan (DirectRouting)", (pattern, r"(?!flannel).*"), label=f"{label} or via {gw}"
                    )
            elif kind == "host-gw" and gw:
                expect = Expect("flannel host-gw", (), gw)
            elif kind == "wireguard":
                expect = Expect("flannel wireguard", ("flannel-wg-v6" if v6 else "flannel-wg",))
            elif kind == "udp":
                expect = Expect("flannel udp", ("flannel0",))
            else:
                continue  # ipsec, alloc, unknown: no per-node routes to expect
            out.append(Peer(obj_name(node), cidr, "Node spec.podCIDRs", expect))
    return out


# -- calico -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Pool:
    cidr: Net
    ipip: str
    vxlan: str


def _calico_pools(ctx: Context) -> list[_Pool]:
    out = []
    for name in ("ippools.crd.projectcalico.org", "ippools.projectcalico.org"):
        for item in ctx.resource(name):
            spec = item.get("spec") or {}
            cidr = _net(spec.get("cidr"))
            if cidr is not None and not spec.get("disabled"):
                out.append(_Pool(cidr, str(spec.get("ipipMode") or "Never"), str(spec.get("vxlanMode") or "Never")))
    return out


def _calico_address(node: dict) -> ipaddress.IPv4Interface | None:
    raw = (meta(node).get("annotations") or {}).get("projectcalico.org/IPv4Address")
    try:
        return ipaddress.IPv4Interface(str(raw)) if raw else None
    except ValueError:
        return None


def calico_peers(ctx: Context, local: str) -> list[Peer]:
    """Remote Calico blocks as LOCAL must route them (CrossSubnet depends on LOCAL's subnet)."""
    if not ctx.has_resource("blockaffinities.crd.projectcalico.org"):
        return []
    pools = _calico_pools(ctx)
    me = _calico_address(ctx.node_by_name.get(local) or {})
    out = []
    for aff in ctx.resource("blockaffinities.crd.projectcalico.org"):
        spec = aff.get("spec") or {}
        cidr = _net(spec.get("cidr"))
        owner = str(spec.get("node") or "")
        if (
            cidr is None
            or cidr.version != 4
            or spec.get("state") not in (None, "confirmed")
            or str(spec.get("deleted")).lower() == "true"
            or owner not in ctx.node_by_name
        ):
            continue
        pool = next((p for p in pools if p.cidr.version == cidr.version and cidr.subnet_of(p.cidr)), None)
        if pool is None:
            continue
        node = ctx.node_by_name[owner]
        addr = _calico_address(node)
        peer_ip = str(addr.ip) if addr else node_ip(node)
        same_subnet = bool(me and addr and addr.ip in me.network)
        ipip = pool.ipip == "Always" or (pool.ipip == "CrossSubnet" and not same_subnet)
        vxlan = pool.vxlan == "Always" or (pool.vxlan == "CrossSubnet" and not same_subnet)
        if ipip:
            expect = Expect("calico ipip", ("tunl0",), peer_ip)
        elif vxlan:
            expect = Expect("calico vxlan", (r"vxlan\.calico",))
        elif peer_ip:
            expect = Expect("calico bgp (no encapsulation)", (), peer_ip)
        else:
            continue
        out.append(Peer(owner, cidr, f"BlockAffinity {obj_name(aff)}", expect))
    return out


# -- cilium -----------------------------------------------------------------------------------------
def _cilium_config(ctx: Context) -> dict[str, str] | None:
    for cm in ctx.configmaps:
        if obj_name(cm) == "cilium-config":
            data = cm.get("data") if isinstance(cm.get("data"), dict) else {}
            return {str(k): str(v).strip() for k, v in data.items()}
    return None


def cilium_peers(ctx: Context) -> list[Peer]:
    cfg = _cilium_config(ctx)
    if cfg is None:
        return []
    mode = cfg.get("routing-mode") or ("native" if cfg.get("tunnel") == "disabled" else "tunnel")
    direct = cfg.get("auto-direct-node-routes", "false").lower() == "true"
    if mode == "native" and not direct:
        return []  # routes come from the network (cloud routes, BGP), not from the node
    cilium_nodes = {obj_name(n): n for n in ctx.resource("ciliumnodes.cilium.io")}
    out = []
    for node in ctx.nodes:
        name = obj_name(node)
        cn = cilium_nodes.get(name)
        ipam = ((cn or {}).get("spec") or {}).get("ipam") or {}
        cidrs = [n for n in (_net(c) for c in ipam.get("podCIDRs") or []) if n is not None]
        source = "CiliumNode spec.ipam.podCIDRs"
        if not cidrs:
            cidrs, source = node_pod_cidrs(node), "Node spec.podCIDRs"
        for cidr in cidrs:
            if mode == "native":
                gw = node_ip(node, cidr.version)
                if gw:
                    out.append(
                        Peer(name, cidr, source, Expect("cilium native routing (auto-direct-node-routes)", (), gw))
                    )
            else:
                out.append(
                    Peer(
                        name,
                        cidr,
                        source,
                        Expect(f"cilium tunnel ({cfg.get('tunnel-protocol') or 'vxlan'})", ("cilium_host",)),
                    )
                )
    return out


# -- comparison -------------------------------------------------------------------------------------
def peers_for(ctx: Context, local: str) -> tuple[str, list[Peer]]:
    """(CNI, the remote pod CIDRs LOCAL must route) for the CNI that programs node routes."""
    if "flannel" in ctx.cnis and any(FLANNEL + "backend-type" in (meta(n).get("annotations") or {}) for n in ctx.nodes):
        return "flannel", [p for p in flannel_peers(ctx) if p.node != local]
    if "calico" in ctx.cnis:
        peers = calico_peers(ctx, local)
        if peers:
            return "calico", [p for p in peers if p.node != local]
    if "cilium" in ctx.cnis:
        return "cilium", [p for p in cilium_peers(ctx) if p.node != local]
    if "flannel" in ctx.cnis:
        return "flannel", [p for p in flannel_peers(ctx) if p.node != local]
    return "", []


_ROUTE_INDEX: dict[int, tuple[tuple[Route, ...], dict[tuple[int, int, int], Route]]] = {}


def _route_index(routes: tuple[Route, ...]) -> dict[tuple[int, int, int], Route]:
    """Main-table routes by (version, network address, prefix length), the first of equal ones kept."""
    cached = _ROUTE_INDEX.get(id(routes))
    if cached is not None and cached[0] is routes:
        return cached[1]
    index: dict[tuple[int, int, int], Route] = {}
    for r in routes:
        if r.table != "main" or r.type not in ("unicast", *DROP_TYPES):
            continue
        net = r.network
        if net is not None:
            index.setdefault((net.version, int(net.network_address), net.prefixlen), r)
    if len(_ROUTE_INDEX) > 256:
        _ROUTE_INDEX.clear()
    _ROUTE_INDEX[id(routes)] = (routes, index)
    return index


def best_route(routes: tuple[Route, ...], cidr: Net) -> Route | None:
    """The main-table route the kernel would use for the whole of CIDR (longest prefix covering it)."""
    index = _route_index(routes)
    bits = cidr.max_prefixlen
    addr = int(cidr.network_address)
    for plen in range(cidr.prefixlen, -1, -1):  # a hash lookup per prefix length, not a scan of every route
        mask = ((1 << plen) - 1) << (bits - plen) if plen else 0
        r = index.get((cidr.version, addr & mask, plen))
        if r is not None:
            return r
    return None


def route_problems(ctx: Context, node: str) -> tuple[str, list[Problem]] | None:
    """(CNI, problems) of NODE's routes to the other nodes' pods; None when there is nothing to compare."""
    routes = ctx.parsed(node, "ip-route.json", parse_routes)
    if routes is None:
        return None
    cni, peers = peers_for(ctx, node)
    if not peers:
        return None
    out = []
    for peer in peers:
        r = best_route(routes, peer.cidr)
        if r is None or r.network is None or r.network.prefixlen == 0:
            out.append(Problem(node, peer, "missing", None))
        elif r.type in DROP_TYPES:
            out.append(Problem(node, peer, "dropped", r))
        elif not peer.expect.accepts(r):
            out.append(Problem(node, peer, "wrong", r))
    return cni, out


# -- findings ---------------------------------------------------------------------------------------
AGENT_CONTAINER = {"calico": "calico-node", "cilium": "cilium-agent", "flannel": "kube-flannel"}
INSPECT = {
    "calico": "kubectl -n {ns} exec {pod} -c calico-node -- birdcl -s /var/run/calico/bird.ctl show protocols",
    "cilium": "kubectl -n {ns} exec {pod} -c cilium-agent -- cilium-dbg status --verbose",
    "flannel": "kubectl -n {ns} logs {pod} -c kube-flannel --tail=100",
}


def source_evidence(ctx: Context, peer: Peer) -> Evidence:
    """Where the peer's pod CIDR is declared."""
    if peer.source.startswith("BlockAffinity"):
        path = layout.cluster_list("blockaffinities.crd.projectcalico.org")
        obj = f"BlockAffinity/{peer.source.split(' ', 1)[1]}"
    elif peer.source.startswith("CiliumNode"):
        path, obj = layout.cluster_list("ciliumnodes.cilium.io"), f"CiliumNode/{peer.node}"
    else:
        path, obj = layout.NODES_LIST, f"Node/{peer.node}"
    return Evidence(
        path,
        f"{peer.node} pod CIDR {peer.cidr} ({peer.source}); {peer.expect.mode}: expected {peer.expect.text}",
        obj,
        peer.node,
    )


def route_text(r: Route) -> str:
    parts = [r.dst] if r.type == "unicast" else [r.type, r.dst]
    if r.gateway:
        parts.append(f"via {r.gateway}")
    parts += [f"dev {d}" for d in r.devs[:1]]
    if r.protocol:
        parts.append(f"proto {r.protocol}")
    return " ".join(parts + list(r.flags))


def agent_values(ctx: Context, node: str, cni: str) -> dict[str, str]:
    """{namespace} {pod} {container} {inspect} of the CNI agent on NODE (placeholders when unknown)."""
    agents = [a for a in agents_by_node(ctx.pods).get(node, []) if a.cni in (cni, "canal")]
    if not agents:
        ns = "kube-flannel" if cni == "flannel" else "kube-system"
        return {
            "namespace": ns,
            "pod": f"<{cni or 'cni'}-agent-pod-on-{node}>",
            "container": AGENT_CONTAINER.get(cni, "<container>"),
            "inspect": f"kubectl get pods -A -o wide --field-selector {shell_quote(f'spec.nodeName={node}')}",
        }
    a = agents[0]
    return {
        "namespace": a.namespace,
        "pod": a.name,
        "container": a.container,
        "inspect": INSPECT.get(cni, "kubectl -n {ns} logs {pod} --tail=100").format(
            ns=shell_quote(a.namespace), pod=shell_quote(a.name)
        ),
    }


def first_host(cidr: Net) -> str:
    return str(next(iter(cidr.hosts()), cidr.network_address))
