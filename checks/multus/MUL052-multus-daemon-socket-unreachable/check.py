"""The multus-shim cannot reach the Multus daemon's socket on a node (thick plugin)."""

from __future__ import annotations

from cnidoctor.diagnose.context import Context
from cnidoctor.model import Hit

from .. import _multus as mx


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits = []
    for m in mx.socket_failures(ctx):
        values = {
            "socket": m.groups.get("socket", "/run/multus/multus.sock"),
            "why": m.groups.get("why") or m.groups.get("send", ""),
        }
        if m.pod:
            values.update(namespace=m.pod[0], pod=m.pod[1])
        if m.node:
            values["node"] = m.node
        objects = [f"{m.pod[0]}/Pod/{m.pod[1]}"] if m.pod else []
        hits.append(
            Hit(
                [m.evidence],
                objects,
                [m.node] if m.node else [],
                values,
                f"multus-shim on {m.node or '?'} cannot reach the daemon: {values['why'].strip()}",
            )
        )
    return hits
