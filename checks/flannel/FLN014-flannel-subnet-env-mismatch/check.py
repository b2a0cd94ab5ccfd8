"""/run/flannel/subnet.env disagrees with the node's pod CIDR or with flannel's configured Network."""

from __future__ import annotations

import ipaddress

from cnidoctor.diagnose.context import Context, obj_name
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.subnetenv import parse_subnet_env

from .._lib import flannel_lib as fl


def _net(text: str | None) -> fl.Network | None:
    try:
        return ipaddress.ip_interface(text).network if text else None
    except ValueError:
        return None


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    if fl.uses_kube_subnet_manager(ctx) is False:
        return []  # leases come from etcd, not from the nodes' pod CIDRs
    nc = fl.net_conf(ctx)
    hits = []
    for node in ctx.bundle.node_dirs:
        env = ctx.parsed(node, "flannel-subnet.env", parse_subnet_env)
        if env is None:
            continue
        evidence: list[Evidence] = []
        subnet, network = _net(env.subnet), _net(env.network)
        cidrs = [c for c in fl.pod_cidrs(ctx.node_by_name.get(node, {})) if subnet and c.version == subnet.version]
        if subnet is not None and cidrs and not any(subnet.subnet_of(c) for c in cidrs):  # type: ignore[arg-type]
            evidence.append(
                ctx.evidence_line(node, "flannel-subnet.env", "FLANNEL_SUBNET")
                or fl.file_evidence(node, "flannel-subnet.env", f"FLANNEL_SUBNET={env.subnet}")
            )
            evidence.append(fl.node_evidence(node, f"node {node} spec.podCIDR {', '.join(map(str, cidrs))}"))
        if nc is not None and nc.network is not None and network is not None and network != nc.network:
            evidence.append(
                ctx.evidence_line(node, "flannel-subnet.env", "FLANNEL_NETWORK")
                or fl.file_evidence(node, "flannel-subnet.env", f"FLANNEL_NETWORK={env.network}")
            )
            evidence.append(Evidence(nc.path, f"{nc.ref} net-conf.json Network: {nc.network}", nc.ref))
        if not evidence:
            continue
        pod = fl.flannel_pod_on(ctx, node)
        values = {"pod": obj_name(pod) if pod else "<flannel pod on the node>", **fl.ds_values(ctx, pod)}
        hits.append(
            Hit(
                evidence,
                [f"Node/{node}"],
                [node],
                values,
                message=f"subnet.env on {node} was written for another lease or network",
            )
        )
    return hits
