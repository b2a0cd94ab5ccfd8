"""The plugin binary is on the node, but not in the directory the runtime (or Multus) searches."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.catalog.placeholders import shell_comment, shell_quote
from cnidoctor.diagnose.context import Context
from cnidoctor.model import Evidence, Hit

from .._lib import cnilayer as cl

FIND = re.compile(r'failed to find plugin "(?P<plugin>[^"]+)" in path \[(?P<dirs>[^\]]*)\]')


def _runtime_fix(ctx: Context, node: str, found: str) -> tuple[str, str]:
    """(where the runtime's CNI bin dir is set, a command that shows it) for the node's runtime."""
    host, found = shell_quote(node), shell_comment(found)
    runtime = str(cl.node_info(ctx, node).get("containerRuntimeVersion") or "")
    if runtime.startswith("cri-o"):
        return (
            "CRI-O `plugin_dirs` in [crio.network]",
            f'ssh {host} "sudo grep -rn plugin_dir /etc/crio/" # add {found}, then: sudo systemctl restart crio',
        )
    if runtime.startswith("docker"):
        return (
            "the kubelet flag --cni-bin-dir",
            f"ssh {host} \"ps -o args= -C kubelet | tr ' ' '\\n' | grep cni-bin-dir\" "
            f"# set --cni-bin-dir={found}, then: sudo systemctl restart kubelet",
        )
    return (
        "containerd's CRI `bin_dir` (containerd 2.x: `bin_dirs`)",
        f'ssh {host} "sudo containerd config dump | grep -n bin_dir" '
        f"# set it to {found} in /etc/containerd/config.toml, then: sudo systemctl restart containerd",
    )


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits: dict[tuple[str, str], Hit] = {}
    for occ in cl.cni_errors(ctx, FIND):
        node, plugin, dirs = occ.node, occ.match["plugin"], occ.match["dirs"].split()
        bins = cl.cni_bin(ctx, node) if node else None
        if node is None or bins is None:
            continue
        where = bins.where(plugin)
        if not where or any(w.rstrip("/") in [d.rstrip("/") for d in dirs] for w in where):
            continue  # not installed anywhere (GEN003), or present where searched (fixed since)
        key = (node, plugin)
        if key in hits:
            if len(hits[key].evidence) < 4 and occ.evidence.path.endswith("events.json"):
                hits[key].evidence.insert(1, occ.evidence)
            if occ.pod:
                hits[key].objects.append(occ.pod.replace("/", "/Pod/", 1))
            continue
        hits[key] = _hit(ctx, node, plugin, dirs, where, bins, occ.evidence, "the runtime", occ.pod)

    # Multus runs its delegates from its own `binDir`.
    for node in ctx.node_names:
        sel, bins = cl.net_d(ctx, node), cl.cni_bin(ctx, node)
        if not sel or not sel.config or not sel.config.multus or bins is None:
            continue
        bin_dir = (sel.config.multus.bin_dir or "").rstrip("/")
        if not bin_dir or bin_dir not in bins.dirs:
            continue
        for d in sel.config.multus.delegates:
            for plugin, _ in cl.required_plugins(d):
                where = bins.where(plugin)
                if where and bin_dir not in where and (node, plugin) not in hits:
                    ev = Evidence(
                        layout.node_file(node, f"{layout.CNI_NET_D}/{sel.selected}"),
                        f'{sel.selected}: "binDir": "{bin_dir}" (delegate plugin {plugin})',
                        f"Node/{node}",
                        node,
                    )
                    hits[(node, plugin)] = _hit(ctx, node, plugin, [bin_dir], where, bins, ev, "Multus", None)
    return list(hits.values())


def _hit(
    ctx: Context,
    node: str,
    plugin: str,
    dirs: list[str],
    where: tuple[str, ...],
    bins,
    first: Evidence,  # noqa: ANN001
    who: str,
    pod: str | None,
) -> Hit:
    searched = " ".join(dirs)
    listing = "; ".join(
        f"{d}: {len(n)} binaries" + (f" (incl. {plugin})" if plugin in n else f" (no {plugin})")
        for d, n in bins.dirs.items()
    )
    evidence = [first, Evidence(layout.node_file(node, "cni-bin.txt"), listing[:400], f"Node/{node}", node, 1)]
    setting, show = _runtime_fix(ctx, node, where[0])
    if who == "Multus":
        show = f"ssh {shell_quote(node)} 'sudo grep -n binDir /etc/cni/net.d/*multus*'"
        setting = "the Multus `binDir`"
    values = {
        "node": node,
        "plugin": plugin,
        "searched": searched,
        "found_dir": where[0],
        "setting": setting,
        "show_command": show,
        "first_dir": dirs[0] if dirs else "/opt/cni/bin",
    }
    objects = [f"Node/{node}"]
    if pod:
        ns, name = pod.split("/", 1)
        values.update(namespace=ns, pod=name)
        objects.append(f"{ns}/Pod/{name}")
    msg = (
        f"{who} on {node} looks for {plugin} in [{searched}], but it is installed in {', '.join(where)}: "
        f"the CNI binary directory setting is wrong, the plugin is not missing"
    )
    return Hit(evidence, objects, [node], values, msg)
