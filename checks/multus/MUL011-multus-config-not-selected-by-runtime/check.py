"""Multus runs on a node, but the runtime there uses another CNI config as the default network."""

from __future__ import annotations

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, obj_name
from cnidoctor.model import Hit

from .. import _multus as mx


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits = []
    daemons = {mx.pod_node(p): p for p in mx.multus_pods(ctx) if mx.pod_node(p)}
    for node in ctx.bundle.node_dirs:
        sel = mx.selection(ctx, node)
        pod = daemons.get(node)
        if sel is None or pod is None or (sel.config is not None and sel.config.multus is not None):
            continue
        files = mx.net_d(ctx, node)
        backups = [n for n in sel.backups if "multus" in n or '"multus' in files.get(n, "")]
        if not mx.pod_is_ready(pod) and not backups:
            continue  # the daemon is not up (it writes the config when it is): the daemon checks say why
        multus = [n for n in sel.candidates if (c := sel.configs.get(n)) is not None and c.multus is not None]
        invalid = [n for n in sel.candidates if "multus" in n and n in sel.errors]
        if multus:
            why = f"{multus[0]} sorts after {sel.selected}, which the runtime uses as the default network"
        elif invalid:
            why = f"{invalid[0]} does not load: {sel.errors[invalid[0]]}"
        elif backups:
            why = f"the Multus config was renamed to {backups[0]}"
        else:
            why = "there is no Multus config in /etc/cni/net.d"
        hits.append(_hit(ctx, node, sel, pod, why))
    return hits


def _hit(ctx: Context, node: str, sel, pod: dict, why: str) -> Hit:  # noqa: ANN001
    listing = ", ".join(sorted(mx.net_d(ctx, node)))
    name = sel.selected or (sel.candidates[0] if sel.candidates else "")
    uses = sel.selected or "nothing"
    evidence = [
        mx.file_evidence(
            ctx, node, f"{layout.CNI_NET_D}/{name}", f"{node} /etc/cni/net.d: {listing}; the runtime uses {uses}: {why}"
        )
    ]
    peers = [
        n
        for n in ctx.bundle.node_dirs
        if n != node
        and (s := mx.selection(ctx, n)) is not None
        and s.config is not None
        and s.config.multus is not None
    ]
    if peers:
        s = mx.selection(ctx, peers[0])
        evidence.append(
            mx.file_evidence(
                ctx,
                peers[0],
                f"{layout.CNI_NET_D}/{s.selected}",
                f"{peers[0]} uses {s.selected} (Multus) as its default network",
            )
        )
    unwired = mx.unwired_pods(ctx, node)
    evidence += [mx.unwired_evidence(p, missing) for p, missing in unwired[:2]]
    values = {
        "node": node,
        "selected": sel.selected or "nothing",
        "multus_namespace": mx.pod_ns(pod),
        "multus_pod": obj_name(pod),
    }
    values["recreate_command"] = mx.recreate_command(node, [p for p, _ in unwired])
    objects = [f"Node/{node}"] + [mx.pod_ref(p) for p, _ in unwired]
    return Hit(evidence, objects, [node], values, f"Multus is deployed on {node} but not used there: {why}")
