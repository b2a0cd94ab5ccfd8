"""Calico's node address (projectcalico.org/IPv4Address) is not the node's own address, and BGP or the
address itself shows it is wrong: peers cannot reach it, it is a bridge/NAT address, or nodes share it."""

from __future__ import annotations

import ipaddress
import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, obj_name
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.birdcl import parse_birdcl_protocols
from cnidoctor.parse.iproute import parse_addrs

from .._lib import calico as lib

AUTODETECT = re.compile(r"Using autodetected IPv4 address (?:on interface (?P<iface>\S+): )?(?P<addr>[0-9.]+)(?:/\d+)?")
# Interfaces (and addresses) a node address must never come from.
BRIDGE_IFACE = re.compile(
    r"docker\d*|br-[0-9a-f]+|virbr\d+|cni\d+|kube-ipvs\d+|kube-bridge|flannel\.\d+|cali.*|"
    r"vxlan[.-]calico|tunl\d+|weave|lxcbr\d+|podman\d+|cilium_.*|nodelocaldns|vboxnet\d+"
)
NAT_ADDRS = {"10.0.2.15", "172.17.0.1", "192.168.122.1"}
PEER_NAME = re.compile(r"(?:Mesh|Node|Global)_(\d+_\d+_\d+_\d+)(?:_port_\d+)?$")


def _bad_address_reason(addr: str, iface: str | None, dup_nodes: list[str]) -> str | None:
    ip = ipaddress.ip_address(addr)
    if iface and BRIDGE_IFACE.fullmatch(iface):
        return f"it belongs to {iface}, a bridge/virtual interface"
    if addr in NAT_ADDRS:
        return "it is a well-known bridge/NAT address (docker0, libvirt or VirtualBox NAT)"
    if ip.is_loopback or ip.is_link_local:
        return "it is a loopback/link-local address"
    if dup_nodes:
        return f"nodes {', '.join(dup_nodes)} all use it"
    return None


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    if not ctx.nodes:
        return None
    calico_addr = {obj_name(n): lib.calico_ipv4(n) for n in ctx.nodes}
    by_addr: dict[str, list[str]] = {}
    for node, addr in calico_addr.items():
        if addr:
            by_addr.setdefault(addr, []).append(node)
    # BGP sessions that are not established, by the peer address they try to reach
    failing: dict[str, list[Evidence]] = {}
    for node in ctx.bundle.node_dirs:
        bird = ctx.parsed(node, "birdcl-protocols.txt", parse_birdcl_protocols)
        for proto in bird.bgp() if bird else ():
            m = PEER_NAME.match(proto.name)
            if m and not proto.established:
                failing.setdefault(m.group(1).replace("_", "."), []).append(
                    Evidence(
                        layout.node_file(node, "birdcl-protocols.txt"),
                        f"{proto.name} {proto.proto} {proto.state} {proto.info}".strip(),
                        f"Node/{node}",
                        node,
                        proto.line,
                    )
                )
    not_established = [e for e in lib.events(ctx, "Unhealthy", re.compile(r"BGP not established with"))]
    autodetect_lines = {}
    for ref, line, m in lib.scan_logs(ctx, re.compile(r"calico-node-.*"), re.compile(r"calico-node"), AUTODETECT):
        node = ctx.pod_node(ref.namespace, ref.pod)
        if node:
            autodetect_lines[node] = (lib.log_evidence(ctx, ref, line), m.group("iface"))
    hits = []
    for n in ctx.nodes:
        node = obj_name(n)
        addr = calico_addr[node]
        own = lib.node_addresses(n)
        if not addr or not own or addr in own or lib.as_ip(addr) is None or lib.as_ip(addr).version != 4:
            continue
        log_ev, iface = autodetect_lines.get(node, (None, None))
        dups = [d for d in by_addr.get(addr, []) if d != node]
        reason = _bad_address_reason(addr, iface, sorted([node, *dups]) if dups else [])
        peer_ev = failing.get(addr, [])
        probe_ev = [
            e.evidence() for e in not_established if re.search(rf"(?<![\d.]){re.escape(addr)}(?![\d.])", e.message)
        ]
        if not (reason or peer_ev or probe_ev):
            continue  # a deliberate separate BGP network that works: not a fault
        ann = n["metadata"]["annotations"][lib.IPV4_ANNOTATION]
        evidence = [
            Evidence(
                layout.NODES_LIST,
                f"node {node}: {lib.IPV4_ANNOTATION}={ann}, but its InternalIP is {', '.join(own)}",
                f"Node/{node}",
                node,
            )
        ]
        if log_ev:
            evidence.append(log_ev)
        evidence += peer_ev[:4] + probe_ev[:2]
        values = {
            "address": addr,
            "internal_ip": own[0],
            "cidrs": _subnet_of(ctx, node, own[0]),
            "interface": iface or "?",
        }
        why = reason or "its BGP peers cannot connect to it"
        hits.append(
            Hit(
                evidence,
                [f"Node/{node}"],
                [node],
                values,
                f"calico-node on {node} uses {addr}"
                f"{' (interface ' + iface + ')' if iface else ''} instead of {own[0]}: {why}",
            )
        )
    if hits:
        ds = lib.calico_node_daemonsets(ctx)
        method = lib.env_map(lib.container(ds[0], "calico-node")).get("IP_AUTODETECTION_METHOD") if ds else None
        ns = str(ds[0]["metadata"].get("namespace")) if ds else "kube-system"
        for h in hits:
            h.values.update({"namespace": ns, "method": method or "first-found (default)"})
    return hits


def _subnet_of(ctx: Context, node: str, ip: str) -> str:
    addrs = ctx.parsed(node, "ip-addr.json", parse_addrs)
    for iface in addrs or ():
        for a in iface.addrs:
            if a.local == ip:
                return str(ipaddress.ip_network(f"{ip}/{a.prefixlen}", strict=False))
    return f"{ip}/32"
