"""The NetworkAttachmentDefinition CRD is not installed, so Multus cannot resolve any requested network."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, obj_name
from cnidoctor.model import Evidence, Hit

from .. import _multus as mx

CRD_LIST = "customresourcedefinitions.apiextensions.k8s.io"
GONE = re.compile(
    r"failed to get network resource|the server could not find the requested resource|"
    r"no matches for kind \"?NetworkAttachmentDefinition|"
    r"network-attachment-definitions\.k8s\.cni\.cncf\.io\"? (is )?not found \(CRD|"
    r"could not find the requested resource \(get network-attachment-definitions"
)


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    listed = ctx.bundle.has(layout.cluster_list(CRD_LIST))
    crds = {obj_name(c) for c in ctx.resource(CRD_LIST)} if listed else set()
    crd_missing = listed and mx.NAD_CRD not in crds
    messages = [
        m
        for m in mx.find_messages(ctx, GONE)
        if re.search(r"network-attachment|NetworkAttachmentDefinition|getKubernetesDelegate|Delegate", m.text)
    ]
    waiting = [
        p
        for p in ctx.pods
        if mx.requested_networks(p)
        and not mx.pod_started(p)
        and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
    ]
    if not (crd_missing and waiting) and not messages:
        return []
    evidence = []
    if crd_missing:
        evidence.append(
            Evidence(layout.cluster_list(CRD_LIST), f"{len(crds)} CustomResourceDefinitions, none named {mx.NAD_CRD}")
        )
    evidence += [m.evidence for m in messages[:2]]
    for pod in waiting[:2]:
        evidence.append(
            Evidence(
                layout.namespaced_list(mx.pod_ns(pod), "pods"),
                f"{mx.pod_ref(pod)} (Pending on "
                f"{mx.pod_node(pod)}) requests {', '.join(r.ref for r in mx.requested_networks(pod))}",
                mx.pod_ref(pod),
                mx.pod_node(pod),
            )
        )
    nodes = sorted({n for p in waiting if (n := mx.pod_node(p))} | {m.node for m in messages if m.node})
    objects = [mx.pod_ref(p) for p in waiting] + [f"{m.pod[0]}/Pod/{m.pod[1]}" for m in messages if m.pod]
    values = {"crd": mx.NAD_CRD}
    if waiting:
        values.update(
            namespace=mx.pod_ns(waiting[0]),
            pods=" ".join(obj_name(p) for p in waiting if mx.pod_ns(p) == mx.pod_ns(waiting[0])),
        )
    return [
        Hit(
            evidence,
            objects,
            nodes,
            values,
            f"the {mx.NAD_CRD} CRD is not installed; {len(waiting)} pod(s) that request networks cannot start",
        )
    ]
