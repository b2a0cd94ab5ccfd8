"""A lab of network namespaces standing in for Kubernetes nodes, built from a healthy fixture plus faults.

Each node is a network namespace `cnid-<pid>-<tag><n>` wired to a shared "switch" namespace (a bridge)
through a veth called eth0, with the CNI's devices, addresses and routes, per-namespace sysctls, the
fixture's iptables rules replayed into the nft backend (rules using the `nfacct` match, which this
kernel may lack, are dropped), and a fake host root (`etc/cni/net.d`, `opt/cni/bin`, `run/flannel`,
`etc/resolv.conf`, `var/lib/cni/networks`) in a temp folder. Faults are changes to exactly that state.

Where the kernel lacks a device type (VXLAN here; IPIP and WireGuard are not used), the device is a
dummy of the same name and `recorded_links` says which ip-link.json entries to replace with the
fixture's recorded output after collection. Every namespace is deleted by `close()`.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
TOOLS = ("ip", "iptables-nft-restore", "iptables-legacy-restore", "iptables-nft-save", "iptables-legacy-save", "sysctl")


def require_lab() -> None:
    """Skip (with the reason) unless we are root with iproute2 and both iptables backends."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("netns node tests need root (network namespaces, iptables)")
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip(f"netns node tests need {', '.join(missing)} (.ci/run installs iproute2, iptables, nftables)")


class LabError(RuntimeError):
    pass


@dataclass
class Node:
    name: str  # Kubernetes node name (node-1)
    index: int
    ns: str  # network namespace
    root: Path  # fake host filesystem
    ip: str  # underlay address
    recorded_links: dict[str, dict] = field(default_factory=dict)  # ifname -> recorded ip-link entry


class Lab:
    """Namespaces created here are deleted by close(), always (use as a context manager)."""

    def __init__(self, tmp: Path, tag: str) -> None:
        self.tmp = tmp
        self.tag = tag
        self.namespaces: list[str] = []
        self.nodes: dict[str, Node] = {}
        self.switch = self.add_ns("sw")
        self.ip(self.switch, "link add br0 type bridge")
        self.ip(self.switch, "addr add 192.168.56.1/24 dev br0")
        self.ip(self.switch, "link set br0 up")

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for ns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
        self.namespaces.clear()

    # -- commands -----------------------------------------------------------------------------------
    def add_ns(self, short: str) -> str:
        name = f"cnid-{os.getpid()}-{self.tag}{short}"
        proc = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True, timeout=30)
        if proc.returncode != 0:
            pytest.skip(f"cannot create a network namespace: {proc.stderr.strip()}")
        self.namespaces.append(name)
        self.ip(name, "link set lo up")
        return name

    def run(self, ns: str, argv: list[str], stdin: str | None = None, check: bool = True) -> str:
        proc = subprocess.run(
            ["ip", "netns", "exec", ns, *argv], input=stdin, capture_output=True, text=True, timeout=60
        )
        if check and proc.returncode != 0:
            raise LabError(f"{ns}: {' '.join(argv)}: {proc.stderr.strip()}")
        return proc.stdout

    def ip(self, ns: str, args: str) -> None:
        proc = subprocess.run(["ip", "-n", ns, *shlex.split(args)], capture_output=True, text=True, timeout=30)
        if proc.returncode != 0:
            raise LabError(f"{ns}: ip {args}: {proc.stderr.strip()}")

    def batch(self, ns: str, *commands: str) -> None:
        """Several `ip` commands in one process (`ip -batch`), to keep the lab quick to build."""
        proc = subprocess.run(
            ["ip", "-n", ns, "-batch", "-"],
            input="\n".join(commands) + "\n",
            capture_output=True,
            text=True,
            timeout=30,
        )
        if proc.returncode != 0:
            raise LabError(f"{ns}: ip -batch: {proc.stderr.strip()}")

    def sysctl(self, ns: str, **values: int | str) -> None:
        self.run(ns, ["sysctl", "-q", "-w", *(f"{k.replace('__', '.')}={v}" for k, v in values.items())])

    def device(self, node: Node, name: str, spec: str, fixture: str) -> None:
        """`ip link add NAME SPEC`, or a dummy NAME plus the fixture's recorded entry when the kernel lacks it."""
        try:
            self.ip(node.ns, f"link add {name} {spec}")
        except LabError as exc:
            if "Unknown device type" not in str(exc) and "not supported" not in str(exc):
                raise
            self.ip(node.ns, f"link add {name} type dummy")
            node.recorded_links[name] = recorded_link(fixture, node.name, name)

    # -- nodes --------------------------------------------------------------------------------------
    def add_node(self, name: str, index: int) -> Node:
        ns = self.add_ns(f"n{index}")
        ip = f"192.168.56.1{index}"
        self.ip(self.switch, f"link add u{self.tag}{index} type veth peer name eth0 netns {ns}")
        self.ip(self.switch, f"link set u{self.tag}{index} master br0 up")
        self.batch(
            ns,
            f"addr add {ip}/24 dev eth0",
            "link set eth0 mtu 1500 up",
            "route add default via 192.168.56.1 dev eth0 proto static",
        )
        root = self.tmp / f"root-{name}"
        node = self.nodes[name] = Node(name, index, ns, root, ip)
        return node

    def add_pod(self, node: Node, bridge: str, addr: str, gateway: str, mtu: int) -> None:
        """A pod: its own namespace, a veth on BRIDGE (the CNI's usual wiring)."""
        pod_ns = self.add_ns(f"p{node.index}")
        host_if = f"veth{self.tag}{node.index}"
        self.ip(node.ns, f"link add {host_if} mtu {mtu} type veth peer name eth0 netns {pod_ns}")
        self.ip(node.ns, f"link set {host_if} master {bridge} up")
        self.batch(
            pod_ns, f"addr add {addr} dev eth0", f"link set eth0 mtu {mtu} up", f"route add default via {gateway}"
        )

    def iptables(self, node: Node, backend: str, rules: str) -> None:
        self.run(node.ns, [f"iptables-{backend}-restore", "-w", "10"], stdin=rules)  # -w: namespaces share the lock

    def collect(self, node: Node, out: Path, *extra: str) -> subprocess.CompletedProcess:
        """Run `cnidoctor node` inside NODE's namespace (the real command, as on a node)."""
        argv = [
            "ip",
            "netns",
            "exec",
            node.ns,
            sys.executable,
            "-m",
            "cnidoctor",
            "node",
            "-o",
            str(out),
            "--node-name",
            node.name,
            "--host-root",
            str(node.root),
            *extra,
        ]
        return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=ROOT)


# -- fixture data ---------------------------------------------------------------------------------
def fixture_node_file(fixture: str, node: str, name: str) -> Path:
    return FIXTURES / fixture / "bundle" / "nodes" / node / name


def recorded_link(fixture: str, node: str, ifname: str) -> dict:
    links = json.loads(fixture_node_file(fixture, node, "ip-link.json").read_text())
    return next(link for link in links if link.get("ifname") == ifname)


def fixture_rules(fixture: str, node: str) -> str:
    """The node's recorded iptables-save, minus warnings and `nfacct` rules (not in every kernel)."""
    text = fixture_node_file(fixture, node, "iptables-save.txt").read_text()
    return "".join(
        line + "\n" for line in text.splitlines() if not line.startswith("# Warning") and "nfacct" not in line
    )


def split_rules(rules: str, marker: str) -> tuple[str, str]:
    """(rules without MARKER's chains and jumps, restore input holding only those)."""
    keep, moved = [], []
    table = None
    for line in rules.splitlines():
        if line.startswith("*"):
            table = line
            keep.append(line)
            moved.append(line)
        elif line == "COMMIT":
            keep.append(line)
            moved.append(line)
        elif marker in line:
            moved.append(line)
        elif line.startswith(":") and line.split()[0][1:] in (
            "PREROUTING",
            "INPUT",
            "FORWARD",
            "OUTPUT",
            "POSTROUTING",
        ):
            keep.append(line)
            moved.append(line)
        else:
            keep.append(line)
    del table
    return "\n".join(keep) + "\n", "\n".join(moved) + "\n"


def fake_root(node: Node, fixture: str, bins_missing: tuple[str, ...] = ()) -> None:
    """The node's files as the fixture recorded them: CNI configs, binaries (empty), subnet.env, resolv.conf."""
    src = FIXTURES / fixture / "bundle" / "nodes" / node.name
    net_d = node.root / "etc/cni/net.d"
    net_d.mkdir(parents=True)
    for f in sorted((src / "cni-net.d").rglob("*")):
        if f.is_file():
            dest = net_d / f.relative_to(src / "cni-net.d")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(f, dest)
    bin_dir = node.root / "opt/cni/bin"
    bin_dir.mkdir(parents=True)
    for line in (src / "cni-bin.txt").read_text().splitlines():
        if line and not line.startswith("#") and line not in bins_missing:
            (bin_dir / line).touch(mode=0o755)
    if (src / "flannel-subnet.env").is_file():
        (node.root / "run/flannel").mkdir(parents=True)
        shutil.copy(src / "flannel-subnet.env", node.root / "run/flannel/subnet.env")
    shutil.copy(src / "resolv.conf", node.root / "etc" / "resolv.conf")


def cluster_part(fixture: str, dest: Path) -> Path:
    """The fixture's API part only (cluster/): node state comes from the lab."""
    shutil.copytree(FIXTURES / fixture / "bundle" / "cluster", dest / "cluster")
    return dest


def patch_recorded_links(bundle: Path, node: Node) -> None:
    """Put the recorded entries of devices the kernel could not create into the collected ip-link.json."""
    if not node.recorded_links:
        return
    path = bundle / "nodes" / node.name / "ip-link.json"
    links = json.loads(path.read_text())
    for i, link in enumerate(links):
        rec = node.recorded_links.get(link.get("ifname"))
        if rec is not None:
            links[i] = {
                **rec,
                "ifindex": link["ifindex"],
                "flags": link.get("flags", rec.get("flags")),
                "mtu": link.get("mtu", rec.get("mtu")),
            }
    path.write_text(json.dumps(links))


def host_local_state(node: Node, fixture: str, network: str) -> None:
    """/var/lib/cni/networks/NETWORK as host-local leaves it: one file per pod IP on the node."""
    import hashlib

    net_dir = node.root / "var/lib/cni/networks" / network
    net_dir.mkdir(parents=True)
    (net_dir / "lock").touch()
    last = None
    for pods in sorted((FIXTURES / fixture / "bundle" / "cluster").glob("*/pods.json")):
        for p in json.loads(pods.read_text()).get("items") or []:
            spec, status = p.get("spec") or {}, p.get("status") or {}
            if spec.get("nodeName") != node.name or spec.get("hostNetwork") or not status.get("podIP"):
                continue
            sandbox = hashlib.sha256(p["metadata"]["name"].encode()).hexdigest()
            (net_dir / status["podIP"]).write_text(f"{sandbox}\neth0")
            last = status["podIP"]
    if last:
        (net_dir / "last_reserved_ip.0").write_text(last)


# -- analysis -------------------------------------------------------------------------------------
def analyze(paths: list[Path]) -> dict:
    """`cnidoctor analyze PATHS --format json` in this process (the console entry point itself)."""
    from cnidoctor.cli.app import main

    out, argv = io.StringIO(), sys.argv
    sys.argv = ["cnidoctor", "analyze", *map(str, paths), "--format", "json", "--fail-on", "never"]
    try:
        with contextlib.redirect_stdout(out):
            main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.argv = argv
    assert code == 0, code
    return json.loads(out.getvalue())


def findings(report: dict) -> tuple[set[tuple[str, str]], set[tuple[str, str]], dict[str, list[str]]]:
    """(top-level (id, node) pairs, folded pairs, explained_by per id)."""
    top, folded = set(), set()
    by = {}
    for f in report["findings"]:
        pairs = {(f["id"], n) for n in f["affected"]["nodes"] or ["-"]}
        (folded if f.get("explained_by") else top).update(pairs)
        by[f["id"]] = f.get("explained_by") or []
    return top, folded, by
