"""Injected faults: each one ends in a finished collection, the right gap (or a recovery), no traceback."""

from __future__ import annotations

import json
import time

from cnidoctor.bundle.reader import Bundle
from cnidoctor.cli.common import FailOn, exit_code
from cnidoctor.collect.live import Connection, collect_to
from cnidoctor.collect.progress import Progress
from cnidoctor.collect.session import CollectOptions
from cnidoctor.diagnose.engine import diagnose
from tests.conftest import catalog
from tests.live.conftest import fixture_bundle, gets_only, kubeconfig, served

FIXTURE = fixture_bundle("case-CA-07")


def collect(tmp_path, faults=(), page_size_cap=0, **options):  # noqa: ANN001, ANN003, ANN201
    with served(FIXTURE, faults=faults, page_size_cap=page_size_cap) as server:
        conn = Connection(kubeconfig=str(kubeconfig(server, tmp_path)), request_timeout=options.pop("rt", 30.0))
        result = collect_to(tmp_path / "out", conn, CollectOptions(**options), Progress(True))
    assert gets_only(server)
    return server, result


def pods_of(path) -> list[str]:  # noqa: ANN001
    return sorted(p["metadata"]["name"] for p in Bundle.open([path]).namespaced_items("pods"))


EXPECTED_PODS = pods_of(FIXTURE)


def test_forbidden_list_is_a_gap_with_the_rule_and_the_rest_is_collected(tmp_path):
    _, result = collect(tmp_path, faults=("403:events",))
    [gap] = result.gaps
    assert gap.path == "cluster/*/events.json"
    assert gap.reason.startswith("list events (all namespaces): 403 Forbidden: events is forbidden")
    assert 'allow with the RBAC rule {apiGroups: [""], resources: ["events"], verbs: ["list"]}' in gap.reason
    assert pods_of(result.path) == EXPECTED_PODS
    manifest = json.loads((result.path / "manifest.json").read_text())
    assert manifest["gaps"] == [gap.to_dict()]


def test_429_is_retried_after_retry_after(tmp_path):
    started = time.monotonic()
    server, result = collect(tmp_path, faults=("429:nodes:times=2,retry_after=1",))
    assert result.gaps == []
    assert [r.status for r in server.requests if r.resource == "nodes"] == [429, 429, 200]
    assert time.monotonic() - started >= 2.0
    assert (result.path / "cluster" / "nodes.json").is_file()


def test_429_is_retried_ten_times_like_client_go(tmp_path):
    server, result = collect(tmp_path, faults=("429:nodes:times=0,retry_after=0.05",))
    assert [r.status for r in server.requests if r.resource == "nodes"] == [429] * 11  # the request and 10 retries
    [gap] = [g for g in result.gaps if "nodes" in g.reason]
    assert gap.reason.startswith("list nodes: 429 ")


def test_429_retries_never_wait_past_the_global_timeout(tmp_path):
    started = time.monotonic()
    server, result = collect(tmp_path, faults=("429:nodes:times=0,retry_after=1",), timeout=2.5)
    elapsed = time.monotonic() - started
    # sent about 1 s apart from the start (2 or 3 times, as the start is early or late): a wait that would end
    # past the 2.5 s timeout is not taken, although 10 retries are allowed
    statuses = [r.status for r in server.requests if r.resource == "nodes"]
    assert statuses in ([429] * 2, [429] * 3)
    assert elapsed < 4.5
    assert any(g.reason.startswith("list nodes: 429 ") for g in result.gaps), result.gaps


def test_persistent_500_is_retried_four_times(tmp_path):
    server, result = collect(tmp_path, faults=("500:daemonsets:times=0",))
    assert [r.status for r in server.requests if r.resource == "daemonsets"] == [500] * 5
    assert any("daemonsets" in g.reason and "500" in g.reason for g in result.gaps), result.gaps


def test_500_is_retried(tmp_path):
    server, result = collect(tmp_path, faults=("500:daemonsets:times=2",))
    assert result.gaps == []
    assert [r.status for r in server.requests if r.resource == "daemonsets"] == [500, 500, 200]


def test_persistent_500_on_logs_becomes_gaps_per_stream(tmp_path):
    _, result = collect(tmp_path, faults=("500:pods/log:times=0",))
    assert result.gaps and all(g.reason.startswith("get pods/log ") and "500" in g.reason for g in result.gaps)
    assert pods_of(result.path) == EXPECTED_PODS


def test_connection_reset_in_the_middle_of_a_paginated_list_is_retried(tmp_path):
    server, result = collect(tmp_path, faults=("reset:pods",), page_size_cap=4)
    assert result.gaps == []
    assert pods_of(result.path) == EXPECTED_PODS
    pages = [r for r in server.requests if r.resource == "pods" and r.query.get("continue")]
    assert len(pages) == len({r.query["continue"] for r in pages}) + 1  # one page asked twice


def test_expired_continue_token_restarts_the_list(tmp_path):
    server, result = collect(tmp_path, faults=("410:pods",), page_size_cap=4)
    assert result.gaps == []
    assert pods_of(result.path) == EXPECTED_PODS
    firsts = [r for r in server.requests if r.resource == "pods" and not r.query.get("continue")]
    assert len(firsts) == 2 and any(r.status == 410 for r in server.requests)


def test_not_found_custom_resource_is_a_gap(tmp_path):
    _, result = collect(tmp_path, faults=("404:ippools",))
    assert [g.path for g in result.gaps] == ["cluster/ippools.crd.projectcalico.org.json"]
    assert "404" in result.gaps[0].reason


def test_slow_request_times_out_into_a_gap(tmp_path):
    _, result = collect(tmp_path, faults=("slow:services:delay=3",), rt=0.5)
    [gap] = result.gaps
    assert gap.reason.startswith("list services (all namespaces): request to http://127.0.0.1:")
    assert "timed out" in gap.reason


def test_global_timeout_ends_with_a_partial_bundle_and_a_diagnosis(tmp_path):
    started = time.monotonic()
    _, result = collect(tmp_path, faults=("slow:pods/log:delay=5",), timeout=2.0)
    assert time.monotonic() - started < 4.5
    assert result.timed_out
    assert any("global --timeout of 2s was reached" in g.reason or "timed out" in g.reason for g in result.gaps)
    assert pods_of(result.path) == EXPECTED_PODS
    d = diagnose(Bundle.open([result.path]), catalog())
    assert int(exit_code(d, FailOn.warning)) in (0, 3, 4)


def test_scan_with_a_fault_finishes_with_exit_code_by_findings(tmp_path, run_cli):
    with served(FIXTURE, faults=("403:pods/log",)) as server:
        code, out, err = run_cli(
            "scan",
            "--kubeconfig",
            str(kubeconfig(server, tmp_path)),
            "--format",
            "json",
            "--save-bundle",
            str(tmp_path / "b"),
        )
    report = json.loads(out)
    assert "Traceback" not in err
    log_gaps = [g for g in report["gaps"] if g["source"] == "collect"]
    assert log_gaps and all("pods/log" in g["reason"] and "403" in g["reason"] for g in log_gaps)
    expected = exit_code(diagnose(Bundle.open([tmp_path / "b"]), catalog()), FailOn.warning)
    assert code == int(expected)
    assert [f["id"] for f in report["findings"]] == [
        f.check.id for f in diagnose(Bundle.open([tmp_path / "b"]), catalog()).findings
    ]
