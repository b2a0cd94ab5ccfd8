"""flannel's VXLAN device cannot be created: another VXLAN device holds the same UDP port (and VNI)."""

from __future__ import annotations

from cnidoctor.diagnose.context import Context
from cnidoctor.model import Hit
from cnidoctor.parse.iproute import Link, parse_links

from .._lib import flannel_lib as fl

VXLAN_ERROR = fl.log_pattern(
    r"(?i)(vxlan|flannel\.\d+).*\b(file exists|address already in use|device or resource busy)"
)


def _conflicts(links: tuple[Link, ...], port: int, vni: int) -> list[Link]:
    """VXLAN devices other than flannel's that would share its UDP socket and take its traffic."""
    return [
        x
        for x in links
        if x.vxlan is not None
        and not x.name.startswith("flannel.")
        and (x.vxlan.port or fl.DEFAULT_VXLAN_PORT) == port
        and (x.vxlan.external or x.vxlan.id == vni)
    ]


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    nc = fl.net_conf(ctx)
    if nc is not None and nc.backend not in (None, "vxlan"):
        return []
    port, vni = (nc.port if nc and nc.port else fl.DEFAULT_VXLAN_PORT), (nc.vni if nc and nc.vni else 1)
    hits: dict[str, Hit] = {}
    for ref, line, _ in fl.lasting_errors(ctx, VXLAN_ERROR):
        node = ctx.pod_node(ref.namespace, ref.pod) or "?"
        if node not in hits:
            pod = ctx.pod(ref.namespace, ref.pod)
            hits[node] = Hit(
                [fl.log_evidence(ctx, ref, line)],
                [f"{ref.namespace}/Pod/{ref.pod}"],
                [node] if node != "?" else [],
                {"pod": ref.pod, **fl.ds_values(ctx, pod)},
            )
    for node in ctx.bundle.node_dirs:
        links = ctx.parsed(node, "ip-link.json", parse_links)
        clash = _conflicts(links or (), port, vni)
        if not clash:
            continue
        pod = fl.flannel_pod_on(ctx, node)
        hit = hits.setdefault(node, Hit([], [f"Node/{node}"], [node], fl.ds_values(ctx, pod)))
        for x in clash[:2]:
            vx = x.vxlan
            mode = "external (collect_metadata)" if vx and vx.external else f"id {vx.id if vx else '?'}"
            text = f"{x.name}: vxlan {mode} port {vx.port if vx else '?'} also uses flannel's UDP port {port}"
            hit.evidence.append(fl.file_evidence(node, "ip-link.json", f"{text} (flannel VNI {vni})", x.line))
        hit.values.setdefault("device", clash[0].name)
    for node, hit in hits.items():
        hit.values.update({"port": str(port), "vni": str(vni)})
        hit.values.setdefault("device", "<other vxlan device>")
        hit.message = f"flannel's VXLAN device on {node} conflicts with another VXLAN device or port user"
    return list(hits.values())
