"""Endpoint regeneration keeps failing on a node (not the benign `context canceled` of a deleted pod)."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence, Hit

from .._cilium import base_values, first_per_pod, log_fields, log_lines, natural

FAILED = re.compile(r"(?i)regeneration of endpoint failed|endpoint regeneration failed")
BENIGN = re.compile(r"context canceled")


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits = [h for h in log_lines(ctx, FAILED) if not BENIGN.search(h.text)]
    not_ready = _not_ready_endpoints(ctx)
    nodes = sorted({h.node for h in hits if h.node}, key=natural)
    if len(hits) < 2 and not (hits and not_ready):
        return []
    evidence = [h.evidence for h in first_per_pod(hits)]
    endpoints = sorted({f for h in hits if (f := log_fields(h.text).get("k8sPodName")) and "/" in f.strip("/")})
    evidence += [e for name, e in not_ready if name in endpoints][:4]
    errors = sorted({log_fields(h.text).get("error", "")[:120] for h in hits} - {""})
    values = base_values(ctx)
    values.update(pod=hits[0].pod, node=nodes[0] if nodes else "<node>")
    msg = f"{len(endpoints) or len(hits)} endpoint(s) on {', '.join(nodes) or 'some nodes'} fail to regenerate" + (
        f": {errors[0]}" if errors else ""
    )
    objects = [f"{ep.split('/')[0]}/Pod/{ep.split('/')[1]}" for ep in endpoints]
    return [Hit(evidence, objects, nodes, values, msg)]


def _not_ready_endpoints(ctx: Context) -> list[tuple[str, Evidence]]:
    res = "ciliumendpoints.cilium.io"
    if not ctx.has_resource(res):
        return []
    out = []
    for cep in ctx.resource(res):
        state = (cep.get("status") or {}).get("state")
        if state == "not-ready":
            ns = str(meta(cep).get("namespace") or "")
            out.append(
                (
                    f"{ns}/{obj_name(cep)}",
                    Evidence(
                        layout.namespaced_list(ns, res),
                        f"CiliumEndpoint {ns}/{obj_name(cep)}: state {state}",
                        f"{ns}/CiliumEndpoint/{obj_name(cep)}",
                    ),
                )
            )
    return out
