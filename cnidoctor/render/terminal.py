"""Rich terminal report: findings by rank with evidence, numbered remediation, folded symptoms, gaps.

Prose wraps to the terminal; evidence excerpts and commands are printed as single soft-wrapped lines, so
copying a command from the terminal gives exactly the command.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from cnidoctor import __version__
from cnidoctor.diagnose.engine import Diagnosis
from cnidoctor.diagnose.rank import Finding, folded_tree
from cnidoctor.render.text import printable

_STYLE = {"critical": "bold red", "warning": "bold yellow", "info": "bold blue"}
MAX_EVIDENCE_SHOWN = 6
MAX_GAPS_SHOWN = 15


def _prose(console: Console, text: Text, indent: int) -> None:
    """Wrapped text with a hanging indent and no trailing padding."""
    for line in text.wrap(console, max(20, console.width - indent)):
        line.rstrip()
        console.print(Text(" " * indent) + line, soft_wrap=True)


def _line(console: Console, text: str, style: str | None = None) -> None:
    """One unwrapped line (the terminal may fold it visually; copy-paste keeps it whole)."""
    console.print(Text(text.replace("\r", "").replace("\n", " ⏎ "), style=style or ""), soft_wrap=True)


def _finding(console: Console, rank: int, f: Finding, folded: list[tuple[int, Finding]]) -> None:
    c = f.check
    style = _STYLE[c.severity.value]
    console.rule(Text(f"#{rank} {c.id} {c.title}", style=style), align="left", style=style.split()[-1])
    head = Text()
    head.append(f"{c.severity.value.upper()} ", style=style)
    head.append(f"{c.kind.value} · {c.cni} · {c.name}")
    _prose(console, head, 0)
    if f.affected:
        _prose(console, Text(f"Affected: {printable(f.affected)}"), 0)
    for message in f.messages[:3]:
        _prose(console, Text("Found: ", style="bold") + Text(printable(message)), 0)
    _prose(console, Text("Why: ", style="bold") + Text(c.root_cause), 0)
    console.print(Text("Evidence:", style="bold"))
    for e in f.evidence[:MAX_EVIDENCE_SHOWN]:
        where = e.path + (f":{e.line}" if e.line else "")
        _line(console, f"  {printable(where)}", "cyan")
        _line(console, f"    {printable(e.excerpt)}")
    more = f.evidence_total - min(len(f.evidence), MAX_EVIDENCE_SHOWN)
    if more > 0:
        _line(console, f"  … and {more} more (see --format json)")
    console.print(Text("Fix:", style="bold"))
    for i, s in enumerate(f.remediation, 1):
        _prose(console, Text(f"{i}. {printable(s.step)}"), 2)
        if s.command:
            for ln in s.command.splitlines():
                _line(console, f"     $ {printable(ln)}", "green")
    if folded:
        console.print(Text("Explains:", style="bold"))
        for depth, x in folded:
            affected = f" ({printable(x.affected)})" if x.affected else ""
            _prose(console, Text(f"↳ {x.check.id} {x.check.title}{affected}"), 2 * depth)
    console.print()


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def summary_line(d: Diagnosis, gap_checks: int) -> str:
    s = d.summary
    f = s["findings"]
    parts = [
        f"{_count(s['checks_run'], 'check')} run",
        f"{f['critical']} critical",
        f"{f['warning']} warning",
        f"{f['info']} info",
        f"{_count(gap_checks, 'check')} not evaluated",
        f"{_count(len(d.gaps), 'gap')} in the evidence",
    ]
    return " · ".join(parts)


def render(d: Diagnosis, console: Console) -> None:
    console.print(Text(f"cnidoctor {__version__}", style="bold") + Text(f" · {printable(d.source)}"))
    console.print(Text(f"Detected CNIs: {', '.join(d.detected_cnis) or 'none detected'}"))
    gap_checks = [r for r in d.results if r.status.value == "GAP"]
    _prose(console, Text(summary_line(d, len(gap_checks))), 0)
    console.print()
    top = [f for f in d.findings if not f.explained_by]
    by_id = {f.check.id: f for f in d.findings}
    if not top:
        if not d.results:
            console.print(Text("No check applies to this bundle: nothing was evaluated.", style="bold yellow"))
        elif gap_checks:
            msg = f"No problems found by the checks that could run; {_count(len(gap_checks), 'check')} could not"
            _prose(console, Text(msg + " be evaluated (see Gaps).", style="bold yellow"), 0)
        else:
            console.print(Text("No problems found.", style="bold green"))
    for i, f in enumerate(top, 1):
        _finding(console, i, f, folded_tree(f, by_id))
    if d.gaps or gap_checks:
        console.print(Text("Gaps", style="bold") + Text(" (evidence missing or unreadable; not proof of health)"))
        for g in d.gaps[:MAX_GAPS_SHOWN]:
            _line(console, f"  {printable(g.path)}: {printable(g.reason)}")
        if len(d.gaps) > MAX_GAPS_SHOWN:
            _line(console, f"  … and {len(d.gaps) - MAX_GAPS_SHOWN} more (see --format json)")
        if gap_checks:
            ids = ", ".join(r.check.id for r in gap_checks[:20])
            extra = f" and {len(gap_checks) - 20} more" if len(gap_checks) > 20 else ""
            _line(console, f"  {_count(len(gap_checks), 'check')} could not be evaluated: {ids}{extra}")
