"""The Multus daemon on a node keeps exiting with an error (not an OOM kill), shown in its previous log."""

from __future__ import annotations

import re

from cnidoctor.diagnose.context import Context, obj_name
from cnidoctor.model import Evidence, Hit

from .. import _multus as mx

ERROR_LINE = re.compile(r"\[(error|panic|fatal)\]|^(Error|panic|fatal error|F\d{4}|E\d{4})\b|level=(error|fatal)")
CRASHING = ("CrashLoopBackOff", "Error", "RunContainerError")


def _last_error(ctx: Context, pod: dict, container: str, previous: bool) -> Evidence | None:
    ns, name = mx.pod_ns(pod), obj_name(pod)
    found = None
    for ref in ctx.bundle.logs:
        if ref.namespace != ns or ref.pod != name or ref.previous != previous:
            continue
        for line in ctx.bundle.grep_log(ref, ERROR_LINE):
            if line.container == container and ERROR_LINE.search(line.text):
                found = Evidence(ref.path, line.text.strip()[:400], f"{ns}/Pod/{name}", mx.pod_node(pod), line.lineno)
    return found


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits = []
    for pod in mx.multus_pods(ctx):
        for c in mx.containers(pod):
            if c.init:
                continue
            t = c.last_terminated
            crashing = c.waiting in CRASHING or (
                t and t.get("reason") not in (None, "Completed") and c.restarts >= 3 and not c.status.get("ready")
            )
            if not crashing or t.get("reason") == "OOMKilled":
                continue  # OOM kills: MUL006
            why = _last_error(ctx, pod, c.name, True) or _last_error(ctx, pod, c.name, False)
            if why is None and t.get("message"):
                why = Evidence(
                    f"cluster/{mx.pod_ns(pod)}/pods.json",
                    f"termination message: {t['message']}"[:400],
                    mx.pod_ref(pod),
                    mx.pod_node(pod),
                )
            if why is not None:
                hits.append(_hit(ctx, pod, c, why))
    return hits


def _hit(ctx: Context, pod: dict, c, why: Evidence) -> Hit:  # noqa: ANN001
    ns, name, node = mx.pod_ns(pod), obj_name(pod), mx.pod_node(pod)
    evidence = [Evidence(f"cluster/{ns}/pods.json", mx.pod_line(c), f"{ns}/Pod/{name}", node), why]
    failures = mx.socket_failures(ctx, node) if node else []
    evidence += [m.evidence for m in failures[:2]]
    values = {"namespace": ns, "pod": name, "container": c.name, "daemonset": mx.owner_daemonset(ctx, pod)}
    if node:
        values["node"] = node
    text = " ".join(why.excerpt.split())
    message = f"{ns}/{name} on {node} exits: {text[-220:]}"
    objects = [f"{ns}/Pod/{name}"] + [f"{m.pod[0]}/Pod/{m.pod[1]}" for m in failures if m.pod]
    return Hit(evidence, objects, [node] if node else [], values, message)
