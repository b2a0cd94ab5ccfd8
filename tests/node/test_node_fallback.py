"""The fallback exec → probe → gap, through the NodeAccess seam, with real runners inside namespaces.

`NetnsAccess` is the seam's test implementation: "exec into the agent pod" and "the probe pod" are the
real `LocalRunner` running each command inside the node's namespace (`ip netns exec`), seeing the node's
files under its fake root. The decisions under test are ours and unmocked: which agent pod, whether its
container runs, whether exec answers, when to try the probe, and the gap when nothing works. The exec
stream itself is tested against a real WebSocket endpoint in test_node_exec.py.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator
from pathlib import Path

from nodelab import ROOT, Lab, analyze, cluster_part, findings
from nodescenarios import FLANNEL, FLANNEL_EXPECTED

from cnidoctor.bundle.writer import BundleWriter
from cnidoctor.collect.nodes.fallback import AccessError, NodeStateOptions, collect_nodes_state
from cnidoctor.node.agents import AgentPod
from cnidoctor.node.local import NodeBundleSink, node_manifest
from cnidoctor.node.plan import Budget, NodePaths
from cnidoctor.node.runner import LocalRunner

SKIP = frozenset({"dmesg.txt", "kubelet.log"})


class NetnsAccess:
    """Ways into the lab's nodes: exec and probe are real runners in the node's namespace."""

    def __init__(self, lab: Lab, probe_fails: dict[str, str], exec_broken: set[str]) -> None:
        self.lab = lab
        self.probe_fails = probe_fails
        self.exec_broken = exec_broken
        self.probes: list[str] = []

    def exec_runner(self, agent: AgentPod) -> tuple[LocalRunner, NodePaths]:
        node = self.lab.nodes[agent.node]
        ns = node.ns if agent.node not in self.exec_broken else f"{node.ns}-gone"  # a pod that vanished
        return (
            LocalRunner(
                ("ip", "netns", "exec", ns), where=f"pod {agent.ref} container {agent.container}", method="exec"
            ),
            NodePaths(roots=(str(node.root),)),
        )

    @contextlib.contextmanager
    def probe(self, node: str, deadline: float) -> Iterator[tuple[LocalRunner, NodePaths]]:
        self.probes.append(node)
        if node in self.probe_fails:
            raise AccessError(self.probe_fails[node])
        n = self.lab.nodes[node]
        yield (
            LocalRunner(("ip", "netns", "exec", n.ns), where=f"probe pod on {node}", method="probe"),
            NodePaths(roots=(str(n.root),)),
        )


def _pods_with(crashlooping: set[str]) -> list[dict]:
    """healthy-flannel's pods, with the flannel agent crash-looping on CRASHLOOPING nodes."""
    pods = []
    for f in sorted((ROOT / "fixtures" / FLANNEL / "bundle" / "cluster").glob("*/pods.json")):
        pods += json.loads(f.read_text())["items"]
    out = []
    for p in pods:
        p = copy.deepcopy(p)
        if p["metadata"]["name"].startswith("kube-flannel-ds-") and p["spec"]["nodeName"] in crashlooping:
            cs = p["status"]["containerStatuses"][0]
            cs.update(ready=False, restartCount=14, state={"waiting": {"reason": "CrashLoopBackOff"}})
        out.append(p)
    return out


def test_exec_then_probe_then_gap(flannel_lab, tmp_path: Path):
    lab, _ = flannel_lab
    access = NetnsAccess(
        lab, probe_fails={"node-3": "probe container ErrImagePull: busybox:1.36 not found"}, exec_broken={"node-3"}
    )
    pods = _pods_with(crashlooping={"node-2"})
    writer = BundleWriter(tmp_path / "live")
    sink = NodeBundleSink(writer)
    options = NodeStateOptions(exec=True, probe_image="busybox:1.36", budget=Budget(command_timeout=20), skip=SKIP)
    records = collect_nodes_state(access, ["node-1", "node-2", "node-3"], pods, sink, options)

    one, two, three = records["node-1"], records["node-2"], records["node-3"]
    assert (one.method, [a["outcome"] for a in one.attempts]) == ("exec", ["collected"])
    assert one.where == "pod kube-flannel/kube-flannel-ds-48cff container kube-flannel"
    assert two.method == "probe"
    assert two.attempts[0] == {
        "method": "exec",
        "where": "kube-flannel/kube-flannel-ds-gk7fr container kube-flannel",
        "outcome": "skipped: container kube-flannel is not running (CrashLoopBackOff, 14 restarts)",
    }
    assert two.attempts[1]["outcome"] == "collected"
    assert three.method == "none" and three.files == 0
    assert [a["method"] for a in three.attempts] == ["exec", "probe"]
    assert three.attempts[0]["outcome"].startswith("failed: exit status")
    assert "Cannot open network namespace" in three.attempts[0]["outcome"]
    assert three.attempts[1]["outcome"] == "failed: probe container ErrImagePull: busybox:1.36 not found"
    assert sorted(access.probes) == ["node-2", "node-3"]  # node-1's exec worked: no probe
    gap = next(g for g in sink.gaps if g.path == "nodes/node-3/")
    assert "no way in" in gap.reason and "ErrImagePull" in gap.reason and "cnidoctor node" in gap.reason

    manifest = node_manifest(list(records.values()), sink.gaps, *_now(), "node-state")
    path = writer.finish(manifest)
    assert sorted(p.name for p in (path / "nodes").iterdir()) == ["node-1", "node-2"]
    written = json.loads((path / "manifest.json").read_text())
    assert {n: r["method"] for n, r in written["nodes"].items()} == {
        "node-1": "exec",
        "node-2": "probe",
        "node-3": "none",
    }

    report = analyze([cluster_part(FLANNEL, tmp_path / "cluster"), path])
    top, _, _ = findings(report)
    assert top == {(c, n) for c, n in FLANNEL_EXPECTED if n == "node-2"}  # node-3's faults were unreachable


def _now() -> tuple:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc), 0.0
