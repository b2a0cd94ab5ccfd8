"""Hostile and broken bundles through the real CLI, each in its own process under a 2 GiB address-space cap.

Every case of `corpus.CORPUS` is run as `cnidoctor analyze` (JSON report to a file; terminal and Markdown
to stdout) in a forked child of a warm process (see forkserver.py) with its own working folder, HOME and
TMPDIR. The outcome must be the expected one: a finished analysis listing the damage as gaps, or
`error: <one line>` with exit 2. Never a traceback, never a signal, never a timeout, never a finding the
damage does not explain, never a control character on the reader's terminal, and nothing written
anywhere but the chosen report file. A few cases also run as a fresh `python -m cnidoctor` process.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hostile.corpus import BASE, CORPUS, ROOT, SUMMARY, Case, Finished, Refused, build_all

MEM = 2 << 30  # RLIMIT_AS of every run
TIMEOUT = 120.0  # seconds per run; a run this slow is a failure, not a skip
UTF8_ENV = {"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "PYTHONUTF8": "0", "NO_COLOR": "1", "CNIDOCTOR_WIDTH": "100"}
# What must never reach a terminal from a report: C0 controls but tab/newline, DEL, C1, bidi controls.
UNSAFE_OUTPUT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
BY_NAME = {c.name: c for c in CORPUS}


def _snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under ROOT (links not followed): type, size and modification time."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            out[os.path.relpath(full, root)] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


def _jobs(case: Case, inputs: list[Path], where: Path, captured: Path) -> list[dict]:
    jobs = []
    for fmt in case.runs:
        args = ["analyze", *map(str, inputs), "-f", fmt]
        if fmt == "json":
            args += ["-o", str(where / "out" / "report.json")]
        jobs.append(
            {
                "id": f"{case.name}:{fmt}",
                "args": args,
                "cwd": str(where / "cwd"),
                "stdout": str(captured / f"{case.name}.{fmt}.stdout"),
                "stderr": str(captured / f"{case.name}.{fmt}.stderr"),
                "env": {"HOME": str(where / "home"), "TMPDIR": str(where / "tmp")},
                "timeout": TIMEOUT,
                "mem": case.mem,
            }
        )
    return jobs


@pytest.fixture(scope="module")
def corpus_runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("hostile")
    cases_root, captured = base / "cases", base / "captured"
    captured.mkdir()
    inputs = build_all(cases_root)
    jobs = []
    for case in CORPUS:
        where = cases_root / case.name
        for sub in ("cwd", "out", "home", "tmp"):
            (where / sub).mkdir()
        jobs += _jobs(case, inputs[case.name], where, captured)
    before = _snapshot(cases_root)
    env = {**os.environ, **UTF8_ENV, "CNIDOCTOR_WARM_BUNDLE": str(BASE)}
    env.pop("CNIDOCTOR_DEBUG", None)
    proc = subprocess.run(
        [sys.executable, "-m", "tests.hostile.forkserver"],
        input=json.dumps({"jobs": jobs, "parallel": 2}),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = {r["id"]: r for r in json.loads(proc.stdout)}
    for r in results.values():
        name, fmt = r["id"].split(":")
        r["stdout"] = (captured / f"{name}.{fmt}.stdout").read_bytes()
        r["stderr"] = (captured / f"{name}.{fmt}.stderr").read_bytes().decode("utf-8", "replace")
    return {"results": results, "before": before, "after": _snapshot(cases_root), "root": cases_root}


def _check_run(case: Case, fmt: str, r: dict, root: Path) -> None:
    where = f"{case.name} ({fmt})"
    assert not r["timed_out"], f"{where}: still running after {TIMEOUT}s"
    assert r["signal"] is None, f"{where}: killed by signal {r['signal']}"
    assert "Traceback" not in r["stderr"], f"{where}: traceback\n{r['stderr'][-3000:]}"
    assert r["exit"] not in (1, 99), f"{where}: internal error: {r['stderr'][-1500:]}"
    assert r["maxrss_kib"] * 1024 < case.mem, f"{where}: peak RSS {r['maxrss_kib']} KiB"
    report = root / case.name / "out" / "report.json"
    if isinstance(case.expect, Refused):
        lines = r["stderr"].strip().splitlines()
        assert r["exit"] == 2, f"{where}: exit {r['exit']}, expected 2: {r['stderr'][-800:]}"
        assert lines and lines[0].startswith("error: "), f"{where}: {r['stderr']!r}"
        assert case.expect.message in lines[0], f"{where}: {lines[0]!r}"
        assert all(ln.startswith(("error: ", "hint: ")) for ln in lines), f"{where}: {lines}"
        assert r["stdout"] == b""
        assert not report.exists()
        return
    expect: Finished = case.expect
    assert r["exit"] == expect.exit, f"{where}: exit {r['exit']}, expected {expect.exit}: {r['stderr'][-800:]}"
    assert r["stderr"].strip() == "", f"{where}: stderr {r['stderr'][-800:]!r}"
    if fmt == "json":
        doc = json.loads(report.read_text(encoding="utf-8"))
        gaps = [(g["path"], g["reason"]) for g in doc["gaps"]]
        for path_part, reason_part in expect.gaps:
            assert any(path_part in p and reason_part in why for p, why in gaps), (
                f"{where}: no gap ({path_part!r}, {reason_part!r}) in {gaps}"
            )
        fired = {f["id"] for f in doc["findings"]}
        assert fired <= set(expect.findings), f"{where}: findings {sorted(fired)} not explained by the damage"
        commands = [s["command"] or "" for f in doc["findings"] for s in f["remediation"]]
        assert not [c for c in commands if "PWNED" in c], f"{where}: a bundle value was pasted into a command"
    else:
        text = r["stdout"].decode("utf-8")  # strict: the report is valid UTF-8
        assert text.strip(), f"{where}: empty report"
        bad = UNSAFE_OUTPUT.search(text)
        assert bad is None, (
            f"{where}: {bad.group(0)!r} reached the terminal: {text[max(0, bad.start() - 60) :][:120]!r}"
        )


@pytest.mark.parametrize("name", [c.name for c in CORPUS])
def test_hostile_input(corpus_runs: dict, name: str) -> None:
    case = BY_NAME[name]
    for fmt in case.runs:
        _check_run(case, fmt, corpus_runs["results"][f"{name}:{fmt}"], corpus_runs["root"])


def test_nothing_written_outside_the_report(corpus_runs: dict) -> None:
    before, after = corpus_runs["before"], corpus_runs["after"]
    added = sorted(set(after) - set(before))
    allowed = {f"{c.name}/out/report.json" for c in CORPUS if isinstance(c.expect, Finished) and "json" in c.runs}
    assert set(added) <= allowed, f"written outside the report: {sorted(set(added) - allowed)}"
    assert not set(before) - set(after), f"removed: {sorted(set(before) - set(after))}"
    changed = [p for p in before if p in after and before[p] != after[p] and not p.endswith(("/out", "/cwd"))]
    assert changed == [], f"modified: {changed}"
    for outside in ("/etc/cnidoctor-escaped", "/tmp/ESCAPED-dotdot", "/ESCAPED-dotdot"):
        assert not Path(outside).exists()


def test_corpus_size_and_totals(corpus_runs: dict) -> None:
    """The corpus the issue asks for (at least 40 inputs), and one line of totals for the CI log."""
    results = corpus_runs["results"].values()
    refused = sum(1 for c in CORPUS if isinstance(c.expect, Refused))
    tracebacks = sum(1 for r in results if "Traceback" in r["stderr"] or r["exit"] in (1, 99))
    peak = max(r["maxrss_kib"] for r in results) // 1024
    assert len(CORPUS) >= 40
    SUMMARY.append(
        f"hostile corpus: {len(CORPUS)} inputs ({len(CORPUS) - refused} finished with gaps, {refused} refused), "
        f"{len(results)} runs under RLIMIT_AS {MEM >> 30} GiB, peak RSS {peak} MiB, tracebacks: {tracebacks}"
    )
    assert tracebacks == 0


FRESH = ["tar-bad-member-names", "fs-undecodable-names", "json-wrong-value-types", "zip-archive"]


@pytest.mark.parametrize("name", FRESH)
def test_fresh_process(tmp_path: Path, name: str) -> None:
    """The same outcome from a fresh `python -m cnidoctor` under the same memory cap (no fork server)."""
    case = BY_NAME[name]
    (tmp_path / "in").mkdir()
    inputs = case.build(tmp_path / "in")

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEM, MEM))

    env = {**os.environ, **UTF8_ENV, "HOME": str(tmp_path), "TMPDIR": str(tmp_path)}
    env.pop("CNIDOCTOR_DEBUG", None)
    proc = subprocess.run(
        [sys.executable, "-m", "cnidoctor", "analyze", *map(str, inputs)],
        capture_output=True,
        cwd=tmp_path,
        env=env,
        preexec_fn=cap,
        timeout=TIMEOUT,
    )
    r = {"timed_out": False, "signal": None, "exit": proc.returncode, "maxrss_kib": 0}
    r |= {"stdout": proc.stdout, "stderr": proc.stderr.decode("utf-8", "replace")}
    _check_run(case, "terminal", r, tmp_path)
