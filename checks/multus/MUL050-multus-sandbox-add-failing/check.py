"""Sandbox creation fails inside Multus itself (not in a delegate plugin it called)."""

from __future__ import annotations

import re

from cnidoctor.diagnose.context import Context
from cnidoctor.model import Hit

from .. import _multus as mx

SANDBOX = re.compile(r'plugin type="(?P<plugin>multus(?:-shim)?)"|\bMultus: \[|CmdAdd \(shim\)')
WHERE = re.compile(
    r"FailedCreatePodSandBox|RunPodSandbox|CreatePodSandbox|failed to (setup|set up) network|"
    r"(?i:failed to create pod (network )?sandbox)"
)


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits = []
    for m in mx.find_messages(ctx, SANDBOX, logs=False):
        own = mx.multus_own_error(m.text)
        if own is None or not WHERE.search(m.text) or "failed to find plugin" in own:
            continue  # a delegate's error, or the runtime not finding the multus binary (GEN110)
        values = {"plugin": m.groups.get("plugin") or "multus"}
        if m.pod:
            values.update(namespace=m.pod[0], pod=m.pod[1])
        if m.node:
            values["node"] = m.node
        tail = " ".join(own.split())[-200:].rstrip("'\" ")
        objects = [f"{m.pod[0]}/Pod/{m.pod[1]}"] if m.pod else []
        hits.append(Hit([m.evidence], objects, [m.node] if m.node else [], values, f"Multus failed: …{tail}"))
    return hits
