"""Several nodes advertise the same flannel public IP: flannel picked an interface that is not unique."""

from __future__ import annotations

import ipaddress
from collections import defaultdict

from cnidoctor.diagnose.context import Context
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.iproute import parse_addrs, parse_links

from .._lib import flannel_lib as fl

USING = fl.log_pattern(r"Using interface with name (?P<iface>\S+) and address (?P<addr>[0-9a-fA-F.:]+)")
VIRTUAL = ("lo", "flannel", "cni", "veth", "docker", "cali", "cilium", "vxlan", "kube-", "tunl", "virbr", "nodelocal")


def _candidates(ctx: Context, node: str, exclude: str) -> dict[str, ipaddress.IPv4Interface]:
    """Physical-looking interfaces of NODE with a global IPv4 address other than EXCLUDE."""
    out: dict[str, ipaddress.IPv4Interface] = {}
    for link in ctx.parsed(node, "ip-addr.json", parse_addrs) or ():
        if link.name.startswith(VIRTUAL):
            continue
        for a in link.addrs:
            iface = a.interface
            if isinstance(iface, ipaddress.IPv4Interface) and a.scope != "host" and a.local != exclude:
                out.setdefault(link.name, iface)
    return out


def _suggest(ctx: Context, nodes: list[str], dup: str) -> dict[str, str]:
    """An interface present on every node, on one shared network, with a different address on each."""
    per_node = {n: _candidates(ctx, n, dup) for n in nodes if ctx.has_node_file(n, "ip-addr.json")}
    if not per_node:
        return {}
    common = set.intersection(*(set(c) for c in per_node.values()))
    for name in sorted(common):
        addrs = [c[name] for c in per_node.values()]
        if len({a.ip for a in addrs}) == len(addrs) and len({a.network for a in addrs}) == 1:
            return {"iface": name, "iface_net": str(addrs[0].network), "iface_can_reach": str(addrs[-1].ip)}
    return {}


def _vtep_evidence(ctx: Context, node: str, dup: str) -> Evidence | None:
    for link in ctx.parsed(node, "ip-link.json", parse_links) or ():
        if link.vxlan is not None and link.name.startswith("flannel") and link.vxlan.local == dup:
            return fl.file_evidence(
                node,
                "ip-link.json",
                f"{link.name}: vxlan id {link.vxlan.id} local {link.vxlan.local} dev {link.vxlan.underlay}",
                link.line,
            )
    return None


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    if not ctx.nodes:
        return None
    by_ip: dict[tuple[str, str], list[str]] = defaultdict(list)
    for node in ctx.nodes:
        for key in (fl.PUBLIC_IP, fl.PUBLIC_IP + "v6"):
            ip = fl.annotations(node).get(key)
            if ip:
                by_ip[(key, ip)].append(str(node["metadata"]["name"]))
    hits = []
    for (key, ip), names in sorted(by_ip.items()):
        if len(names) < 2:
            continue
        evidence = [fl.node_evidence(n, f"{n} {key}: {ip}") for n in names]
        values: dict[str, str] = {"public_ip": ip, "iface": "<interface on the node network>"}
        for ref, line, m in fl.flannel_log_lines(ctx, USING):
            if m.group("addr") == ip and ctx.pod_node(ref.namespace, ref.pod) in names:
                evidence.insert(0, fl.log_evidence(ctx, ref, line))
                values.setdefault("used_iface", m.group("iface"))
                values.setdefault("pod", ref.pod)
                break
        vtep = next((e for e in (_vtep_evidence(ctx, n, ip) for n in names) if e), None)
        evidence += [vtep] if vtep else []
        same_internal = [n for n in names if ip in fl.node_addresses(ctx.node_by_name[n], "InternalIP")]
        if len(same_internal) > 1:
            evidence.append(
                fl.node_evidence(same_internal[0], f"InternalIP {ip} is also shared by {', '.join(same_internal)}")
            )
        values.update(_suggest(ctx, names, ip))
        values.update(fl.ds_values(ctx))
        note = f"; use {values['iface']} ({values['iface_net']})" if "iface_net" in values else ""
        hits.append(
            Hit(
                evidence,
                [f"Node/{n}" for n in names],
                names,
                values,
                message=f"{len(names)} nodes advertise the same flannel public IP {ip}{note}",
            )
        )
    return hits
