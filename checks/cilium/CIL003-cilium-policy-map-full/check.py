"""Endpoint policy maps overflow (E2BIG): the agent cannot write the policy of the selected endpoints."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.bpftool import parse_bpf_maps

from .._cilium import base_values, cilium_config, first_per_pod, log_fields, log_lines, natural, status

FULL = re.compile(r"(?i)(policymap|policy map|cilium_policy)[^\n]*?(argument list too long|map is full|\bE2BIG\b)")
WIDE_ENTITIES = {"cluster", "all", "world"}


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits = list(log_lines(ctx, FULL))
    if not hits:
        return []
    values = base_values(ctx)
    evidence = [h.evidence for h in first_per_pod(hits)]
    nodes = sorted({h.node for h in hits if h.node}, key=natural)
    endpoints = sorted({f for h in hits if (f := log_fields(h.text).get("k8sPodName")) and "/" in f.strip("/")})
    cfg = cilium_config(ctx)
    size = cfg.get("bpf-policy-map-max") if cfg else None
    if cfg:
        evidence.append(cfg.evidence("bpf-policy-map-max"))
    wide = _wide_policies(ctx)
    evidence += [e for _, _, e in wide]
    for node in nodes:
        evidence += _node_evidence(ctx, node)
    if wide:
        values.update(policy_namespace=wide[0][0], policy=wide[0][1])
    values.update(map_max=size or "16384", pod=hits[0].pod)
    msg = (
        f"policy maps of {len(endpoints) or 'some'} endpoint(s) on {', '.join(nodes)} are full"
        f" (bpf-policy-map-max {size or 'default 16384'})"
        + (f"; {len(wide)} polic{'y' if len(wide) == 1 else 'ies'} select whole entities" if wide else "")
    )
    objects = [f"{ep.split('/')[0]}/Pod/{ep.split('/')[1]}" for ep in endpoints]
    return [Hit(evidence, objects, nodes, values, msg)]


def _node_evidence(ctx: Context, node: str) -> list[Evidence]:
    out = []
    st = status(ctx, node)
    if st is not None:
        failing = [c for c in st.failing_controllers() if c.name.startswith("sync-policymap")]
        if failing:
            c = failing[0]
            out.append(
                Evidence(
                    layout.node_file(node, "cilium-status.json"),
                    f"{len(failing)} sync-policymap controller(s) failing, e.g. {c.name}: "
                    f"{c.consecutive_failures} consecutive failures: {c.last_failure_msg or ''}"[:300],
                    f"Node/{node}",
                    node,
                )
            )
        if "Endpoint policy" in st.bpf_maps:
            out.append(
                Evidence(
                    layout.node_file(node, "cilium-status.json"),
                    f"bpf-maps: Endpoint policy size {st.bpf_maps['Endpoint policy']}",
                    f"Node/{node}",
                    node,
                )
            )
    maps = ctx.parsed(node, "bpftool-maps.json", parse_bpf_maps)
    policy = [m for m in maps or () if m.name.startswith("cilium_policy") and m.type == "hash"]
    if policy:
        sizes = sorted({m.max_entries for m in policy if m.max_entries})
        out.append(
            Evidence(
                layout.node_file(node, "bpftool-maps.json"),
                f"{len(policy)} per-endpoint cilium_policy maps, max_entries {', '.join(map(str, sizes))}",
                f"Node/{node}",
                node,
                policy[0].line,
            )
        )
    return out


def _wide_policies(ctx: Context) -> list[tuple[str, str, Evidence]]:
    """Cilium policies that allow whole entities (cluster, all, world): one map entry per identity."""
    out = []
    for kind, res in (
        ("CiliumNetworkPolicy", "ciliumnetworkpolicies.cilium.io"),
        ("CiliumClusterwideNetworkPolicy", "ciliumclusterwidenetworkpolicies.cilium.io"),
    ):
        if not ctx.has_resource(res):
            continue
        for pol in ctx.resource(res):
            specs = [pol.get("spec")] + list(pol.get("specs") or [])
            rules = [
                (d, r)
                for s in specs
                if isinstance(s, dict)
                for d in ("ingress", "egress")
                for r in s.get(d) or []
                if isinstance(r, dict)
            ]
            for direction, rule in rules:
                ents = set(rule.get("fromEntities") or []) | set(rule.get("toEntities") or [])
                if ents & WIDE_ENTITIES:
                    ns = str(meta(pol).get("namespace") or "")
                    path = layout.namespaced_list(ns, res) if ns else layout.cluster_list(res)
                    ref = f"{ns}/{kind}/{obj_name(pol)}" if ns else f"{kind}/{obj_name(pol)}"
                    out.append(
                        (
                            ns,
                            obj_name(pol),
                            Evidence(
                                path,
                                f"{kind} {ref.split('/', 1)[0] + '/' if ns else ''}{obj_name(pol)}: {direction} "
                                f"{'from' if direction == 'ingress' else 'to'}Entities {sorted(ents & WIDE_ENTITIES)} "
                                "(one policy-map entry per security identity and port)",
                                ref,
                            ),
                        )
                    )
                    break
    return out
