"""`event`: Kubernetes events by reason and message, aggregated over the objects they name."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, dict_at, meta
from cnidoctor.diagnose.logscan import LogScanner
from cnidoctor.diagnose.templates.base import (
    MatchResult,
    allowed_keys,
    optional_regex,
    positive_int,
)
from cnidoctor.model import Evidence, Hit


@dataclass
class Compiled:
    reason: re.Pattern | None
    message: re.Pattern | None
    type: str | None
    involved_kind: re.Pattern | None
    involved_name: re.Pattern | None
    namespace: re.Pattern | None
    min_count: int


class EventTemplate:
    name = "event"

    def validate(self, params: dict, where: str) -> Compiled:
        allowed_keys(
            params, {"reason", "message", "type", "involved_kind", "involved_name", "namespace", "min_count"}, where
        )
        return Compiled(
            reason=optional_regex(params, "reason", where),
            message=optional_regex(params, "message", where),
            type=params.get("type"),
            involved_kind=optional_regex(params, "involved_kind", where),
            involved_name=optional_regex(params, "involved_name", where),
            namespace=optional_regex(params, "namespace", where),
            min_count=positive_int(params, "min_count", 1, where),
        )

    def prepare(self, compiled: Compiled, scanner: LogScanner) -> None:
        return None

    def evaluate(self, ctx: Context, c: Compiled, scanner: LogScanner) -> MatchResult:
        if not ctx.has_resource("events"):
            return MatchResult(evaluated=False, missing="no events.json in the bundle")
        hits = []
        total = 0
        for ev in ctx.events:
            inv = dict_at(ev, "involvedObject")
            ns = str(meta(ev).get("namespace") or inv.get("namespace") or "")
            if c.type and ev.get("type") != c.type:
                continue
            if c.namespace and not c.namespace.fullmatch(ns):
                continue
            reason = str(ev.get("reason") or "")
            message = str(ev.get("message") or ev.get("note") or "")
            if c.reason and not c.reason.fullmatch(reason):
                continue
            m = c.message.search(message) if c.message else None
            if c.message and not m:
                continue
            kind, name = str(inv.get("kind") or ""), str(inv.get("name") or "")
            if c.involved_kind and not c.involved_kind.fullmatch(kind):
                continue
            if c.involved_name and not c.involved_name.fullmatch(name):
                continue
            total += int(ev.get("count") or 1) if isinstance(ev.get("count"), int) else 1
            node = _event_node(ctx, ev, kind, ns, name)
            obj = f"{ns}/{kind}/{name}" if ns and kind != "Node" else f"{kind}/{name}"
            values = {k: v for k, v in (m.groupdict() if m else {}).items() if v is not None}
            values.update({"namespace": ns, "object": obj})
            if kind == "Pod":
                values["pod"] = name
            if node:
                values["node"] = node
            excerpt = f"{ev.get('type', '')} {reason} {obj}: {message}".strip()
            hits.append(
                Hit(
                    evidence=[Evidence(layout.namespaced_list(ns or "default", "events"), excerpt[:500], obj, node)],
                    objects=[obj],
                    nodes=[node] if node else [],
                    values=values,
                )
            )
        if total < c.min_count:
            return MatchResult()
        return MatchResult(hits=hits)


def _event_node(ctx: Context, ev: dict, kind: str, ns: str, name: str) -> str | None:
    if kind == "Node":
        return name
    if kind == "Pod":
        node = ctx.pod_node(ns, name)
        if node:
            return node
    src = ev.get("source") or {}
    host = src.get("host") if isinstance(src, dict) else None
    return host if isinstance(host, str) and host else None
