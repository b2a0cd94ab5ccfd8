"""Parser of `conntrack -S` (per-CPU "cpu=N key=value ..." lines); /proc/net/stat/nf_conntrack too."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cnidoctor.parse.errors import ParseError

_PAIR = re.compile(r"([A-Za-z_]+)=(\d{1,40})(?!\d)")


@dataclass(frozen=True)
class CpuConntrackStats:
    cpu: int | None
    counters: dict[str, int]
    line: int


@dataclass(frozen=True)
class ConntrackStats:
    """Per-CPU counters and their sums."""

    cpus: tuple[CpuConntrackStats, ...]
    totals: dict[str, int]  # every counter summed over CPUs
    errors: tuple[str, ...]  # lines from conntrack that are not counters (e.g. an operation failure)

    def total(self, name: str) -> int:
        return self.totals.get(name, 0)

    @property
    def found(self) -> int:
        return self.total("found")

    @property
    def invalid(self) -> int:
        return self.total("invalid")

    @property
    def insert_failed(self) -> int:
        return self.total("insert_failed")

    @property
    def drop(self) -> int:
        return self.total("drop")

    @property
    def early_drop(self) -> int:
        return self.total("early_drop")

    @property
    def error(self) -> int:
        return self.total("error")

    @property
    def search_restart(self) -> int:
        return self.total("search_restart")


def _proc_table(lines: list[tuple[int, str]], source: str) -> list[CpuConntrackStats]:
    """/proc/net/stat/nf_conntrack: a header of names, then one row of hex values per CPU."""
    names = lines[0][1].split()
    out = []
    for cpu, (n, line) in enumerate(lines[1:]):
        values = line.split()
        if len(values) != len(names):
            raise ParseError(f"expected {len(names)} columns, got {len(values)}", source, n)
        try:
            counters = {k: int(v, 16) for k, v in zip(names, values, strict=True) if k != "entries"}
        except ValueError:
            raise ParseError("expected hexadecimal counters", source, n) from None
        out.append(CpuConntrackStats(cpu, counters, n))
    return out


def parse_conntrack_stats(text: str, source: str = "<input>") -> ConntrackStats:
    """Parse `conntrack -S`; counters of every CPU are summed into `totals`."""
    lines = [(n, raw.strip()) for n, raw in enumerate(text.splitlines(), start=1) if raw.strip()]
    errors: list[str] = []
    if lines and lines[0][1].split()[0] == "entries" and "=" not in lines[0][1]:
        cpus = _proc_table(lines, source)
    else:
        cpus = []
        for n, line in lines:
            pairs = _PAIR.findall(line)
            if not pairs or "=" not in line.split()[0]:
                if line.startswith("conntrack"):
                    errors.append(line)
                    continue
                raise ParseError(f"expected 'cpu=N key=value ...', got {line[:80]!r}", source, n)
            counters = {k: int(v) for k, v in pairs}
            cpu = counters.pop("cpu", None)
            cpus.append(CpuConntrackStats(cpu, counters, n))
    totals: dict[str, int] = {}
    for c in cpus:
        for k, v in c.counters.items():
            totals[k] = totals.get(k, 0) + v
    return ConntrackStats(tuple(cpus), totals, tuple(errors))
