"""Rich terminal report: findings by rank with evidence, numbered remediation, folded symptoms, gaps."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.text import Text

from cnidoctor import __version__
from cnidoctor.diagnose.engine import Diagnosis
from cnidoctor.diagnose.rank import Finding, folded_tree
from cnidoctor.render.text import printable

_STYLE = {"critical": "bold red", "warning": "bold yellow", "info": "bold blue"}
MAX_GAPS_SHOWN = 15


def _finding_panel(rank: int, f: Finding, folded: list[tuple[int, Finding]]) -> Panel:
    c = f.check
    body: list[Text] = []
    head = Text()
    head.append(f"{c.severity.value.upper()} ", style=_STYLE[c.severity.value])
    head.append(f"{c.kind.value} · {c.cni} · {c.name}")
    body.append(head)
    if f.affected:
        body.append(Text(f"Affected: {printable(f.affected)}"))
    body.append(Text(""))
    body.append(Text("Why: ", style="bold") + Text(c.root_cause))
    body.append(Text(""))
    body.append(Text("Evidence:", style="bold"))
    for e in f.evidence[:6]:
        where = e.path + (f":{e.line}" if e.line else "")
        body.append(Text(f"  {printable(where)}", style="cyan"))
        body.append(Text(f"    {printable(e.excerpt)}"))
    more = f.evidence_total - min(len(f.evidence), 6)
    if more > 0:
        body.append(Text(f"  … and {more} more"))
    body.append(Text(""))
    body.append(Text("Fix:", style="bold"))
    for i, s in enumerate(f.remediation, 1):
        body.append(Text(f"  {i}. {printable(s.step)}"))
        if s.command:
            for ln in s.command.splitlines():
                body.append(Text(f"     $ {printable(ln)}", style="green"))
    if folded:
        body.append(Text(""))
        body.append(Text("Explains:", style="bold"))
        for depth, x in folded:
            pad = "  " * depth
            affected = f" ({printable(x.affected)})" if x.affected else ""
            body.append(Text(f"{pad}↳ {x.check.id} {x.check.title}{affected}"))
    title = Text(f"#{rank} {c.id} {c.title}", style=_STYLE[c.severity.value])
    return Panel(Group(*body), title=title, title_align="left", border_style=_STYLE[c.severity.value].split()[-1])


def render(d: Diagnosis, console: Console) -> None:
    s = d.summary
    console.print(Text(f"cnidoctor {__version__}", style="bold") + Text(f" · {printable(d.source)}"))
    console.print(f"Detected CNIs: {', '.join(d.detected_cnis) or 'none detected'}")
    console.print(
        f"{s['checks_run']} checks run · {s['findings']['critical']} critical · {s['findings']['warning']} warning"
        f" · {s['findings']['info']} info · {len(d.gaps)} gaps"
    )
    console.print()
    top = [f for f in d.findings if not f.explained_by]
    by_id = {f.check.id: f for f in d.findings}
    if not top:
        console.print(Text("No problems found.", style="bold green"))
    for i, f in enumerate(top, 1):
        console.print(_finding_panel(i, f, folded_tree(f, by_id)))
    gap_checks = [r for r in d.results if r.status.value == "GAP"]
    if d.gaps or gap_checks:
        console.print()
        console.print(Text("Gaps", style="bold") + Text(" (evidence missing or unreadable; not proof of health)"))
        for g in d.gaps[:MAX_GAPS_SHOWN]:
            console.print(Text(f"  {printable(g.path)}: {printable(g.reason)}"))
        if len(d.gaps) > MAX_GAPS_SHOWN:
            console.print(f"  … and {len(d.gaps) - MAX_GAPS_SHOWN} more (see --format json)")
        if gap_checks:
            ids = ", ".join(r.check.id for r in gap_checks[:20])
            extra = f" and {len(gap_checks) - 20} more" if len(gap_checks) > 20 else ""
            console.print(f"  {len(gap_checks)} checks could not be evaluated: {ids}{extra}", highlight=False)
