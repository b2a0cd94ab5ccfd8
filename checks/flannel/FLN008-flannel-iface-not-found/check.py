"""flanneld was told to use an interface (--iface, --iface-regex, --iface-can-reach) that the node lacks."""

from __future__ import annotations

from cnidoctor.diagnose.context import Context
from cnidoctor.model import Hit
from cnidoctor.parse.iproute import parse_addrs

from .._lib import flannel_lib as fl

NOT_FOUND = fl.log_pattern(
    r"(?i)failed to find interface to use that matches the interfaces and/or regexes provided"
    r"|could not find valid interface matching (?P<iface>[^\s:]+)"
    r"|failed to find interface (?:that can reach|to reach) (?P<reach>[0-9a-fA-F.:]+)"
    r"|error looking up interface (?P<lookup>[^\s:]+)"
)
VIRTUAL = ("lo", "flannel", "cni", "veth", "cali", "cilium", "vxlan", "kube-", "tunl", "docker")


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits: dict[str, Hit] = {}
    for ref, line, m in fl.flannel_log_lines(ctx, NOT_FOUND):
        node = ctx.pod_node(ref.namespace, ref.pod) or "?"
        pod = ctx.pod(ref.namespace, ref.pod)
        wanted = m.group("iface") or m.group("lookup") or m.group("reach")
        if pod is not None and fl.pod_ready(pod):
            continue  # another interface in the list matched, or the interface came up: flannel runs
        if node in hits:
            if wanted:
                hits[node].values.setdefault("wanted", wanted)
            if len(hits[node].evidence) < 3:
                hits[node].evidence.insert(len(hits[node].evidence) - 1, fl.log_evidence(ctx, ref, line))
            continue
        evidence = [fl.log_evidence(ctx, ref, line)]
        present = [
            x.name + "=" + ",".join(a.cidr for a in x.addrs if a.family == "inet")
            for x in ctx.parsed(node, "ip-addr.json", parse_addrs) or ()
            if not x.name.startswith(VIRTUAL)
        ]
        if present:
            evidence.append(fl.file_evidence(node, "ip-addr.json", f"interfaces on {node}: {'; '.join(present)}"))
        values = {
            "namespace": ref.namespace,
            "pod": ref.pod,
            **fl.ds_values(ctx, pod),
            **({"wanted": wanted} if wanted else {}),
        }
        hits[node] = Hit(
            evidence,
            [f"{ref.namespace}/Pod/{ref.pod}"],
            [node] if node != "?" else [],
            values,
            message=f"flanneld on {node} finds no interface matching its --iface options",
        )
    return list(hits.values())
