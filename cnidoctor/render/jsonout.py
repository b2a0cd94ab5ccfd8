"""JSON report: the stable, documented schema of docs/json-output.md."""

from __future__ import annotations

import json

from cnidoctor import __version__
from cnidoctor.diagnose.engine import Diagnosis
from cnidoctor.diagnose.rank import Finding

SCHEMA_VERSION = 1


def finding_dict(f: Finding) -> dict:
    c = f.check
    return {
        "id": c.id,
        "name": c.name,
        "title": c.title,
        "status": f.status.value,
        "severity": c.severity.value,
        "kind": c.kind.value,
        "cni": c.cni,
        "symptom": c.symptom,
        "root_cause": c.root_cause,
        "summary": "; ".join(f.messages) if f.messages else None,
        "affected": {"summary": f.affected, "objects": f.objects, "nodes": f.nodes},
        "evidence": [e.to_dict() for e in f.evidence],
        "evidence_total": f.evidence_total,
        "remediation": [s.to_dict() for s in f.remediation],
        "references": list(c.references),
        "explains": f.explains,
        "explained_by": f.explained_by,
    }


def to_dict(d: Diagnosis) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "cnidoctor_version": __version__,
        "source": d.source,
        "detected_cnis": d.detected_cnis,
        "findings": [finding_dict(f) for f in d.findings],
        "checks": [
            {"id": r.check.id, "status": r.status.value, **({"missing": r.missing} if r.missing else {})}
            for r in d.results
        ],
        "gaps": [g.to_dict() for g in d.gaps],
        "summary": d.summary,
        "elapsed_seconds": round(d.elapsed, 3),
    }


def render(d: Diagnosis) -> str:
    return json.dumps(to_dict(d), indent=2, sort_keys=False) + "\n"
