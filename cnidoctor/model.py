"""The result vocabulary shared by the engine and the renderers."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Status(str, Enum):
    """Outcome of one check."""

    PASS = "PASS"
    WARN = "WARN"
    FAIL = "FAIL"
    GAP = "GAP"  # could not evaluate: evidence missing


class Severity(str, Enum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"critical": 0, "warning": 1, "info": 2}[self.value]


class Kind(str, Enum):
    ROOT_CAUSE = "root-cause"
    SYMPTOM = "symptom"


@dataclass(frozen=True)
class Evidence:
    """One piece of evidence: where it is in the bundle and the exact excerpt."""

    path: str  # bundle-relative path
    excerpt: str
    object: str | None = None  # "ns/Kind/name" or "Kind/name"
    node: str | None = None
    line: int | None = None  # 1-based line number in `path`

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "object": self.object,
            "node": self.node,
            "line": self.line,
            "excerpt": self.excerpt,
        }


@dataclass(frozen=True)
class Gap:
    """Evidence that could not be collected or read."""

    path: str
    reason: str
    source: str = "bundle"  # bundle | collect | check

    def to_dict(self) -> dict:
        return {"path": self.path, "reason": self.reason, "source": self.source}


@dataclass
class Hit:
    """What a matcher returns when the fault is present: evidence plus the objects it touches.

    `values` are named facts (regex groups, computed numbers) that remediation templates can use.
    """

    evidence: list[Evidence] = field(default_factory=list)
    objects: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)
    message: str | None = None  # a one-line statement of what was found


@dataclass(frozen=True)
class RemediationStep:
    step: str
    command: str | None = None

    def to_dict(self) -> dict:
        return {"step": self.step, "command": self.command}
