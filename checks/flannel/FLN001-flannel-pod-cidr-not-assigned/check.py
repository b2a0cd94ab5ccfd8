"""flanneld exits with `pod cidr not assigned` on a node that still has no spec.podCIDR."""

from __future__ import annotations

from cnidoctor.diagnose.context import Context
from cnidoctor.model import Hit

from .._lib import flannel_lib as fl

NO_LEASE = fl.log_pattern(r'node "?(?P<lease_node>[^"\s]+)"? pod cidr not assigned')


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits: dict[str, Hit] = {}
    for ref, line, m in fl.flannel_log_lines(ctx, NO_LEASE):
        name = m.group("lease_node")
        node = ctx.node_by_name.get(name)
        if node is not None and fl.pod_cidrs(node):
            continue  # allocated since: a start-up race that resolved itself
        hit = hits.get(name)
        if hit is None:
            pod = ctx.pod(ref.namespace, ref.pod)
            values = {"lease_node": name, "namespace": ref.namespace, "pod": ref.pod, **fl.ds_values(ctx, pod)}
            evidence = [fl.log_evidence(ctx, ref, line)]
            if node is not None:
                evidence.append(fl.node_evidence(name, f"node {name} has no spec.podCIDR"))
            hit = hits[name] = Hit(
                evidence,
                [f"{ref.namespace}/Pod/{ref.pod}", f"Node/{name}"],
                [name],
                values,
                message=f"flannel on {name} has no lease: the node has no pod CIDR",
            )
        elif len(hit.evidence) < 4:
            hit.evidence.append(fl.log_evidence(ctx, ref, line))
    return list(hits.values())
