"""One pass over every container log with all catalog patterns at once.

`cnidoctor.bundle.linematch` finds the candidate lines of big blocks for all patterns together
(hyperscan when installed, required literals otherwise); only those lines are decoded and tried
against the individual Python patterns, so the findings are those of a line-by-line scan.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from cnidoctor.bundle.linematch import LineMatcher
from cnidoctor.bundle.reader import Bundle, LogLine, LogRef

MAX_MATCHES_KEPT = 50  # per pattern and log file; the count goes on


@dataclass(frozen=True)
class PodScope:
    """Which logs a pattern applies to (all regexes are full matches; None = any)."""

    namespace: re.Pattern | None = None
    pod: re.Pattern | None = None
    container: re.Pattern | None = None
    previous: bool | None = None  # None: current and previous logs

    def accepts(self, ref: LogRef, container: str) -> bool:
        return (
            (self.namespace is None or bool(self.namespace.fullmatch(ref.namespace)))
            and (self.pod is None or bool(self.pod.fullmatch(ref.pod)))
            and (self.container is None or bool(self.container.fullmatch(container)))
            and (self.previous is None or self.previous == ref.previous)
        )


@dataclass(frozen=True)
class LogMatch:
    ref: LogRef
    container: str
    lineno: int
    text: str
    groups: dict[str, str]


@dataclass
class PatternHits:
    matches: list[LogMatch] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # per log path


def strip_groups(pattern: str) -> str:
    """The pattern with named groups made anonymous, so many can share one alternation."""
    return re.sub(r"\(\?P<[A-Za-z_][A-Za-z0-9_]*>", "(?:", pattern)


def scope_flags(pattern: str) -> str:
    """Turn a leading global flag group like `(?i)` into a scoped one `(?i:...)`."""
    m = re.match(r"^\(\?([aiLmsux]+)\)", pattern)
    if m:
        return f"(?{m.group(1)}:{pattern[m.end() :]})"
    return pattern


class LogScanner:
    """Registers (pattern, scope) pairs, then scans every log of a bundle once."""

    def __init__(self) -> None:
        self._patterns: list[tuple[re.Pattern, PodScope]] = []
        self._keys: dict[tuple[str, PodScope], int] = {}
        self.results: dict[int, PatternHits] = {}
        self.scanned = False

    def register(self, pattern: str, scope: PodScope) -> int:
        key = (pattern, scope)
        if key not in self._keys:
            self._keys[key] = len(self._patterns)
            self._patterns.append((re.compile(pattern), scope))
        return self._keys[key]

    @property
    def patterns(self) -> list[str]:
        return [p.pattern for p, _ in self._patterns]

    def scan(self, bundle: Bundle, progress: Callable[[int], None] | None = None) -> None:
        """Scan every log once; PROGRESS (if given) is called with the bytes of each log done."""
        self.results = {i: PatternHits() for i in range(len(self._patterns))}
        self.scanned = True
        if not self._patterns:
            return
        unique: dict[str, int] = {}
        for p, _ in self._patterns:
            unique.setdefault(p.pattern, len(unique))
        by_unique: list[list[int]] = [[] for _ in unique]
        for i, (p, _) in enumerate(self._patterns):
            by_unique[unique[p.pattern]].append(i)
        matcher = LineMatcher([re.compile(p) for p in unique])
        for ref in bundle.logs:
            applicable = {
                i
                for i, (_, s) in enumerate(self._patterns)
                if (s.namespace is None or s.namespace.fullmatch(ref.namespace))
                and (s.pod is None or s.pod.fullmatch(ref.pod))
                and (s.previous is None or s.previous == ref.previous)
            }
            if applicable:
                for line, found in bundle.scan_log(ref, matcher):
                    for u, m in found:
                        for i in by_unique[u]:
                            if i in applicable:
                                self._record(i, ref, line, m)
            if progress is not None:
                progress(bundle.size(ref.path))

    def _record(self, i: int, ref: LogRef, line: LogLine, m: re.Match) -> None:
        scope = self._patterns[i][1]
        if scope.container is not None and not scope.container.fullmatch(line.container):
            return
        hits = self.results[i]
        hits.counts[ref.path] += 1
        if hits.counts[ref.path] <= MAX_MATCHES_KEPT:
            groups = {k: v for k, v in m.groupdict().items() if v is not None}
            hits.matches.append(LogMatch(ref, line.container, line.lineno, line.text, groups))

    def hits(self, index: int) -> PatternHits:
        return self.results.get(index, PatternHits())
