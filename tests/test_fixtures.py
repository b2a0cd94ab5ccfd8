"""Each fixture's expected diagnosis, end to end: ordered root causes, folded symptoms, evidence, absences."""

from __future__ import annotations

import pytest

from tests.conftest import analyze_fixture, expected, fixture_names

WITH_EXPECTATIONS = [n for n in fixture_names() if expected(n)]


@pytest.mark.parametrize("name", fixture_names())
def test_every_fixture_analyses(name):
    d = analyze_fixture(name)
    assert d.detected_cnis, f"{name}: no CNI detected"


@pytest.mark.parametrize("name", WITH_EXPECTATIONS)
def test_expected_diagnosis(name):
    exp = expected(name)
    d = analyze_fixture(name)
    top = [f for f in d.findings if not f.explained_by]
    fired = {f.check.id: f for f in d.findings}
    if exp.get("healthy"):
        assert [f.check.id for f in d.findings if f.check.severity.value != "info"] == []
        return
    assert top, f"{name}: no finding"
    assert top[0].check.id == exp["top"], [f.check.id for f in top]
    roots = [f.check.id for f in top if f.check.kind.value == "root-cause"]
    assert roots[: len(exp["root_causes"])] == exp["root_causes"]
    for symptom, parent in (exp.get("folded") or {}).items():
        assert symptom in fired, f"{symptom} did not fire"
        assert parent in fired[symptom].explained_by, (symptom, fired[symptom].explained_by)
    for cid, excerpt in (exp.get("evidence") or {}).items():
        assert any(excerpt in e.excerpt for e in fired[cid].evidence), [e.excerpt for e in fired[cid].evidence]
    for cid in exp.get("absent") or []:
        assert cid not in fired, f"{name}: {cid} must not be reported"
