"""subnet.env errors on a cluster where flannel is not deployed: a leftover flannel CNI config is in use."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.cniconf import select_default

from .._lib import flannel_lib as fl

OTHER_AGENTS = re.compile(r"calico-node|cilium|kube-router|weave-net|antrea-agent|kube-ovn|canal|multus", re.I)


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    failures = fl.subnet_env_failures(ctx)
    if not failures:
        return []
    if not ctx.has_resource("daemonsets") and not ctx.pods:
        return None  # cannot tell whether flannel is deployed
    if fl.flannel_daemonsets(ctx) or fl.flannel_pods(ctx):
        return []  # flannel is deployed: its own state explains the missing file
    others = [f"{meta(d).get('namespace')}/{obj_name(d)}" for d in ctx.daemonsets if OTHER_AGENTS.search(obj_name(d))]
    where = layout.namespaced_list("kube-system", "daemonsets")
    summary = "no flannel DaemonSet or pod in the cluster" + (f"; CNI agents: {', '.join(others)}" if others else "")
    hits = []
    for node, evidence in sorted(failures.items()):
        values = {"conf_file": "10-flannel.conflist", "other_cni": others[0] if others else "none"}
        evidence = [*evidence[:3], Evidence(where, summary)]
        files = fl.flannel_cni_files(ctx, node)
        if files:
            values["conf_file"] = files[0]
            sel = select_default(ctx.node_files(node, layout.CNI_NET_D + "/"))
            picked = " and the runtime uses it (first in name order)" if sel.selected == files[0] else ""
            evidence.append(
                fl.file_evidence(
                    node, f"{layout.CNI_NET_D}/{files[0]}", f"{layout.CNI_NET_D}/{files[0]} is a flannel config{picked}"
                )
            )
        hits.append(
            Hit(
                evidence,
                sorted({e.object for e in evidence if e.object}),
                [node],
                values,
                message=f"flannel is not deployed, but {node} still uses a flannel CNI config",
            )
        )
    return hits
