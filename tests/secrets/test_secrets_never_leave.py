"""Secrets never leave the cluster: every shape of seeds.SHAPES is seeded into API objects, logs and node
files; after `cnidoctor collect` and after `cnidoctor node`, none appears in the bundle bytes (compressed and
uncompressed, every member), in a bundle folder, or in any report format; the manifests count what was masked.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.live.conftest import kubeconfig, served
from tests.secrets.seeds import SHAPES, S, cluster_bundle, node_host

CLUSTER_SHAPES = [s for s in SHAPES if s.where in ("api", "log")]
NODE_SHAPES = [s for s in SHAPES if s.where == "node"]


def leaks(blob: bytes, shapes: list = SHAPES) -> list[str]:
    return [s.name for s in shapes if s.secret.encode() in blob]


def test_the_corpus() -> None:
    """At least 25 shapes, each seeded where the issue names it (API objects, logs, node files)."""
    assert len(SHAPES) >= 25
    assert {s.where for s in SHAPES} == {"api", "log", "node"}
    assert all(len(s.secret) >= 10 for s in SHAPES)


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One `collect` to .tar.gz, one `scan --save-bundle` folder, one `cnidoctor node` .tar.gz, and the
    reports of `analyze` over both bundles in every format."""
    import contextlib
    import io

    from cnidoctor.cli.app import main

    def cli(*args: str, env: dict | None = None) -> tuple[int, str, str]:
        old_argv, old_env = sys.argv, dict(os.environ)
        sys.argv = ["cnidoctor", *args]
        out, err = io.StringIO(), io.StringIO()
        try:
            os.environ.pop("CNIDOCTOR_DEBUG", None)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    main()
                    code = 0
                except SystemExit as exc:
                    code = int(exc.code or 0)
        finally:
            sys.argv = old_argv
            os.environ.clear()
            os.environ.update(old_env)
        return code, out.getvalue(), err.getvalue()

    tmp = tmp_path_factory.mktemp("secrets")
    seeded = cluster_bundle(tmp / "seeded")
    host, env = node_host(tmp)
    node_out = tmp / "node-1.tar.gz"
    proc = subprocess.run(
        [sys.executable, "-m", "cnidoctor", "node", "-o", str(node_out), "--node-name", "node-1"]
        + ["--host-root", str(host), "--skip", "dmesg.txt,sysctl.txt", "--timeout", "10"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out: dict = {"tmp": tmp, "node": node_out, "node_stderr": proc.stderr, "reports": {}}
    with served(seeded) as server:
        config = str(kubeconfig(server, tmp))
        code, _, err = cli("collect", "-o", str(tmp / "cluster.tar.gz"), "--kubeconfig", config, "-q")
        assert code == 0, err
        code, scan_json, err = cli(
            "scan", str(node_out), "--kubeconfig", config, "-f", "json", "-q", "--save-bundle", str(tmp / "folder")
        )
        assert code in (0, 3, 4), err
        out["requests"] = list(server.requests)
    out["cluster"] = tmp / "cluster.tar.gz"
    out["reports"]["scan json"] = scan_json
    for fmt in ("terminal", "json", "markdown"):
        code, text, err = cli("analyze", str(out["cluster"]), str(node_out), "-f", fmt, "--fail-on", "never")
        assert code == 0, err
        out["reports"][f"analyze {fmt}"] = text
    return out


def _archive_checks(archive: Path, shapes: list) -> dict:
    raw = archive.read_bytes()
    assert leaks(raw) == [], f"{archive.name}: compressed bytes"
    assert leaks(gzip.decompress(raw)) == [], f"{archive.name}: uncompressed tar stream"
    with tarfile.open(archive) as tar:
        manifest = None
        for member in tar.getmembers():
            data = tar.extractfile(member).read() if member.isfile() else member.name.encode()
            assert leaks(data) == [], f"{archive.name}: {member.name}"
            assert leaks(member.name.encode()) == []
            if member.name.endswith("/manifest.json"):
                manifest = json.loads(data)
    assert manifest is not None
    return manifest


def _seeded_files(manifest: dict) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in manifest["redactions"]:
        counts[r["file"]] = counts.get(r["file"], 0) + r["count"]
    return counts


def test_collect_archive_holds_no_secret(bundles: dict) -> None:
    manifest = _archive_checks(bundles["cluster"], CLUSTER_SHAPES)
    counts = _seeded_files(manifest)
    assert sum(counts.values()) >= len(CLUSTER_SHAPES), manifest["redactions"]
    for rel in (
        "cluster/kube-system/pods.json",
        "cluster/kube-system/configmaps.json",
        "cluster/kube-system/events.json",
        "cluster/bgppeers.crd.projectcalico.org.json",
        "cluster/kube-system/calico-node-x1/calico-node.log",
        "cluster/kube-system/cilium-x2/cilium-agent.log",
    ):
        assert counts.get(rel, 0) >= 1, f"the manifest does not count the secrets masked in {rel}"


def test_node_archive_holds_no_secret(bundles: dict) -> None:
    manifest = _archive_checks(bundles["node"], NODE_SHAPES)
    counts = _seeded_files(manifest)
    assert sum(counts.values()) >= len(NODE_SHAPES), manifest["redactions"]
    for rel in (
        "nodes/node-1/cni-net.d/calico-tls/etcd-key",
        "nodes/node-1/cni-net.d/calico-kubeconfig",
        "nodes/node-1/cni-net.d/multus.d/multus.kubeconfig",
        "nodes/node-1/cni-net.d/10-calico.conflist",
        "nodes/node-1/cni-net.d/wg0.conf",
        "nodes/node-1/kubelet.log",
        "nodes/node-1/birdcl-protocols.txt",
        "nodes/node-1/cilium-status.json",
    ):
        assert counts.get(rel, 0) >= 1, f"the manifest does not count the secrets masked in {rel}"
    assert leaks(bundles["node_stderr"].encode()) == []


def test_bundle_folder_holds_no_secret(bundles: dict) -> None:
    files = [p for p in (bundles["tmp"] / "folder").rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert leaks(path.read_bytes()) == [], str(path)


@pytest.mark.parametrize("report", ["scan json", "analyze terminal", "analyze json", "analyze markdown"])
def test_reports_hold_no_secret(bundles: dict, report: str) -> None:
    text = bundles["reports"][report]
    assert text.strip()
    assert leaks(text.encode()) == [], report


def test_secrets_are_never_requested(bundles: dict) -> None:
    assert not [r for r in bundles["requests"] if r.resource.startswith("secrets")]


def test_what_is_kept(bundles: dict) -> None:
    """Redaction keeps what the diagnosis needs: addresses, names, paths, booleans, the JWT's claims."""
    with tarfile.open(bundles["cluster"]) as tar:
        plain = b"".join(tar.extractfile(m).read() for m in tar.getmembers() if m.isfile())
    for kept in (b"10.96.0.50", b"10.0.0.254", b"/etc/ipsec/keys", b"veth_mtu", b"calico-node-x1", b"enable-ipsec"):
        assert kept in plain, kept
    assert b"S3ED" not in plain  # no seeded secret, and no part of one
    with tarfile.open(bundles["node"]) as tar:
        plain = b"".join(tar.extractfile(m).read() for m in tar.getmembers() if m.isfile())
    assert b"/etc/cni/net.d/calico-tls/etcd-key" in plain and b"k8s-pod-network" in plain
    assert b"S3ED" not in plain


def test_every_shape_is_counted(bundles: dict) -> None:
    """Each shape was actually seeded (it reached the source) and masked (the secret is gone)."""
    seeded = (bundles["tmp"] / "seeded").rglob("*")
    source = b"".join(p.read_bytes() for p in seeded if p.is_file())
    host = b"".join(p.read_bytes() for p in (bundles["tmp"] / "host").rglob("*") if p.is_file())
    tools = b"".join(p.read_bytes() for p in (bundles["tmp"] / "bin").rglob("*") if p.is_file())
    missing = [s.name for s in SHAPES if s.secret.encode() not in source + host + tools]
    assert missing == [], "shapes not seeded anywhere"
    assert S  # the corpus by name, for the report
