"""host-local reports its range full and the node really runs that many pods: the range is too small."""

from __future__ import annotations

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context
from cnidoctor.model import Evidence, Hit

from .._lib import cnilayer as cl


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits = []
    for use in cl.exhausted_ranges(ctx):
        if not use.capacity or len(use.live) * 5 < use.capacity * 4:
            continue  # far fewer pods than addresses: leaked reservations (GEN007) or unknown
        if use.reservations and len(use.leaked) * 5 > len(use.reservations):
            continue
        node = use.node
        node_obj = ctx.node_by_name.get(node) or {}
        max_pods = str(((node_obj.get("status") or {}).get("allocatable") or {}).get("pods") or "?")
        evidence = [o.evidence for o in use.errors if o.evidence.path.endswith("events.json")][:1]
        evidence = evidence or [o.evidence for o in use.errors][:1]
        evidence.append(
            Evidence(
                layout.NODES_LIST,
                f"{node} runs {len(use.live)} pods with an address of "
                f"{use.range_text} ({use.capacity} addresses, gateway included); kubelet allows "
                f"{max_pods} pods (status.allocatable.pods)",
                f"Node/{node}",
                node,
            )
        )
        cidrs = ", ".join(map(str, cl.node_pod_cidrs(ctx, node))) or "?"
        fit = max(use.capacity - 2, 1)
        values = {
            "node": node,
            "range": use.range_text,
            "capacity": str(use.capacity),
            "max_pods": max_pods,
            "pod_cidr": cidrs,
            "fit": str(fit),
        }
        hits.append(
            Hit(
                evidence,
                [f"Node/{node}"],
                [node],
                values,
                f"{node}'s pod range {use.range_text} ({cidrs}) is really full: {len(use.live)} pods hold "
                f"its {use.capacity} addresses while kubelet allows {max_pods}",
            )
        )
    return hits
