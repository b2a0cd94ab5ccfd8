"""No harm to the cluster, proven on the wire.

By default `scan` and `collect` send only reads: the local API server's request log holds GET get/list
requests and nothing else (no watch, no exec, no secrets). With `--node-probe`, every probe pod created is
deleted — after success, after a failure (image not pulled), at the global timeout, and when the real
`cnidoctor scan` process is interrupted with SIGINT or SIGTERM — and each carries the managed-by label and
the owner annotation so a leftover can be found.

The API here is one HTTP endpoint on 127.0.0.1: the local API server answers the reads from a fixture
bundle; pod create/get/delete and `pods/exec` (a real WebSocket) are answered by tests/node/kubefake.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cnidoctor.apiserver.server import LocalApiServer
from cnidoctor.bundle.reader import Bundle
from cnidoctor.collect.nodes.probe import MANAGED_BY, OWNER
from tests.live.conftest import fixture_bundle
from tests.node.kubefake import FakeApi

FIXTURE = fixture_bundle("healthy-flannel")  # three nodes, so three probe pods
NODES = ("node-1", "node-2", "node-3")
POD_PATH = re.compile(r"^/api/v1/namespaces/[^/]+/pods(?:/([^/?]+)(?:/exec)?)?(?:\?.*)?$")
READ_VERBS = {"get", "list"}


class Cluster:
    """Reads from the local API server; probe pods (create, get, exec, delete) from FakeApi."""

    def __init__(self, hang: bool = False) -> None:
        self.local = LocalApiServer(Bundle.open([FIXTURE]))
        self.fake = FakeApi()
        self.created: list[dict] = []
        self.hang = hang
        self.fake.on_create = self._on_create
        cluster = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                return

            def _probe(self) -> bool:
                m = POD_PATH.match(self.path)
                return bool(m and (self.command != "GET" or (m.group(1) or "").startswith("cnidoctor-probe")))

            def do_GET(self) -> None:  # noqa: N802
                (cluster.fake.get if self._probe() else cluster.local.handle)(self)

            def do_POST(self) -> None:  # noqa: N802
                (cluster.fake.post if self._probe() else cluster.local.handle)(self)

            def do_DELETE(self) -> None:  # noqa: N802
                (cluster.fake.delete if self._probe() else cluster.local.handle)(self)

            do_PUT = do_PATCH = do_DELETE  # noqa: N815 - the local server answers 405 and logs it

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True

    def _on_create(self, body: dict):  # noqa: ANN202
        self.created.append(json.loads(json.dumps(body)))
        hang = self.hang

        def run(argv: list[str]) -> subprocess.Popen:
            if argv[:1] == ["nsenter"] and "--" in argv:
                argv = argv[argv.index("--") + 1 :]
            if hang and argv != ["true"]:
                argv = ["sleep", "60"]  # a node that never answers
            return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

        return run

    @property
    def probes_left(self) -> list[str]:
        return [name for (_, name) in self.fake.pods if name.startswith("cnidoctor-probe")]

    def kubeconfig(self, folder: Path) -> Path:
        url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        path = folder / "kubeconfig"
        path.write_text(
            "apiVersion: v1\nkind: Config\n"
            f"clusters:\n- name: c\n  cluster:\n    server: {url}\n"
            "contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\n"
            "current-context: c\nusers:\n- name: u\n  user: {}\n"
        )
        return path

    def writes(self) -> list:
        """Every request that is not a read: from the local server's log and from the probe API's."""
        local = [r for r in self.local.requests if r.method != "GET" or r.verb not in READ_VERBS | {""}]
        return local + [r for r in self.fake.requests if r[0] != "GET"]


@contextmanager
def cluster(hang: bool = False) -> Iterator[Cluster]:
    c = Cluster(hang)
    thread = threading.Thread(target=c.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield c
    finally:
        c.httpd.shutdown()
        c.httpd.server_close()
        c.local.httpd.server_close()


def cnidoctor(*args: str, cwd: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "CNIDOCTOR_DEBUG"}
    return subprocess.Popen(
        [sys.executable, "-m", "cnidoctor", *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def finish(proc: subprocess.Popen, timeout: float = 90) -> tuple[int, str]:
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err.decode("utf-8", "replace")


def assert_probe_pods_marked(c: Cluster) -> None:
    assert c.created, "no probe pod was created"
    for body in c.created:
        meta = body["metadata"]
        assert meta["name"].startswith("cnidoctor-probe-")
        assert meta["labels"][MANAGED_BY] == "cnidoctor", meta
        assert "pid " in meta["annotations"][OWNER] and "@" in meta["annotations"][OWNER], meta
        assert body["spec"]["activeDeadlineSeconds"] > 0  # the kubelet ends it even after SIGKILL


def assert_all_deleted(c: Cluster) -> None:
    names = sorted(b["metadata"]["name"] for b in c.created)
    assert c.probes_left == [], f"probe pods left behind: {c.probes_left}"
    assert sorted(c.fake.deleted) == names


# -- read-only by default ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["scan", "collect"])
def test_default_scan_and_collect_send_only_reads(tmp_path: Path, command: str) -> None:
    with cluster() as c:
        config = c.kubeconfig(tmp_path)
        out = ["-f", "json", "-o", str(tmp_path / "r.json")] if command == "scan" else ["-o", str(tmp_path / "b.tgz")]
        code, err = finish(cnidoctor(command, "--kubeconfig", str(config), "-q", *out, cwd=tmp_path))
    assert code in (0, 3, 4), err
    assert c.local.requests, "nothing was read"
    assert c.writes() == [], "a write reached the API server"
    verbs = {r.verb for r in c.local.requests if r.verb}
    assert verbs <= READ_VERBS, verbs
    resources = {r.resource for r in c.local.requests}
    assert not {"secrets", "pods/exec", "pods/attach", "pods/portforward"} & resources, resources
    assert c.fake.requests == [] and c.created == []


# -- probe pods --------------------------------------------------------------------------------------


def test_probe_pods_are_deleted_after_success(tmp_path: Path) -> None:
    with cluster() as c:
        config = c.kubeconfig(tmp_path)
        args = ["scan", "--kubeconfig", str(config), "--node-probe", "busybox:1.36", "-q", "-f", "json"]
        code, err = finish(cnidoctor(*args, "-o", str(tmp_path / "r.json"), "--timeout", "60s", cwd=tmp_path))
    assert code in (0, 3, 4), err
    assert sorted(b["spec"]["nodeName"] for b in c.created) == list(NODES)
    assert_probe_pods_marked(c)
    assert_all_deleted(c)
    report = json.loads((tmp_path / "r.json").read_text())
    assert not [g for g in report["gaps"] if "probe" in g["reason"] and "cannot" in g["reason"]]


def test_probe_pods_are_deleted_after_a_failure(tmp_path: Path) -> None:
    with cluster() as c:
        c.fake.waiting["busybox:missing"] = "ErrImagePull"
        config = c.kubeconfig(tmp_path)
        args = ["scan", "--kubeconfig", str(config), "--node-probe", "busybox:missing", "-q", "-f", "json"]
        code, err = finish(cnidoctor(*args, "-o", str(tmp_path / "r.json"), "--timeout", "60s", cwd=tmp_path))
    assert code in (0, 3, 4), err
    assert_probe_pods_marked(c)
    assert_all_deleted(c)
    report = json.loads((tmp_path / "r.json").read_text())
    assert [g for g in report["gaps"] if "ErrImagePull" in g["reason"]], report["gaps"]


def test_probe_pods_are_deleted_at_the_global_timeout(tmp_path: Path) -> None:
    with cluster(hang=True) as c:
        config = c.kubeconfig(tmp_path)
        args = ["scan", "--kubeconfig", str(config), "--node-probe", "busybox:1.36", "-q", "-f", "json"]
        started = time.monotonic()
        code, err = finish(cnidoctor(*args, "-o", str(tmp_path / "r.json"), "--timeout", "5s", cwd=tmp_path))
        elapsed = time.monotonic() - started
    assert code in (0, 3, 4), err
    assert elapsed < 5 + 30, f"{elapsed:.0f}s"
    assert_probe_pods_marked(c)
    assert_all_deleted(c)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_probe_pods_are_deleted_when_the_process_is_interrupted(tmp_path: Path, sig: signal.Signals) -> None:
    with cluster(hang=True) as c:
        config = c.kubeconfig(tmp_path)
        args = ["scan", "--kubeconfig", str(config), "--node-probe", "busybox:1.36", "-q", "-f", "json"]
        proc = cnidoctor(*args, "--timeout", "120s", cwd=tmp_path)
        until = time.monotonic() + 60
        while len(c.probes_left) < len(NODES) and time.monotonic() < until and proc.poll() is None:
            time.sleep(0.05)
        assert len(c.probes_left) == len(NODES), "the probes did not start"
        time.sleep(0.5)  # inside the probes: commands running
        proc.send_signal(sig)
        code, err = finish(proc, timeout=60)
    assert code == 130 and err.strip().splitlines()[-1] == "error: interrupted", (code, err)
    assert "Traceback" not in err
    assert_probe_pods_marked(c)
    assert_all_deleted(c)
