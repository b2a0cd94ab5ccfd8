"""Nodes running kube-proxy in iptables or IPVS mode whose nat table holds no KUBE-SERVICES chain."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.iptables import parse_iptables_save

FILES = ("iptables-save.txt", "iptables-legacy-save.txt", "iptables-nft-save.txt")
PROXY = re.compile(r"kube-proxy-[a-z0-9]+")
MODE = re.compile(r"^mode:\s*\"?(?P<mode>[a-z]*)\"?\s*$", re.M)


def _mode(ctx: Context) -> str:
    for cm in ctx.configmaps:
        if obj_name(cm) == "kube-proxy":
            for text in (cm.get("data") or {}).values():
                m = MODE.search(str(text))
                if m:
                    return m.group("mode") or "iptables"
    return "iptables"


def _nft_kube_proxy(ctx: Context, node: str) -> bool:
    doc = ctx.bundle.node_json(node, "nft-ruleset.json")
    items = doc.get("nftables") if isinstance(doc, dict) else None
    return any(isinstance(i, dict) and (i.get("table") or {}).get("name") == "kube-proxy" for i in items or [])


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    if _mode(ctx) == "nftables":
        return []
    proxy_nodes = {str((p.get("spec") or {}).get("nodeName")): p for p in ctx.pods if PROXY.fullmatch(obj_name(p))}
    if not proxy_nodes:
        return []
    hits: list[Hit] = []
    seen = False
    for node in ctx.bundle.node_dirs:
        dumps = [(f, d) for f in FILES if (d := ctx.parsed(node, f, parse_iptables_save)) is not None and d.tables]
        if not dumps:
            continue
        seen = True
        pod = proxy_nodes.get(node)
        if pod is None or _nft_kube_proxy(ctx, node):
            continue
        if any(d.chain("nat", "KUBE-SERVICES") is not None for _, d in dumps):
            continue
        name, dump = dumps[0]
        chains = sorted(c.name for c in dump.tables["nat"].chains.values()) if "nat" in dump.tables else []
        text = (
            f"{node}: nat table has no KUBE-SERVICES chain (nat chains: {', '.join(chains[:8]) or 'none'})"
            f" although {obj_name(pod)} runs there"
        )
        ns = str(meta(pod).get("namespace"))
        hits.append(
            Hit(
                [Evidence(layout.node_file(node, name), text, f"Node/{node}", node)],
                [f"Node/{node}"],
                [node],
                {"namespace": ns, "pod": obj_name(pod)},
                text,
            )
        )
    return hits if hits or seen else None
