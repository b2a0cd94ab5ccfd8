"""Every check: complete documentation, fires on its failure fixture with the right evidence, silent when healthy."""

from __future__ import annotations

import pytest

from cnidoctor.model import Status
from tests.conftest import analyze_fixture, analyze_path, catalog, fixture_bundle_path, healthy_fixtures

CHECKS = catalog()
FIRES = [(c, t) for c in CHECKS for t in c.tests if t.fires]
SILENT = [(c, t) for c in CHECKS for t in c.tests if not t.fires]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.id)
def test_definition_is_complete(check):
    assert len(check.symptom) > 30 and len(check.root_cause) > 30
    assert check.remediation and all(s.step.endswith((".", ":", ")")) for s in check.remediation)
    assert any(s.command for s in check.remediation), "at least one remediation step has a command"
    assert all(r.startswith("http") for r in check.references)
    assert any(t.fires for t in check.tests), f"{check.id} has no failure fixture"


def _result(diagnosis, check_id):
    """The check's result, or None when it does not apply to the fixture's CNIs."""
    return next((r for r in diagnosis.results if r.check.id == check_id), None)


@pytest.mark.parametrize("check,test", FIRES, ids=lambda x: getattr(x, "id", None) or getattr(x, "fixture", ""))
def test_fires_on_failure_fixture(check, test):
    overlay = check.folder / test.overlay if test.overlay else None
    d = analyze_path(fixture_bundle_path(test.fixture, check.folder), overlay)
    result = _result(d, check.id)
    assert result is not None, f"{check.id} does not apply to {test.fixture} (CNIs {d.detected_cnis})"
    assert result.status in (Status.FAIL, Status.WARN), f"{check.id} did not fire on {test.fixture}: {result}"
    finding = next(f for f in d.findings if f.check.id == check.id)
    if test.excerpt:
        excerpts = [e.excerpt for e in finding.evidence]
        assert any(test.excerpt in e for e in excerpts), f"{test.excerpt!r} not in {excerpts}"
    if test.nodes:
        assert finding.nodes == sorted(test.nodes), finding.nodes


@pytest.mark.parametrize("check,test", SILENT, ids=lambda x: getattr(x, "id", None) or getattr(x, "fixture", ""))
def test_silent_on_named_fixture(check, test):
    overlay = check.folder / test.overlay if test.overlay else None
    d = analyze_path(fixture_bundle_path(test.fixture, check.folder), overlay)
    result = _result(d, check.id)
    assert result is None or result.status in (Status.PASS, Status.GAP)


@pytest.mark.parametrize("fixture", healthy_fixtures())
def test_healthy_fixture_has_no_warning_or_worse(fixture):
    d = analyze_fixture(fixture)
    loud = [
        (f.check.id, f.evidence[0].excerpt if f.evidence else "")
        for f in d.findings
        if f.check.severity.value != "info"
    ]
    assert loud == []


def test_explains_names_known_checks():
    ids = {c.id for c in CHECKS}
    assert [(c.id, e) for c in CHECKS for e in c.explains if e not in ids] == []
