"""Felix exits because the kernel's reverse-path filter is loose: its FATAL log line, plus the node's sysctl."""

from __future__ import annotations

import re

from cnidoctor.diagnose.context import Context
from cnidoctor.model import Hit
from cnidoctor.parse.sysctl import parse_sysctl

from .._lib import calico as lib

LOOSE = re.compile(r"Kernel's RPF check is set to 'loose'")
AGENT_POD = re.compile(r"calico-node-.*")
AGENT_CONTAINER = re.compile(r"calico-node|felix")


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    by_pod: dict[tuple[str, str], Hit] = {}
    for ref, line, _m in lib.scan_logs(ctx, AGENT_POD, AGENT_CONTAINER, LOOSE, limit=2):
        key = (ref.namespace, ref.pod)
        node = ctx.pod_node(ref.namespace, ref.pod)
        hit = by_pod.get(key)
        if hit is None:
            hit = by_pod[key] = Hit(
                [],
                [f"{ref.namespace}/Pod/{ref.pod}"],
                [node] if node else [],
                {"namespace": ref.namespace, "pod": ref.pod, **({"node": node} if node else {})},
            )
        if len(hit.evidence) < 2:
            hit.evidence.append(lib.log_evidence(ctx, ref, line))
    for hit in by_pod.values():
        node = hit.nodes[0] if hit.nodes else None
        sysctls = ctx.parsed(node, "sysctl.txt", parse_sysctl) if node else None
        value = sysctls.get("net.ipv4.conf.all.rp_filter") if sysctls else None
        if node and value is not None:
            ev = ctx.evidence_line(node, "sysctl.txt", "net.ipv4.conf.all.rp_filter")
            if ev:
                hit.evidence.append(ev)
        hit.values["rp_filter"] = value or "2"
        hit.message = (
            f"Felix on {node or hit.values['pod']} refuses loose reverse-path filtering "
            f"(net.ipv4.conf.all.rp_filter = {value or '2'})"
        )
    return list(by_pod.values())
