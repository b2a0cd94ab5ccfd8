"""CLI behaviour: exit codes, bad input, formats, select/ignore, user check folders and check packs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest

from tests.conftest import FIXTURES

CASE = str(FIXTURES / "case-FL-01")


def test_analyze_critical_exit_3_and_json(run_cli):
    code, out, err = run_cli("analyze", CASE, "--format", "json")
    assert code == 3
    doc = json.loads(out)
    assert doc["findings"][0]["id"] == "GEN001"
    assert {"cnidoctor_version", "source", "detected_cnis", "findings", "gaps", "summary"} <= set(doc)
    assert doc["detected_cnis"] == ["flannel"]
    assert err == ""


def test_fail_on_never_and_critical(run_cli):
    assert run_cli("analyze", CASE, "--fail-on", "never", "-f", "json")[0] == 0
    assert run_cli("analyze", CASE, "--fail-on", "critical", "-f", "json")[0] == 3


def test_warnings_only_exit_4(run_cli):
    code, out, _ = run_cli("analyze", CASE, "--select", "GEN103", "-f", "json")
    assert [f["id"] for f in json.loads(out)["findings"]] == ["GEN103"]
    assert code == 4
    assert run_cli("analyze", CASE, "--select", "GEN103", "--fail-on", "critical", "-f", "json")[0] == 0


def test_select_and_ignore_by_prefix(run_cli):
    _, out, _ = run_cli("analyze", CASE, "--select", "FLN", "-f", "json")
    assert {f["id"] for f in json.loads(out)["findings"]} == {"FLN001", "FLN002"}
    _, out, _ = run_cli("analyze", CASE, "--ignore", "GEN,FLN002", "-f", "json")
    assert {f["id"] for f in json.loads(out)["findings"]} == {"FLN001"}


def test_markdown_report(run_cli):
    code, out, _ = run_cli("analyze", CASE, "--format", "markdown")
    assert code == 3
    assert out.startswith("## cnidoctor report")
    assert "### 🔴 GEN001 kube-controller-manager does not allocate node pod CIDRs" in out
    assert "node-ipam-controller" in out


def test_report_to_file(run_cli, tmp_path):
    target = tmp_path / "r.json"
    code, out, _ = run_cli("analyze", CASE, "-f", "json", "-o", str(target))
    assert code == 3 and out == ""
    assert json.loads(target.read_text())["findings"]


@pytest.mark.parametrize(
    "args,message",
    [
        (["analyze", "/nonexistent/bundle"], "error: /nonexistent/bundle: no such file or directory"),
        (["analyze", str(FIXTURES.parent / "checks")], "is not a cnidoctor bundle"),
        (["analyze", CASE, "--format", "xml"], "error: "),
        (["checks", "explain", "NOPE999"], "error: no check with id 'NOPE999'"),
        (["analyze", CASE, "--checks-dir", "/nonexistent"], "error: --checks-dir /nonexistent: not a directory"),
    ],
)
def test_bad_input_is_one_line_exit_2(args, message, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "cnidoctor", *args], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[0].startswith("error: ")


def test_empty_folder_exit_2(run_cli, tmp_path):
    code, _, err = run_cli("analyze", str(tmp_path))
    assert code == 2 and err.startswith("error: ") and "empty" in err


def test_checks_list_and_explain(run_cli):
    code, out, _ = run_cli("checks", "list", "--format", "json")
    ids = [c["id"] for c in json.loads(out)]
    assert code == 0 and "GEN001" in ids and ids == sorted(ids)
    code, out, _ = run_cli("checks", "explain", "fln001")
    assert code == 0
    assert out.startswith("FLN001 flannel-pod-cidr-not-assigned")
    explained_by = next(line for line in out.splitlines() if line.startswith("Explained by:"))
    assert "GEN001" in explained_by and "References:" in out


def test_version(run_cli):
    from cnidoctor import __version__

    assert run_cli("version") == (0, f"cnidoctor {__version__}\n", "")


USER_CHECK = """
id: GEN999
name: user-defined-flannel-restarts
title: A user check about flannel restarts
cni: generic
severity: warning
kind: root-cause
symptom: flannel pods restarted more than twice in this cluster today.
root_cause: A user-defined check used to prove that custom catalogs load and run like built-ins.
remediation:
  - step: Look at the restarted pod.
    command: kubectl -n {namespace} describe pod {pod}
references: [https://example.com/runbook]
match:
  - template: pod_status
    pods: {pod: 'kube-flannel-.*'}
    min_restarts: 3
"""


def _user_catalog(root: Path) -> Path:
    d = root / "mychecks" / "GEN999-user-defined-flannel-restarts"
    d.mkdir(parents=True)
    (d / "check.yaml").write_text(textwrap.dedent(USER_CHECK))
    return root / "mychecks"


def test_checks_dir_adds_user_checks(run_cli, tmp_path):
    cat = _user_catalog(tmp_path)
    code, out, _ = run_cli("analyze", CASE, "--checks-dir", str(cat), "--select", "GEN999", "-f", "json")
    finding = json.loads(out)["findings"][0]
    assert finding["id"] == "GEN999" and finding["affected"]["nodes"] == ["node-3"]
    assert code == 4


def test_invalid_user_check_is_one_line_error(run_cli, tmp_path):
    cat = _user_catalog(tmp_path)
    f = cat / "GEN999-user-defined-flannel-restarts" / "check.yaml"
    f.write_text(f.read_text().replace("severity: warning", "severity: bad"))
    code, _, err = run_cli("analyze", CASE, "--checks-dir", str(cat))
    assert code == 2 and "severity must be" in err


def test_check_pack_entry_point(tmp_path):
    """A check pack installed as a distribution registers its folder in the `cnidoctor.checks` group."""
    cat = _user_catalog(tmp_path)
    site = tmp_path / "site"
    pkg = site / "mypack"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(f"def checks_dir():\n    return {str(cat)!r}\n")
    dist = site / "mypack-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mypack\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[cnidoctor.checks]\nmypack = mypack:checks_dir\n")
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "cnidoctor", "checks", "explain", "GEN999"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "user-defined-flannel-restarts" in proc.stdout


def test_select_or_ignore_naming_no_check_is_exit_2(run_cli):
    code, _, err = run_cli("analyze", CASE, "--select", "GEN999")
    assert code == 2 and err.startswith("error: --select GEN999: no check ID starts with it")
    code, _, err = run_cli("analyze", CASE, "--ignore", "XYZ")
    assert code == 2 and "--ignore XYZ" in err


def test_a_user_check_that_raises_is_a_gap_naming_it(run_cli, tmp_path):
    cat = _user_catalog(tmp_path)
    folder = cat / "GEN999-user-defined-flannel-restarts"
    text = (folder / "check.yaml").read_text()
    text = text[: text.index("match:")] + "python: check.py\n"
    (folder / "check.yaml").write_text(text)
    (folder / "check.py").write_text("def evaluate(ctx, check):\n    raise RuntimeError('boom')\n")
    code, out, _ = run_cli("analyze", CASE, "--checks-dir", str(cat), "--select", "GEN999", "-f", "json")
    doc = json.loads(out)
    assert code == 0
    assert doc["checks"] == [{"id": "GEN999", "status": "GAP", "missing": doc["checks"][0]["missing"]}]
    assert "RuntimeError: boom" in doc["checks"][0]["missing"]
    assert any(g["path"] == "GEN999" and "boom" in g["reason"] for g in doc["gaps"])
    code, out, _ = run_cli("analyze", CASE, "--checks-dir", str(cat), "--select", "GEN999", "--width", "200")
    assert "No problems found by the checks that could run; 1 check could not be evaluated" in out


def test_version_flag(run_cli):
    from cnidoctor import __version__

    assert run_cli("--version")[:2] == (0, f"cnidoctor {__version__}\n")


def test_explain_shows_placeholders_not_braces(run_cli):
    _, out, _ = run_cli("checks", "explain", "GEN103")
    assert "<namespace>" in out and "{namespace}" not in out


def test_a_check_module_calling_sys_exit_is_not_a_healthy_run(run_cli, tmp_path):
    cat = _user_catalog(tmp_path)
    folder = cat / "GEN999-user-defined-flannel-restarts"
    text = (folder / "check.yaml").read_text()
    (folder / "check.yaml").write_text(text[: text.index("match:")] + "python: check.py\n")
    (folder / "check.py").write_text("def evaluate(ctx, check):\n    raise SystemExit(0)\n")
    code, out, _ = run_cli("analyze", CASE, "--checks-dir", str(cat), "--select", "GEN999", "-f", "json")
    assert code == 0 and json.loads(out)["checks"][0]["status"] == "GAP"
    cat = _user_catalog(tmp_path / "two")  # a new module path: the first one is loaded already
    folder = cat / "GEN999-user-defined-flannel-restarts"
    (folder / "check.yaml").write_text(text[: text.index("match:")] + "python: check.py\n")
    (folder / "check.py").write_text("import sys\nsys.exit(0)\n")
    code, out, err = run_cli("analyze", CASE, "--checks-dir", str(cat), "--select", "GEN999")
    assert code == 2 and "failed to import: SystemExit" in err and len(err.strip().splitlines()) == 1


def test_selected_checks_that_do_not_apply_are_not_a_healthy_cluster(run_cli):
    code, out, err = run_cli("analyze", CASE, "--select", "CAL", "--width", "200")
    assert code == 2
    assert err.startswith("error: none of the selected checks applies to this bundle (CNIs detected: flannel;")
    assert "nothing was evaluated" in out and "No problems found" not in out
    code, out, _ = run_cli("analyze", CASE, "--select", "GEN001", "--ignore", "GEN001", "-f", "markdown")
    assert code == 2 and "No check applies to this bundle" in out


def test_report_never_overwrites_the_bundle(run_cli, tmp_path):
    bundle = tmp_path / "b"
    shutil.copytree(FIXTURES / "case-FL-01", bundle)
    nodes = next(bundle.rglob("nodes.json"))
    before = nodes.read_bytes()
    for target in (nodes, bundle / "report.txt"):
        code, _, err = run_cli("analyze", str(bundle), "-o", str(target))
        assert code == 2 and "would overwrite the bundle being analysed" in err
    assert nodes.read_bytes() == before and not (bundle / "report.txt").exists()
    archive = tmp_path / "b.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(bundle, arcname="b")
    size = archive.stat().st_size
    assert run_cli("analyze", str(archive), "-o", str(archive))[0] == 2
    assert archive.stat().st_size == size


def test_a_pipe_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    proc = subprocess.run(
        [sys.executable, "-m", "cnidoctor", "analyze", str(fifo)], capture_output=True, text=True, timeout=60
    )
    assert (
        proc.returncode == 2
        and proc.stderr == f"error: {fifo}: not a regular file or folder (save a pipe's output to a file first)\n"
    )


def test_merging_keeps_every_bundles_gaps_and_names_overlaps(run_cli, tmp_path):
    cluster = tmp_path / "cluster-bundle"
    shutil.copytree(FIXTURES / "case-FL-01" / "bundle", cluster / "cluster")
    gap = {"path": "cluster/kube-system/pods.json", "reason": "forbidden: list pods", "source": "collect"}
    (cluster / "manifest.json").write_text(json.dumps({"created": "2026-11-20T10:00:00Z", "gaps": [gap]}))
    node_bundles = []
    for name in ("node-a", "node-b"):
        nb = tmp_path / name
        (nb / "nodes" / "node-3").mkdir(parents=True)
        (nb / "nodes" / "node-3" / "sysctl.txt").write_text("net.ipv4.ip_forward = 1\n")
        node_gap = {"path": "nodes/node-3/conntrack-S.txt", "reason": f"{name}: conntrack not found"}
        (nb / "manifest.json").write_text(json.dumps({"gaps": [node_gap]}))
        node_bundles.append(str(nb))
    code, out, _ = run_cli("analyze", str(cluster), *node_bundles, "-f", "json")
    reasons = [g["reason"] for g in json.loads(out)["gaps"]]
    assert "forbidden: list pods" in reasons  # the cluster bundle's gaps survive the merge
    assert "node-a: conntrack not found" in reasons and "node-b: conntrack not found" in reasons
    assert any(r.startswith("1 file(s) are in both") and "the same node twice" in r for r in reasons)


@pytest.mark.parametrize("fmt", ["terminal", "json", "markdown"])
def test_a_reader_closing_stdout_early_is_exit_141_without_noise(fmt):
    """`cnidoctor analyze ... | head`: the pipe's reader is gone before the report is written."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "cnidoctor", "analyze", CASE, "-f", fmt],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # closed before the interpreter has even started: every write fails
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 141 and err == b""
