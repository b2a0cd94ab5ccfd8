"""Markdown report for pasting into an incident ticket."""

from __future__ import annotations

from cnidoctor import __version__
from cnidoctor.diagnose.engine import Diagnosis
from cnidoctor.diagnose.rank import Finding, folded_tree
from cnidoctor.render.text import printable

_ICON = {"critical": "🔴", "warning": "🟠", "info": "🔵"}


def _code(text: str) -> str:
    return "`" + printable(text).replace("`", "'") + "`"


def _finding(f: Finding, lines: list[str], folded: list[tuple[int, Finding]]) -> None:
    c = f.check
    lines.append(f"### {_ICON[c.severity.value]} {c.id} {c.title}")
    lines.append("")
    lines.append(f"**{c.severity.value} {c.kind.value}** · {c.cni} · {c.name}")
    if f.affected:
        lines.append(f"  \n**Affected:** {printable(f.affected)}")
    lines.append("")
    lines.append(f"**Why:** {c.root_cause}")
    lines.append("")
    lines.append("**Evidence:**")
    lines.append("")
    for e in f.evidence:
        where = e.path + (f":{e.line}" if e.line else "")
        lines.append(f"- {_code(where)}: {_code(e.excerpt)}")
    if f.evidence_total > len(f.evidence):
        lines.append(f"- … and {f.evidence_total - len(f.evidence)} more")
    lines.append("")
    lines.append("**Fix:**")
    lines.append("")
    for i, s in enumerate(f.remediation, 1):
        lines.append(f"{i}. {printable(s.step)}")
        if s.command:
            lines.append("   ```sh")
            lines.extend("   " + printable(ln) for ln in s.command.splitlines())
            lines.append("   ```")
    if folded:
        lines.append("")
        lines.append("**Explains:**")
        lines.append("")
        for depth, x in folded:
            affected = f" ({printable(x.affected)})" if x.affected else ""
            lines.append("  " * (depth - 1) + f"- {x.check.id} {x.check.title}{affected}")
    lines.append("")


def render(d: Diagnosis) -> str:
    lines = [f"## cnidoctor report ({__version__})", ""]
    lines.append(f"- **Source:** {_code(d.source)}")
    lines.append(f"- **Detected CNIs:** {', '.join(d.detected_cnis) or 'none detected'}")
    s = d.summary
    lines.append(
        f"- **Findings:** {s['findings']['critical']} critical, {s['findings']['warning']} warning, "
        f"{s['findings']['info']} info · {s['checks_run']} checks run · {s['status']['GAP']} not evaluated · "
        f"{len(d.gaps)} gaps in the evidence"
    )
    lines.append("")
    top = [f for f in d.findings if not f.explained_by]
    if not top:
        not_run = s["status"]["GAP"]
        if not d.results:
            lines.append("No check applies to this bundle: nothing was evaluated.")
        elif not_run:
            lines.append(f"No problems found by the checks that could run; {not_run} could not be evaluated.")
        else:
            lines.append("No problems found.")
        lines.append("")
    by_id = {f.check.id: f for f in d.findings}
    for f in top:
        _finding(f, lines, folded_tree(f, by_id))
    if d.gaps:
        lines.append("### Gaps (evidence that could not be read)")
        lines.append("")
        for g in d.gaps[:50]:
            lines.append(f"- {_code(g.path)}: {printable(g.reason)}")
        if len(d.gaps) > 50:
            lines.append(f"- … and {len(d.gaps) - 50} more")
        lines.append("")
    return "\n".join(lines)
