"""Running pods lack the secondary networks they request in their network-status annotation."""

from __future__ import annotations

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, obj_name
from cnidoctor.model import Evidence, Hit

from .. import _multus as mx


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    added: dict[tuple[str, str], list[str]] = {}
    for ev in ctx.events:
        inv = ev.get("involvedObject") or {}
        if ev.get("reason") == "AddedInterface" and inv.get("kind") == "Pod":
            added.setdefault((str(inv.get("namespace")), str(inv.get("name"))), []).append(str(ev.get("message")))
    hits = []
    for node in ctx.node_names:
        for pod, missing in mx.unwired_pods(ctx, node):
            ns, name = mx.pod_ns(pod), obj_name(pod)
            seen = added.get((ns, name), [])
            evidence = [mx.unwired_evidence(pod, missing)]
            evidence.append(
                Evidence(
                    layout.namespaced_list(ns, "events"),
                    f"{ns}/Pod/{name}: "
                    + ("AddedInterface events: " + "; ".join(seen) if seen else "no AddedInterface event from Multus"),
                    f"{ns}/Pod/{name}",
                    node,
                )
            )
            values = {"namespace": ns, "pod": name, "node": node, "network": missing[0].ref}
            hits.append(
                Hit(
                    evidence,
                    [f"{ns}/Pod/{name}"],
                    [node],
                    values,
                    f"{ns}/{name} runs on {node} without {', '.join(r.ref for r in missing)}",
                )
            )
    return hits
