"""The CNI config the runtime picks on a node (the lexically first loadable one) is not the deployed CNI's."""

from __future__ import annotations

from collections import Counter

from cnidoctor.bundle import layout
from cnidoctor.catalog.placeholders import shell_join, shell_quote
from cnidoctor.diagnose.context import Context, meta, obj_name, obj_ref
from cnidoctor.model import Evidence, Hit

from .._lib import cnilayer as cl


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    selections = {n: s for n in ctx.node_names if (s := cl.net_d(ctx, n)) is not None and s.config is not None}
    if not selections:
        return None
    deployed = cl.deployed_cnis(ctx)
    usual = Counter(s.selected for s in selections.values())
    hits = []
    for node, sel in sorted(selections.items()):
        fam = cl.config_family(sel.config)
        if fam in deployed:
            continue  # the deployed CNI's own config (or Multus wrapping it)
        intended = next((f for f in sel.shadowed if cl.config_family(sel.configs[f]) in deployed), None)
        majority, count = usual.most_common(1)[0]
        if intended is None and not deployed and sel.selected != majority and count >= 2 and majority in sel.shadowed:
            intended = majority  # no agent to compare with: the other nodes' choice
        if intended is None:
            continue
        hits.append(_hit(ctx, node, sel, intended, deployed, selections))
    return hits


def _hit(ctx: Context, node: str, sel, intended: str, deployed: dict, selections: dict) -> Hit:  # noqa: ANN001
    rogue, cfg = sel.selected, sel.config
    subnets = cfg.ipam.subnets if cfg.ipam else ()
    if cl.runtime_default_config(rogue, cfg):
        kind = "a container runtime's default config"
        why = "installed by the container runtime's package or release tarball"
    elif cl.config_family(cfg):
        kind = f"a leftover config of {cl.config_family(cfg)}, which is not deployed"
        why = f"left behind when {cl.config_family(cfg)} was removed"
    else:
        kind = "a config the deployed CNI did not write"
        why = "written by hand or by another installer"
    path = layout.node_file(node, f"{layout.CNI_NET_D}/{rogue}")
    desc = ", ".join([*cfg.types, *([f"{cfg.ipam.type} {' '.join(subnets)}".strip()] if cfg.ipam else [])])
    evidence = [
        Evidence(
            path,
            f"{rogue} ({desc}) sorts before {intended}: the runtime uses {rogue} as the pod network on {node}",
            f"Node/{node}",
            node,
            1,
        )
    ]
    others = sorted(n for n, s in selections.items() if n != node and s.selected == intended)
    if others:
        evidence.append(
            Evidence(
                layout.node_file(others[0], f"{layout.CNI_NET_D}/{intended}"),
                f"{', '.join(others[:5])} use{'s' if len(others) == 1 else ''} {intended} only",
                f"Node/{others[0]}",
                others[0],
            )
        )
    fam = cl.config_family(sel.configs[intended])
    if fam in deployed:
        ds = deployed[fam]
        evidence.append(
            Evidence(
                layout.namespaced_list(str(meta(ds).get("namespace")), "daemonsets"),
                f"{obj_ref(ds, 'DaemonSet')} is the deployed CNI; it wrote {intended}",
                obj_ref(ds, "DaemonSet"),
            )
        )
    affected = []
    nets = [n for n in (cl.to_net(s) for s in subnets) if n]
    for p in ctx.pods_by_node.get(node, []):
        ips = [ip for ip in cl.pod_ips(p) if cl.is_live(p) and any(ip.version == n.version and ip in n for n in nets)]
        if ips:
            affected.append(p)
            if len(affected) <= 4:
                evidence.append(
                    Evidence(
                        layout.namespaced_list(str(meta(p).get("namespace")), "pods"),
                        f"{meta(p).get('namespace')}/{obj_name(p)} on {node}: podIP {ips[0]} from "
                        f"{cfg.name or rogue}'s range {', '.join(subnets)}",
                        cl.pod_ref(p),
                        node,
                    )
                )
    by_ns: dict[str, list[str]] = {}
    for p in affected:
        by_ns.setdefault(str(meta(p).get("namespace")), []).append(obj_name(p))
    recreate = " && ".join(
        f"kubectl -n {shell_quote(ns)} delete pod {shell_join(names)}" for ns, names in sorted(by_ns.items())
    )
    values = {
        "node": node,
        "rogue": rogue,
        "intended": intended,
        "kind": kind,
        "recreate_command": recreate
        or f"kubectl get pods -A -o wide --field-selector {shell_quote(f'spec.nodeName={node}')}",
    }
    message = f"{node} uses {rogue}, {kind} ({why}), instead of {intended}" + (
        f"; {len(affected)} pod(s) got addresses from it" if affected else ""
    )
    return Hit(evidence, [f"Node/{node}"] + [cl.pod_ref(p) for p in affected], [node], values, message)
