"""BGP sessions toward peers whose address is right and whose calico-node runs, failing at the TCP level:
TCP 179 is filtered between the nodes (host firewall, security group, router ACL)."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, obj_name
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.birdcl import parse_birdcl_protocols
from cnidoctor.parse.iptables import parse_iptables_save
from cnidoctor.parse.nft import parse_nft_ruleset

from .._lib import calico as lib

PEER_NAME = re.compile(r"(?P<kind>Mesh|Node|Global)_(?P<ip>\d+_\d+_\d+_\d+)(?:_port_\d+)?$")
SOCKET_ERROR = re.compile(
    r"Socket: (?P<err>Connection (?:timed out|refused|reset by peer)|No route to host|"
    r"Network is unreachable)"
)


def _filters_179(ctx: Context, node: str) -> list[Evidence]:
    """Host-firewall evidence on NODE: a firewalld nftables table, or iptables rules dropping TCP 179."""
    out = []
    nft = ctx.parsed(node, "nft-ruleset.json", parse_nft_ruleset)
    for t in nft.tables if nft else ():
        if t.owner == "firewalld":
            out.append(
                Evidence(
                    layout.node_file(node, "nft-ruleset.json"),
                    f"firewalld is active on {node}: nftables table {t.family} {t.name}",
                    f"Node/{node}",
                    node,
                    t.line,
                )
            )
            break
    ipt = ctx.parsed(node, "iptables-save.txt", parse_iptables_save)
    for rule in ipt.rules() if ipt else ():
        if "179" in rule.args and rule.target in ("DROP", "REJECT"):
            out.append(
                Evidence(layout.node_file(node, "iptables-save.txt"), rule.text, f"Node/{node}", node, rule.line)
            )
    return out[:2]


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    if not ctx.bundle.node_dirs:
        return None
    node_by_ip: dict[str, str] = {}
    wrong_addr: set[str] = set()  # nodes whose Calico address is not their own (CAL001's business)
    for n in ctx.nodes:
        name, own, addr = obj_name(n), lib.node_addresses(n), lib.calico_ipv4(n)
        for ip in own + ([addr] if addr else []):
            node_by_ip.setdefault(ip, name)
        if addr and own and addr not in own:
            wrong_addr.add(name)
    agents = lib.calico_node_pod_on(ctx)
    hits = []
    seen_any = False
    for node in ctx.bundle.node_dirs:
        bird = ctx.parsed(node, "birdcl-protocols.txt", parse_birdcl_protocols)
        if bird is None:
            continue
        seen_any = True
        if node in wrong_addr:
            continue
        for proto in bird.bgp():
            m = PEER_NAME.match(proto.name)
            err = SOCKET_ERROR.search(proto.info)
            if not m or not err or proto.established:
                continue
            ip = m.group("ip").replace("_", ".")
            peer = node_by_ip.get(ip)
            if peer is not None and (peer in wrong_addr or not lib.agent_running(agents.get(peer))):
                continue  # wrong address, or nothing there to answer: other findings
            if peer is None and m.group("kind") == "Mesh":
                continue  # a mesh peer that is no node: stale, not a filtering problem
            path = layout.node_file(node, "birdcl-protocols.txt")
            evidence = [
                Evidence(
                    path,
                    f"{proto.name} {proto.proto} {proto.state} {proto.since} {proto.info}".strip(),
                    f"Node/{node}",
                    node,
                    proto.line,
                )
            ]
            if peer:
                evidence += _filters_179(ctx, peer)
            what = f"node {peer}" if peer else f"external BGP peer {ip}"
            hits.append(
                Hit(
                    evidence,
                    [f"Node/{node}"] + ([f"Node/{peer}"] if peer else []),
                    [node],
                    {"peer": ip, "peer_node": peer or ip, "error": err.group("err"), "node": node},
                    f"{node} -> {what} ({ip}:179): {err.group('err')}",
                )
            )
    if not seen_any:
        return None
    if hits:
        ds = lib.calico_node_daemonsets(ctx)
        ns = str(ds[0]["metadata"].get("namespace")) if ds else "kube-system"
        for h in hits:
            h.values["namespace"] = ns
    return hits
