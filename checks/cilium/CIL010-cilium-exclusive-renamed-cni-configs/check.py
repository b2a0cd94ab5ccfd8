"""Cilium (cni.exclusive) renamed another CNI's config to *.cilium_bak while that CNI is still deployed."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, obj_name
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.cniconf import parse_cni_config
from cnidoctor.parse.errors import ParseError

from .._cilium import base_values, cilium_config, containers, first_per_pod, log_lines, natural, status

SUFFIX = ".cilium_bak"
RENAMED = re.compile(r"Renaming non-Cilium CNI configuration file")
# Plugins that must keep their own config next to Cilium's: meta plugins that call Cilium as a delegate.
META = {"multus", "multus-shim", "genie", "danm", "kuryr-cni"}
# Workloads that install a CNI whose plugin type differs from its name.
OWNERS = {"multus-shim": "multus", "aws-cni": "aws-node", "istio-cni": "istio-cni", "calico": "calico-node"}


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    renamed: list[tuple[str, str, tuple[str, ...]]] = []
    for node in ctx.bundle.node_dirs:
        for name, text in ctx.node_files(node, "cni-net.d/").items():
            if "/" not in name and name.endswith(SUFFIX):
                renamed.append((node, name, _types(text, name)))
    if not renamed:
        return []
    cfg = cilium_config(ctx)
    chaining = _chaining(ctx, cfg)
    deployed = _deployed_workloads(ctx)
    broken = [(n, f, t) for n, f, t in renamed if _in_use(t, deployed) and (set(t) & META or chaining)]
    if not broken:
        return []  # leftovers of a CNI that was replaced: renaming them is what cni.exclusive is for
    nodes = sorted({n for n, _, _ in broken}, key=natural)
    evidence = [
        Evidence(
            layout.node_file(n, f"cni-net.d/{f}"),
            f"{n}: cni-net.d/{f} (type {', '.join(t) or '?'}) disabled by Cilium; "
            f"{', '.join(sorted(_in_use(t, deployed)))} is still deployed",
            f"Node/{n}",
            n,
        )
        for n, f, t in broken[:6]
    ]
    evidence += [h.evidence for h in first_per_pod([h for h in log_lines(ctx, RENAMED) if h.node in nodes])][:3]
    if cfg:
        evidence.append(cfg.evidence("cni-exclusive"))
    node, file, types = broken[0]
    values = base_values(ctx)
    values.update(node=node, file=file, original=file.removesuffix(SUFFIX), owner=sorted(_in_use(types, deployed))[0])
    msg = (
        f"Cilium's cni.exclusive renamed {file.removesuffix(SUFFIX)} on {', '.join(nodes)}; "
        f"{values['owner']} is still deployed and is no longer called by the runtime there"
    )
    return [Hit(evidence, [f"Node/{n}" for n in nodes], nodes, values, msg)]


def _types(text: str, name: str) -> tuple[str, ...]:
    try:
        return parse_cni_config(text, name.removesuffix(SUFFIX)).types
    except ParseError:
        return ()


def _chaining(ctx: Context, cfg) -> bool:  # noqa: ANN001
    mode = (cfg.get("cni-chaining-mode") if cfg else None) or next(
        (st.cni_chaining for n in ctx.bundle.node_dirs if (st := status(ctx, n)) and st.cni_chaining), None
    )
    return bool(mode) and mode.lower() not in ("none", "disabled")


def _deployed_workloads(ctx: Context) -> str:
    """Names and images of every DaemonSet and Deployment, as one searchable string."""
    parts = []
    for w in ctx.daemonsets + ctx.deployments:
        parts.append(obj_name(w))
        parts += [str(c.get("image", "")) for c in containers(w, init=True)]
    return " ".join(parts).lower()


def _in_use(types: tuple[str, ...], deployed: str) -> set[str]:
    """The renamed config's plugins whose installer still runs."""
    return {OWNERS.get(t, t) for t in types if t != "cilium-cni" and OWNERS.get(t, t) in deployed}
