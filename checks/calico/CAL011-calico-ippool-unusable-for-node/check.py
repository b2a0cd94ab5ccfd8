"""Nodes whose pods fail Calico IPAM while no enabled IP pool selects them (pool disabled, nodeSelector)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta
from cnidoctor.model import Evidence, Hit


def _lib() -> ModuleType:
    name = "cnidoctor_checks_calico_lib"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parent.parent / "_lib/calico.py")
        assert spec and spec.loader
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


STUCK = re.compile(r'plugin type="calico" failed \(add\)')


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    lib = _lib()
    pools = lib.ippools(ctx)
    if pools is None:
        return None
    if not pools:
        return []
    failing: dict[str, list] = {}
    for ev in lib.events(ctx, "FailedCreatePodSandBox", STUCK):
        if ev.node:
            failing.setdefault(ev.node, []).append(ev)
    hits = []
    for node, evs in sorted(failing.items()):
        if lib.usable_pools(ctx, node, pools):
            continue
        labels = meta(ctx.node_by_name.get(node, {})).get("labels") or {}
        evidence = [Evidence(layout.cluster_list("ippools.crd.projectcalico.org"), lib.pool_line(p), f"IPPool/{p.name}")
                    for p in pools[:4]]
        evidence.append(Evidence(layout.NODES_LIST, f"node {node} labels: "
                                 + ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if "kubernetes.io/" not in k
                                             or k == "kubernetes.io/hostname"), f"Node/{node}", node))
        evidence += [e.evidence() for e in evs[:2]]
        reasons = sorted({"disabled" if p.disabled else "not for workloads" if not p.workload
                          else f"nodeSelector {p.node_selector} does not select it" for p in pools})
        hits.append(Hit(evidence, [f"Node/{node}"] + [e.obj for e in evs], [node],
                        {"node": node, "pool": pools[0].name},
                        f"no enabled IP pool selects {node} ({'; '.join(reasons)})"))
    return hits
