"""Sandbox errors `failed to find plugin "X" in path [...]`, from events and kubelet logs."""

from __future__ import annotations

import re

from cnidoctor.diagnose.context import Context
from cnidoctor.model import Hit

from .._lib import cnilayer as cl

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
        hits.append(
            Hit(
                [occ.evidence],
                objects,
                [occ.node] if occ.node else [],
                values,
                f"the runtime did not find {values['plugin']} in [{values['dirs']}]",
            )
        )
    return hits
