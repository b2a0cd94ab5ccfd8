"""A CNI plugin binary the runtime must exec is in none of the node's CNI binary directories."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.catalog.placeholders import shell_join, shell_quote, ssh_command
from cnidoctor.diagnose.context import Context, meta, obj_name, obj_ref
from cnidoctor.model import Evidence, Hit

from .._lib import cnilayer as cl

FIND = re.compile(r'failed to find plugin "(?P<plugin>[^"]+)" in path \[(?P<dirs>[^\]]*)\]')
REFERENCE = (
    "https://github.com/containernetworking/plugins/releases/download/v1.6.2/cni-plugins-linux-{arch}-v1.6.2.tgz"
)


class _Missing:
    def __init__(self, node: str, plugin: str) -> None:
        self.node, self.plugin = node, plugin
        self.role: str | None = None
        self.dirs: list[str] = []
        self.evidence: list[Evidence] = []
        self.pods: list[str] = []


def _role(ctx: Context, node: str, plugin: str, message: str, nads: dict) -> str | None:
    sel = cl.net_d(ctx, node)
    if sel and sel.config:
        for t, role in cl.node_required_plugins(sel):
            if t == plugin:
                return role if role.startswith("Multus's") else f"{role} in {sel.selected}"
    for ref, nad in nads.items():
        if plugin in cl.nad_types(nad):
            return f"a Multus delegate (NetworkAttachmentDefinition {ref})"
    if re.search(r"(?i)multus|delegate", message):
        return "a Multus delegate"
    return None


def _bin_excerpt(bins, plugin: str) -> str:  # noqa: ANN001
    parts = [
        f"{d}: {len(names)} binaries ({' '.join(names[:20])}{' ...' if len(names) > 20 else ''})"
        for d, names in bins.dirs.items()
    ]
    return f"no {plugin} in " + "; ".join(parts)


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    nads = {
        f"{meta(n).get('namespace')}/{obj_name(n)}": n
        for n in ctx.resource("network-attachment-definitions.k8s.cni.cncf.io")
    }
    found: dict[tuple[str, str], _Missing] = {}

    def missing(node: str, plugin: str) -> _Missing:
        return found.setdefault((node, plugin), _Missing(node, plugin))

    for occ in cl.cni_errors(ctx, FIND):
        node, plugin, dirs = occ.node, occ.match["plugin"], occ.match["dirs"].split()
        bins = cl.cni_bin(ctx, node) if node else None
        if node is None or bins is None or bins.has(plugin):
            continue  # unknown (GEN110 says how to tell) or present elsewhere (GEN004)
        m = missing(node, plugin)
        m.role = m.role or _role(ctx, node, plugin, occ.evidence.excerpt, nads)
        m.dirs = m.dirs or dirs
        if len(m.evidence) < 3:
            m.evidence.append(occ.evidence)
        if occ.pod and occ.pod not in m.pods:
            m.pods.append(occ.pod)

    # Node state: every binary the node's selected config (and its Multus delegates) needs; a leftover
    # config of a CNI that is not deployed is GEN005's finding, not a missing binary.
    deployed = cl.deployed_cnis(ctx)
    for node in ctx.node_names:
        sel, bins = cl.net_d(ctx, node), cl.cni_bin(ctx, node)
        if not sel or not sel.config or bins is None or not bins.dirs:
            continue
        fam = cl.config_family(sel.config)
        if deployed and fam is not None and fam not in deployed:
            continue
        for plugin, role in cl.node_required_plugins(sel):
            if bins.has(plugin):
                continue
            m = missing(node, plugin)
            m.role = m.role or (role if role.startswith("Multus's") else f"{role} in {sel.selected}")
            ev = _config_line(ctx, node, sel.selected, plugin)
            if ev:
                m.evidence.append(ev)
        # NetworkAttachmentDefinitions that pods ask for, wherever Multus runs.
        if sel.config.multus:
            for ref in sorted({f"{ns}/{n}" for p in ctx.pods if cl.is_live(p) for ns, n in cl.pod_networks(p)}):
                nad = nads.get(ref)
                for plugin in cl.nad_types(nad) if nad else []:
                    if not bins.has(plugin):
                        m = missing(node, plugin)
                        m.role = m.role or f"a Multus delegate (NetworkAttachmentDefinition {ref})"
                        m.evidence.append(
                            Evidence(
                                layout.namespaced_list(
                                    ref.split("/")[0], "network-attachment-definitions.k8s.cni.cncf.io"
                                ),
                                f"NetworkAttachmentDefinition {ref} config type {plugin}",
                                obj_ref(nad),
                                None,
                            )
                        )

    return [_hit(ctx, m, found) for m in sorted(found.values(), key=lambda m: (not m.pods, m.node, m.plugin))]


def _config_line(ctx: Context, node: str, fname: str | None, plugin: str) -> Evidence | None:
    if not fname:
        return None
    text = ctx.node_file(node, f"{layout.CNI_NET_D}/{fname}") or ""
    rx = re.compile(r'"type"\s*:\s*"' + re.escape(plugin) + '"')
    for i, line in enumerate(text.splitlines(), start=1):
        if rx.search(line):
            return Evidence(
                layout.node_file(node, f"{layout.CNI_NET_D}/{fname}"), line.strip()[:300], f"Node/{node}", node, i
            )
    return None


def _hit(ctx: Context, m: _Missing, found: dict) -> Hit:
    bins = cl.cni_bin(ctx, m.node)
    bin_dir = (m.dirs or list(bins.dirs) or ["/opt/cni/bin"])[0]
    errors = [e for e in m.evidence if e.path.endswith("events.json")][:2]
    errors = errors or [e for e in m.evidence if e.path.endswith("kubelet.log")][:1]
    evidence = errors + [
        Evidence(
            layout.node_file(m.node, "cni-bin.txt"), _bin_excerpt(bins, m.plugin)[:400], f"Node/{m.node}", m.node, 1
        )
    ]
    evidence += [e for e in m.evidence if e not in errors and not e.path.endswith(("events.json", "kubelet.log"))]
    have = [n for n in ctx.node_names if n != m.node and (b := cl.cni_bin(ctx, n)) is not None and b.has(m.plugin)]
    lacking = sorted({n for (n, p) in found if p == m.plugin})
    notes = []
    family = cl.family_of(m.plugin)
    agents = cl.daemonsets_of(ctx, family) if family else []
    manual = [ds for ds in agents[:1] if not cl.installs_binaries(ds)]
    for ds in manual:
        ns = str(meta(ds).get("namespace"))
        evidence.insert(
            len(errors) + 1,
            Evidence(
                layout.namespaced_list(ns, "daemonsets"),
                f"{obj_ref(ds, 'DaemonSet')} mounts no CNI binary directory (hostPath: "
                f"{', '.join(cl.host_paths(ds)) or 'none'}): nothing in it installs {m.plugin}",
                obj_ref(ds, "DaemonSet"),
            ),
        )
        notes.append(f"{obj_name(ds)} does not install the binary itself (it relied on a host package)")
    outlier = cl.version_outlier(ctx, m.node)
    if outlier:
        evidence.insert(len(errors) + 1, outlier)
        notes.append(
            outlier.excerpt.split(" ", 2)[2] + ": an upgrade of the node's packages may have replaced " + bin_dir
        )
    if have:
        where = cl.cni_bin(ctx, have[0]).where(m.plugin)[0]
        evidence.append(
            Evidence(
                layout.node_file(have[0], "cni-bin.txt"),
                f"{where}/{m.plugin} present on {have[0]}",
                f"Node/{have[0]}",
                have[0],
            )
        )
        notes.append(f"{', '.join(have[:4])} still {'has' if len(have) == 1 else 'have'} it")
    elif len(lacking) > 1:
        notes.append(f"missing on every node checked ({', '.join(lacking[:6])})")
    install, how = _install(ctx, m, family, agents, have, bin_dir, lacking)
    if manual:
        how += f"; then update {obj_ref(manual[0], 'DaemonSet')} to a release whose init container installs it"
    role = m.role or "named by the runtime's error"
    ns, pod = m.pods[0].split("/", 1) if m.pods else ("", "")
    values = {
        "plugin": m.plugin,
        "bin_dir": bin_dir,
        "dirs": " ".join(m.dirs or list(bins.dirs)),
        "role": role,
        "install_command": install,
        "install_how": how,
        "node": m.node,
    }
    if pod:
        values.update(namespace=ns, pod=pod)
    message = f"{m.plugin} ({role}) is not installed on {m.node}: not in {', '.join(bins.dirs) or bin_dir}"
    if notes:
        message += "; " + "; ".join(notes)
    objects = [f"Node/{m.node}"] + [f"{p.split('/')[0]}/Pod/{p.split('/')[1]}" for p in m.pods]
    return Hit(evidence, objects, [m.node], values, message)


def _install(
    ctx: Context, m: _Missing, family: str | None, agents: list[dict], have: list[str], bin_dir: str, lacking: list[str]
) -> tuple[str, str]:
    for ds in agents:
        pod = cl.agent_pod_on(ctx, ds, m.node)
        if pod is not None and cl.installs_binaries(ds):
            return (
                f"kubectl -n {shell_quote(meta(pod).get('namespace'))} delete pod {shell_quote(obj_name(pod))}",
                f"restart {obj_name(ds)} on the node: its init container copies the binary back",
            )
    target = shell_quote(f"{bin_dir}/{m.plugin}")
    if have:
        src = have[0]
        path = f"{cl.cni_bin(ctx, src).where(m.plugin)[0]}/{m.plugin}"
        return (
            f"{ssh_command(src, f'sudo cat {shell_quote(path)}')} | "
            f"{ssh_command(m.node, f'sudo tee {target} >/dev/null && sudo chmod 755 {target}')}",
            f"copy it from {src}",
        )
    if family is None:
        arch = str(cl.node_info(ctx, m.node).get("architecture") or "amd64")
        url = REFERENCE.format(arch=arch)
        remote = shell_quote(f"curl -sSL {shell_quote(url)} | sudo tar -xz -C {shell_quote(bin_dir)}")
        return (
            f'for n in {shell_join(lacking or [m.node])}; do ssh "$n" {remote}; done',
            "install the containernetworking reference plugins on every node that lacks it",
        )
    return (f"sudo ls -l {shell_quote(bin_dir)}", f"reinstall {family}'s CNI plugin into {bin_dir}")
