"""A Cilium BPF map other than the endpoint policy map (conntrack, NAT, load-balancer, ...) is full."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context
from cnidoctor.model import Evidence, Hit

from .._cilium import base_values, cilium_config, first_per_pod, log_lines, natural, status

FULL = re.compile(
    r"(?i)\b(conntrack|ct|nat|snat)\b[^\"=]{0,40}\b(map|table)s?\b[^\"=]{0,40}\b(is full|full|exhausted)\b"
    r"|CT: Map insertion failed|(?i:\bct(map)? insertion failed)|argument list too long|\bmap is full\b"
)
POLICY = re.compile(r"(?i)policymap|policy map|cilium_policy")
# kind: (words that name it, cilium-config option, Helm value, cilium-status bpf-maps entry)
MAPS = (
    (
        "load-balancer",
        re.compile(r"(?i)\blb[46]_|LB map|\bservice\b|backend"),
        "bpf-lb-map-max",
        "bpf.lbMapMax",
        "IPv4 service",
    ),
    ("NAT", re.compile(r"(?i)snat|\bnat\b|masquerad"), "bpf-nat-global-max", "bpf.natMax", "NAT"),
    (
        "conntrack",
        re.compile(r"(?i)\bct[46_]|\bct\b|conntrack|CT:"),
        "bpf-ct-global-tcp-max",
        "bpf.ctTcpMax",
        "TCP connection tracking",
    ),
    ("neighbor", re.compile(r"(?i)neigh"), "bpf-neigh-global-max", "bpf.neighMax", "Neighbor table"),
    ("ipcache", re.compile(r"(?i)ipcache"), None, None, "IP cache"),
)


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits = [h for h in log_lines(ctx, FULL) if not POLICY.search(h.text)]
    if not hits:
        return []
    kind, option, helm, status_name = _which_map(" ".join(h.text for h in hits))
    nodes = sorted({h.node for h in hits if h.node}, key=natural)
    evidence = [h.evidence for h in first_per_pod(hits)][:4]
    cfg = cilium_config(ctx)
    size = cfg.get(option) if cfg and option else None
    if cfg and option:
        evidence.append(cfg.evidence(option))
    for node in nodes[:2]:
        st = status(ctx, node)
        if st and status_name in st.bpf_maps:
            size = size or str(st.bpf_maps[status_name])
            evidence.append(
                Evidence(
                    layout.node_file(node, "cilium-status.json"),
                    f"bpf-maps: {status_name} size {st.bpf_maps[status_name]}",
                    f"Node/{node}",
                    node,
                )
            )
    values = base_values(ctx)
    values.update(
        map_kind=kind,
        option=option or "bpf-map-dynamic-size-ratio",
        pod=hits[0].pod,
        helm_key=helm or "bpf.mapDynamicSizeRatio",
        new_size=str(int(size) * 2) if size and size.isdigit() else "<twice the current size>",
    )
    msg = f"the {kind} BPF map is full on {', '.join(nodes) or 'some nodes'}" + (
        f" ({option} {size})" if option and size else ""
    )
    return [Hit(evidence, [f"Node/{n}" for n in nodes], nodes, values, msg)]


def _which_map(text: str) -> tuple[str, str | None, str | None, str]:
    for kind, words, option, helm, status_name in MAPS:
        if words.search(text):
            return kind, option, helm, status_name
    return "BPF", None, None, ""
