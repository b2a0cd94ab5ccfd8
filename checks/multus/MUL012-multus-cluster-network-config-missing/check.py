"""The primary network Multus delegates to (clusterNetwork, delegates, readiness file) is missing or another CNI."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context
from cnidoctor.model import Hit

from .. import _multus as mx

CANNOT_FIND = re.compile(
    r"getNetDelegate: cannot find network: ?(?P<net>\S+)|failed to get clusterNetwork|"
    r"failed to find the cluster master CNI plugin|"
    r"failed to find the primary CNI plugin|cannot find the cluster network"
)
FAMILY = {"flannel": "flannel", "calico": "calico", "cilium-cni": "cilium"}
READINESS_FAMILY = re.compile(r"(?P<family>flannel|calico|cilium)")


def _primaries(sel) -> dict[str, object]:  # noqa: ANN001
    """Loadable non-Multus configs in net.d: file name -> config."""
    return {n: c for n, c in sel.configs.items() if c.multus is None and n not in sel.errors}


def _problem(ctx: Context, node: str, conf_name: str, cfg) -> str | None:  # noqa: ANN001
    m = cfg.multus
    sel = mx.selection(ctx, node)
    primaries = _primaries(sel)
    have = ", ".join(sorted(primaries)) or "no other CNI config"
    cn = m.cluster_network
    if cn:
        if cn.startswith("/"):
            name = mx.host_net_d_name(cn)
            if name is not None and name not in mx.net_d(ctx, node):
                return f'{conf_name}: "clusterNetwork": "{cn}", but /etc/cni/net.d on {node} has no {name} ({have})'
            return None
        names = {c.name for c in primaries.values()} | {n.rsplit(".", 1)[0] for n in primaries}
        ns = m.namespace or "kube-system"
        if cn not in names and (ns, cn) not in mx.nad_index(ctx) and ctx.has_resource(mx.NAD_RESOURCE):
            return (
                f'{conf_name}: "clusterNetwork": "{cn}" names neither a config in /etc/cni/net.d on {node} '
                f"({have}) nor a NetworkAttachmentDefinition in {ns}"
            )
        return None
    for d in m.delegates:
        fam = FAMILY.get(d.types[0]) if d.types else None
        if fam and fam not in ctx.cnis and ctx.cnis - {"multus"}:
            return (
                f'{conf_name}: delegates[0] "{d.name}" is {d.types[0]}, but the cluster runs '
                f"{', '.join(sorted(ctx.cnis - {'multus'}))} ({have} in /etc/cni/net.d)"
            )
    rf = m.readiness_indicator_file or ""
    f = READINESS_FAMILY.search(rf)
    if f and f.group("family") not in ctx.cnis and ctx.cnis - {"multus"}:
        return f'{conf_name}: "readinessindicatorfile": "{rf}" belongs to {f.group("family")}, which is not deployed'
    return None


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    messages = mx.find_messages(ctx, CANNOT_FIND)
    hits = []
    for node in ctx.bundle.node_dirs:
        found = mx.multus_config(ctx, node)
        if found is None:
            continue
        problem = _problem(ctx, node, *found)
        if problem is None:
            continue
        evidence = [mx.file_evidence(ctx, node, f"{layout.CNI_NET_D}/{found[0]}", problem)]
        on_node = [m for m in messages if m.node == node]
        evidence += [m.evidence for m in on_node[:2]]
        values = {
            "node": node,
            "multus_conf": found[0],
            "primary": ", ".join(sorted(_primaries(mx.selection(ctx, node)))) or "<primary CNI config>",
        }
        objects = [f"Node/{node}"] + [f"{m.pod[0]}/Pod/{m.pod[1]}" for m in on_node if m.pod]
        hits.append(Hit(evidence, objects, [node], values, problem))
    if not hits and messages:
        for m in messages:
            values = {"node": m.node or "<node>", "multus_conf": "00-multus.conf", "primary": "<primary CNI config>"}
            hits.append(
                Hit(
                    [m.evidence],
                    [f"{m.pod[0]}/Pod/{m.pod[1]}"] if m.pod else [],
                    [m.node] if m.node else [],
                    values,
                    "Multus cannot find its cluster (default) network",
                )
            )
    return hits
