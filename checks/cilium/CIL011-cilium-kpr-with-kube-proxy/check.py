"""Cilium replaces kube-proxy, yet kube-proxy still runs and programs its own Service rules."""

from __future__ import annotations

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.iptables import parse_iptables_save

from .._cilium import base_values, kpr_mode, kube_proxy, natural


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    mode, mode_ev = kpr_mode(ctx)
    if mode is None:
        return None
    if mode != "true":
        return []
    proxies = kube_proxy(ctx)
    if not proxies:
        return []  # stale KUBE-* rules without kube-proxy are a leftover, not a second proxy
    evidence = ([mode_ev] if mode_ev else []) + proxies[:3]
    nodes = []
    for node in ctx.bundle.node_dirs:
        dump = ctx.parsed(node, "iptables-save.txt", parse_iptables_save)
        if dump is None:
            continue
        svc = [c for c in dump.chains() if c.table == "nat" and c.name.startswith("KUBE-SVC-")]
        if svc:
            nodes.append(node)
            chain = dump.chain("nat", "KUBE-SERVICES")
            evidence.append(
                Evidence(
                    layout.node_file(node, "iptables-save.txt"),
                    f"{node}: {len(svc)} KUBE-SVC-* chains in the nat table (kube-proxy is programming Services too)",
                    f"Node/{node}",
                    node,
                    chain.line if chain else None,
                )
            )
    nodes.sort(key=natural)
    values = base_values(ctx)
    values.update(kube_proxy_ns=(proxies[0].object or "kube-system/x").split("/")[0])
    msg = "kube-proxy replacement is on but kube-proxy still runs" + (
        f" and programs Service rules on {', '.join(nodes)}" if nodes else ""
    )
    return [Hit(evidence, [e.object for e in proxies if e.object], nodes, values, msg)]
