"""Pods whose address is outside the pod range of the node they run on (where IPAM follows that range)."""

from __future__ import annotations

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.subnetenv import parse_subnet_env

from .._lib import cnilayer as cl

NOT_NODE_RANGED = ("calico-ipam", "whereabouts", "aws-cni", "azure-vnet-ipam", "dhcp", "static")


def _ranges(ctx: Context) -> dict[str, tuple[list, str]]:
    """node -> (its pod ranges, where they come from), for nodes whose IPAM allocates from them."""
    cilium_nodes = {obj_name(c): c for c in ctx.resource("ciliumnodes.cilium.io")}
    cilium_ipam = ctx.configmap_data("cilium-config").get("ipam", "cluster-pool")
    out: dict[str, tuple[list, str]] = {}
    for node in ctx.node_names:
        sel = cl.net_d(ctx, node)
        cfg = sel.config if sel else None
        ipam = cfg.ipam.type if cfg and cfg.ipam else None
        if ipam in NOT_NODE_RANGED:
            continue
        fam = cl.config_family(cfg) if cfg else None
        if node in cilium_nodes and (cfg is None or fam in (None, "cilium")):
            raw = ((cilium_nodes[node].get("spec") or {}).get("ipam") or {}).get("podCIDRs") or []
            nets = [n for n in (cl.to_net(r) for r in raw) if n]
            if nets:
                out[node] = (nets, f"CiliumNode {node} spec.ipam.podCIDRs")
                continue
            if cilium_ipam != "kubernetes":
                continue
        env = ctx.parsed(node, "flannel-subnet.env", parse_subnet_env)
        if fam == "flannel" and env and env.subnet and cl.to_net(env.subnet):
            out[node] = ([cl.to_net(env.subnet)], f"FLANNEL_SUBNET in nodes/{node}/flannel-subnet.env")
            continue
        nets = cl.node_pod_cidrs(ctx, node)
        if nets:
            out[node] = (nets, f"Node {node} spec.podCIDRs")
    return out


def _outside(ctx: Context, node: str, nets: list) -> tuple[list[tuple[dict, object]], int]:
    """(pods with an address outside NETS, pods checked) on NODE."""
    bad, checked = [], 0
    for p in ctx.pods_by_node.get(node, []):
        if not cl.is_live(p):
            continue
        for ip in cl.pod_ips(p):
            same = [n for n in nets if n.version == ip.version]
            if not same:
                continue
            checked += 1
            if not any(ip in n for n in same):
                bad.append((p, ip))
    return bad, checked


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    if not ctx.nodes or not ctx.has_resource("pods"):
        return None
    ranges = _ranges(ctx)
    per_node = {n: _outside(ctx, n, nets) for n, (nets, _) in ranges.items()}
    hits = []
    for node, (bad, _checked) in sorted(per_node.items()):
        if not bad:
            continue
        others_bad = sum(len(b) for n, (b, _) in per_node.items() if n != node)
        others_checked = sum(c for n, (_, c) in per_node.items() if n != node)
        lone_flannel = bool(ctx.cnis & {"flannel"}) and others_checked == 0
        if (others_checked < 2 or others_bad * 5 > others_checked) and not lone_flannel:
            continue  # the cluster's IPAM does not follow these ranges
        nets, source = ranges[node]
        owners = {str(n): o for o, (ns, _) in ranges.items() if o != node for n in ns}
        evidence = []
        for p, ip in bad[:6]:
            other = next((f", inside {o}'s range {n}" for n, o in owners.items() if ip in cl.to_net(n)), "")
            evidence.append(
                Evidence(
                    layout.namespaced_list(str(meta(p).get("namespace")), "pods"),
                    f"{meta(p).get('namespace')}/{obj_name(p)} on {node}: podIP {ip}, outside "
                    f"{', '.join(map(str, nets))}{other}",
                    cl.pod_ref(p),
                    node,
                )
            )
        evidence.append(
            Evidence(
                layout.NODES_LIST
                if source.startswith("Node")
                else (
                    layout.node_file(node, "flannel-subnet.env")
                    if "FLANNEL" in source
                    else layout.cluster_list("ciliumnodes.cilium.io")
                ),
                f"{node} pod range {', '.join(map(str, nets))} ({source})",
                f"Node/{node}",
                node,
            )
        )
        first = bad[0][0]
        values = {
            "node": node,
            "pod_cidr": ", ".join(map(str, nets)),
            "namespace": str(meta(first).get("namespace")),
            "pod": obj_name(first),
            "ips": " ".join(str(ip) for _, ip in bad),
        }
        hits.append(
            Hit(
                evidence,
                [f"Node/{node}"] + [cl.pod_ref(p) for p, _ in bad],
                [node],
                values,
                f"{len(bad)} pod(s) on {node} have addresses outside its pod range "
                f"{values['pod_cidr']}: {values['ips']}",
            )
        )
    return hits
