"""API faults through the local API server, systematically: every resource forbidden in turn, every
resource failing with 500 in turn, 429 storms, latency beyond the request timeout, resets in the middle
of paginated lists, expired continue tokens, and the API server dying mid-scan.

Each scan must finish within its deadline, list the damage as gaps, report only findings the fault-free
scan also reports (with evidence that is in the collected bundle), and — for the `cnidoctor scan` runs in
a subprocess — exit with the code its findings call for, without a traceback. The totals are printed in
pytest's summary (see conftest.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from cnidoctor.bundle.reader import Bundle
from cnidoctor.collect.live import Connection, collect_to
from cnidoctor.collect.progress import Progress
from cnidoctor.collect.runner import CollectResult
from cnidoctor.collect.session import CollectOptions
from cnidoctor.diagnose.engine import Diagnosis, diagnose
from tests.conftest import catalog
from tests.faults.totals import LOCK as _TOTALS_LOCK
from tests.faults.totals import TOTALS
from tests.live.conftest import fixture_bundle, kubeconfig, served

FIXTURE = fixture_bundle("case-CA-07")  # Calico with CRDs, logs and four findings
DEADLINE = 20.0  # --timeout of every scan
GRACE = 6.0  # writing and analysing after the deadline


@dataclass
class Scan:
    result: CollectResult
    diagnosis: Diagnosis
    requests: list
    elapsed: float

    @property
    def findings(self) -> set[str]:
        return {f.check.id for f in self.diagnosis.findings}

    def gaps_naming(self, resource: str) -> list:
        word = resource.split("/")[0]
        return [g for g in self.result.gaps if resource in g.reason or f"/{word}." in g.path or word in g.reason]


def scan(
    tmp_path: Path,
    *faults: str,
    request_timeout: float = 5.0,
    page_size_cap: int = 0,
    timeout: float = DEADLINE,
) -> Scan:
    """Collect FIXTURE through a local API server with FAULTS, then analyse what was collected."""
    out = tmp_path / ("scan-" + "-".join(f.replace(":", "_").replace("/", "_").replace("*", "all") for f in faults))
    out.mkdir()
    with served(FIXTURE, faults=faults, page_size_cap=page_size_cap) as server:
        conn = Connection(kubeconfig=str(kubeconfig(server, out)), request_timeout=request_timeout)
        started = time.monotonic()
        try:
            result = collect_to(out / "bundle", conn, CollectOptions(timeout=timeout), Progress(True))
            diagnosis = diagnose(Bundle.open([result.path]), catalog())
        except BaseException:
            with _TOTALS_LOCK:
                TOTALS["tracebacks"] += 1
            raise
        elapsed = time.monotonic() - started
    with _TOTALS_LOCK:
        TOTALS["scans"] += 1
        TOTALS["faults"] += sum(f.fired for f in server.faults.faults)
    return Scan(result, diagnosis, list(server.requests), elapsed)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Scan:
    clean = scan(tmp_path_factory.mktemp("baseline"))
    assert clean.result.gaps == [] and clean.findings, "the fault-free scan is the reference"
    return clean


def resources_of(clean: Scan) -> list[str]:
    return sorted({r.resource for r in clean.requests if r.resource})


def assert_sound(s: Scan, clean: Scan) -> None:
    """Within the deadline, no finding the fault-free scan lacks, every evidence path in the bundle."""
    assert s.elapsed < DEADLINE + GRACE, f"scan took {s.elapsed:.1f}s"
    assert s.findings <= clean.findings, f"fabricated: {sorted(s.findings - clean.findings)}"
    bundle = Bundle.open([s.result.path])
    for f in s.diagnosis.findings:
        for e in f.evidence:
            assert bundle.has(e.path) or e.path.startswith("nodes/"), f"{f.check.id}: evidence {e.path} not collected"
    manifest = json.loads((s.result.path / "manifest.json").read_text())
    assert len(manifest["gaps"]) == len(s.result.gaps)


# The resources the fault-free scan of FIXTURE reads (checked against its request log below).
RESOURCES = [
    "bgpconfigurations",
    "blockaffinities",
    "clusterinformations",
    "configmaps",
    "customresourcedefinitions",
    "daemonsets",
    "deployments",
    "endpoints",
    "events",
    "felixconfigurations",
    "ipamblocks",
    "ippools",
    "namespaces",
    "networkpolicies",
    "nodes",
    "pods",
    "pods/log",
    "replicasets",
    "replicationcontrollers",
    "services",
]


def test_resource_list_is_what_a_scan_reads(baseline: Scan) -> None:
    assert resources_of(baseline) == RESOURCES


MATRIX = [f"403:{r}" for r in RESOURCES] + [f"500:{r}:times=0" for r in RESOURCES]


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Scan]:
    """Every resource forbidden, then failing with 500, one scan each, six scans at a time."""
    root = tmp_path_factory.mktemp("matrix")
    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = {fault: pool.submit(scan, root, fault) for fault in MATRIX}
    return {fault: f.result() for fault, f in futures.items()}


@pytest.mark.parametrize("resource", RESOURCES)
def test_each_resource_forbidden_in_turn(matrix: dict[str, Scan], baseline: Scan, resource: str) -> None:
    s = matrix[f"403:{resource}"]
    assert_sound(s, baseline)
    named = s.gaps_naming(resource)
    assert named and all("403" in g.reason or "forbidden" in g.reason.lower() for g in named), s.result.gaps


@pytest.mark.parametrize("resource", RESOURCES)
def test_each_resource_failing_with_500_in_turn(matrix: dict[str, Scan], baseline: Scan, resource: str) -> None:
    s = matrix[f"500:{resource}:times=0"]
    assert_sound(s, baseline)
    assert s.gaps_naming(resource), s.result.gaps
    assert all(r.status == 500 for r in s.requests if r.resource == resource)


def test_429_storm_with_retry_after_is_waited_out(tmp_path: Path, baseline: Scan) -> None:
    """40 requests in a row answered 429: each waits its Retry-After; a request refused more often than
    the client retries is a gap naming the 429, the rest is collected."""
    s = scan(tmp_path, "429:*:times=40,retry_after=0.3")
    assert_sound(s, baseline)
    assert sum(1 for r in s.requests if r.status == 429) == 40
    assert all("429" in g.reason for g in s.result.gaps), s.result.gaps
    assert s.elapsed >= 0.3 * 40 / 16  # the waits happened (16 workers)


def test_429_without_end_becomes_gaps_within_the_deadline(tmp_path: Path, baseline: Scan) -> None:
    s = scan(tmp_path, "429:pods/log:times=0,retry_after=0.3", "429:events:times=0,retry_after=0.3")
    assert_sound(s, baseline)
    assert s.gaps_naming("events") and s.gaps_naming("pods/log")


def test_latency_spikes_beyond_the_request_timeout(tmp_path: Path, baseline: Scan) -> None:
    s = scan(tmp_path, "slow:nodes:delay=2,times=1", "slow:configmaps:delay=2,times=0", request_timeout=0.5)
    assert_sound(s, baseline)
    assert s.gaps_naming("configmaps"), s.result.gaps  # always slow: a gap
    assert not s.gaps_naming("nodes"), s.result.gaps  # one spike: the retry gets it


def test_latency_everywhere_ends_at_the_deadline(tmp_path: Path, baseline: Scan) -> None:
    s = scan(tmp_path, "slow:*:delay=1.5", request_timeout=5.0, timeout=3.0)
    assert s.result.timed_out
    assert s.elapsed < 3.0 + GRACE
    assert s.findings <= baseline.findings


PAGED = ("pods", "events", "nodes")  # lists of more than one page at two items a page


def test_connection_reset_in_the_middle_of_a_paginated_list(tmp_path: Path, baseline: Scan) -> None:
    s = scan(tmp_path, *(f"reset:{r}" for r in PAGED), page_size_cap=2)
    assert_sound(s, baseline)
    assert s.result.gaps == [] and s.findings == baseline.findings
    for resource in PAGED:  # the reset page was asked again
        pages = [r.query["continue"] for r in s.requests if r.resource == resource and r.query.get("continue")]
        assert len(pages) == len(set(pages)) + 1, resource


def test_expired_continue_token_restarts_the_list(tmp_path: Path, baseline: Scan) -> None:
    s = scan(tmp_path, *(f"410:{r}" for r in PAGED), page_size_cap=2)
    assert_sound(s, baseline)
    assert s.result.gaps == [] and s.findings == baseline.findings
    for resource in PAGED:  # answered 410 once, then listed again from the start
        assert any(r.resource == resource and r.status == 410 for r in s.requests), resource
        assert sum(1 for r in s.requests if r.resource == resource and not r.query.get("continue")) == 2, resource


# -- the real command in a subprocess ---------------------------------------------------------------


def _report_exit(report: dict) -> int:
    severities = {f["severity"] for f in report["findings"]}
    return 3 if "critical" in severities else 4 if "warning" in severities else 0


def _serve(tmp_path: Path, *faults: str) -> tuple[subprocess.Popen, Path]:
    """`cnidoctor serve FIXTURE` in its own process, with its kubeconfig written to a file."""
    config = tmp_path / "kubeconfig"
    args = [sys.executable, "-m", "cnidoctor", "serve", str(FIXTURE), "--write-kubeconfig", str(config)]
    for f in faults:
        args += ["--fault", f]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    assert proc.stderr is not None
    line = proc.stderr.readline()  # "serving ... at http://127.0.0.1:PORT"
    assert "serving" in line, line
    return proc, config


def _scan_cli(tmp_path: Path, config: Path, *extra: str) -> tuple[subprocess.CompletedProcess, dict, float]:
    report = tmp_path / "report.json"
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "cnidoctor", "scan", "--kubeconfig", str(config), "-f", "json", "-o", str(report)]
        + ["--timeout", f"{DEADLINE:g}s", "--request-timeout", "3s", "-q", *extra],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "CNIDOCTOR_DEBUG"},
        timeout=DEADLINE + 60,
    )
    elapsed = time.monotonic() - started
    with _TOTALS_LOCK:
        TOTALS["tracebacks"] += int("Traceback" in proc.stderr or proc.returncode == 1)
        TOTALS["scans"] += 1
    return proc, json.loads(report.read_text()) if report.is_file() else {}, elapsed


def test_scan_exit_code_follows_findings_under_a_fault(tmp_path: Path, baseline: Scan) -> None:
    server, config = _serve(tmp_path, "403:pods/log", "429:nodes:times=3,retry_after=0.5")
    try:
        proc, report, elapsed = _scan_cli(tmp_path, config)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)
    with _TOTALS_LOCK:
        TOTALS["faults"] += 1 + 3
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == _report_exit(report), (proc.returncode, report.get("findings"))
    assert {f["id"] for f in report["findings"]} <= baseline.findings
    assert any("pods/log" in g["reason"] and "403" in g["reason"] for g in report["gaps"])
    assert elapsed < DEADLINE + 30


def _killed_after(tmp_path: Path, after: int) -> tuple[subprocess.CompletedProcess, dict, float, bool]:
    """`cnidoctor scan` against a `cnidoctor serve` process that is killed after AFTER requests."""
    server, config = _serve(tmp_path)
    assert server.stderr is not None
    seen = threading.Event()

    def watch() -> None:
        count = 0
        for line in server.stderr:  # one request-log line per request
            if line.startswith("GET "):
                count += 1
                if count == after:
                    server.kill()
                    seen.set()
                    return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        proc, report, elapsed = _scan_cli(tmp_path, config)
    finally:
        server.kill()
        server.wait(timeout=10)
    with _TOTALS_LOCK:
        TOTALS["faults"] += 1
    return proc, report, elapsed, seen.is_set()


KILL_AFTER = (5, 30)  # during discovery; during the lists and logs


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple]:
    """Both kills at once (each its own server and scan process)."""
    with ThreadPoolExecutor(max_workers=len(KILL_AFTER)) as pool:
        futures = {n: pool.submit(_killed_after, tmp_path_factory.mktemp(f"killed-{n}"), n) for n in KILL_AFTER}
    return {n: f.result() for n, f in futures.items()}


@pytest.mark.parametrize("after", KILL_AFTER)
def test_api_server_going_away_mid_scan(killed: dict[int, tuple], baseline: Scan, after: int) -> None:
    """The API server process is killed after AFTER requests: the scan ends, with gaps, by its deadline."""
    proc, report, elapsed, seen = killed[after]
    assert seen, "the scan ended before the server was killed"
    assert "Traceback" not in proc.stderr, proc.stderr
    assert elapsed < DEADLINE + 30, f"{elapsed:.1f}s"
    if proc.returncode == 2:  # nothing could be collected at all: one clear line (after the report of gaps)
        assert proc.stderr.startswith("error: "), proc.stderr
        assert report == {} or (report["gaps"] and not report["findings"]), report
        return
    assert proc.returncode == _report_exit(report), (proc.returncode, report.get("findings"))
    assert report["gaps"], "a scan cut short must list what it could not collect"
    assert {f["id"] for f in report["findings"]} <= baseline.findings
