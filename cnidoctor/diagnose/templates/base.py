"""The matcher-template contract and the parameter helpers every template shares."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from cnidoctor.diagnose.context import Context
from cnidoctor.diagnose.logscan import LogScanner, PodScope
from cnidoctor.errors import CatalogError
from cnidoctor.model import Hit


@dataclass
class MatchResult:
    """Hits when the fault is present; `evaluated` is False when the evidence needed is absent."""

    hits: list[Hit] = field(default_factory=list)
    evaluated: bool = True
    missing: str | None = None  # what evidence was missing, when not evaluated


class Template(Protocol):
    name: str

    def validate(self, params: dict, where: str) -> Any:
        """Check and compile PARAMS once at catalog load; return the compiled form."""

    def prepare(self, compiled: Any, scanner: LogScanner) -> None:
        """Register log patterns before the single log pass (no-op for most templates)."""

    def evaluate(self, ctx: Context, compiled: Any, scanner: LogScanner) -> MatchResult: ...


def allowed_keys(params: dict, allowed: set[str], where: str) -> None:
    extra = set(params) - allowed
    if extra:
        raise CatalogError(f"{where}: unknown parameters {sorted(extra)} (allowed: {sorted(allowed)})")


def compile_regex(value: object, where: str, key: str) -> re.Pattern:
    if not isinstance(value, str) or not value:
        raise CatalogError(f"{where}: `{key}` must be a non-empty regex string")
    if "(?P=" in value or re.search(r"\\\d", value):
        raise CatalogError(f"{where}: `{key}` may not use back-references")
    try:
        return re.compile(value)
    except re.error as exc:
        raise CatalogError(f"{where}: `{key}` is not a valid regex: {exc}") from None


def regex_list(value: object, where: str, key: str) -> list[re.Pattern]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise CatalogError(f"{where}: `{key}` must be a regex or a non-empty list of them")
    return [compile_regex(v, where, key) for v in value]


def optional_regex(params: dict, key: str, where: str) -> re.Pattern | None:
    return compile_regex(params[key], where, key) if key in params else None


def pod_scope(raw: object, where: str) -> PodScope:
    """`pods: {namespace, pod, container, previous}`; each a full-match regex."""
    if raw is None:
        return PodScope()
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: `pods` must be a mapping")
    allowed_keys(raw, {"namespace", "pod", "container", "previous"}, where + " pods")
    prev = raw.get("previous")
    if prev is not None and not isinstance(prev, bool):
        raise CatalogError(f"{where}: pods.previous must be true or false")
    return PodScope(
        namespace=optional_regex(raw, "namespace", where),
        pod=optional_regex(raw, "pod", where),
        container=optional_regex(raw, "container", where),
        previous=prev,
    )


def positive_int(params: dict, key: str, default: int, where: str) -> int:
    value = params.get(key, default)
    if not isinstance(value, int) or value < 1:
        raise CatalogError(f"{where}: `{key}` must be a positive integer")
    return value
