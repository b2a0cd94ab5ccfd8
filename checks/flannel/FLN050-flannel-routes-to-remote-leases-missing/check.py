"""A flannel node has no route to the pod CIDRs that other nodes lease."""

from __future__ import annotations

from cnidoctor.diagnose.context import Context, obj_name
from cnidoctor.model import Hit
from cnidoctor.parse.iproute import parse_links, parse_routes

from .._lib import flannel_lib as fl

ROUTED_BACKENDS = {"vxlan", "host-gw", "wireguard", "udp"}  # ipsec and alloc install no routes


def _leases(ctx: Context) -> dict[str, list[fl.Network]]:
    """Pod CIDRs of nodes holding a flannel lease with a routed backend."""
    out = {}
    for node in ctx.nodes:
        ann = fl.annotations(node)
        backend = ann.get(fl.ANNOTATION + "backend-type", "").lower()
        if ann.get(fl.PUBLIC_IP) and backend in ROUTED_BACKENDS and fl.pod_cidrs(node):
            out[obj_name(node)] = fl.pod_cidrs(node)
    return out


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    if not ctx.nodes:
        return None
    leases = _leases(ctx)
    hits = []
    for node in ctx.bundle.node_dirs:
        routes = ctx.parsed(node, "ip-route.json", parse_routes)
        pod = fl.flannel_pod_on(ctx, node)
        if routes is None or node not in leases or pod is None or not fl.pod_ready(pod):
            continue  # flannel is not running there: the crash or absence is the finding, not its routes
        nets = [r.network for r in routes if r.table == "main" and r.type == "unicast" and r.dst != "default"]
        missing = [
            (peer, cidr)
            for peer, cidrs in sorted(leases.items())
            if peer != node
            for cidr in cidrs
            if not any(n is not None and n.version == cidr.version and cidr.subnet_of(n) for n in nets)
        ]
        if not missing:
            continue
        text = ", ".join(f"{c} ({p})" for p, c in missing[:6])
        evidence = [fl.file_evidence(node, "ip-route.json", f"no route to the pod CIDRs of other nodes: {text}")]
        links = ctx.parsed(node, "ip-link.json", parse_links)
        if links is not None and not any(x.name.startswith("flannel") for x in links):
            evidence.append(fl.file_evidence(node, "ip-link.json", "no flannel.* device on the node"))
        values = {"missing": text, "pod": obj_name(pod), **fl.ds_values(ctx, pod)}
        hits.append(
            Hit(
                evidence,
                [f"Node/{node}", fl.pod_ref(pod)],
                [node],
                values,
                message=f"{node} has no route to {len(missing)} remote pod CIDR(s)",
            )
        )
    return hits
