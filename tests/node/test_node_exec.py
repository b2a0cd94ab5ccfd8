"""The exec path for real: `ExecRunner` and `KubeNodeAccess` over the official client's WebSocket stream.

kubefake serves `pods/exec` (v4.channel.k8s.io) and pod create/get/delete on 127.0.0.1; exec'd commands
run for real inside the flannel lab's node namespaces. Covers exit statuses, a missing command, the
output cap, the timeout, a refused exec, a whole node collected through exec, and the probe pod's
lifecycle (its spec, and its deletion on success, on failure and on Ctrl-C).
"""

from __future__ import annotations

import json
import time

import pytest
from kubefake import FakeApi, netns_runner

from cnidoctor.collect.nodes.fallback import AccessError, NodeStateOptions, collect_one_node
from cnidoctor.collect.nodes.kubeexec import ExecRunner, exit_status
from cnidoctor.collect.nodes.probe import LIVE, MANAGED_BY, OWNER, KubeNodeAccess
from cnidoctor.node.agents import agents_by_node
from cnidoctor.node.gather import gather_node_state
from cnidoctor.node.plan import Budget, NodePaths

NS, POD, CONTAINER = "kube-flannel", "kube-flannel-ds-48cff", "kube-flannel"


class Sink:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.gaps: list[tuple[str, str]] = []

    def write_text(self, path: str, data: bytes) -> None:
        self.files[path] = data

    def gap(self, path: str, reason: str) -> None:
        self.gaps.append((path, reason))


@pytest.fixture
def api(flannel_lab):
    lab, _ = flannel_lab
    with FakeApi() as server:
        server.add_pod(NS, POD, netns_runner(lab.nodes["node-1"].ns), CONTAINER)
        server.on_create = lambda body: netns_runner(lab.nodes[body["spec"]["nodeName"]].ns, strip_nsenter=True)
        yield server


@pytest.fixture
def client(api):
    from kubernetes import client as k8s

    from cnidoctor.kube.client import KubeClient
    from cnidoctor.kube.config import Target

    cfg = k8s.Configuration()
    cfg.host = api.url
    kc = KubeClient(Target(cfg, "fake", api.url, None), request_timeout=10)
    yield kc
    kc.close()


def test_exit_status_documents():
    assert exit_status(b'{"metadata":{},"status":"Success"}') == (0, False, None)
    assert exit_status(
        b'{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"2"}]}}'
    ) == (2, False, None)
    assert exit_status(b'{"status":"Failure","message":"exec: \\"bpftool\\": executable file not found in $PATH"}') == (
        127,
        True,
        None,
    )
    assert exit_status(b"")[2] == "the exec stream closed without an exit status"


def test_exec_runner_over_websocket(client):
    r = ExecRunner(client, NS, POD, CONTAINER)
    try:
        res = r.run(("sh", "-c", "echo out; echo err >&2; exit 3"), timeout=10, max_bytes=1 << 20)
        assert (res.returncode, res.stdout, res.stderr, res.not_found, res.error) == (
            3,
            b"out\n",
            b"err\n",
            False,
            None,
        )
        res = r.run(("bpftool", "-j", "map", "show"), timeout=10, max_bytes=1 << 20)
        assert res.not_found and res.returncode == 127 and b"command not found" in res.stderr
        res = r.run(("ip", "-j", "route", "show", "table", "all"), timeout=10, max_bytes=1 << 20)
        assert res.ok and any(x.get("dev") == "flannel.1" for x in json.loads(res.stdout))
        res = r.run(("head", "-c", "3000000", "/dev/zero"), timeout=10, max_bytes=1 << 20)
        assert res.truncated and len(res.stdout) == 1 << 20 and res.returncode is None
        t0 = time.monotonic()
        res = r.run(("sleep", "3"), timeout=0.5, max_bytes=1024)
        assert res.timed_out and time.monotonic() - t0 < 2.5
    finally:
        r.close()


def test_exec_refused_is_an_error_not_an_exception(client):
    r = ExecRunner(client, NS, "kube-flannel-ds-gone", CONTAINER)
    res = r.run(("true",), timeout=5, max_bytes=1024)
    r.close()
    assert res.error and "404" in res.error and res.returncode is None


def test_gather_a_node_through_exec(client, flannel_lab):
    lab, _ = flannel_lab
    node = lab.nodes["node-1"]
    sink = Sink()
    r = ExecRunner(client, NS, POD, CONTAINER)
    rec = gather_node_state(
        r, "node-1", sink, paths=NodePaths(roots=(str(node.root),)), skip=frozenset({"dmesg.txt", "kubelet.log"})
    )
    r.close()
    status = {c.file: c.status for c in rec.commands}
    assert rec.method == "exec" and rec.where == f"pod {NS}/{POD} container {CONTAINER}"
    for name in (
        "ip-route.json",
        "ip-link.json",
        "sysctl.txt",
        "iptables-nft-save.txt",
        "cni-net.d",
        "cni-bin.txt",
        "flannel-subnet.env",
        "cni-ipam.txt",
    ):
        assert status[name] == "ok", (name, status[name])
    assert b"net.ipv4.ip_forward = 1" in sink.files["nodes/node-1/sysctl.txt"]
    assert sink.files["nodes/node-1/cni-bin.txt"].startswith(b"# /opt/cni/bin\n")
    assert "nodes/node-1/cni-net.d/10-flannel.conflist" in sink.files


def test_collect_one_node_through_the_api(client, flannel_lab):
    """The production path: KubeNodeAccess.exec_runner (agent view: host files under /host)."""
    from nodelab import ROOT

    pods = json.loads((ROOT / "fixtures/healthy-flannel/bundle/cluster/kube-flannel/pods.json").read_text())["items"]
    access = KubeNodeAccess(client)
    sink = Sink()
    rec = collect_one_node(
        access,
        "node-1",
        agents_by_node(pods)["node-1"],
        sink,
        NodeStateOptions(exec=True, budget=Budget(command_timeout=10), skip=frozenset({"dmesg.txt", "kubelet.log"})),
    )
    access.close()
    assert (rec.method, rec.attempts[-1]["outcome"]) == ("exec", "collected")
    assert json.loads(sink.files["nodes/node-1/ip-route.json"])
    # this test machine has no /host/etc/cni/net.d: a gap naming where it looked, not an empty config
    assert any(p == "nodes/node-1/cni-net.d/" and f"as seen from pod {NS}/{POD}" in why for p, why in sink.gaps)


def test_probe_pod_spec_and_deletion(client, api):
    access = KubeNodeAccess(client, image="busybox:1.36")
    with access.probe("node-2", time.monotonic() + 60) as (runner, paths):
        (ns, name), pod = next(iter((k, v) for k, v in api.pods.items() if k[1].startswith("cnidoctor-probe")))
        spec, c = pod["spec"], pod["spec"]["containers"][0]
        assert ns == "kube-system" and name.startswith("cnidoctor-probe-node-2-")
        assert (spec["nodeName"], spec["hostNetwork"], spec["hostPID"]) == ("node-2", True, True)
        assert spec["tolerations"] == [{"operator": "Exists"}] and spec["restartPolicy"] == "Never"
        assert spec["activeDeadlineSeconds"] >= 60
        assert (c["image"], c["imagePullPolicy"], c["securityContext"]) == (
            "busybox:1.36",
            "IfNotPresent",
            {"privileged": True},
        )
        assert pod["metadata"]["labels"][MANAGED_BY] == "cnidoctor" and pod["metadata"]["annotations"][OWNER]
        assert (runner.method, paths) == ("probe", NodePaths())  # nsenter into the host worked
        res = runner.run(("sysctl", "-n", "net.ipv4.ip_forward"), timeout=10, max_bytes=1024)
        assert res.stdout == b"0\n"  # node-2 is the namespace with forwarding off
        assert (ns, name) in LIVE.pods
    assert api.deleted == [name] and (ns, name) not in api.pods and (ns, name) not in LIVE.pods
    access.close()


def test_probe_pod_deleted_on_ctrl_c_and_on_failure(client, api):
    access = KubeNodeAccess(client, image="busybox:1.36")
    with pytest.raises(KeyboardInterrupt), access.probe("node-3", time.monotonic() + 60):
        raise KeyboardInterrupt
    assert len(api.deleted) == 1 and not [k for k in api.pods if k[1].startswith("cnidoctor-probe")]
    api.waiting["busybox:broken"] = "ErrImagePull"
    broken = KubeNodeAccess(client, image="busybox:broken")
    with pytest.raises(AccessError, match="ErrImagePull"), broken.probe("node-3", time.monotonic() + 60):
        pytest.fail("the probe must not start")
    assert len(api.deleted) == 2 and not LIVE.pods
    access.close()
    broken.close()


def test_live_collector_through_the_session(client, api, flannel_lab, tmp_path):
    """NodeStateCollector as the live runner uses it: plan from the session's nodes and pods, tasks on the client."""
    from nodelab import ROOT

    from cnidoctor.bundle.writer import BundleWriter
    from cnidoctor.collect.nodes.collector import NodeStateCollector, live_collectors, manifest_nodes
    from cnidoctor.collect.session import CollectOptions, Session

    lab, _ = flannel_lab
    for name, node in (("kube-flannel-ds-gk7fr", "node-2"), ("kube-flannel-ds-2wtk2", "node-3")):
        api.add_pod(NS, name, netns_runner(lab.nodes[node].ns), CONTAINER)
    cluster = ROOT / "fixtures/healthy-flannel/bundle/cluster"
    options = CollectOptions()
    assert live_collectors(options) == []  # the read-only default adds nothing
    options.node_exec = True  # the --exec flag
    [collector] = live_collectors(options)
    session = Session(BundleWriter(tmp_path / "b"), options)
    session.objects["nodes"] = json.loads((cluster / "nodes.json").read_text())["items"]
    session.objects["pods"] = json.loads((cluster / "kube-flannel/pods.json").read_text())["items"]
    tasks = collector.plan(session)
    assert [t.target for t in tasks] == ["nodes/node-1/", "nodes/node-2/", "nodes/node-3/"]
    assert tasks[0].access.rule_text() == 'apiGroups: [""], resources: ["pods/exec"], verbs: ["create"]'
    for t in tasks:
        t.run(client)
    collector.finish(session)
    nodes = manifest_nodes([collector])
    assert {n: r["method"] for n, r in nodes.items()} == {"node-1": "exec", "node-2": "exec", "node-3": "exec"}
    assert session.writer.has("nodes/node-2/sysctl.txt") and session.writer.has("nodes/node-3/ip-route.json")
    disabled = NodeStateCollector()
    quiet = Session(BundleWriter(tmp_path / "c"), CollectOptions())
    assert disabled.plan(quiet) == [] and "pass --exec" in quiet.gaps[0].reason
