"""Sandbox errors `failed to find plugin "X" in path [...]`, from events and kubelet logs."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

from cnidoctor.diagnose.context import Context
from cnidoctor.model import Hit


def _helpers():  # noqa: ANN202 - the shared module of the GEN0xx checks
    name = "cnidoctor_checks_cnilayer"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).resolve().parents[1] / "GEN049-cni-layer-helpers" / "cnilayer.py")
        sys.modules[name] = module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    return sys.modules[name]


cl = _helpers()
FIND = re.compile(r'failed to find plugin "(?P<plugin>[^"]+)" in path \[(?P<dirs>[^\]]*)\]')


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits = []
    for occ in cl.cni_errors(ctx, FIND):
        values = {"plugin": occ.match["plugin"], "dirs": occ.match["dirs"]}
        objects = []
        if occ.node:
            values["node"] = occ.node
        if occ.pod:
            ns, name = occ.pod.split("/", 1)
            values.update(namespace=ns, pod=name)
            objects.append(f"{ns}/Pod/{name}")
        hits.append(Hit([occ.evidence], objects, [occ.node] if occ.node else [], values,
                        f"the runtime did not find {values['plugin']} in [{values['dirs']}]"))
    return hits
