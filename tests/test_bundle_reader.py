"""The bundle reader: every accepted input form reads the same, damaged content becomes gaps."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
import yaml

from cnidoctor.bundle.reader import Bundle
from cnidoctor.errors import BundleError
from tests.conftest import FIXTURES

RAW = FIXTURES / "case-FL-01" / "bundle"  # a plain `kubectl cluster-info dump --output-directory`
FULL = FIXTURES / "case-CA-01" / "bundle"  # a cnidoctor-form bundle


def _summary(b: Bundle) -> tuple:
    pods = sorted(p["metadata"]["name"] for p in b.namespaced_items("pods"))
    nodes = sorted(n["metadata"]["name"] for n in b.cluster_items("nodes"))
    lines = sum(1 for ref in b.logs for _ in b.stream_log(ref))
    return nodes, pods, lines


def _tar(src: Path, dest: Path, top: str | None = "bundle") -> Path:
    with tarfile.open(dest, "w:gz") as tar:
        tar.add(src, arcname=top or ".")
    return dest


def test_raw_dump_folder_maps_under_cluster():
    b = Bundle.open([RAW])
    assert b.has("cluster/nodes.json")
    nodes, pods, lines = _summary(b)
    assert nodes == ["node-1", "node-2", "node-3"]
    assert "kube-flannel-ds-48cff" in pods
    assert lines > 100
    assert b.gaps == []


def test_logs_txt_blocks_are_attributed_to_containers():
    b = Bundle.open([RAW])
    ref = next(r for r in b.logs if r.pod == "kube-flannel-ds-48cff")
    containers = {line.container for line in b.stream_log(ref)}
    assert "kube-flannel" in containers
    first = next(line for line in b.stream_log(ref) if line.container == "kube-flannel")
    assert first.lineno == 6  # the line after the START marker


@pytest.mark.parametrize("top", ["bundle", None])
def test_tar_gz_reads_like_the_directory(tmp_path, top):
    archive = _tar(FULL, tmp_path / "b.tar.gz", top)
    assert _summary(Bundle.open([archive])) == _summary(Bundle.open([FULL]))
    assert list(tmp_path.iterdir()) == [archive]  # nothing extracted to disk


def test_yaml_dump_folder(tmp_path):
    out = tmp_path / "dump"
    for path in RAW.rglob("*"):
        rel = path.relative_to(RAW)
        target = out / rel
        if path.is_dir():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".json":
            doc = json.loads(path.read_text())
            target.with_suffix(".yaml").write_text("---\n" + yaml.safe_dump(doc))
        else:
            shutil.copy(path, target)
    assert _summary(Bundle.open([out])) == _summary(Bundle.open([RAW]))


def test_stdout_dump_file(tmp_path):
    parts = [(RAW / "nodes.json").read_text()]
    for ns in sorted(p for p in RAW.iterdir() if p.is_dir()):
        for name in ("events", "pods", "daemonsets"):
            parts.append((ns / f"{name}.json").read_text())
        for podlog in sorted(ns.glob("*/logs.txt")):
            parts.append(podlog.read_text())
    dump = tmp_path / "dump.txt"
    dump.write_text("\n".join(parts))
    b = Bundle.open([dump])
    nodes, pods, _ = _summary(b)
    assert nodes == ["node-1", "node-2", "node-3"]
    assert "kube-flannel-ds-48cff" in pods
    ref = next(r for r in b.logs if r.pod == "kube-flannel-ds-2wtk2" and r.container == "kube-flannel")
    assert any("pod cidr not assigned" in line.text for line in b.stream_log(ref))


def test_layered_sources_later_wins(tmp_path):
    overlay = tmp_path / "node-bundle"
    (overlay / "nodes" / "node-9").mkdir(parents=True)
    (overlay / "nodes" / "node-9" / "sysctl.txt").write_text("net.ipv4.ip_forward = 0\n")
    b = Bundle.open([FULL, overlay])
    assert "node-9" in b.node_dirs and "node-1" in b.node_dirs
    assert b.node_text("node-9", "sysctl.txt") == "net.ipv4.ip_forward = 0\n"


def test_malformed_json_is_a_gap_and_the_rest_is_read(tmp_path):
    root = tmp_path / "b"
    shutil.copytree(FULL, root)
    (root / "cluster" / "kube-system" / "pods.json").write_text('{"kind": "PodList", "items": [')
    (root / "cluster" / "default" / "nginx-bad").mkdir()
    (root / "cluster" / "default" / "nginx-bad" / "nginx.log").write_bytes(b"ok\n\xff\xfe broken\n")
    b = Bundle.open([root])
    assert b.namespaced_items("pods", "kube-system") == []
    assert any(p["metadata"]["name"].startswith("web-") for p in b.namespaced_items("pods", "default"))
    ref = next(r for r in b.logs if r.pod == "nginx-bad")
    assert [line.text for line in b.stream_log(ref)][0] == "ok"
    reasons = {g.path: g.reason for g in b.gaps}
    assert reasons["cluster/kube-system/pods.json"].startswith("malformed")
    assert "UTF-8" in reasons["cluster/default/nginx-bad/nginx.log"]


def test_list_items_get_kind_from_list_kind():
    b = Bundle.open([FULL])
    assert {p["kind"] for p in b.namespaced_items("pods")} == {"Pod"}


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda p: p / "missing", "no such file or directory"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "the folder is empty"),
        (lambda p: (p / "x.txt").write_text("hello") and p / "x.txt", "not a bundle"),
        (lambda p: (p / "e.tgz").write_bytes(b"") or p / "e.tgz", "the file is empty"),
        (lambda p: (p / "c.tar.gz").write_bytes(b"\x1f\x8b\x08\x00garbage") and p / "c.tar.gz", "not a readable tar"),
        (lambda p: (p / "z.zip").write_bytes(b"PK\x03\x04rest") and p / "z.zip", "zip archives are not supported"),
    ],
)
def test_bad_input_is_one_clear_error(tmp_path, make, message):
    with pytest.raises(BundleError) as err:
        Bundle.open([make(tmp_path)])
    assert message in err.value.message


def test_unsafe_tar_members_are_refused(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(FULL / "cluster" / "nodes.json", arcname="b/cluster/nodes.json")
        for name in ("../escape.txt", "/etc/evil", "b/../../x"):
            info = tarfile.TarInfo(name)
            info.size = 3
            tar.addfile(info, io.BytesIO(b"bad"))
        link = tarfile.TarInfo("b/cluster/link.json")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    b = Bundle.open([archive])
    assert b.cluster_items("nodes")
    refused = {g.path for g in b.gaps}
    assert {"../escape.txt", "/etc/evil", "b/../../x"} <= refused
    assert any(p.endswith("link.json") for p in refused)
    assert not (tmp_path / "escape.txt").exists()
