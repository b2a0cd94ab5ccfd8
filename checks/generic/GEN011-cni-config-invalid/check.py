"""The CNI config the runtime reads first on a node does not load (bad JSON, no type, no plugins)."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.catalog.placeholders import shell_comment, shell_quote, ssh_command
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence, Hit

from .._lib import cnilayer as cl

_LINE = re.compile(r":(\d+): ")


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits = []
    for node in ctx.node_names:
        sel = cl.net_d(ctx, node)
        if sel is None or not sel.errors:
            continue
        bad = sel.blocked_by or (None if sel.selected else sel.candidates[0])
        if bad is None:
            continue  # an invalid file after the selected one is never read
        err = sel.errors[bad]
        m = _LINE.search(err)
        evidence = [
            Evidence(
                layout.node_file(node, f"{layout.CNI_NET_D}/{bad}"),
                err[:400],
                f"Node/{node}",
                node,
                int(m.group(1)) if m else None,
            )
        ]
        later = [f for f in sel.candidates if f != bad and f not in sel.errors]
        note = (
            f"; containerd stops at it (CRI-O would fall back to {later[0]})"
            if later
            else "; no other config in the directory loads"
        )
        node_obj = ctx.node_by_name.get(node) or {}
        for c in (node_obj.get("status") or {}).get("conditions") or []:
            if c.get("type") == "Ready" and c.get("status") != "True" and c.get("message"):
                evidence.append(Evidence(layout.NODES_LIST, f"{node}: {c['message'][:300]}", f"Node/{node}", node))
        fam = cl.family_of(bad)
        ds = cl.deployed_cnis(ctx).get(fam) if fam else None
        pod = cl.agent_pod_on(ctx, ds, node) if ds else None
        move = f"sudo mv {shell_quote(f'/etc/cni/net.d/{bad}')} {shell_quote(f'/root/{bad}.broken')}"
        rewrite = (
            f"kubectl -n {shell_quote(meta(pod).get('namespace'))} delete pod {shell_quote(obj_name(pod))}  "
            f"# its init container rewrites {shell_comment(bad)} from its config map"
            if pod
            else f"{ssh_command(node, move)}  # if no CNI owns it"
        )
        values = {"node": node, "file": bad, "error": err, "rewrite_command": rewrite}
        hits.append(
            Hit(
                evidence,
                [f"Node/{node}"],
                [node],
                values,
                f"{bad} on {node} does not load ({err.split(': ', 1)[-1]}){note}",
            )
        )
    return hits
