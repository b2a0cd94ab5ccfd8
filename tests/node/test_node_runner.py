"""LocalRunner and gather budgets on real processes: timeouts, byte caps, missing commands, deadlines, gaps."""

from __future__ import annotations

import time
from collections.abc import Sequence

from cnidoctor.node.gather import gather_node_state
from cnidoctor.node.plan import Budget, NodePaths
from cnidoctor.node.runner import CommandResult, LocalRunner


class Sink:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.gaps: dict[str, str] = {}

    def write_text(self, path: str, data: bytes) -> None:
        self.files[path] = data

    def gap(self, path: str, reason: str) -> None:
        self.gaps[path] = reason


def test_local_runner_outcomes():
    r = LocalRunner()
    res = r.run(("sh", "-c", "printf out; printf err >&2; exit 4"), timeout=5, max_bytes=100)
    assert (res.returncode, res.stdout, res.stderr, res.ok) == (4, b"out", b"err", False)
    res = r.run(("cnidoctor-no-such-tool",), timeout=5, max_bytes=100)
    assert res.not_found and b"command not found" in res.stderr
    t0 = time.monotonic()
    res = r.run(("sh", "-c", "sleep 5 & sleep 5; wait"), timeout=0.3, max_bytes=100)  # the whole group is killed
    assert res.timed_out and res.returncode is None and time.monotonic() - t0 < 3
    res = r.run(("head", "-c", "5000000", "/dev/zero"), timeout=5, max_bytes=4096)
    assert res.truncated and len(res.stdout) == 4096


class ScriptedRunner:
    """A runner answering from a table, to drive gather's budget logic deterministically (clock included)."""

    method, where = "node", "scripted"

    def __init__(self, clock: list[float], seconds_per_command: float) -> None:
        self.clock = clock
        self.cost = seconds_per_command
        self.seen: list[tuple[str, ...]] = []

    def run(self, argv: Sequence[str], *, timeout: float, max_bytes: int) -> CommandResult:
        self.seen.append(tuple(argv))
        self.clock[0] += self.cost
        if argv[0] == "sh":  # tool discovery and path probes: nothing exists
            return CommandResult(tuple(argv), 1, b"", b"", self.cost)
        if argv[0] == "iptables-save":
            return CommandResult(tuple(argv), 1, b"", b"iptables-save v1.8.7 (legacy): Permission denied", self.cost)
        return CommandResult(tuple(argv), 0, b"x" * min(max_bytes, 10), b"", self.cost, truncated=max_bytes < 10)


def test_gather_turns_every_failure_into_a_gap_and_stops_at_the_node_deadline():
    clock = [0.0]
    runner = ScriptedRunner(clock, seconds_per_command=1.0)
    sink = Sink()
    rec = gather_node_state(
        runner, "n1", sink, paths=NodePaths(), budget=Budget(node_timeout=6.5, max_bytes=5), clock=lambda: clock[0]
    )
    status = {c.file: c.status for c in rec.commands}
    assert status["ip-route.json"] == "truncated" and sink.files["nodes/n1/ip-route.json"] == b"xxxxx"
    assert "output cut at 5 bytes" in sink.gaps["nodes/n1/ip-route.json"]
    # iptables-save keeps its stderr in the file (the evidence) and is a gap
    assert sink.files["nodes/n1/iptables-save.txt"] == b"iptables-save v1.8.7 (legacy): Permission denied"
    assert "exit status 1" in sink.gaps["nodes/n1/iptables-save.txt"]
    skipped = [f for f, s in status.items() if s == "skipped"]
    assert skipped and all(
        "per-node deadline of 6.5s" in sink.gaps[f"nodes/n1/{f}"] for f in skipped if not f.endswith(".d")
    )
    assert len(runner.seen) <= 8  # nothing ran after the deadline


def test_gather_reads_files_under_a_host_root(tmp_path):
    root = tmp_path / "host"
    (root / "etc/cni/net.d/multus.d").mkdir(parents=True)
    (root / "etc/cni/net.d/00-multus.conf").write_text('{"name": "multus", "binDir": "/opt/multus/bin"}')
    (root / "etc/cni/net.d/multus.d/multus.kubeconfig").write_text("apiVersion: v1\n")
    (root / "opt/cni/bin").mkdir(parents=True)
    (root / "opt/cni/bin/bridge").touch()
    (root / "opt/multus/bin").mkdir(parents=True)
    (root / "opt/multus/bin/macvlan").touch()
    (root / "etc/resolv.conf").write_text("nameserver 10.0.0.2\n")
    sink = Sink()
    rec = gather_node_state(
        LocalRunner(),
        "n1",
        sink,
        paths=NodePaths(roots=(str(root),)),
        skip=frozenset({"dmesg.txt", "kubelet.log", "sysctl.txt"}),
    )
    assert sink.files["nodes/n1/cni-net.d/multus.d/multus.kubeconfig"] == b"apiVersion: v1\n"
    assert sink.files["nodes/n1/cni-bin.txt"] == b"# /opt/cni/bin\nbridge\n# /opt/multus/bin\nmacvlan\n"
    assert sink.files["nodes/n1/resolv.conf"] == b"nameserver 10.0.0.2\n"
    assert "/run/flannel/subnet.env: no such file" in sink.gaps["nodes/n1/flannel-subnet.env"]
    assert {c.file for c in rec.commands} >= {"ip-route.json", "cni-net.d", "cni-bin.txt", "cni-ipam.txt"}
