"""A CNI plugin rejects the cniVersion it is called with (runtime or config newer than the plugins)."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.catalog.placeholders import shell_comment, shell_quote, ssh_command
from cnidoctor.diagnose.context import Context
from cnidoctor.model import Evidence, Hit

from .._lib import cnilayer as cl

INCOMPATIBLE = re.compile(
    r'(?:plugin type="(?P<plugin>[^"]+)"(?: name="[^"]*")? failed \((?:add|del|check|status)\): )?'
    r'(?:incompatible CNI versions; config is "(?P<config>[^"]+)", plugin supports \[(?P<supported>[^\]]*)\]'
    r'|plugin (?:type=)?"?(?P<plugin2>[\w.-]+)"? does not support config version "(?P<config2>[^"]+)")'
)
VERSION = re.compile(r"[0-9]+(\.[0-9]+)*")  # what may go into the fix's sed expression (no sed or shell syntax)
PLUGINS = "https://github.com/containernetworking/plugins/releases/download/v1.6.2/cni-plugins-linux-{arch}-v1.6.2.tgz"


def _vt(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", v)[:3])


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    by_node: dict[str, Hit] = {}
    for occ in cl.cni_errors(ctx, INCOMPATIBLE):
        node = occ.node
        if node is None:
            continue
        m = occ.match
        sel = cl.net_d(ctx, node)
        plugin = (
            m["plugin"]
            or m["plugin2"]
            or (sel.config.types[0] if sel and sel.config and sel.config.types else "<plugin>")
        )
        config = m["config"] or m["config2"] or "?"
        supported = [s.strip('"') for s in (m["supported"] or "").split()]
        if node in by_node:
            hit = by_node[node]
            if occ.pod and f"{occ.pod.replace('/', '/Pod/', 1)}" not in hit.objects:
                hit.objects.append(occ.pod.replace("/", "/Pod/", 1))
                if len(hit.evidence) < 3 and occ.evidence.path.endswith("events.json"):
                    hit.evidence.insert(1, occ.evidence)
            continue
        by_node[node] = _hit(ctx, node, plugin, config, supported, occ)
    return list(by_node.values())


def _hit(ctx: Context, node: str, plugin: str, config: str, supported: list[str], occ) -> Hit:  # noqa: ANN001
    info = cl.node_info(ctx, node)
    runtime = str(info.get("containerRuntimeVersion") or "")
    arch = str(info.get("architecture") or "amd64")
    newest = max(supported, key=_vt) if supported else "?"
    evidence = [occ.evidence]
    rv = re.match(r"containerd://v?(\d+\.\d+\.\d+)", runtime)
    sel = cl.net_d(ctx, node)
    cfg_version = sel.config.cni_version if sel and sel.config else None
    url = shell_quote(PLUGINS.format(arch=arch))
    upgrade_plugins = ssh_command(node, f"curl -sSL {url} | sudo tar -xz -C /opt/cni/bin")
    if plugin == "loopback" and rv and (1, 6, 0) <= _vt(rv.group(1)) <= (1, 6, 3) and _vt(config) >= (1, 0, 0):
        evidence.append(
            Evidence(layout.NODES_LIST, f"node {node} containerRuntimeVersion {runtime}", f"Node/{node}", node)
        )
        cause = (
            f"containerd {rv.group(1)} on {node} calls loopback with its built-in cniVersion {config} config, "
            f"but the installed CNI plugins support at most {newest}"
        )
        how = (
            "upgrade containerd on the node to 1.6.4 or later (it falls back to an older loopback version), "
            "or upgrade the CNI plugins to v1.x"
        )
        fix = upgrade_plugins + f"  # or upgrade containerd on {shell_comment(node)} to >= 1.6.4"
    elif cfg_version and cfg_version == config and supported:
        evidence.append(
            Evidence(
                layout.node_file(node, f"{layout.CNI_NET_D}/{sel.selected}"),
                f'{sel.selected}: "cniVersion": "{cfg_version}"',
                f"Node/{node}",
                node,
            )
        )
        cause = (
            f"{sel.selected} on {node} declares cniVersion {config}, newer than {plugin} supports ({newest} at most)"
        )
        how = (
            f"lower cniVersion in {sel.selected} to {newest}, and in the CNI's config map that writes the file, "
            f"or upgrade {plugin} to a release that supports {config}"
        )
        path = shell_quote(f"/etc/cni/net.d/{sel.selected}")
        if VERSION.fullmatch(config) and VERSION.fullmatch(newest):
            sed = f"""s/"cniVersion": *"{config}"/"cniVersion": "{newest}"/"""
            fix = ssh_command(node, f"sudo sed -i '{sed}' {path}")
        else:  # not plain versions: none of it goes into a sed expression
            fix = ssh_command(node, f"sudo grep -n cniVersion {path}") + f"  # set it to {shell_comment(newest)}"
    else:
        cause = f"{plugin} on {node} is called with cniVersion {config} but supports at most {newest}"
        how = "upgrade the CNI plugins (or the runtime) so both speak the same CNI version"
        fix = upgrade_plugins
    outlier = cl.version_outlier(ctx, node)
    if outlier:
        same = [i for i, e in enumerate(evidence) if outlier.excerpt.startswith(e.excerpt)]
        if same:
            evidence[same[0]] = outlier
        else:
            evidence.append(outlier)
    bins = cl.cni_bin(ctx, node)
    if bins is not None and bins.dirs:
        d, names = next(iter(bins.dirs.items()))
        pre_1_0 = "flannel" in names and _vt(newest) < (1,)
        old = " (includes `flannel`: the pre-1.0 reference plugin set)" if pre_1_0 else ""
        evidence.append(
            Evidence(
                layout.node_file(node, "cni-bin.txt"),
                f"{d}: {' '.join(names[:20])}{old}"[:400],
                f"Node/{node}",
                node,
                1,
            )
        )
    values = {
        "node": node,
        "plugin": plugin,
        "config_version": config,
        "supported": " ".join(supported),
        "newest": newest,
        "fix_how": how,
        "fix_command": fix,
        "runtime": runtime,
    }
    objects = [f"Node/{node}"]
    if occ.pod:
        ns, name = occ.pod.split("/", 1)
        values.update(namespace=ns, pod=name)
        objects.append(f"{ns}/Pod/{name}")
    return Hit(evidence, objects, [node], values, cause)
