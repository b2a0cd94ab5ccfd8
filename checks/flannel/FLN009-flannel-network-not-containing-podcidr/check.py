"""flannel's net-conf.json Network does not contain the pod CIDRs the controller-manager gives the nodes."""

from __future__ import annotations

import ipaddress

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence, Hit

from .._lib import flannel_lib as fl

NOT_CONTAINED = fl.log_pattern(
    r"specified in the flannel net config does(?:n'?t| not) contain "
    r"\\?\"?(?P<podcidr>[0-9a-fA-F.:/]+)\\?\"? PodCIDR of the \\?\"?(?P<lease_node>[^\"\\\s]+)"
)


def _outside(nc: fl.NetConf, node: dict) -> list[fl.Network]:
    out = []
    for cidr in fl.pod_cidrs(node):
        net = nc.network if cidr.version == 4 else nc.ipv6_network
        if net is not None and net.version == cidr.version and not cidr.subnet_of(net):  # type: ignore[arg-type]
            out.append(cidr)
    return out


def _cluster_cidr(ctx: Context, nc: fl.NetConf) -> list[Evidence]:
    for pod, args in fl.controller_manager_args(ctx):
        value = fl.flag(args, "cluster-cidr")
        if not value or nc.network is None:
            continue
        nets = [ipaddress.ip_network(v.strip(), strict=False) for v in value.split(",") if v.strip()]
        v4 = [n for n in nets if n.version == 4]
        if v4 and not v4[0].subnet_of(nc.network):  # type: ignore[arg-type]
            ns = str(meta(pod).get("namespace"))
            return [
                Evidence(
                    layout.namespaced_list(ns, "pods"),
                    f"{obj_name(pod)} --cluster-cidr={value} but flannel Network is {nc.network}",
                    f"{ns}/Pod/{obj_name(pod)}",
                )
            ]
    return []


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    if fl.uses_kube_subnet_manager(ctx) is False:
        return []  # leases come from etcd, not from the nodes' pod CIDRs
    nc = fl.net_conf(ctx)
    logs: dict[str, list[Evidence]] = {}
    for ref, line, m in fl.flannel_log_lines(ctx, NOT_CONTAINED):
        pod = ctx.pod(ref.namespace, ref.pod)
        if pod is None or not fl.pod_ready(pod):
            logs.setdefault(m.group("lease_node"), []).append(fl.log_evidence(ctx, ref, line))
    if nc is None and not logs:
        return None if not ctx.configmaps else []
    nodes = {obj_name(n): _outside(nc, n) for n in ctx.nodes} if nc is not None else {}
    affected = sorted({n for n, c in nodes.items() if c} | set(logs))
    if not affected:
        return []
    evidence = [e for n in affected for e in logs.get(n, [])[:1]]
    values: dict[str, str] = {"namespace": "kube-flannel", "configmap": "kube-flannel-cfg", **fl.ds_values(ctx)}
    if nc is not None:
        evidence.append(Evidence(nc.path, f"{nc.ref} net-conf.json Network: {nc.network}", nc.ref))
        values.update(namespace=nc.namespace, configmap=nc.configmap, network=str(nc.network))
    evidence += [
        fl.node_evidence(n, f"node {n} spec.podCIDR {', '.join(map(str, nodes[n]))} is outside it")
        for n in affected
        if nodes.get(n)
    ][:4]
    if nc is not None:
        evidence += _cluster_cidr(ctx, nc)
    values["cluster_cidr"] = next(
        (v for _, a in fl.controller_manager_args(ctx) if (v := fl.flag(a, "cluster-cidr"))), "<the cluster's pod CIDR>"
    )
    return [
        Hit(
            evidence,
            [f"Node/{n}" for n in affected],
            affected,
            values,
            message=f"flannel's Network {values.get('network', '?')} does not contain the pod CIDR of "
            f"{len(affected)} node(s)",
        )
    ]
