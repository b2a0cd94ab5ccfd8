"""`cnidoctor node`: usage errors are one line and exit 2; a run writes a bundle `analyze` can merge."""

from __future__ import annotations

import json
import tarfile


def test_bad_usage_is_one_line_and_exit_2(run_cli, tmp_path):
    code, _, err = run_cli("node", "-o", str(tmp_path / "b"), "--skip", "routes.json")
    assert code == 2 and err.startswith("error: --skip 'routes.json': not a node file") and "Traceback" not in err
    code, _, err = run_cli("node", "-o", str(tmp_path / "b"), "--cni-conf-dir", "etc/cni")
    assert code == 2 and "must be an absolute path" in err
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").touch()
    code, _, err = run_cli("node", "-o", str(tmp_path / "full"))
    assert code == 2 and "already exists" in err
    code, _, err = run_cli("node", "-o", str(tmp_path / "b"), "--node-name", "../etc")
    assert code == 2 and "not a valid node name" in err
    code, _, err = run_cli("node", "-o", str(tmp_path / "b"), "--max-bytes", "lots")
    assert code == 2 and "--max-bytes 'lots': not a size" in err
    code, _, err = run_cli("node", "-o", str(tmp_path / "b"), "--timeout", "soon")
    assert code == 2 and err.startswith("error: --timeout 'soon': not a duration")
    code, _, err = run_cli("node", "-o", str(tmp_path / "b"), "--node-timeout", "0.5s")
    assert code == 2 and "--node-timeout at least 1s" in err


def test_node_writes_an_archive_with_manifest(run_cli, tmp_path):
    conf = tmp_path / "net.d"
    conf.mkdir()
    (conf / "10-test.conflist").write_text('{"cniVersion": "1.0.0", "name": "t", "plugins": [{"type": "bridge"}]}')
    out = tmp_path / "n1.tar.gz"
    code, stdout, err = run_cli(
        "node",
        "-o",
        str(out),
        "--node-name",
        "n1",
        "--cni-conf-dir",
        str(conf),
        "--cni-bin-dir",
        str(tmp_path / "nobin"),
        "--skip",
        "dmesg.txt,kubelet.log,sysctl.txt",
    )
    assert code == 0, err
    assert stdout.strip() == str(out) and "node n1:" in err
    with tarfile.open(out) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("n1/manifest.json"))
        bins = tar.extractfile("n1/nodes/n1/cni-bin.txt").read().decode()
    assert "n1/nodes/n1/cni-net.d/10-test.conflist" in names and "n1/nodes/n1/ip-route.json" in names
    assert bins.startswith(f"# {tmp_path}/nobin\nls: cannot access")
    assert manifest["nodes"]["n1"]["method"] == "node" and manifest["format_version"] == 1
    code, stdout, _ = run_cli("analyze", str(out), "--format", "json", "--fail-on", "never")
    assert code == 0 and json.loads(stdout)["source"].endswith("n1.tar.gz")
