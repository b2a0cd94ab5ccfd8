"""The pod network contains node addresses, or overlaps the Service range."""

from __future__ import annotations

import json
from dataclasses import dataclass

from cnidoctor.bundle import layout
from cnidoctor.catalog.placeholders import shell_quote
from cnidoctor.diagnose.context import Context, dict_at, dicts_at, list_at, meta, obj_name
from cnidoctor.model import Evidence, Hit

from .._lib import cnilayer as cl


@dataclass(frozen=True)
class Range:
    net: object  # ipaddress network
    what: str  # "IPPool default-ipv4-ippool cidr 192.168.0.0/16"
    path: str
    obj: str | None
    edit: str  # the command that shows where it is set
    allocated: bool = False  # a node's own range (not a pool)


def _args(pod: dict) -> list[str]:
    return [str(a) for c in dicts_at(pod, "spec", "containers") for a in list_at(c, "command") + list_at(c, "args")]


def _flag_ranges(ctx: Context, component: str, flag: str, edit: str) -> list[Range]:
    out = []
    for p in ctx.pods:
        if not obj_name(p).startswith(component):
            continue
        ns = str(meta(p).get("namespace"))
        for a in _args(p):
            if a.startswith(flag + "="):
                for v in a.split("=", 1)[1].split(","):
                    net = cl.to_net(v)
                    if net:
                        out.append(
                            Range(
                                net,
                                f"{obj_name(p)} {flag}={v}",
                                layout.namespaced_list(ns, "pods"),
                                f"{ns}/Pod/{obj_name(p)}",
                                edit,
                            )
                        )
        if out:
            return out
    return out


def pod_ranges(ctx: Context) -> list[Range]:
    cm_edit = "sudo grep -n cluster-cidr /etc/kubernetes/manifests/kube-controller-manager.yaml"
    out = _flag_ranges(ctx, "kube-controller-manager", "--cluster-cidr", cm_edit)
    for cm in ctx.configmaps:
        data, ns = dict_at(cm, "data"), str(meta(cm).get("namespace"))
        path, ref = layout.namespaced_list(ns, "configmaps"), f"{ns}/ConfigMap/{obj_name(cm)}"
        if "net-conf.json" in data:
            try:
                nets = [json.loads(data["net-conf.json"]).get(k) for k in ("Network", "IPv6Network")]
            except (ValueError, TypeError, AttributeError):
                nets = []
            for v in nets:
                if cl.to_net(v):
                    out.append(
                        Range(
                            cl.to_net(v),
                            f"{obj_name(cm)} net-conf.json Network {v}",
                            path,
                            ref,
                            f"kubectl -n {shell_quote(ns)} get configmap {shell_quote(obj_name(cm))} -o yaml",
                        )
                    )
        if data.get("ipam", "cluster-pool") == "cluster-pool" and obj_name(cm) == "cilium-config":
            for key in ("cluster-pool-ipv4-cidr", "cluster-pool-ipv6-cidr"):
                for v in str(data.get(key) or "").replace(",", " ").split():
                    if cl.to_net(v):
                        out.append(
                            Range(
                                cl.to_net(v),
                                f"cilium-config {key} {v}",
                                path,
                                ref,
                                f"kubectl -n {shell_quote(ns)} get configmap cilium-config -o yaml | grep cluster-pool",
                            )
                        )
    for pool in ctx.resource("ippools.crd.projectcalico.org"):
        spec = dict_at(pool, "spec")
        if not spec.get("disabled") and cl.to_net(spec.get("cidr")):
            out.append(
                Range(
                    cl.to_net(spec["cidr"]),
                    f"IPPool {obj_name(pool)} cidr {spec['cidr']}",
                    layout.cluster_list("ippools.crd.projectcalico.org"),
                    f"IPPool/{obj_name(pool)}",
                    f"kubectl get ippools.crd.projectcalico.org {shell_quote(obj_name(pool))} -o yaml",
                )
            )
    for node in ctx.node_names:
        for net in cl.node_pod_cidrs(ctx, node):
            out.append(
                Range(
                    net,
                    f"node {node} podCIDR {net}",
                    layout.NODES_LIST,
                    f"Node/{node}",
                    "kubectl get nodes -o custom-columns=NAME:.metadata.name,PODCIDRS:.spec.podCIDRs",
                    True,
                )
            )
    for cn in ctx.resource("ciliumnodes.cilium.io"):
        for v in list_at(cn, "spec", "ipam", "podCIDRs"):
            if cl.to_net(v):
                out.append(
                    Range(
                        cl.to_net(v),
                        f"CiliumNode {obj_name(cn)} podCIDR {v}",
                        layout.cluster_list("ciliumnodes.cilium.io"),
                        f"CiliumNode/{obj_name(cn)}",
                        "kubectl get ciliumnodes -o yaml | grep -A2 podCIDRs",
                        True,
                    )
                )
    return out


def _overlap(a, b) -> bool:  # noqa: ANN001
    return a.version == b.version and a.overlaps(b)


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    pods = pod_ranges(ctx)
    if not pods or not ctx.nodes:
        return None
    hits: list[Hit] = []
    # 1. Node addresses inside a pod network: routes for pod blocks shadow the nodes, pods can get node IPs.
    node_ips = []
    for n in ctx.nodes:
        for a in dicts_at(n, "status", "addresses"):
            ip = cl.to_ip(a.get("address")) if a.get("type") in ("InternalIP", "ExternalIP") else None
            if ip:
                node_ips.append((obj_name(n), ip, a.get("type")))
    covered: set[str] = set()
    ranked = sorted(pods, key=lambda r: r.allocated)  # pools first, then the nodes' own ranges
    # node addresses per range by a hash lookup per prefix length (not every address against every range)
    by_net: dict[tuple[int, int, int], list[int]] = {}
    for k, r in enumerate(ranked):
        by_net.setdefault((r.net.version, int(r.net.network_address), r.net.prefixlen), []).append(k)
    lengths = {(v, plen) for v, _, plen in by_net}
    found: dict[int, list] = {}
    for n, ip, t in node_ips:
        for v, plen in lengths:
            if v == ip.version:
                bits = ip.max_prefixlen
                key = (v, int(ip) & (((1 << plen) - 1) << (bits - plen)), plen)
                for k in by_net.get(key, ()):
                    found.setdefault(k, []).append((n, ip, t))
    for k, r in enumerate(ranked):
        inside = [(n, ip, t) for n, ip, t in found.get(k, []) if str(ip) not in covered]
        if not inside:
            continue
        covered |= {str(ip) for _, ip, _ in inside}
        ev = [Evidence(r.path, r.what, r.obj)]
        ev += [
            Evidence(layout.NODES_LIST, f"node {n} {t} {ip} is inside {r.net}", f"Node/{n}", n)
            for n, ip, t in inside[:6]
        ]
        nodes = sorted({n for n, _, _ in inside})
        hits.append(
            Hit(
                ev,
                [f"Node/{n}" for n in nodes],
                nodes,
                {
                    "pod_net": str(r.net),
                    "target": ", ".join(str(ip) for _, ip, _ in inside[:6]),
                    "target_kind": "the node addresses",
                    "show_source_command": r.edit,
                },
                f"pod network {r.net} ({r.what}) contains the addresses of {', '.join(nodes[:6])}",
            )
        )
    # 2. The Service range and the pod network overlap where pods really get addresses.
    services = _flag_ranges(
        ctx,
        "kube-apiserver",
        "--service-cluster-ip-range",
        "sudo grep -n service-cluster-ip-range /etc/kubernetes/manifests/kube-apiserver.yaml",
    )
    services = services or _flag_ranges(ctx, "kube-controller-manager", "--service-cluster-ip-range", "")
    live_ips = [ip for p in ctx.pods if cl.is_live(p) for ip in cl.pod_ips(p)]
    for s in services:
        for r in pods:
            if not _overlap(r.net, s.net):
                continue
            used = (
                r.allocated
                or r.net.subnet_of(s.net)
                or any(ip.version == s.net.version and ip in s.net and ip in r.net for ip in live_ips)
            )
            if not used:
                continue  # a large pool that only could reach the Service range (not allocated there yet)
            if r.allocated and any(
                not p.allocated and _overlap(p.net, s.net) and p.net.supernet_of(r.net) for p in pods
            ):
                continue
            hits.append(
                Hit(
                    [Evidence(r.path, r.what, r.obj), Evidence(s.path, s.what, s.obj)],
                    [o for o in (r.obj, s.obj) if o],
                    [],
                    {
                        "pod_net": str(r.net),
                        "target": str(s.net),
                        "target_kind": "the Service range",
                        "show_source_command": r.edit,
                    },
                    f"pod network {r.net} ({r.what}) overlaps the Service range {s.net}",
                )
            )
    return hits
