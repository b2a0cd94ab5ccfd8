"""The Multus pod on a node is OOM-killed: its memory limit is too small for the daemon."""

from __future__ import annotations

import re

from cnidoctor.diagnose.context import Context, obj_name
from cnidoctor.model import Evidence, Hit

from .. import _multus as mx

UNITS = {
    "Ki": 1 / 1024,
    "Mi": 1,
    "Gi": 1024,
    "K": 1000 / 1024**2,
    "M": 1000**2 / 1024**2,
    "G": 1000**3 / 1024**2,
    "": 1 / 1024**2,
}


def _mib(quantity: object) -> float | None:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G|)", str(quantity or ""))
    return float(m.group(1)) * UNITS[m.group(2)] if m else None


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    now = mx.bundle_now(ctx)
    hits = []
    for pod in mx.multus_pods(ctx):
        for c in mx.containers(pod):
            t = c.last_terminated
            if t.get("reason") != "OOMKilled":
                continue
            if c.status.get("ready") and not c.waiting and not mx.recently(t.get("finishedAt"), now):
                continue  # an old kill; the daemon has been up since
            hits.append(_hit(ctx, pod, c))
    return hits


def _hit(ctx: Context, pod: dict, c) -> Hit:  # noqa: ANN001
    ns, name, node = mx.pod_ns(pod), obj_name(pod), mx.pod_node(pod)
    res = c.spec.get("resources") or {}
    limit = (res.get("limits") or {}).get("memory")
    request = (res.get("requests") or {}).get("memory")
    qos = (pod.get("status") or {}).get("qosClass")
    mem = f"memory limit {limit or 'none'}, request {request or 'none'}" + (f" (QoS {qos})" if qos else "")
    evidence = [Evidence(f"cluster/{ns}/pods.json", f"{mx.pod_line(c)}; {mem}", f"{ns}/Pod/{name}", node)]
    failures = mx.socket_failures(ctx, node) if node else []
    evidence += [m.evidence for m in failures[:2]]
    current = _mib(limit)
    suggested = f"{max(int((current or 100) * 2), 200)}Mi"
    values = {
        "namespace": ns,
        "pod": name,
        "container": c.name,
        "daemonset": mx.owner_daemonset(ctx, pod),
        "limit": str(limit or "none"),
        "suggested": suggested,
    }
    if node:
        values["node"] = node
    message = (
        f"{ns}/{name} ({c.name}) on {node} was OOM-killed at its {limit or 'default'} memory limit "
        f"({c.restarts} restarts)"
        + (f"; {len(failures)} sandbox failure(s) on the node while it was down" if failures else "")
    )
    objects = [f"{ns}/Pod/{name}"] + [f"{m.pod[0]}/Pod/{m.pod[1]}" for m in failures if m.pod]
    return Hit(evidence, objects, [node] if node else [], values, message)
