"""Multus and the runtime disagree on the CNI binary directory: the runtime cannot find the Multus binary
(the DaemonSet installs it elsewhere), or Multus cannot find its delegates (its binDir points elsewhere)."""

from __future__ import annotations

import json
import re

from cnidoctor.bundle import layout
from cnidoctor.catalog.placeholders import shell_comment, shell_quote
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence, Hit

from .. import _multus as mx

FIND = re.compile(r'failed to find plugin "(?P<plugin>[^"]+)" in path \[(?P<dirs>[^\]]*)\]')
DELEGATE = re.compile(r'invoke Delegate add - "[^"]*"|error adding container to network "[^"]*"|delegateAdd')
BIN_HINT = re.compile(r"bin|libexec/cni|/cni$")


def install_dir(ds: dict) -> tuple[str, str, int] | None:
    """(host dir, volume name, volume index) the DaemonSet copies the Multus binary into."""
    spec = ((ds.get("spec") or {}).get("template") or {}).get("spec") or {}
    volumes = [v for v in spec.get("volumes") or [] if isinstance(v, dict)]
    host = {
        v.get("name"): (i, (v.get("hostPath") or {}).get("path")) for i, v in enumerate(volumes) if v.get("hostPath")
    }
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        words = " ".join(str(a) for a in (c.get("command") or []) + (c.get("args") or []))
        for mount in c.get("volumeMounts") or []:
            name, path = mount.get("name"), str(mount.get("mountPath", ""))
            if (
                name in host
                and host[name][1]
                and BIN_HINT.search(path)
                and (path in words or "install" in str(c.get("name", "")))
            ):
                return str(host[name][1]).rstrip("/") or "/", str(name), host[name][0]
    return None


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    ds = next(iter(mx.multus_daemonsets(ctx)), None)
    target = install_dir(ds) if ds else None
    hits: dict[tuple[str, str], Hit] = {}
    for m in mx.find_messages(ctx, FIND, logs=False):
        plugin, node = m.groups["plugin"], m.node
        own = plugin in mx.MULTUS_TYPES
        delegate = (
            not own and re.search(r"\bMultus\b|multus-shim|plugin type=\"multus", m.text) and DELEGATE.search(m.text)
        )
        if node is None or (node, plugin) in hits or not (own or delegate):
            continue
        searched = [d.rstrip("/") for d in m.groups["dirs"].split()]
        bins = mx.bin_dirs(ctx, node)
        where = [d.rstrip("/") for d in bins.where(plugin)] if bins else []
        if any(d in searched for d in where):
            continue  # it is there now
        elsewhere = [d for d in where if d not in searched]
        if own and (elsewhere or (target and target[0] not in searched)):
            hits[(node, plugin)] = _runtime_hit(ctx, node, m, searched, elsewhere, target, ds, bins)
        elif delegate and elsewhere:
            hits[(node, plugin)] = _bindir_hit(ctx, node, m, searched, elsewhere, ds, bins)
    return list(hits.values())


def _listing(ctx: Context, node: str, plugin: str, bins) -> list[Evidence]:  # noqa: ANN001
    if bins is None:
        return []
    text = "; ".join(
        f"{d}: " + (f"has {plugin}" if plugin in n else f"no {plugin}") + f" ({len(n)} files)"
        for d, n in bins.dirs.items()
    )
    return [mx.file_evidence(ctx, node, "cni-bin.txt", text)]


def _base_values(node: str, m, ds) -> dict[str, str]:  # noqa: ANN001
    values = {
        "node": node,
        "plugin": m.groups["plugin"],
        "namespace": str(meta(ds).get("namespace") or "kube-system") if ds else "kube-system",
        "daemonset": obj_name(ds) if ds else "kube-multus-ds",
    }
    if m.pod:
        values["pod"] = m.pod[1]
    return values


def _objects(node: str, m) -> list[str]:  # noqa: ANN001
    return [f"Node/{node}"] + ([f"{m.pod[0]}/Pod/{m.pod[1]}"] if m.pod else [])


def _runtime_hit(ctx: Context, node: str, m, searched, elsewhere, target, ds, bins) -> Hit:  # noqa: ANN001
    plugin = m.groups["plugin"]
    evidence = [m.evidence]
    installed = target[0] if target else elsewhere[0]
    if target and ds is not None:
        ns = str(meta(ds).get("namespace") or "kube-system")
        evidence.append(
            Evidence(
                layout.namespaced_list(ns, "daemonsets"),
                f"{ns}/DaemonSet/{obj_name(ds)}: volume "
                f"{target[1]} hostPath {target[0]} is where its install step copies {plugin}",
                f"{ns}/DaemonSet/{obj_name(ds)}",
            )
        )
    evidence += _listing(ctx, node, plugin, bins)
    runtime_dir = searched[0] if searched else "/opt/cni/bin"
    values = _base_values(node, m, ds)
    volume = target[2] if target else "<index>"
    patch = [{"op": "replace", "path": f"/spec/template/spec/volumes/{volume}/hostPath/path", "value": runtime_dir}]
    values.update(
        wrong_dir=installed,
        right_dir=runtime_dir,
        setting="the DaemonSet's CNI bin volume",
        fix_command=(
            f"kubectl -n {shell_quote(values['namespace'])} patch daemonset "
            f"{shell_quote(values['daemonset'])} --type json -p "
            f"{shell_quote(json.dumps(patch, separators=(',', ':')))}"
        ),
    )
    message = (
        f"the runtime on {node} looks for {plugin} in [{' '.join(searched)}], but Multus installs it into {installed}"
    )
    return Hit(evidence, _objects(node, m), [node], values, message)


def _bindir_hit(ctx: Context, node: str, m, searched, elsewhere, ds, bins) -> Hit:  # noqa: ANN001
    plugin = m.groups["plugin"]
    evidence = [m.evidence] + _listing(ctx, node, plugin, bins)
    found = mx.multus_config(ctx, node)
    thick = bool(found and found[1].multus and found[1].multus.thick)
    if found and found[1].multus and found[1].multus.bin_dir:
        evidence.append(
            mx.file_evidence(
                ctx, node, f"{layout.CNI_NET_D}/{found[0]}", f'{found[0]}: "binDir": "{found[1].multus.bin_dir}"'
            )
        )
    values = _base_values(node, m, ds)
    setting = (
        '"binDir" in the multus-daemon-config ConfigMap'
        if thick
        else '"binDir" in the Multus config (thin entrypoint: --multus-bin-dir)'
    )
    values.update(
        wrong_dir=" ".join(searched),
        right_dir=elsewhere[0],
        setting=setting,
        fix_command=(
            f"kubectl -n {shell_quote(values['namespace'])} edit configmap multus-daemon-config  "
            f'# set "binDir": "{shell_comment(elsewhere[0])}"'
            if thick
            else f"kubectl -n {shell_quote(values['namespace'])} edit daemonset "
            f"{shell_quote(values['daemonset'])}  "
            f"# set --multus-bin-dir={shell_comment(elsewhere[0])}"
        ),
    )
    message = (
        f"Multus on {node} looks for its delegate {plugin} in [{' '.join(searched)}], but the node has it in "
        f"{', '.join(elsewhere)}"
    )
    return Hit(evidence, _objects(node, m), [node], values, message)
