"""The node's OS image has no iptables: iptables-save is not found on the host, kubelet cannot run iptables."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.iptables import parse_iptables_save

from .._lib import calico as lib

SAVE_MISSING = re.compile(
    r"iptables(?:-legacy|-nft)?-save: (?:command )?not found|"
    r"iptables(?:-legacy|-nft)?-save: No such file or directory"
)
KUBELET_MISSING = re.compile(
    r'exec: \\?"(?:ip6?tables(?:-save|-restore)?)\\?": executable file not found|'
    r"ip6?tables(?:-save|-restore)?: (?:command )?not found"
)
FELIX_GONE = re.compile(r"Failed to get interface; it's down/gone")


def _first(ctx: Context, node: str, name: str, rx: re.Pattern) -> Evidence | None:
    text = ctx.node_file(node, name)
    for i, line in enumerate((text or "").splitlines(), start=1):
        if rx.search(line):
            return Evidence(layout.node_file(node, name), line.strip()[:400], f"Node/{node}", node, i)
    return None


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    if not ctx.bundle.node_dirs:
        return None
    have_tables = {
        n
        for n in ctx.bundle.node_dirs
        if (d := ctx.parsed(n, "iptables-save.txt", parse_iptables_save)) is not None and d.tables
    }
    failures = lib.ipam_failures(ctx)
    images = {
        n: str(((o.get("status") or {}).get("nodeInfo") or {}).get("osImage") or "")
        for n, o in ctx.node_by_name.items()
    }
    hits = []
    for node in ctx.bundle.node_dirs:
        save = _first(ctx, node, "iptables-save.txt", SAVE_MISSING) if node not in have_tables else None
        kubelet = _first(ctx, node, "kubelet.log", KUBELET_MISSING)
        if not kubelet and not (save and have_tables - {node}):
            continue
        evidence = [e for e in (save, kubelet) if e]
        others = sorted({img for n, img in images.items() if n != node and img})
        if images.get(node) and others and images[node] not in others:
            evidence.append(
                Evidence(
                    layout.NODES_LIST,
                    f"node {node} runs {images[node]}; the other nodes run {', '.join(others)}",
                    f"Node/{node}",
                    node,
                )
            )
        evidence += [e.evidence() for e in failures.get(node, [])[:2]]
        agent = lib.calico_node_pod_on(ctx).get(node)
        if agent:
            gone = list(
                lib.scan_logs(
                    ctx,
                    re.compile(re.escape(agent["metadata"]["name"])),
                    re.compile("calico-node"),
                    FELIX_GONE,
                    limit=1,
                )
            )
            evidence += [lib.log_evidence(ctx, ref, line) for ref, line, _ in gone]
        hits.append(
            Hit(
                evidence,
                [f"Node/{node}"] + [e.obj for e in failures.get(node, [])],
                [node],
                {"node": node, "os_image": images.get(node) or "the node's OS"},
                f"{node} has no iptables on the host ({images.get(node) or 'unknown image'})",
            )
        )
    return hits
