"""The runtime cannot find the multus binary: the Multus DaemonSet installs it into another directory."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence, Hit


def _shared():  # noqa: ANN202 - checks/multus/_multus.py, shared by the MULxxx checks
    name = "cnidoctor_checks_multus_shared"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "_multus.py")
        sys.modules[name] = module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    return sys.modules[name]


mx = _shared()
FIND = re.compile(r'failed to find plugin "(?P<plugin>multus(?:-shim)?)" in path \[(?P<dirs>[^\]]*)\]')
BIN_HINT = re.compile(r"bin|libexec/cni|/cni$")


def install_dir(ds: dict) -> tuple[str, str, int] | None:
    """(host dir, volume name, volume index) the DaemonSet copies the Multus binary into."""
    spec = ((ds.get("spec") or {}).get("template") or {}).get("spec") or {}
    volumes = [v for v in spec.get("volumes") or [] if isinstance(v, dict)]
    host = {v.get("name"): (i, (v.get("hostPath") or {}).get("path"))
            for i, v in enumerate(volumes) if v.get("hostPath")}
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        words = " ".join(str(a) for a in (c.get("command") or []) + (c.get("args") or []))
        for mount in c.get("volumeMounts") or []:
            name, path = mount.get("name"), str(mount.get("mountPath", ""))
            if name in host and host[name][1] and BIN_HINT.search(path) and (path in words or "install" in c.get(
                    "name", "")):
                return str(host[name][1]).rstrip("/") or "/", str(name), host[name][0]
    return None


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    ds = next(iter(mx.multus_daemonsets(ctx)), None)
    target = install_dir(ds) if ds else None
    hits: dict[str, Hit] = {}
    for m in mx.find_messages(ctx, FIND, logs=False):
        node = m.node
        if node is None or node in hits:
            continue
        searched = [d.rstrip("/") for d in m.groups["dirs"].split()]
        bins = mx.bin_dirs(ctx, node)
        where = [d.rstrip("/") for d in bins.where(m.groups["plugin"])] if bins else []
        elsewhere = [d for d in where if d not in searched]
        if any(d in searched for d in where):
            continue  # it is there now
        if not elsewhere and not (target and target[0] not in searched):
            continue  # installed nowhere and installed where searched: not a directory mismatch
        hits[node] = _hit(ctx, node, m, searched, elsewhere, target, ds, bins)
    return list(hits.values())


def _hit(ctx: Context, node: str, m, searched: list[str], elsewhere: list[str], target, ds, bins) -> Hit:  # noqa: ANN001
    plugin = m.groups["plugin"]
    evidence = [m.evidence]
    installed = target[0] if target else elsewhere[0]
    if target and ds is not None:
        ns = str(meta(ds).get("namespace") or "kube-system")
        evidence.append(Evidence(layout.namespaced_list(ns, "daemonsets"), f"{ns}/DaemonSet/{obj_name(ds)}: volume "
                                 f"{target[1]} hostPath {target[0]} is where its install step copies {plugin}",
                                 f"{ns}/DaemonSet/{obj_name(ds)}"))
    if bins is not None:
        listing = "; ".join(f"{d}: " + (f"has {plugin}" if plugin in n else f"no {plugin}") + f" ({len(n)} files)"
                            for d, n in bins.dirs.items())
        evidence.append(mx.file_evidence(ctx, node, "cni-bin.txt", listing))
    values = {"node": node, "plugin": plugin, "runtime_dir": searched[0] if searched else "/opt/cni/bin",
              "installed_dir": installed, "namespace": str(meta(ds).get("namespace") or "kube-system") if ds else
              "kube-system", "daemonset": obj_name(ds) if ds else "kube-multus-ds",
              "volume_index": str(target[2]) if target else "<index of the cni bin volume>"}
    if m.pod:
        values["pod"] = m.pod[1]
    message = (f"the runtime on {node} looks for {plugin} in [{' '.join(searched)}], but Multus installs it into "
               f"{installed}")
    return Hit(evidence, [f"Node/{node}"] + ([f"{m.pod[0]}/Pod/{m.pod[1]}"] if m.pod else []), [node], values, message)
