"""host-local reports its range full, but most reservations belong to containers that no longer exist."""

from __future__ import annotations

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context
from cnidoctor.model import Evidence, Hit

from .._lib import cnilayer as cl


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits = []
    for use in cl.exhausted_ranges(ctx):
        if use.reservations:
            if len(use.leaked) < 5 or len(use.leaked) * 2 < len(use.reservations):
                continue  # mostly held by running pods: not a leak
        elif not use.capacity or len(use.live) * 2 >= use.capacity:
            continue
        hits.append(_hit(ctx, use))
    return hits


def _hit(ctx: Context, use) -> Hit:  # noqa: ANN001
    node = use.node
    events = [o.evidence for o in use.errors if o.evidence.path.endswith("events.json")][:2]
    evidence = events or [o.evidence for o in use.errors][:1]
    pods = sorted({cl.pod_ref(p).split("/Pod/")[1] for p, _ in use.live})
    held = f"{len(use.live)} by running pods ({', '.join(pods[:5])}{' ...' if len(pods) > 5 else ''})"
    if use.reservations is not None:
        sample = use.leaked[0]
        evidence.append(
            Evidence(
                layout.node_file(node, "cni-ipam.txt"),
                f"{use.network}: {len(use.reservations)} reservations for the {use.capacity or '?'} addresses of "
                f"{use.range_text}; {held}, {len(use.leaked)} by containers no running pod owns "
                f"(e.g. {sample.ip} {str(sample.container_id)[:12]})",
                f"Node/{node}",
                node,
                sample.line,
            )
        )
        summary = (
            f"{len(use.leaked)} of {len(use.reservations)} host-local reservations on {node} are leaked: "
            f"only {len(use.live)} running pods hold an address of {use.range_text}"
        )
    else:
        evidence.append(
            Evidence(
                layout.NODES_LIST,
                f"{node} runs {len(use.live)} pods with an address of "
                f"{use.range_text} ({use.capacity} addresses): the rest is held by stale reservations",
                f"Node/{node}",
                node,
            )
        )
        summary = (
            f"{use.range_text} is reported full on {node} while only {len(use.live)} running pods use it: "
            "reservations were leaked"
        )
    if use.teardown:
        evidence.append(use.teardown)
        summary += "; the kubelet log shows sandboxes torn down while the runtime was failing"
    network = use.network
    if not network:
        sel = cl.net_d(ctx, node)
        network = (sel.config.name if sel and sel.config else None) or "<network>"
    objects = [f"Node/{node}"] + [o.pod.replace("/", "/Pod/", 1) for o in use.errors if o.pod]
    values = {"node": node, "network": network, "range": use.range_text, "leaked": str(len(use.leaked))}
    return Hit(evidence, sorted(set(objects)), [node], values, summary)
