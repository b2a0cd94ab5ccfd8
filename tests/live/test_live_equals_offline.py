"""Live equals offline: serve every fixture, collect it through the real client, and the diagnosis of the
collected bundle (plus the fixture's node state, which no API serves) equals `analyze` of the fixture."""

from __future__ import annotations

import json

import pytest

from cnidoctor.bundle.reader import Bundle
from cnidoctor.collect.live import Connection, collect_to
from cnidoctor.collect.progress import Progress
from cnidoctor.collect.session import CollectOptions
from cnidoctor.diagnose.engine import diagnose
from tests.conftest import analyze_fixture, catalog, fixture_names
from tests.live.conftest import catalog_scopes, fixture_bundle, gets_only, kubeconfig, node_bundle, served


def ids(diagnosis) -> list[str]:  # noqa: ANN001
    return [f.check.id for f in diagnosis.findings]


@pytest.mark.parametrize("name", fixture_names())
def test_collected_bundle_diagnoses_like_the_fixture(name, tmp_path):
    bundle = fixture_bundle(name)
    with served(bundle) as server:
        conn = Connection(kubeconfig=str(kubeconfig(server, tmp_path)))
        result = collect_to(tmp_path / "live", conn, CollectOptions(log_scopes=catalog_scopes()), Progress(True))
    assert gets_only(server)
    assert not [g for g in result.gaps if "403" in g.reason or "500" in g.reason or "timeout" in g.reason]
    live = diagnose(Bundle.open([result.path, *node_bundle(bundle, tmp_path)]), catalog())
    offline = analyze_fixture(name)
    assert ids(live) == ids(offline)
    assert live.detected_cnis == offline.detected_cnis
    assert {f.check.id: f.explained_by for f in live.findings} == {f.check.id: f.explained_by for f in offline.findings}


@pytest.mark.parametrize("name", ["case-CA-07", "case-FL-01"])
def test_scan_command_equals_analyze(name, tmp_path, run_cli):
    """The whole command: same findings, same exit code, report on stdout."""
    bundle = fixture_bundle(name)
    code_off, out_off, _ = run_cli("analyze", str(bundle), "--format", "json")
    with served(bundle) as server:
        code, out, err = run_cli(
            "scan",
            *node_bundle(bundle, tmp_path),
            "--kubeconfig",
            str(kubeconfig(server, tmp_path)),
            "--format",
            "json",
        )
    assert code == code_off, err
    assert [f["id"] for f in json.loads(out)["findings"]] == [f["id"] for f in json.loads(out_off)["findings"]]
    assert "collect:" in err and "Traceback" not in err
    assert gets_only(server)
