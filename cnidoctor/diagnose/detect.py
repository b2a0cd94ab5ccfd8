"""Which CNIs are present, from DaemonSets, pods, config maps, custom resources, annotations and node files."""

from __future__ import annotations

import re

from cnidoctor.diagnose.context import Context, dict_at, meta, obj_name

_SIGNS = {
    "calico": re.compile(r"calico|projectcalico|tigera", re.I),
    "cilium": re.compile(r"cilium", re.I),
    "flannel": re.compile(r"flannel", re.I),
    "multus": re.compile(r"multus", re.I),
}
_CRD_SUFFIX = {
    "calico": (".crd.projectcalico.org", ".projectcalico.org", ".operator.tigera.io"),
    "cilium": (".cilium.io",),
    "multus": (".k8s.cni.cncf.io",),
}
_ANNOTATION_PREFIX = {
    "calico": "projectcalico.org/",
    "cilium": "io.cilium",
    "flannel": "flannel.alpha.coreos.com/",
}


def detect_cnis(ctx: Context) -> list[str]:
    """CNIs deployed in the cluster, sorted (e.g. ['flannel', 'multus']).

    Evidence from the API (workloads, config maps, custom resources, node annotations) decides; CNI config
    file names on nodes count only when the bundle has no API evidence at all (a node-only bundle), since
    a leftover config of a removed CNI does not mean that CNI is deployed.
    """
    deployed = _deployed(ctx)
    return sorted(deployed) if deployed else sorted(configured_cnis(ctx))


def configured_cnis(ctx: Context) -> set[str]:
    """CNIs named by config files in any node's cni-net.d (leftovers included)."""
    found: set[str] = set()
    for node in ctx.bundle.node_dirs:
        for path in ctx.bundle.paths(f"nodes/{node}/cni-net.d/"):
            name = path.rsplit("/", 1)[-1]
            if name.endswith((".conf", ".conflist", ".json")):
                found |= {cni for cni, rx in _SIGNS.items() if rx.search(name)}
    return found


def _containers(workload: dict) -> list:
    """spec.template.spec.containers of a workload, or [] when any level has another type."""
    value: object = workload
    for key in ("spec", "template", "spec", "containers"):
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, list) else []


def _deployed(ctx: Context) -> set[str]:
    found: set[str] = set()
    workloads = ctx.daemonsets + ctx.deployments
    for obj in workloads:
        text = obj_name(obj) + " " + " ".join(str(c.get("image", "")) for c in _containers(obj) if isinstance(c, dict))
        found |= {cni for cni, rx in _SIGNS.items() if rx.search(text)}
    if not workloads:
        for pod in ctx.pods:
            ns = str(meta(pod).get("namespace", ""))
            if ns in ("kube-system", "kube-flannel", "calico-system", "tigera-operator", "cilium"):
                found |= {cni for cni, rx in _SIGNS.items() if rx.search(obj_name(pod))}
    for cm in ctx.configmaps:
        name = obj_name(cm)
        found |= {cni for cni, rx in _SIGNS.items() if rx.search(name)}
    for path in ctx.bundle.paths("cluster/"):
        fname = path.rsplit("/", 1)[-1].removesuffix(".json")
        for cni, suffixes in _CRD_SUFFIX.items():
            if fname.endswith(suffixes) and ctx.bundle.size(path) > 0 and ctx.bundle.items(path):
                found.add(cni)
    for node in ctx.nodes:
        for key in dict_at(node, "metadata", "annotations"):
            for cni, prefix in _ANNOTATION_PREFIX.items():
                if str(key).startswith(prefix):
                    found.add(cni)
    return found
