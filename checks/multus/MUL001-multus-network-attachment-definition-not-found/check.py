"""Pods ask Multus for a NetworkAttachmentDefinition that does not exist in the namespace it is looked up in."""

from __future__ import annotations

import json
import re
from collections import defaultdict

from cnidoctor.catalog.placeholders import shell_quote
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence, Hit

from .. import _multus as mx

NOT_FOUND = re.compile(r"cannot find a network-attachment-definition \((?P<net>[^)]+)\) in namespace \((?P<ns>[^)]*)\)")
RESOURCE = "network-attachment-definitions.k8s.cni.cncf.io"


def _workload(ctx: Context, pod: dict) -> str:
    """`deployment/x`, `statefulset/x`... owning POD (through its ReplicaSet), else `pod/<name>`."""
    owner = next((r for r in meta(pod).get("ownerReferences") or [] if isinstance(r, dict)), None)
    if not owner:
        return f"pod/{obj_name(pod)}"
    if owner.get("kind") == "ReplicaSet":
        for rs in ctx.resource("replicasets", mx.pod_ns(pod)):
            if obj_name(rs) == owner.get("name"):
                dep = next((r for r in meta(rs).get("ownerReferences") or [] if isinstance(r, dict)), None)
                if dep and dep.get("kind") == "Deployment":
                    return f"deployment/{dep.get('name')}"
        return f"deployment/{str(owner.get('name', '')).rsplit('-', 1)[0]}"
    return f"{str(owner.get('kind', 'pod')).lower()}/{owner.get('name')}"


def _nad_type(nad: dict) -> str:
    cfg = str((nad.get("spec") or {}).get("config") or "")
    m = re.search(r'"type"\s*:\s*"([^"]+)"', cfg)
    return m.group(1) if m else "no inline config"


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    have_lists = ctx.has_resource(RESOURCE) and not any(RESOURCE in g.path for g in ctx.bundle.gaps)
    nads = mx.nad_index(ctx)
    where: dict[str, list[str]] = defaultdict(list)
    for ns, name in sorted(nads):
        where[name].append(ns)
    messages = mx.find_messages(ctx, NOT_FOUND)
    by_pod: dict[tuple[str, str], list] = defaultdict(list)
    for m in messages:
        if m.pod:
            by_pod[m.pod].append(m)
    if not have_lists and not messages:
        return None if any(mx.requested_networks(p) for p in ctx.pods) else []
    hits: list[Hit] = []
    for pod in ctx.pods:
        requests = mx.requested_networks(pod)
        status = pod.get("status") or {}
        if not requests or mx.pod_started(pod) or status.get("phase") in ("Succeeded", "Failed"):
            continue
        key = (mx.pod_ns(pod), obj_name(pod))
        said = {m.groups.get("net") for m in by_pod.get(key, [])}
        missing = [r for r in requests if (r.namespace, r.name) not in nads if have_lists or r.name in said]
        if missing:
            hits.append(_hit(ctx, pod, missing, where, nads, by_pod.get(key, [])))
    return hits


def _hit(
    ctx: Context,
    pod: dict,
    missing: list,
    where: dict[str, list[str]],
    nads: dict,  # noqa: ANN001
    messages: list,
) -> Hit:
    ns, name, node = mx.pod_ns(pod), obj_name(pod), mx.pod_node(pod)
    raw = mx.annotations(pod).get(mx.NETWORKS, "")
    phase = (pod.get("status") or {}).get("phase", "?")
    evidence = [
        Evidence(
            f"cluster/{ns}/pods.json",
            f"{ns}/Pod/{name} ({phase} on {node or 'no node'}): {mx.NETWORKS}: {' '.join(str(raw).split())[:200]}",
            f"{ns}/Pod/{name}",
            node,
        )
    ]
    req = missing[0]
    elsewhere = [n for n in where.get(req.name, []) if n != req.namespace]
    if elsewhere:
        src = elsewhere[0]
        evidence.append(
            Evidence(
                mx.nad_list_path(src),
                f"NetworkAttachmentDefinition {src}/{req.name} exists "
                f"(type {_nad_type(nads[(src, req.name)])}); namespace {req.namespace} has "
                + (", ".join(n for (s, n) in sorted(nads) if s == req.namespace) or "none"),
                f"{src}/NetworkAttachmentDefinition/{req.name}",
            )
        )
        rename = f".metadata |= {{name: .name, namespace: {json.dumps(req.namespace)}}}"
        create = (
            f"kubectl -n {shell_quote(src)} get {RESOURCE} {shell_quote(req.name)} -o json | "
            f"jq {shell_quote(rename)} | kubectl apply -f -"
        )
        lives = f"it exists only in {', '.join(elsewhere)}"
    else:
        evidence.append(
            Evidence(
                mx.nad_list_path(req.namespace),
                f"no NetworkAttachmentDefinition named {req.name} in "
                f"any namespace of the bundle; {req.namespace} has "
                + (", ".join(n for (s, n) in sorted(nads) if s == req.namespace) or "none"),
            )
        )
        src = req.namespace
        create = (
            f"kubectl -n {shell_quote(req.namespace)} apply -f "
            f"<NetworkAttachmentDefinition manifest of {shell_quote(req.name)}>"
        )
        lives = "it exists in no namespace"
    evidence += [m.evidence for m in messages[:2]]
    looked = "the pod's own namespace" if not req.explicit_namespace else "the namespace given in the annotation"
    message = (
        f"{ns}/{name} asks for network {req.name!r}; Multus looks it up in {req.namespace} ({looked}) but "
        f"{lives}" + (f" (also missing: {', '.join(r.ref for r in missing[1:])})" if missing[1:] else "")
    )
    values = {
        "namespace": ns,
        "pod": name,
        "network": req.name,
        "lookup_namespace": req.namespace,
        "nad_namespace": src,
        "create_command": create,
        "workload": _workload(ctx, pod),
    }
    if node:
        values["node"] = node
    return Hit(evidence, [f"{ns}/Pod/{name}"], [node] if node else [], values, message)
