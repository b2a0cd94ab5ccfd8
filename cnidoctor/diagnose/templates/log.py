"""`log`: regexes over container logs (current and previous), scoped to pods and containers."""

from __future__ import annotations

from dataclasses import dataclass

from cnidoctor.diagnose.context import Context
from cnidoctor.diagnose.logscan import LogScanner, PodScope
from cnidoctor.diagnose.templates.base import MatchResult, allowed_keys, pod_scope, positive_int, regex_list
from cnidoctor.model import Evidence, Hit


@dataclass
class Compiled:
    patterns: list[str]
    scope: PodScope
    min_count: int
    keys: list[int]


class LogTemplate:
    name = "log"

    def validate(self, params: dict, where: str) -> Compiled:
        allowed_keys(params, {"patterns", "pods", "min_count"}, where)
        pats = [p.pattern for p in regex_list(params.get("patterns"), where, "patterns")]
        return Compiled(pats, pod_scope(params.get("pods"), where), positive_int(params, "min_count", 1, where), [])

    def prepare(self, compiled: Compiled, scanner: LogScanner) -> None:
        compiled.keys = [scanner.register(p, compiled.scope) for p in compiled.patterns]

    def evaluate(self, ctx: Context, compiled: Compiled, scanner: LogScanner) -> MatchResult:
        refs = [r for r in ctx.bundle.logs if _may_apply(compiled.scope, r)]
        if not refs:
            return MatchResult(evaluated=False, missing="no matching container logs in the bundle")
        total = 0
        hits: list[Hit] = []
        for key in compiled.keys:
            ph = scanner.hits(key)
            total += sum(ph.counts.values())
            for m in ph.matches:
                node = ctx.pod_node(m.ref.namespace, m.ref.pod)
                obj = f"{m.ref.namespace}/Pod/{m.ref.pod}"
                label = f"{m.container}{' (previous)' if m.ref.previous else ''}"
                hits.append(
                    Hit(
                        evidence=[Evidence(m.ref.path, m.text.strip()[:400], obj, node, m.lineno)],
                        objects=[obj],
                        nodes=[node] if node else [],
                        values={
                            **m.groups,
                            "namespace": m.ref.namespace,
                            "pod": m.ref.pod,
                            "container": m.container,
                            **({"node": node} if node else {}),
                        },
                        message=f"log of {obj} container {label}",
                    )
                )
        if total < compiled.min_count:
            return MatchResult()
        return MatchResult(hits=hits)


def _may_apply(scope: PodScope, ref) -> bool:  # type: ignore[no-untyped-def]
    return (
        (scope.namespace is None or bool(scope.namespace.fullmatch(ref.namespace)))
        and (scope.pod is None or bool(scope.pod.fullmatch(ref.pod)))
        and (scope.previous is None or scope.previous == ref.previous)
    )
