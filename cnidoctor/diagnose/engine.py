"""Run the catalog over a bundle: one log pass, every applicable check, then rank and fold.

The engine reads only the bundle; it never imports collection or Kubernetes client code.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Protocol

from cnidoctor.bundle.reader import Bundle
from cnidoctor.catalog.schema import Check
from cnidoctor.diagnose.context import Context
from cnidoctor.diagnose.detect import configured_cnis, detect_cnis
from cnidoctor.diagnose.logscan import LogScanner
from cnidoctor.diagnose.rank import Finding, build_findings
from cnidoctor.diagnose.templates import TEMPLATES, MatchResult, compiled_params, load_evaluate
from cnidoctor.errors import CatalogError, UsageError
from cnidoctor.gcpause import paused_gc
from cnidoctor.model import Gap, Hit, Status


@dataclass
class CheckResult:
    check: Check
    status: Status
    hits: list[Hit] = field(default_factory=list)
    missing: str | None = None


@dataclass
class Diagnosis:
    source: str
    detected_cnis: list[str]
    results: list[CheckResult]
    findings: list[Finding]
    gaps: list[Gap]
    not_applicable: int
    elapsed: float
    manifest: dict | None = None

    @property
    def summary(self) -> dict:
        counts = {s.value: 0 for s in Status}
        for r in self.results:
            counts[r.status.value] += 1
        by_sev = {"critical": 0, "warning": 0, "info": 0}
        for f in self.findings:
            by_sev[f.check.severity.value] += 1
        top = [f for f in self.findings if not f.explained_by]
        return {
            "checks_run": len(self.results),
            "checks_not_applicable": self.not_applicable,
            "status": counts,
            "findings": by_sev,
            "root_causes": sum(1 for f in top if f.check.kind.value == "root-cause"),
            "top_finding": top[0].check.id if top else None,
            "gaps": len(self.gaps),
            "checks_not_evaluated": counts["GAP"],
        }


def select_checks(checks: list[Check], select: list[str], ignore: list[str]) -> list[Check]:
    """Checks whose ID starts with one of SELECT (all when empty) and none of IGNORE.

    A SELECT or IGNORE entry that names no check is a usage error (a typo must not silently select nothing).
    """

    def hit(cid: str, prefixes: list[str]) -> bool:
        return any(cid.upper().startswith(p.upper()) for p in prefixes)

    for flag, entries in (("--select", select), ("--ignore", ignore)):
        for entry in entries:
            if not any(hit(c.id, [entry]) for c in checks):
                raise UsageError(
                    f"{flag} {entry}: no check ID starts with it", hint="`cnidoctor checks list` shows every id"
                )
    return [c for c in checks if (not select or hit(c.id, select)) and not hit(c.id, ignore)]


def applicable(check: Check, cnis: list[str]) -> bool:
    return not check.applies_when or any(c in cnis for c in check.applies_when)


def _run_matchers(ctx: Context, check: Check, group: str, scanner: LogScanner) -> MatchResult:
    """AND over the group's matchers: all must hit; evidence is merged."""
    specs = check.match if group == "match" else check.unless
    merged = MatchResult()
    for i, spec in enumerate(specs):
        res = TEMPLATES[spec.template].evaluate(ctx, compiled_params(check, group, i), scanner)
        if not res.evaluated:
            return res
        if not res.hits:
            return MatchResult()
        merged.hits.extend(res.hits)
    return merged


def evaluate_check(ctx: Context, check: Check, scanner: LogScanner) -> CheckResult:
    hits: list[Hit] = []
    missing = None
    evaluated = True
    if check.match:
        res = _run_matchers(ctx, check, "match", scanner)
        hits, evaluated, missing = res.hits, res.evaluated, res.missing
    if check.python and (hits or not check.match):
        out = load_evaluate(check.folder / check.python)(ctx, check)
        if out is None:
            evaluated, missing, hits = False, "the evidence this check needs is not in the bundle", []
        else:
            hits, evaluated = list(out), True
    if hits and check.unless:
        res = _run_matchers(ctx, check, "unless", scanner)
        if res.evaluated and res.hits:
            hits = []
    if hits:
        status = Status.FAIL if check.severity.value == "critical" else Status.WARN
        return CheckResult(check, status, hits)
    if not evaluated:
        return CheckResult(check, Status.GAP, missing=missing)
    return CheckResult(check, Status.PASS)


def evaluate_guarded(ctx: Context, check: Check, scanner: LogScanner) -> CheckResult:
    """`evaluate_check`, but a check that fails (evidence of an unexpected shape, a bug in a user's check)
    becomes a GAP with a recorded gap naming it instead of stopping the analysis; CNIDOCTOR_DEBUG=1 re-raises."""
    try:
        return evaluate_check(ctx, check, scanner)
    except CatalogError:
        raise
    except (AttributeError, TypeError, KeyError, IndexError, ValueError, RecursionError) as exc:
        if os.environ.get("CNIDOCTOR_DEBUG"):
            raise
        reason = f"evidence of an unexpected shape ({type(exc).__name__}: {str(exc)[:160]})"
        ctx.bundle.add_gap(check.id, f"check could not be evaluated: {reason}", source="check")
        return CheckResult(check, Status.GAP, missing=reason)
    except (Exception, SystemExit) as exc:  # sys.exit() in a check is a failing check, not the end of the run
        if os.environ.get("CNIDOCTOR_DEBUG"):
            raise
        reason = f"the check raised {type(exc).__name__}: {str(exc)[:160]} (CNIDOCTOR_DEBUG=1 shows where)"
        ctx.bundle.add_gap(check.id, f"check could not be evaluated: {reason}", source="check")
        return CheckResult(check, Status.GAP, missing=reason)


def manifest_gaps(manifest: dict | None) -> list[Gap]:
    """Gaps recorded when the bundle was collected (manifest.json), so the report shows them too."""
    out = []
    for g in (manifest or {}).get("gaps") or []:
        if isinstance(g, dict) and g.get("path") and g.get("reason"):
            out.append(Gap(str(g["path"]), str(g["reason"]), str(g.get("source") or "collect")))
    return out


class Progress(Protocol):
    """What the engine reports while it works (the CLI passes one that draws on stderr)."""

    def phase(self, name: str, total: int, unit: str = "") -> None: ...

    def advance(self, amount: int = 1) -> None: ...

    def finish(self) -> None: ...


def diagnose(bundle: Bundle, checks: list[Check], progress: Progress | None = None) -> Diagnosis:
    """Evaluate CHECKS against BUNDLE and return ranked, folded findings."""
    with paused_gc(freeze=True):  # what the analysis built is not walked by later collections
        return _diagnose(bundle, checks, progress)


def _diagnose(bundle: Bundle, checks: list[Check], progress: Progress | None) -> Diagnosis:
    started = time.perf_counter()
    ctx = Context(bundle)
    cnis = detect_cnis(ctx)
    ctx.cnis = set(cnis)
    present = sorted(set(cnis) | configured_cnis(ctx))  # checks of leftover CNIs run too
    todo = [c for c in checks if applicable(c, present)]
    scanner = LogScanner()
    for check in todo:
        for group, specs in (("match", check.match), ("unless", check.unless)):
            for i, spec in enumerate(specs):
                TEMPLATES[spec.template].prepare(compiled_params(check, group, i), scanner)
    if progress is not None:
        progress.phase("scanning logs", sum(bundle.size(r.path) for r in bundle.logs), unit="bytes")
    scanner.scan(bundle, progress.advance if progress is not None else None)
    if progress is not None:
        progress.phase("running checks", len(todo), unit="checks")
    results = []
    for c in todo:
        results.append(evaluate_guarded(ctx, c, scanner))
        if progress is not None:
            progress.advance()
    findings = build_findings([(r.check, r.status, r.hits) for r in results if r.hits], ctx)
    if progress is not None:
        progress.finish()
    manifest = bundle.manifest  # read before the gaps are listed: a malformed manifest is a gap too
    merged = bundle.merged_manifests
    return Diagnosis(
        source=bundle.source,
        detected_cnis=cnis,
        results=results,
        findings=findings,
        gaps=list(bundle.gaps) + [g for m in [manifest, *merged] for g in manifest_gaps(m)],
        not_applicable=len(checks) - len(todo),
        elapsed=time.perf_counter() - started,
        manifest=manifest,
    )
