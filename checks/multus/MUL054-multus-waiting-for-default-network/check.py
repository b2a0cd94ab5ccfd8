"""Multus waits for the primary network's readiness indicator file, which never appears."""

from __future__ import annotations

import re

from cnidoctor.diagnose.context import Context
from cnidoctor.model import Hit

from .. import _multus as mx

WAITING = re.compile(
    r"still waiting for readinessindicatorfile|have you checked that your default network is ready|"
    r"(?i:readiness ?indicator ?file\S*[^\n]{0,80}(timed out|timeout|error))"
)

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
                    path = path[len(prefix) :]
                    break
            values = {"file": path}
            if m.node:
                values["node"] = m.node
            by_node[key] = Hit(
                [m.evidence],
                [],
                [m.node] if m.node else [],
                values,
                f"Multus on {m.node or '?'} waits for {values['file']}, which the primary CNI has not written",
            )
            hit = by_node[key]
        elif len(hit.evidence) < 3:
            hit.evidence.append(m.evidence)
        if m.pod:
            hit.objects.append(f"{m.pod[0]}/Pod/{m.pod[1]}")
    return list(by_node.values())
