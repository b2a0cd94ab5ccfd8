"""Envoy rejects (NACKs) the L7 proxy configuration, so endpoint regeneration fails on the node."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence, Hit

from .._cilium import base_values, first_per_pod, log_lines, natural

NACK = re.compile(r"NACK received: (?P<detail>[^\"\n]+)")
DUPLICATE = re.compile(r"Duplicate port number (?P<port>\d+)")
POLICIES = (
    ("CiliumNetworkPolicy", "ciliumnetworkpolicies.cilium.io", "ciliumnetworkpolicy"),
    ("CiliumClusterwideNetworkPolicy", "ciliumclusterwidenetworkpolicies.cilium.io", "ciliumclusterwidenetworkpolicy"),
)


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits = list(log_lines(ctx, NACK))
    if not hits:
        return []
    details = sorted({h.match["detail"].strip() for h in hits})
    nodes = sorted({h.node for h in hits if h.node}, key=natural)
    evidence = [h.evidence for h in first_per_pod(hits)]
    values = base_values(ctx)
    values.update(pod=hits[0].pod, node=nodes[0] if nodes else "<node>", detail=details[0])
    dup = next((m for d in details if (m := DUPLICATE.search(d))), None)
    culprits = _duplicate_ports(ctx, int(dup["port"]) if dup else None)
    evidence += [c[-1] for c in culprits[:3]]
    if culprits:
        kind_cmd, ns, name, port, names, _ = culprits[0]
        values.update(
            policy=name,
            policy_namespace=ns or "default",
            policy_kind=kind_cmd,
            port=str(port),
            port_names=" and ".join(names),
        )
    elif dup:
        values["port"] = dup["port"]
    endpoints = sorted({m.group(1) for h in hits if (m := re.search(r"k8sPodName=(\S+)", h.text))})
    msg = f"Envoy NACKs the proxy config on {', '.join(nodes) or 'some nodes'} ({details[0]})" + (
        f": {values['policy_kind']} {values['policy_namespace']}/{values['policy']} lists port "
        f"{values['port']} twice ({values['port_names']})"
        if culprits
        else ""
    )
    objects = [f"{e.split('/')[0]}/Pod/{e.split('/')[1]}" for e in endpoints if "/" in e.strip("/")]
    return [Hit(evidence, objects, nodes, values, msg)]


def _duplicate_ports(ctx: Context, port: int | None) -> list[tuple[str, str, str, int, list[str], Evidence]]:
    """Policies whose rule lists one port twice (by number and by a name that resolves to it)."""
    out = []
    for kind, res, cmd in POLICIES:
        if not ctx.has_resource(res):
            continue
        for pol in ctx.resource(res):
            ns = str(meta(pol).get("namespace") or "")
            specs = [pol.get("spec")] + list(pol.get("specs") or [])
            for spec in (s for s in specs if isinstance(s, dict)):
                named = _named_ports(ctx, ns, spec.get("endpointSelector") or {})
                for direction in ("ingress", "egress"):
                    for rule in spec.get(direction) or []:
                        seen: dict[tuple[int, str], list[str]] = {}
                        for tp in (rule or {}).get("toPorts") or []:
                            for p in tp.get("ports") or []:
                                raw, proto = str(p.get("port", "")), str(p.get("protocol") or "TCP").upper()
                                num = int(raw) if raw.isdigit() else named.get(raw)
                                if num is not None:
                                    seen.setdefault((num, proto), []).append(raw)
                        for (num, proto), names in seen.items():
                            if len(names) > 1 and (port is None or num == port):
                                path = layout.namespaced_list(ns, res) if ns else layout.cluster_list(res)
                                label = f"{ns}/{obj_name(pol)}" if ns else obj_name(pol)
                                text = (
                                    f"{kind} {label}: {direction} toPorts lists {num}/{proto} "
                                    f"{len(names)} times: {', '.join(repr(n) for n in names)}"
                                    + (
                                        f" (named port resolves to {num} on the selected pods)"
                                        if any(not n.isdigit() for n in names)
                                        else ""
                                    )
                                )
                                out.append(
                                    (
                                        cmd,
                                        ns,
                                        obj_name(pol),
                                        num,
                                        names,
                                        Evidence(path, text, f"{ns + '/' if ns else ''}{kind}/{obj_name(pol)}"),
                                    )
                                )
    return out


def _named_ports(ctx: Context, ns: str, selector: dict) -> dict[str, int]:
    """Container port names -> numbers of the pods in NS that SELECTOR's matchLabels select."""
    want = {k.removeprefix("k8s:"): v for k, v in (selector.get("matchLabels") or {}).items()}
    out: dict[str, int] = {}
    for p in ctx.pods:
        if ns and meta(p).get("namespace") != ns:
            continue
        labels = meta(p).get("labels") or {}
        if any(labels.get(k) != v for k, v in want.items()):
            continue
        for c in (p.get("spec") or {}).get("containers") or []:
            for cp in c.get("ports") or []:
                if cp.get("name") and cp.get("containerPort"):
                    out.setdefault(str(cp["name"]), int(cp["containerPort"]))
    return out
