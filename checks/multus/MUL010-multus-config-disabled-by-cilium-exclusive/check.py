"""Cilium (cni.exclusive) renamed the Multus config on a node to *.cilium_bak, so the runtime skips Multus."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence, Hit

from .. import _multus as mx

RENAMED = re.compile(r"Renaming non-Cilium CNI configuration file (?P<src>\S+) to (?P<dst>[^\s\"]+)")


def _cilium_config(ctx: Context) -> tuple[dict, str] | None:
    for cm in ctx.configmaps:
        if obj_name(cm) == "cilium-config":
            return cm.get("data") or {}, str(meta(cm).get("namespace") or "kube-system")
    return None


def _cilium_pods(ctx: Context) -> list[dict]:
    return [
        p for p in ctx.pods if re.fullmatch(r"cilium-[a-z0-9]{5}", obj_name(p)) or (ctx.owner_name(p) or "") == "cilium"
    ]


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    config = _cilium_config(ctx)
    renames = mx.find_messages(ctx, RENAMED, events=False, kubelet=False, log_pods=_cilium_pods(ctx))
    hits = []
    for node in ctx.bundle.node_dirs:
        files = mx.net_d(ctx, node)
        disabled = sorted(
            n
            for n, text in files.items()
            if "/" not in n
            and n.endswith(".cilium_bak")
            and ("multus" in n or re.search(r'"type"\s*:\s*"multus', text))
        )
        sel = mx.selection(ctx, node)
        if not disabled or sel is None or (sel.config is not None and sel.config.multus is not None):
            continue
        hits.append(_hit(ctx, node, disabled, sel, config, [m for m in renames if m.node == node]))
    return hits


def _hit(ctx: Context, node: str, disabled: list[str], sel, config, renames: list) -> Hit:  # noqa: ANN001
    net_d = f"{layout.CNI_NET_D}/"
    listing = ", ".join(sorted(mx.net_d(ctx, node)))
    evidence = [
        mx.file_evidence(
            ctx,
            node,
            net_d + disabled[0],
            f"{node} /etc/cni/net.d: {listing}; the runtime uses {sel.selected or 'nothing'}, no active Multus config",
        )
    ]
    evidence += [m.evidence for m in renames[:1]]
    cilium_ns = "kube-system"
    exclusive = "true (Helm default)"
    if config is not None:
        data, cilium_ns = config
        exclusive = str(data.get("cni-exclusive", "unset: true by default"))
        evidence.append(
            Evidence(
                layout.namespaced_list(cilium_ns, "configmaps"),
                f"{cilium_ns}/ConfigMap/cilium-config: cni-exclusive: {exclusive}",
                f"{cilium_ns}/ConfigMap/cilium-config",
            )
        )
    unwired = mx.unwired_pods(ctx, node)
    evidence += [mx.unwired_evidence(p, missing) for p, missing in unwired[:2]]
    multus = next((p for p in mx.multus_pods(ctx) if mx.pod_node(p) == node), None)
    restored = disabled[0].removesuffix(".cilium_bak")
    values = {
        "node": node,
        "disabled": disabled[0],
        "restored": restored,
        "cilium_namespace": cilium_ns,
        "multus_namespace": mx.pod_ns(multus) if multus else "kube-system",
        "multus_pod": obj_name(multus) if multus else f"<multus pod on {node}>",
    }
    values["recreate_command"] = mx.recreate_command(node, [p for p, _ in unwired])
    message = (
        f"on {node} Cilium renamed {restored} to {disabled[0]} (cni-exclusive {exclusive}); the runtime calls "
        f"{sel.selected or 'no config'} directly"
        + (f", and {len(unwired)} pod(s) there run without their secondary networks" if unwired else "")
    )
    objects = [f"Node/{node}"] + [mx.pod_ref(p) for p, _ in unwired]
    return Hit(evidence, objects, [node], values, message)
