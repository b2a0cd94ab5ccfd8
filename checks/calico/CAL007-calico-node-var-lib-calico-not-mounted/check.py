"""The calico-node container does not mount the host's /var/lib/calico, where it writes the nodename file."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, obj_name
from cnidoctor.model import Evidence, Hit

from .._lib import calico as lib

NODENAME = re.compile(r"stat /var/lib/calico/nodename: no such file or directory")


def _mounts_var_lib_calico(obj: dict) -> bool | None:
    """True/False for a pod or DaemonSet with a calico-node container; None when it has none."""
    c = lib.container(obj, "calico-node")
    if c is None:
        return None
    host_paths = {
        v.get("name"): (v.get("hostPath") or {}).get("path")
        for v in lib.pod_spec(obj).get("volumes") or []
        if isinstance(v, dict)
    }
    for m in c.get("volumeMounts") or []:
        path = str(m.get("mountPath", "")).rstrip("/")
        if path in ("/var/lib/calico", "/var/lib") and str(host_paths.get(m.get("name")) or "").rstrip("/") in (
            "/var/lib/calico",
            "/var/lib",
        ):
            return True
    return False


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    sources = lib.calico_node_daemonsets(ctx) or lib.calico_node_pods(ctx)[:1]
    if not sources:
        return None
    hits = []
    failing = lib.events(ctx, "FailedCreatePodSandBox|FailedKillPodSandbox", NODENAME)
    for obj in sources:
        if _mounts_var_lib_calico(obj) is not False:
            continue
        ns = str(obj["metadata"].get("namespace"))
        kind = "DaemonSet" if obj.get("kind") == "DaemonSet" or "template" in (obj.get("spec") or {}) else "Pod"
        mounts = [str(m.get("mountPath")) for m in lib.container(obj, "calico-node").get("volumeMounts") or []]
        res = "daemonsets" if kind == "DaemonSet" else "pods"
        evidence = [
            Evidence(
                layout.namespaced_list(ns, res),
                f"{ns}/{kind}/{obj_name(obj)} container calico-node mounts {', '.join(mounts)}: "
                "no hostPath /var/lib/calico",
                f"{ns}/{kind}/{obj_name(obj)}",
            )
        ]
        evidence += [e.evidence() for e in failing[:3]]
        nodes = sorted({e.node for e in failing if e.node})
        hits.append(
            Hit(
                evidence,
                [f"{ns}/{kind}/{obj_name(obj)}"] + [e.obj for e in failing],
                nodes,
                {"namespace": ns, "name": obj_name(obj)},
                f"{obj_name(obj)} does not mount the host's /var/lib/calico"
                + (f"; {len({e.obj for e in failing})} pod(s) cannot get a network" if failing else ""),
            )
        )
    return hits
