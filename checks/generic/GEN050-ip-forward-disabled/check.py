"""Nodes whose kernel does not forward IPv4 (or, on IPv6 clusters, IPv6) packets between interfaces."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.sysctl import Sysctls, parse_sysctl

V4_KEYS = ("net.ipv4.ip_forward", "net.ipv4.conf.all.forwarding")
V6_KEY = "net.ipv6.conf.all.forwarding"
# Docker: `WARNING: IPv4 forwarding is disabled. Networking will not work.`; kubeadm preflight; agents' warnings.
COMPLAINT = re.compile(
    r"(?i)(IPv[46] forwarding|ip_forward(ing)?|ipv4/ip_forward|conf/all/forwarding)"
    r"[^\n]{0,60}?(is disabled|disabled|not set to 1|contents are not set|is 0|= ?0\b)"
)
AGENT = re.compile(
    r"(calico-node|canal|cilium|kube-flannel-ds|kube-flannel|flannel|kube-proxy|kube-multus-ds)"
    r"(-[a-z0-9]+)+"
)


def _families(ctx: Context) -> tuple[bool, bool]:
    """(IPv4, IPv6) pod networks in use, from the nodes' pod CIDRs; IPv4 when nothing says otherwise."""
    cidrs = [
        str(c)
        for n in ctx.nodes
        for c in ((n.get("spec") or {}).get("podCIDRs") or []) + [(n.get("spec") or {}).get("podCIDR") or ""]
        if c
    ]
    v6 = any(":" in c for c in cidrs)
    v4 = any("." in c for c in cidrs) or not v6
    return v4, v6


def _runtime(ctx: Context, node: str) -> str:
    """containerRuntimeVersion of NODE, e.g. `containerd://1.7.22`."""
    info = ((ctx.node_by_name.get(node) or {}).get("status") or {}).get("nodeInfo") or {}
    return str(info.get("containerRuntimeVersion") or "")


def _runtime_evidence(ctx: Context, node: str, others: list[str]) -> Evidence | None:
    """Docker turns forwarding on: say so when the healthy nodes run Docker and this one does not."""
    mine = _runtime(ctx, node)
    if not mine or mine.startswith("docker") or not any(_runtime(ctx, o).startswith("docker") for o in others):
        return None
    return Evidence(
        layout.NODES_LIST,
        f"node {node} containerRuntimeVersion: {mine} (nodes that forward run Docker)",
        f"Node/{node}",
        node,
    )


def _complaints(ctx: Context, node: str) -> list[Evidence]:
    """Lines where the node's kubelet, kernel or CNI agents say forwarding is off (first one of each source)."""
    out = []
    for name in ("kubelet.log", "dmesg.txt"):
        for i, line in enumerate((ctx.node_file(node, name) or "").splitlines(), start=1):
            if COMPLAINT.search(line):
                out.append(Evidence(layout.node_file(node, name), line.strip()[:300], f"Node/{node}", node, i))
                break
    for ref in ctx.bundle.logs:
        if AGENT.fullmatch(ref.pod) and ctx.pod_node(ref.namespace, ref.pod) == node:
            for line in ctx.bundle.grep_log(ref, COMPLAINT):
                if COMPLAINT.search(line.text):
                    out.append(
                        Evidence(ref.path, line.text.strip()[:300], f"{ref.namespace}/Pod/{ref.pod}", node, line.lineno)
                    )
                    break
    return out


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    parsed: dict[str, Sysctls] = {}
    for node in ctx.bundle.node_dirs:
        s = ctx.parsed(node, "sysctl.txt", parse_sysctl)
        if s is not None:
            parsed[node] = s
    if not parsed:
        return None
    v4, v6 = _families(ctx)
    keys = (V4_KEYS if v4 else ()) + ((V6_KEY,) if v6 else ())
    hits: list[Hit] = []
    for node, s in sorted(parsed.items()):
        off = [k for k in keys if s.get_int(k) == 0]
        if not off:
            continue
        evidence = [e for k in off if (e := ctx.evidence_line(node, "sysctl.txt", f"{k} =")) is not None]
        healthy = sorted(n for n, o in parsed.items() if n != node and all(o.get_int(k) != 0 for k in off))
        evidence += _complaints(ctx, node)
        if healthy and (e := ctx.evidence_line(healthy[0], "sysctl.txt", f"{off[0]} =")) is not None:
            evidence.append(e)
        if (e := _runtime_evidence(ctx, node, healthy)) is not None:
            evidence.append(e)
        values = {"keys": " ".join(off), "keys_assign": " ".join(k + "=1" for k in off)}
        note = f"; {', '.join(healthy[:4])} forward" if healthy else ""
        hits.append(
            Hit(
                evidence,
                [f"Node/{node}"],
                [node],
                values,
                message=f"{node}: {' and '.join(k + '=0' for k in off)}{note}",
            )
        )
    return hits
