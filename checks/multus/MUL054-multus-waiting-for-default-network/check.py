"""Multus waits for the primary network's readiness indicator file, which never appears."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

from cnidoctor.diagnose.context import Context
from cnidoctor.model import Hit


def _shared():  # noqa: ANN202 - checks/multus/_multus.py, shared by the MULxxx checks
    name = "cnidoctor_checks_multus_shared"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "_multus.py")
        sys.modules[name] = module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    return sys.modules[name]


mx = _shared()
WAITING = re.compile(r"still waiting for readinessindicatorfile|have you checked that your default network is ready|"
                     r"(?i:readiness ?indicator ?file\S*[^\n]{0,80}(timed out|timeout|error))")

FILE = re.compile(r"readinessindicatorfile @ (?P<file>/\S*?)\.?(?=\s|$)")


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    by_node: dict[str, Hit] = {}
    for m in mx.find_messages(ctx, WAITING):
        key = m.node or "?"
        hit = by_node.get(key)
        if hit is None:
            f = FILE.search(m.text)
            path = f.group("file") if f else "<readinessindicatorfile>"
            for prefix in mx.HOST_PREFIXES:
                if path.startswith(prefix + "/"):
                    path = path[len(prefix):]
                    break
            values = {"file": path}
            if m.node:
                values["node"] = m.node
            by_node[key] = Hit([m.evidence], [], [m.node] if m.node else [], values,
                               f"Multus on {m.node or '?'} waits for {values['file']}, which the primary CNI has not "
                               "written")
            hit = by_node[key]
        elif len(hit.evidence) < 3:
            hit.evidence.append(m.evidence)
        if m.pod:
            hit.objects.append(f"{m.pod[0]}/Pod/{m.pod[1]}")
    return list(by_node.values())
