"""A node's kernel is older than the Cilium version in use supports (or lacks a BPF feature it needs)."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, obj_name
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.uname import parse_uname

from .._cilium import AGENT, agent_daemonset, base_values, container, first_per_pod, log_lines, natural

# Minimum kernel per Cilium release (docs: operations/system_requirements), oldest first.
MINIMUM = (((1, 16), (5, 4, 0)), ((1, 13), (4, 19, 57)), ((1, 0), (4, 9, 17)))
RHEL8_MIN_BUILD = 372  # RHEL 8.6 (4.18.0-372) carries the needed backports
REFUSED = re.compile(
    r"kernel version: NOT OK|minimal supported kernel version|"
    r"(?i:kernel (version )?\S* ?(is )?(not supported|too old|unsupported))|"
    r"(?i:requires? (a )?(linux )?kernel (version )?(>=|of at least|newer than))|"
    r"(?i:(required|mandatory) (bpf|eBPF) (feature|helper|map type|program type)[^\"]*(not|un)(supported|available))"
)
VERSION = re.compile(r"(?:cilium:v?|Cilium )(\d+)\.(\d+)\.(\d+)")


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    cilium, cilium_ev = _cilium_version(ctx)
    refused = list(log_lines(ctx, REFUSED))
    kernels = _kernels(ctx)
    if not kernels and not refused:
        return None
    need = next((k for v, k in MINIMUM if cilium and cilium[:2] >= v), None) if cilium else None
    old = {n: (rel, ev) for n, (rel, ver, ev) in kernels.items() if need and ver < need and not _rhel_ok(rel)}
    nodes = sorted({h.node for h in refused if h.node} | set(old), key=natural)
    if not nodes:
        return []
    evidence = [h.evidence for h in first_per_pod(refused)][:3] + [old[n][1] for n in nodes if n in old][:4]
    values = base_values(ctx)
    need_s = ".".join(map(str, need)) if need else "the documented minimum"
    values.update(
        node=nodes[0],
        min_kernel=need_s,
        cilium_version=".".join(map(str, cilium)) if cilium else "this Cilium version",
        kernel=old[nodes[0]][0] if nodes[0] in old else "<kernel>",
    )
    if cilium_ev:
        evidence.append(cilium_ev)
    msg = f"kernel on {', '.join(nodes)} is too old for Cilium {values['cilium_version']} (needs >= {need_s})" + (
        "; the agent refuses to start" if refused else ""
    )
    return [Hit(evidence, [f"Node/{n}" for n in nodes], nodes, values, msg)]


def _cilium_version(ctx: Context) -> tuple[tuple[int, int, int] | None, Evidence | None]:
    """The agent's version, from its image tag or its start-up banner, with the evidence."""
    ds = agent_daemonset(ctx)
    image = str((container(ds, AGENT) or {}).get("image", "")) if ds else ""
    m = VERSION.search(image)
    ev = None
    if m and ds:
        ev = Evidence(
            layout.namespaced_list(str(ds["metadata"].get("namespace")), "daemonsets"),
            f"DaemonSet {obj_name(ds)} container {AGENT} image {image.split('@')[0]}",
            f"{ds['metadata'].get('namespace')}/DaemonSet/{obj_name(ds)}",
        )
    else:
        hit = next(log_lines(ctx, re.compile(r"Cilium (\d+)\.(\d+)\.(\d+) ")), None)
        m, ev = (hit.match, hit.evidence) if hit else (None, None)
    return ((int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None), ev


def _kernels(ctx: Context) -> dict[str, tuple[str, tuple[int, int, int], Evidence]]:
    """Node -> (release, version, evidence) from uname.txt, else the node's status.nodeInfo."""
    out = {}
    for node in ctx.bundle.node_dirs:
        u = ctx.parsed(node, "uname.txt", parse_uname)
        if u and u.version:
            out[node] = (
                u.release,
                u.version,
                Evidence(layout.node_file(node, "uname.txt"), u.text[:200], f"Node/{node}", node, 1),
            )
    for n in ctx.nodes:
        name = obj_name(n)
        rel = str(((n.get("status") or {}).get("nodeInfo") or {}).get("kernelVersion") or "")
        m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", rel)
        if name not in out and m:
            ver = (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
            ev = Evidence(layout.NODES_LIST, f"node {name}: kernelVersion {rel}", f"Node/{name}", name)
            out[name] = (rel, ver, ev)
    return out


def _rhel_ok(release: str) -> bool:
    m = re.match(r"4\.18\.0-(\d+)", release)
    return bool(m and "el8" in release and int(m.group(1)) >= RHEL8_MIN_BUILD)
