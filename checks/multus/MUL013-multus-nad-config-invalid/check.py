"""A NetworkAttachmentDefinition that pods use has a config Multus or the plugin cannot load."""

from __future__ import annotations

import json
import re

from cnidoctor.diagnose.context import Context, obj_name
from cnidoctor.model import Evidence, Hit

from .. import _multus as mx

LOAD_ERROR = re.compile(
    r"error unmarshalling delegate config|failed to unmarshal Spec\.Config|GetCNIConfigFromSpec|"
    r"invalid character .{1,40} looking for|unexpected end of JSON input|"
    r"delegate must have the 'type'|has no type|IPAM plugin returned missing IP config|"
    r"IPAM result missing|missing IP config"
)
IPAM_MISSING = re.compile(r"IPAM plugin returned missing IP config|IPAM result missing|missing IP config")


def _problems(config: str) -> list[str]:
    """Why libcni/Multus cannot use a NetworkAttachmentDefinition's spec.config ([] when it can)."""
    try:
        doc = json.loads(config)
    except ValueError as exc:
        return [f"spec.config is not valid JSON ({exc})"]
    if not isinstance(doc, dict):
        return ["spec.config is not a JSON object"]
    plugins = doc.get("plugins")
    if plugins is not None:
        if not isinstance(plugins, list) or not plugins:
            return ["'plugins' is not a non-empty list"]
        items = [(f"plugins[{i}]", p) for i, p in enumerate(plugins)]
    else:
        items = [("config", doc)]
    out = []
    for where, p in items:
        if not isinstance(p, dict) or not isinstance(p.get("type"), str) or not p.get("type"):
            out.append(f"{where} has no 'type'")
            continue
        ipam = p.get("ipam")
        if isinstance(ipam, dict) and ipam and not ipam.get("type"):
            out.append(f"{where}.ipam has settings ({', '.join(sorted(ipam))}) but no 'type': no address is assigned")
    return out


def _has_ipam(config: str) -> bool:
    try:
        doc = json.loads(config)
    except ValueError:
        return True
    plugins = doc.get("plugins") if isinstance(doc, dict) else None
    items = plugins if isinstance(plugins, list) else [doc]
    return any(isinstance(p, dict) and isinstance(p.get("ipam"), dict) and p["ipam"].get("type") for p in items)


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    nads = mx.nad_index(ctx)
    users: dict[tuple[str, str], list[dict]] = {}
    for pod in ctx.pods:
        for r in mx.requested_networks(pod):
            users.setdefault((r.namespace, r.name), []).append(pod)
    messages = mx.find_messages(ctx, LOAD_ERROR)
    hits = []
    for key, pods in sorted(users.items()):
        nad = nads.get(key)
        config = str(((nad or {}).get("spec") or {}).get("config") or "")
        if not config.strip():
            continue  # no NAD (MUL001) or a config kept in a file on the nodes
        names = {obj_name(p) for p in pods}
        said = [m for m in messages if m.pod and m.pod[1] in names]
        problems = _problems(config)
        if not problems and not _has_ipam(config) and any(IPAM_MISSING.search(m.text) for m in said):
            problems = ["no IPAM section, but the pod or plugin needs an address (IPAM result missing)"]
        if problems:
            hits.append(_hit(key, config, problems, pods, said))
    return hits


def _hit(key: tuple[str, str], config: str, problems: list[str], pods: list[dict], said: list) -> Hit:  # noqa: ANN001
    ns, name = key
    ref = f"{ns}/NetworkAttachmentDefinition/{name}"
    snippet = " ".join(config.split())[:160]
    evidence = [Evidence(mx.nad_list_path(ns), f"{ref}: {'; '.join(problems)}; spec.config: {snippet}", ref)]
    evidence += [m.evidence for m in said[:2]]
    stuck = [p for p in pods if not mx.pod_started(p)]
    nodes = sorted({n for p in (stuck or pods) if (n := mx.pod_node(p))})
    values = {"namespace": ns, "nad": name, "problem": problems[0]}
    if stuck:
        values["pods"] = " ".join(obj_name(p) for p in stuck)
        values["pod_namespace"] = mx.pod_ns(stuck[0])
    message = f"NetworkAttachmentDefinition {ns}/{name}, used by {len(pods)} pod(s): {'; '.join(problems)}"
    return Hit(evidence, [ref] + [mx.pod_ref(p) for p in pods], nodes, values, message)
