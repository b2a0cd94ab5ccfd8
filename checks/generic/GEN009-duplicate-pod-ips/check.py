"""The same IP on two running pods (one pass, keyed by address)."""

from __future__ import annotations

from collections import defaultdict

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta, obj_name, str_at
from cnidoctor.model import Evidence, Hit

from .._lib import cnilayer as cl


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    if not ctx.has_resource("pods"):
        return None
    holders: dict[str, list[dict]] = defaultdict(list)
    for pod in ctx.pods:
        if cl.is_live(pod):
            for ip in cl.pod_ips(pod):
                holders[str(ip)].append(pod)
    hits = []
    for ip, pods in sorted(holders.items()):
        if len(pods) < 2:
            continue
        evidence, objects, nodes = [], [], []
        for p in pods:
            ns, node = str(meta(p).get("namespace")), str_at(p, "spec", "nodeName")
            evidence.append(
                Evidence(
                    layout.namespaced_list(ns, "pods"),
                    f"{ns}/{obj_name(p)} on {node or '?'}: podIP {ip}",
                    cl.pod_ref(p),
                    node,
                )
            )
            objects.append(cl.pod_ref(p))
            if node:
                nodes.append(node)
        first = pods[-1]
        values = {"ip": ip, "namespace": str(meta(first).get("namespace")), "pod": obj_name(first)}
        hits.append(
            Hit(
                evidence,
                objects,
                sorted(set(nodes)),
                values,
                f"{ip} is held by {len(pods)} pods: {', '.join(o.split('/Pod/')[1] for o in objects)}",
            )
        )
    return hits
