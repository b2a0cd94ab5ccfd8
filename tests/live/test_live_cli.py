"""The live commands' surface: connection errors, kubeconfig resolution, output, flags, progress."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from cnidoctor.bundle.reader import Bundle
from tests.live.conftest import ROOT, fixture_bundle, gets_only, kubeconfig, served

FIXTURE = fixture_bundle("case-CA-07")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(path, server: str, context: str = "ctx-a", current: str | None = "") -> str:  # noqa: ANN001
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: c-{context}\n  cluster:\n    server: {server}\n"
        f"contexts:\n- name: {context}\n  context:\n    cluster: c-{context}\n    user: u\n"
        + (f"current-context: {current or context}\n" if current is not None else "")
        + "users:\n- name: u\n  user: {}\n",
        encoding="utf-8",
    )
    return str(path)


def one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("command", ["scan", "collect"])
def test_unreachable_server_is_one_line_naming_context_and_server(command, tmp_path, run_cli):
    url = f"http://127.0.0.1:{free_port()}"
    config = write_config(tmp_path / "kc", url, "prod-eu")
    args = ["-o", str(tmp_path / "x.tar.gz")] if command == "collect" else []
    code, out, err = run_cli(command, *args, "--kubeconfig", config, "--quiet")
    assert code == 2
    line = one_error_line(err)
    assert "prod-eu" in line and url in line and "connection refused" in line
    assert not (tmp_path / "x.tar.gz").exists() and not list(tmp_path.glob(".x.tar.gz*"))


def test_unknown_context_lists_the_known_ones(tmp_path, run_cli):
    config = write_config(tmp_path / "kc", "http://127.0.0.1:1", "ctx-a")
    code, _, err = run_cli("scan", "--kubeconfig", config, "--context", "nope")
    assert code == 2
    assert "context 'nope' not found (contexts: ctx-a)" in one_error_line(err)


def test_bad_kubeconfig_is_one_line(tmp_path, run_cli):
    bad = tmp_path / "kc"
    bad.write_text("clusters: [unclosed\n", encoding="utf-8")
    code, _, err = run_cli("collect", "--kubeconfig", str(bad))
    assert code == 2 and f"kubeconfig {bad}: cannot read" in one_error_line(err)
    code, _, err = run_cli("collect", "--kubeconfig", str(tmp_path / "missing"))
    assert code == 2 and "no such file" in one_error_line(err)


@pytest.mark.skipif(os.path.exists("/var/run/secrets/kubernetes.io/serviceaccount/token"), reason="inside a pod")
def test_no_kubeconfig_falls_back_to_in_cluster(tmp_path, run_cli, monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    code, _, err = run_cli("scan")
    assert code == 2 and "no kubeconfig found" in one_error_line(err)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    code, _, err = run_cli("collect")
    line = one_error_line(err)
    assert code == 2 and "in-cluster" in line and "https://10.96.0.1:443" in line


def test_kubeconfig_env_with_several_files_and_context_flag(tmp_path, run_cli, monkeypatch):
    with served(FIXTURE) as server:
        first = write_config(tmp_path / "a", "http://127.0.0.1:1", "broken", current="broken")
        second = write_config(tmp_path / "b", server.url, "bundle", current="bundle")
        monkeypatch.setenv("KUBECONFIG", f"{first}:{tmp_path / 'absent'}:{second}")
        code, _, err = run_cli("scan", "--quiet")  # the first file's current-context wins, as in kubectl
        assert code == 2 and "'broken'" in one_error_line(err)
        code, out, err = run_cli("collect", "--context", "bundle", "-o", str(tmp_path / "b.tar.gz"), "--quiet")
    assert code == 0, err
    manifest = Bundle.open([tmp_path / "b.tar.gz"]).manifest
    assert manifest["cluster"]["context"] == "bundle"
    assert out == f"{tmp_path / 'b.tar.gz'} {out.split(' ', 1)[1]}" and err == ""


def test_collect_prints_path_and_size_and_progress_on_stderr(tmp_path, run_cli):
    with served(FIXTURE) as server:
        code, out, err = run_cli(
            "collect", "-o", str(tmp_path / "dir-bundle"), "--kubeconfig", str(kubeconfig(server, tmp_path))
        )
    assert code == 0
    path, size = out.strip().split(" ", 1)
    assert path == str(tmp_path / "dir-bundle") and size.endswith(("KiB", "MiB"))
    assert "collect: inventory" in err and "collect: logs" in err and "API requests" in err
    manifest = json.loads((tmp_path / "dir-bundle" / "manifest.json").read_text())
    assert manifest["requests"]["total"] == len(server.requests)
    assert {c["name"] for c in manifest["collectors"]} >= {
        "discovery",
        "nodes",
        "workloads",
        "crds",
        "configmaps",
        "cni-resources",
        "logs",
    }
    assert manifest["detected_cnis"] == ["calico"]
    code, _, err = run_cli(
        "collect", "-o", str(tmp_path / "dir-bundle"), "--kubeconfig", str(kubeconfig(server, tmp_path))
    )
    assert code == 2 and "already exists" in one_error_line(err)


def test_namespace_flag_lists_that_namespace_and_the_system_ones(tmp_path, run_cli):
    with served(FIXTURE) as server:
        code, _, err = run_cli(
            "collect",
            "-n",
            "shop",
            "-o",
            str(tmp_path / "ns"),
            "--quiet",
            "--kubeconfig",
            str(kubeconfig(server, tmp_path)),
        )
    assert code == 0, err
    listed = {r.namespace for r in server.requests if r.verb == "list" and r.resource == "pods"}
    assert listed == {"shop", "kube-system"}
    bundle = Bundle.open([tmp_path / "ns"])
    assert bundle.namespaces == ["kube-system", "shop"]
    fixture = Bundle.open([FIXTURE])
    for ns in bundle.namespaces:
        for kind in ("pods", "events", "daemonsets", "services"):
            names = [i["metadata"]["name"] for i in bundle.namespaced_items(kind, ns)]
            assert names == [i["metadata"]["name"] for i in fixture.namespaced_items(kind, ns)], (ns, kind)


def test_nodes_flag_narrows_log_collection(tmp_path, run_cli):
    with served(FIXTURE) as server:
        code, _, err = run_cli(
            "collect",
            "--nodes",
            "node-3",
            "-o",
            str(tmp_path / "n3"),
            "--quiet",
            "--kubeconfig",
            str(kubeconfig(server, tmp_path)),
        )
    assert code == 0, err
    bundle = Bundle.open([tmp_path / "n3"])
    pods_on = {p["metadata"]["name"]: p["spec"].get("nodeName") for p in bundle.namespaced_items("pods")}
    assert bundle.logs and {pods_on[r.pod] for r in bundle.logs} == {"node-3"}
    assert gets_only(server)


def test_since_and_max_log_bytes_reach_the_server(tmp_path, run_cli):
    with served(FIXTURE) as server:
        code, _, err = run_cli(
            "collect",
            "--since",
            "30m",
            "--max-log-bytes",
            "1KiB",
            "-o",
            str(tmp_path / "s"),
            "--quiet",
            "--kubeconfig",
            str(kubeconfig(server, tmp_path)),
        )
    assert code == 0, err
    logs = [r for r in server.requests if r.resource == "pods/log"]
    assert logs and all(r.query["sinceSeconds"] == "1800" and r.query["limitBytes"] == "1024" for r in logs)
    sizes = [p.stat().st_size for p in (tmp_path / "s").rglob("*.log")]
    assert max(sizes) <= 1024
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert any("cut at 1024 bytes" in g["reason"] for g in manifest["gaps"])
    code, _, err = run_cli("collect", "--since", "soon", "--kubeconfig", "x")
    assert code == 2 and "--since 'soon': not a duration" in one_error_line(err)


def test_bad_fault_spec_and_role_file_are_usage_errors(tmp_path, run_cli):
    code, _, err = run_cli("serve", str(FIXTURE), "--fault", "teapot:pods")
    assert code == 2 and "bad fault 'teapot:pods'" in one_error_line(err)
    (tmp_path / "role.yaml").write_text("kind: ConfigMap\n", encoding="utf-8")
    code, _, err = run_cli("serve", str(FIXTURE), "--role", str(tmp_path / "role.yaml"))
    assert code == 2 and "no ClusterRole" in one_error_line(err)


def test_analyze_and_help_never_import_the_kubernetes_client():
    probe = (
        "import sys\n"
        "from cnidoctor.cli.app import main\n"
        "sys.argv = ['cnidoctor', *sys.argv[1:]]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write('KUBERNETES=' + str(sorted(m for m in sys.modules if m.split('.')[0] == 'kubernetes')))\n"
    )
    for args in (["--help"], ["analyze", str(FIXTURE), "--format", "json"]):
        proc = subprocess.run(
            [sys.executable, "-c", probe, *args], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert proc.stderr.strip().endswith("KUBERNETES=[]"), (args, proc.stderr[-500:])


@pytest.mark.parametrize("command", ["scan", "collect"])
def test_a_collection_that_got_nothing_is_exit_2_not_healthy(command, tmp_path, run_cli):
    """Every request forbidden: the report (scan) or bundle (collect) lists the gaps, and the exit says so."""
    with served(FIXTURE, rules=[]) as server:
        out_path = tmp_path / "x.tar.gz"
        args = ["-o", str(out_path)] if command == "collect" else ["-f", "json"]
        code, out, err = run_cli(command, *args, "--kubeconfig", str(kubeconfig(server, tmp_path)), "--quiet")
    assert code == 2
    line = one_error_line(err)
    assert line.startswith(f"error: nothing was collected from {server.url} (")
    assert "forbidden" in line
    if command == "scan":
        report = json.loads(out)
        assert report["findings"] == [] and len(report["gaps"]) >= 5
    else:
        written = Bundle.open([out_path]).paths()
        assert out_path.is_file() and "manifest.json" in written
        assert not [p for p in written if p.startswith(("cluster/", "nodes/"))], "a forbidden list was written"
