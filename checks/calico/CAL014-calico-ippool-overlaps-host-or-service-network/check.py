"""Enabled Calico IP pools that overlap the nodes' own network or the Service CIDR."""

from __future__ import annotations

import ipaddress

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, obj_name
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.iproute import parse_addrs

from .._lib import calico as lib


def _node_networks(ctx: Context) -> list[tuple[object, Evidence]]:
    """The subnet of each node's InternalIP (from ip-addr when collected, else the address itself)."""
    out: list[tuple[object, Evidence]] = []
    for n in ctx.nodes:
        node = obj_name(n)
        for ip in lib.node_addresses(n, ("InternalIP",)):
            net = ipaddress.ip_network(f"{ip}/{32 if ':' not in ip else 128}")
            for iface in ctx.parsed(node, "ip-addr.json", parse_addrs) or ():
                for a in iface.addrs:
                    if a.local == ip:
                        net = ipaddress.ip_network(f"{ip}/{a.prefixlen}", strict=False)
            out.append(
                (
                    net,
                    Evidence(layout.NODES_LIST, f"node {node}: InternalIP {ip} (network {net})", f"Node/{node}", node),
                )
            )
    return out


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    pools = lib.ippools(ctx)
    if pools is None or not ctx.nodes:
        return None
    others = [(d.net, d.evidence, "Service CIDR") for d in lib.service_cidrs(ctx)]
    others += [(net, ev, "node network") for net, ev in _node_networks(ctx)]
    hits = []
    for pool in [p for p in pools if not p.disabled]:
        clashes = [
            (net, ev, what) for net, ev, what in others if net.version == pool.cidr.version and pool.cidr.overlaps(net)
        ]
        if not clashes:
            continue
        evidence = [
            Evidence(layout.cluster_list("ippools.crd.projectcalico.org"), lib.pool_line(pool), f"IPPool/{pool.name}")
        ]
        seen: set[str] = set()
        for _net, ev, _what in clashes:
            if ev.excerpt not in seen and len(seen) < 4:
                seen.add(ev.excerpt)
                evidence.append(ev)
        kinds = sorted({what for _n, _e, what in clashes})
        nodes = sorted({ev.node for _n, ev, what in clashes if ev.node and what == "node network"})
        hits.append(
            Hit(
                evidence,
                [f"IPPool/{pool.name}"],
                nodes,
                {"pool": pool.name, "pool_cidr": str(pool.cidr), "clash": str(clashes[0][0])},
                f"IP pool {pool.name} ({pool.cidr}) overlaps the {' and the '.join(kinds)} "
                f"({', '.join(sorted({str(n) for n, _e, _w in clashes}))})",
            )
        )
    return hits
