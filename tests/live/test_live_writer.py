"""The bundle writer and redactor on their own: safe paths, atomic publication, what is and is not masked."""

from __future__ import annotations

import json
import tarfile

import pytest

from cnidoctor.bundle.reader import Bundle
from cnidoctor.bundle.redact import Redactor, name_says_secret
from cnidoctor.bundle.writer import BundleWriter, UnsafePath, safe_relpath
from cnidoctor.errors import UsageError


@pytest.mark.parametrize("path", ["/etc/passwd", "../x", "cluster/../../x", "cluster//x", "a/./b", "a\\b", "", "~/x"])
def test_unsafe_paths_are_refused(path):
    with pytest.raises(UnsafePath):
        safe_relpath(path)


def test_folder_bundle_appears_only_when_finished(tmp_path):
    dest = tmp_path / "b"
    w = BundleWriter(dest)
    w.write_json("cluster/nodes.json", {"kind": "NodeList", "items": [{"metadata": {"name": "n1"}}]})
    w.write_text("cluster/kube-system/p/c.log", b"line \xff not utf-8\n")
    assert not dest.exists() and w.tmp.parent == tmp_path
    manifest = {"format_version": 1}
    assert w.finish(manifest) == dest
    assert manifest["redactions"] == [] and json.loads((dest / "manifest.json").read_text())["format_version"] == 1
    assert (dest / "cluster/kube-system/p/c.log").read_bytes() == b"line \xff not utf-8\n"
    assert [n["metadata"]["name"] for n in Bundle.open([dest]).cluster_items("nodes")] == ["n1"]
    assert not list(tmp_path.glob(".b.*"))
    with pytest.raises(UsageError, match="already exists"):
        BundleWriter(dest)


def test_archive_has_one_top_folder_and_replaces_atomically(tmp_path):
    dest = tmp_path / "incident.tar.gz"
    dest.write_bytes(b"old")
    w = BundleWriter(dest)
    w.write_json("cluster/nodes.json", {"kind": "NodeList", "items": []})
    assert dest.read_bytes() == b"old"
    w.finish({})
    with tarfile.open(dest) as tar:
        assert sorted(tar.getnames()) == ["incident/cluster/nodes.json", "incident/manifest.json"]
        assert all(m.isfile() and m.mode == 0o644 for m in tar.getmembers())
    assert Bundle.open([dest]).has("cluster/nodes.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["incident.tar.gz"]


def test_late_writes_after_finish_are_dropped(tmp_path):
    w = BundleWriter(tmp_path / "b")
    w.finish({})
    w.write_json("cluster/late.json", {"items": []})
    assert not (tmp_path / "b" / "cluster" / "late.json").exists()


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("DB_PASSWORD", True),
        ("apiToken", True),
        ("tls.key", True),
        ("client-key-data", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("FELIX_WIREGUARDPRIVATEKEY", True),
        ("ipsec-key-file", False),
        ("tokenPath", False),
        ("secretName", False),
        ("key", False),
        ("WireguardPublicKey", False),
        ("secretKeyRef", False),
        ("Corefile", False),
        ("monkey", False),
    ],
)
def test_names_that_say_secret(name, secret):
    assert name_says_secret(name) is secret


def test_structure_rules_keep_what_diagnosis_needs():
    r = Redactor()
    pod = {
        "kind": "Pod",
        "metadata": {
            "name": "p",
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": "{...}",
                "cni.projectcalico.org/podIP": "10.244.1.5/32",
            },
        },
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "args": ["--enable-ipsec=true", "--token=abc123xyz9"],
                    "env": [
                        {"name": "PASSWORD", "value": "hunter2!"},
                        {"name": "ENABLE_TOKEN_AUTH", "value": "true"},
                        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "t"}}},
                    ],
                }
            ],
            "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists"}],
        },
    }
    out = r.obj(pod, "cluster/ns/pods.json")
    assert "last-applied-configuration" not in json.dumps(out) and "10.244.1.5/32" in json.dumps(out)
    env = out["spec"]["containers"][0]["env"]
    assert env[0]["value"] == "<redacted:secret-env>" and env[1]["value"] == "true" and "valueFrom" in env[2]
    assert out["spec"]["containers"][0]["args"] == ["--enable-ipsec=true", "--token=<redacted:secret-assignment>"]
    assert out["spec"]["tolerations"] == pod["spec"]["tolerations"]
    assert {(x["rule"], x["count"]) for x in r.summary()} == {
        ("last-applied-configuration", 1),
        ("secret-env", 1),
        ("secret-assignment", 1),
    }


def test_log_text_keeps_prose_and_addresses():
    r = Redactor()
    lines = [
        "failed to get token: Unauthorized",
        "dial tcp 10.96.0.1:443: i/o timeout",
        "Kernel's RPF check is set to 'loose'",
        "error reading /var/run/secrets/kubernetes.io/serviceaccount/token",
    ]
    assert r.text("\n".join(lines), "x.log") == "\n".join(lines) and r.total == 0


@pytest.mark.parametrize(
    "doc",
    [
        {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "7"}, "items": [{"a": 1}, {"b": "é"}]},
        {"items": []},
        {"items": [{"x": [1, 2]}], "kind": "List"},
        {"kind": "List", "items": {"not": "a list"}},
        {"kind": "ConfigMap", "data": {"k": "v\n"}},
        [1, 2, 3],
        "text",
    ],
)
def test_lists_are_written_one_item_a_line_and_read_back_equal(doc):
    from cnidoctor.bundle.writer import dumps_list

    text = dumps_list(doc)
    assert json.loads(text) == doc and text.endswith("\n")
    if isinstance(doc, dict) and isinstance(doc.get("items"), list):
        lines = text.splitlines()
        assert len(lines) == len(doc["items"]) + (2 if doc["items"] else 1)
        assert [json.loads(line.rstrip(",")) for line in lines[1:-1]] == doc["items"]
