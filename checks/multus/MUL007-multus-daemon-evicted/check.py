"""Multus DaemonSet pods were evicted from a node under resource pressure, leaving it without a daemon."""

from __future__ import annotations

from cnidoctor.diagnose.context import Context, obj_name
from cnidoctor.model import Evidence, Hit

from .. import _multus as mx

PRESSURE = ("MemoryPressure", "DiskPressure", "PIDPressure")


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    pods = mx.multus_pods(ctx)
    evicted: dict[str, list[dict]] = {}
    for pod in pods:
        status = pod.get("status") or {}
        if status.get("reason") == "Evicted" and mx.pod_node(pod):
            evicted.setdefault(mx.pod_node(pod), []).append(pod)
    hits = []
    for node, gone in sorted(evicted.items()):
        ready = [p for p in pods if mx.pod_node(p) == node and mx.pod_is_ready(p)]
        failures = mx.socket_failures(ctx, node)
        if ready and not failures:
            continue  # a replacement daemon is up: the eviction is history
        hits.append(_hit(ctx, node, gone, failures))
    return hits


def _hit(ctx: Context, node: str, gone: list[dict], failures: list) -> Hit:  # noqa: ANN001
    evidence = []
    for pod in gone[:3]:
        ns = mx.pod_ns(pod)
        reason = " ".join(str((pod.get("status") or {}).get("message") or "").split())
        ref = f"{ns}/Pod/{obj_name(pod)}"
        evidence.append(Evidence(f"cluster/{ns}/pods.json", f"{ref}: Failed, Evicted: {reason}"[:400], ref, node))
    n = ctx.node_by_name.get(node) or {}
    pressure = [
        c
        for c in (n.get("status") or {}).get("conditions") or []
        if isinstance(c, dict) and c.get("type") in PRESSURE and c.get("status") == "True"
    ]
    for c in pressure:
        evidence.append(
            Evidence(
                "cluster/nodes.json",
                f"node {node}: {c.get('type')}=True since {c.get('lastTransitionTime', '?')} ({c.get('message', '')})",
                f"Node/{node}",
                node,
            )
        )
    evidence += [m.evidence for m in failures[:2]]
    first = gone[0]
    values = {
        "namespace": mx.pod_ns(first),
        "pod": obj_name(first),
        "daemonset": mx.owner_daemonset(ctx, first),
        "node": node,
        "pressure": ", ".join(str(c.get("type")) for c in pressure) or "resource pressure",
    }
    message = (
        f"{len(gone)} Multus pod(s) evicted from {node}"
        + (f" under {values['pressure']}" if pressure else "")
        + (f"; {len(failures)} sandbox failure(s) there while no daemon runs" if failures else "")
    )
    objects = [mx.pod_ref(p) for p in gone] + [f"{m.pod[0]}/Pod/{m.pod[1]}" for m in failures if m.pod]
    return Hit(evidence, objects, [node], values, message)
