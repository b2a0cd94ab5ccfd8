"""Turn check hits into findings: aggregate evidence and objects, rank, and fold explained symptoms."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace

from cnidoctor.bundle.redact import Redactor
from cnidoctor.catalog.placeholders import fill, shell_safe
from cnidoctor.catalog.schema import Check
from cnidoctor.diagnose.context import Context
from cnidoctor.model import Evidence, Hit, RemediationStep, Status

MAX_EVIDENCE = 12


@dataclass
class Finding:
    check: Check
    status: Status
    evidence: list[Evidence]
    evidence_total: int
    objects: list[str]
    nodes: list[str]
    values: dict[str, str]
    messages: list[str]
    remediation: list[RemediationStep]
    explains: list[str] = field(default_factory=list)  # IDs of firing findings folded under this one
    explained_by: list[str] = field(default_factory=list)

    @property
    def strength(self) -> int:
        return len({(e.path, e.line) for e in self.evidence}) + 3 * len({e.path.split("/")[0] for e in self.evidence})

    @property
    def affected(self) -> str:
        """'14 pods on node-2, node-3' style summary ('node-3' when only nodes are affected)."""
        kinds = Counter(o.split("/")[-2] if o.count("/") >= 1 else o for o in self.objects)
        if set(kinds) <= {"Node"} and self.nodes:
            return _short_list(self.nodes)
        parts = [f"{n} {_plural(k.lower(), n)}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1])]
        text = ", ".join(parts) if parts else ""
        if self.nodes:
            text += (" on " if text else "nodes ") + _short_list(self.nodes)
        return text


def _plural(word: str, n: int) -> str:
    if n == 1:
        return word
    if word.endswith("y") and not word.endswith("ey"):
        return word[:-1] + "ies"
    return word if word.endswith("s") else word + "s"


def _short_list(items: list[str], most: int = 6) -> str:
    return ", ".join(items[:most]) + (f" and {len(items) - most} more" if len(items) > most else "")


def _merge_values(hits: list[Hit], nodes: list[str], objects: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for h in hits:
        for k, v in h.values.items():
            values.setdefault(k, str(v))
    if nodes:
        values.setdefault("node", nodes[0])
        values["nodes"] = " ".join(nodes)
        values["nodes_comma"] = ",".join(nodes)
    pods = sorted({o.split("/")[-1] for o in objects if "/Pod/" in o})
    if pods:
        values["pods"] = " ".join(pods)
    return values


def _redacted(hits: list[Hit]) -> list[Hit]:
    """HITS with every secret shape masked in what a report shows: a bundle that was not written by
    `collect` (a `kubectl cluster-info dump`, a folder someone assembled) was never redacted."""
    r = Redactor()
    return [
        replace(
            h,
            evidence=[replace(e, excerpt=r.text(e.excerpt, e.path)) for e in h.evidence],
            values={k: r.text(v, "values") if isinstance(v, str) else v for k, v in h.values.items()},
            message=r.text(h.message, "message") if h.message else h.message,
        )
        for h in hits
    ]


def _finding(check: Check, status: Status, hits: list[Hit]) -> Finding:
    hits = _redacted(hits)
    evidence: list[Evidence] = []
    seen = set()
    objects: list[str] = []
    nodes: list[str] = []
    messages: list[str] = []
    for h in hits:
        for e in h.evidence:
            key = (e.path, e.line, e.excerpt)
            if key not in seen:
                seen.add(key)
                evidence.append(e)
        objects.extend(o for o in h.objects if o)
        nodes.extend(n for n in h.nodes if n)
        if h.message and h.message not in messages:
            messages.append(h.message)
    objects = sorted(set(objects))
    nodes = sorted(set(nodes), key=_natural)
    values = _merge_values(hits, nodes, objects)
    steps = [
        RemediationStep(fill(s.step, values), fill(s.command, shell_safe(values)) if s.command else None)
        for s in check.remediation
    ]
    return Finding(check, status, evidence[:MAX_EVIDENCE], len(evidence), objects, nodes, values, messages, steps)


def _natural(s: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def rank_key(f: Finding) -> tuple:
    return (f.check.kind.value != "root-cause", f.check.severity.rank, -f.check.priority, -f.strength, f.check.id)


def build_findings(fired: list[tuple[Check, Status, list[Hit]]], ctx: Context | None = None) -> list[Finding]:
    """Ranked findings; a finding explained by another firing one is folded under it."""
    findings = sorted((_finding(c, s, h) for c, s, h in fired), key=rank_key)
    by_id = {f.check.id: f for f in findings}
    for f in findings:
        for target in f.check.explains:
            t = by_id.get(target)
            if t is None or t is f:
                continue
            if f.check.id in t.check.explains:  # mutual: keep both at the top
                continue
            t.explained_by.append(f.check.id)
            f.explains.append(target)
    top = [f for f in findings if not f.explained_by]
    folded = [f for f in findings if f.explained_by]
    return top + folded


def folded_tree(root: Finding, by_id: dict[str, Finding]) -> list[tuple[int, Finding]]:
    """Findings folded under ROOT, depth-first, each with its depth (1 = directly explained)."""
    out: list[tuple[int, Finding]] = []
    seen = {root.check.id}

    def walk(f: Finding, depth: int) -> None:
        for cid in f.explains:
            child = by_id.get(cid)
            if child is None or cid in seen:
                continue
            seen.add(cid)
            out.append((depth, child))
            walk(child, depth + 1)

    walk(root, 1)
    return out
