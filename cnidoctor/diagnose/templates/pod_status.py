"""`pod_status`: pods whose containers are waiting, were killed, restart, or are not ready."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta
from cnidoctor.diagnose.logscan import LogScanner, PodScope
from cnidoctor.diagnose.templates.base import MatchResult, allowed_keys, optional_regex, pod_scope
from cnidoctor.errors import CatalogError
from cnidoctor.model import Evidence, Hit


@dataclass
class Compiled:
    scope: PodScope
    waiting: re.Pattern | None
    terminated: re.Pattern | None
    phase: re.Pattern | None
    not_ready: bool
    min_restarts: int
    init: bool


class PodStatusTemplate:
    name = "pod_status"

    def validate(self, params: dict, where: str) -> Compiled:
        allowed_keys(
            params,
            {"pods", "waiting_reason", "terminated_reason", "phase", "not_ready", "min_restarts", "init"},
            where,
        )
        c = Compiled(
            scope=pod_scope(params.get("pods"), where),
            waiting=optional_regex(params, "waiting_reason", where),
            terminated=optional_regex(params, "terminated_reason", where),
            phase=optional_regex(params, "phase", where),
            not_ready=bool(params.get("not_ready", False)),
            min_restarts=int(params.get("min_restarts", 0)),
            init=bool(params.get("init", True)),
        )
        if not (c.waiting or c.terminated or c.phase or c.not_ready or c.min_restarts):
            raise CatalogError(
                f"{where}: pod_status needs a condition (waiting_reason, terminated_reason, "
                "phase, not_ready or min_restarts)"
            )
        return c

    def prepare(self, compiled: Compiled, scanner: LogScanner) -> None:
        return None

    def evaluate(self, ctx: Context, c: Compiled, scanner: LogScanner) -> MatchResult:
        if not ctx.has_resource("pods"):
            return MatchResult(evaluated=False, missing="no pods.json in the bundle")
        hits = []
        s = c.scope
        for pod in ctx.pods:
            m = meta(pod)
            ns, name = str(m.get("namespace", "")), str(m.get("name", ""))
            if (s.namespace and not s.namespace.fullmatch(ns)) or (s.pod and not s.pod.fullmatch(name)):
                continue
            status = pod.get("status") or {}
            if c.phase and not c.phase.fullmatch(str(status.get("phase", ""))):
                continue
            statuses = list(status.get("containerStatuses") or [])
            if c.init:
                statuses += list(status.get("initContainerStatuses") or [])
            for cs in statuses:
                if not isinstance(cs, dict):
                    continue
                cname = str(cs.get("name", ""))
                if s.container and not s.container.fullmatch(cname):
                    continue
                why = _matches(cs, c)
                if why is None:
                    continue
                node = ctx.pod_node(ns, name)
                obj = f"{ns}/Pod/{name}"
                values = {"namespace": ns, "pod": name, "container": cname, **({"node": node} if node else {})}
                hits.append(
                    Hit(
                        [Evidence(layout.namespaced_list(ns, "pods"), f"{obj} container {cname}: {why}", obj, node)],
                        [obj],
                        [node] if node else [],
                        values,
                    )
                )
                break
            if c.phase and not statuses and not (c.waiting or c.terminated or c.not_ready or c.min_restarts):
                node = ctx.pod_node(ns, name)
                obj = f"{ns}/Pod/{name}"
                hits.append(
                    Hit(
                        [
                            Evidence(
                                layout.namespaced_list(ns, "pods"), f"{obj}: phase {status.get('phase')}", obj, node
                            )
                        ],
                        [obj],
                        [node] if node else [],
                        {"namespace": ns, "pod": name, **({"node": node} if node else {})},
                    )
                )
        return MatchResult(hits=hits)


def _matches(cs: dict, c: Compiled) -> str | None:
    """A description of the container state when it meets every condition, else None."""
    parts = []
    state = cs.get("state") or {}
    last = (cs.get("lastState") or {}).get("terminated") or {}
    if c.waiting:
        w = state.get("waiting") or {}
        if not c.waiting.fullmatch(str(w.get("reason", ""))):
            return None
        parts.append(f"waiting {w.get('reason')}" + (f" ({w['message'][:200]})" if w.get("message") else ""))
    if c.terminated:
        t = state.get("terminated") or last
        if not c.terminated.fullmatch(str(t.get("reason", ""))):
            return None
        parts.append(f"last terminated {t.get('reason')} exit code {t.get('exitCode')}")
    restarts = cs.get("restartCount") or 0
    if c.min_restarts:
        if not isinstance(restarts, int) or restarts < c.min_restarts:
            return None
        parts.append(f"{restarts} restarts")
    if c.not_ready:
        if cs.get("ready") is not False:
            return None
        parts.append("not ready")
    return ", ".join(parts) or "matched"
