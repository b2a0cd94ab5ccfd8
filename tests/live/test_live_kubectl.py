"""The real `kubectl` against the local API server, and `kubectl cnidoctor` as a plugin (skipped without kubectl)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.live.conftest import ROOT, fixture_bundle, gets_only, kubeconfig, served

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
FIXTURE = fixture_bundle("case-CA-07")
BIN = Path(sys.executable).parent


def kubectl(config: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [KUBECTL, "--kubeconfig", str(config), *args], capture_output=True, text=True, timeout=120, env=env
    )


def test_cnidoctor_serve_gives_kubectl_a_cluster(tmp_path):
    config = tmp_path / "kc.yaml"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cnidoctor", "serve", str(FIXTURE), "--write-kubeconfig", str(config)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not config.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert config.exists(), proc.stderr.read() if proc.poll() is not None else "no kubeconfig written"
        pods = kubectl(config, "get", "pods", "-A")
        assert pods.returncode == 0, pods.stderr
        header, *rows = pods.stdout.splitlines()
        assert header.split()[:6] == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
        assert any(r.split()[:4] == ["kube-system", "calico-node-mbjwr", "0/1", "CrashLoopBackOff"] for r in rows)
        assert len(rows) == 18
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert out.startswith("apiVersion: v1\nkind: Config\n") and "server: http://127.0.0.1:" in out
    assert "GET /api/v1/pods" in err  # the request log


def test_kubectl_reads_logs_nodes_crds_and_cannot_write(tmp_path):
    with served(FIXTURE) as server:
        config = kubeconfig(server, tmp_path)
        logs = kubectl(config, "-n", "kube-system", "logs", "calico-node-mbjwr", "-c", "calico-node", "--previous")
        assert logs.returncode == 0 and "Kernel's RPF check is set to 'loose'" in logs.stdout
        tail = kubectl(config, "-n", "kube-system", "logs", "calico-node-mbjwr", "-c", "calico-node", "--tail=1")
        assert len(tail.stdout.splitlines()) == 1
        nodes = kubectl(config, "get", "nodes", "-o", "json")
        assert [n["metadata"]["name"] for n in json.loads(nodes.stdout)["items"]] == ["node-1", "node-2", "node-3"]
        labelled = kubectl(config, "get", "pods", "-A", "-l", "k8s-app=calico-node", "-o", "name")
        assert labelled.stdout.split() == [f"pod/calico-node-{s}" for s in ("cd25x", "4nr84", "mbjwr")]
        crds = kubectl(config, "get", "crd", "-o", "name")
        assert "customresourcedefinition.apiextensions.k8s.io/ippools.crd.projectcalico.org" in crds.stdout
        pools = kubectl(config, "get", "ippools.crd.projectcalico.org", "-o", "name")
        assert pools.returncode == 0 and pools.stdout.strip()
        deleted = kubectl(config, "-n", "default", "delete", "pod", "web-x4flbf872x-6w8j6")
        assert deleted.returncode != 0 and "read-only" in deleted.stderr
    assert [r.method for r in server.requests if r.method != "GET"] == ["DELETE"]


@pytest.mark.skipif(not (BIN / "kubectl-cnidoctor").exists(), reason="kubectl-cnidoctor is not installed")
def test_kubectl_plugin_scan(tmp_path, run_cli):
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    with served(FIXTURE) as server:
        config = kubeconfig(server, tmp_path)
        plugin = subprocess.run(
            [
                KUBECTL,
                "cnidoctor",
                "scan",
                "--kubeconfig",
                str(config),
                "--context",
                "cnidoctor-bundle",
                "-n",
                "shop",
                "--format",
                "json",
                "--quiet",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        code, out, _ = run_cli("scan", "--kubeconfig", str(config), "-n", "shop", "--format", "json", "--quiet")
        unknown = subprocess.run(
            [KUBECTL, "cnidoctor", "scan", "--kubeconfig", str(config), "--context", "elsewhere"],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
    assert plugin.returncode == code and code in (3, 4), plugin.stderr
    assert [f["id"] for f in json.loads(plugin.stdout)["findings"]] == [f["id"] for f in json.loads(out)["findings"]]
    assert unknown.returncode == 2 and "context 'elsewhere' not found" in unknown.stderr
    assert gets_only(server)
