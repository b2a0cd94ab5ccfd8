"""The Multus install step fails with "Text file busy": the binary it overwrites is running."""

from __future__ import annotations

import re

from cnidoctor.diagnose.context import Context, obj_name
from cnidoctor.model import Evidence, Hit

from .. import _multus as mx

BUSY = re.compile(r"(?P<target>\S*multus\S*)'?:? Text file busy|Text file busy")


def _busy_line(ctx: Context, pod: dict) -> tuple[Evidence, str] | None:
    ns, name = mx.pod_ns(pod), obj_name(pod)
    for ref in ctx.bundle.logs:
        if ref.namespace != ns or ref.pod != name:
            continue
        for line in ctx.bundle.grep_log(ref, BUSY):
            m = BUSY.search(line.text)
            if m:
                ev = Evidence(ref.path, line.text.strip()[:400], f"{ns}/Pod/{name}", mx.pod_node(pod), line.lineno)
                return ev, (m.group("target") or "").strip("'\"") or line.container
    return None


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits = []
    for pod in mx.multus_pods(ctx):
        if mx.pod_is_ready(pod):
            continue  # the copy succeeded on a later attempt
        found = _busy_line(ctx, pod)
        if found is None:
            continue
        ns, name, node = mx.pod_ns(pod), obj_name(pod), mx.pod_node(pod)
        stuck = [c for c in mx.containers(pod) if c.waiting or c.last_terminated.get("reason") == "Error"]
        evidence = [found[0]] + [
            Evidence(f"cluster/{ns}/pods.json", mx.pod_line(c), f"{ns}/Pod/{name}", node) for c in stuck[:2]
        ]
        failures = mx.socket_failures(ctx, node) if node else []
        evidence += [m.evidence for m in failures[:2]]
        target = found[1] if found[1].startswith("/") else "/host/opt/cni/bin/multus-shim"
        host_target = target.removeprefix("/host") if target.startswith("/host/") else target
        init = next((c.name for c in stuck if c.init), stuck[0].name if stuck else "install-multus-binary")
        values = {
            "namespace": ns,
            "pod": name,
            "container": init,
            "target": host_target,
            "daemonset": mx.owner_daemonset(ctx, pod),
        }
        if node:
            values["node"] = node
        objects = [f"{ns}/Pod/{name}"] + [f"{m.pod[0]}/Pod/{m.pod[1]}" for m in failures if m.pod]
        hits.append(
            Hit(
                evidence,
                objects,
                [node] if node else [],
                values,
                f"{ns}/{name} on {node} cannot replace {host_target}: the running binary is busy",
            )
        )
    return hits
