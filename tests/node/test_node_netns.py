"""Real node state → `cnidoctor node` → `analyze`: the findings are exactly the faults built.

Each scenario turns a healthy fixture's nodes into network namespaces (see nodelab), breaks some of
them on purpose, runs the real `cnidoctor node` inside each namespace, lays the node bundles over the
fixture's API part and checks that `analyze` reports each built fault (by check ID and node), nothing
else at top level, and nothing at all on the clean node.

Not from the namespaces: `dmesg` and the kubelet journal (`--skip dmesg.txt,kubelet.log`) are the test
machine's, not the node's. Where the kernel lacks VXLAN the device is a dummy and its ip-link.json
entry is the fixture's recorded output (nodelab.Lab.device).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from nodelab import (
    Lab,
    Node,
    analyze,
    cluster_part,
    fake_root,
    findings,
    fixture_rules,
    patch_recorded_links,
    require_lab,
)
from nodescenarios import FLANNEL, FLANNEL_EXPECTED

SKIP = "dmesg.txt,kubelet.log"


def collect_and_analyze(lab: Lab, tmp: Path, fixture: str) -> tuple[list[Path], dict]:
    """`cnidoctor node` in every node namespace (folders and .tar.gz both), then `analyze` over them all."""
    tmp.mkdir(parents=True, exist_ok=True)

    def one(node: Node) -> Path:
        archive = node.index == 3 and not node.recorded_links  # recorded links are patched into folders
        dest = tmp / (f"{node.name}.tar.gz" if archive else f"{node.name}-dir")
        proc = lab.collect(node, dest, "--skip", SKIP)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == str(dest)
        patch_recorded_links(dest, node)
        return dest

    with ThreadPoolExecutor(max_workers=3) as pool:  # one `cnidoctor node` per namespace, at once
        bundles = list(pool.map(one, lab.nodes.values()))
    return bundles, analyze([cluster_part(fixture, tmp / "cluster"), *bundles])


# -- flannel (vxlan): the lab is shared with test_node_fallback (conftest.flannel_lab) ------------------
@pytest.fixture(scope="module")
def flannel(flannel_lab):
    lab, tmp = flannel_lab
    bundles, report = collect_and_analyze(lab, tmp / "netns-test", FLANNEL)
    return lab, bundles, report


def test_flannel_node_bundles_hold_real_state(flannel):
    lab, bundles, _ = flannel
    node_1 = bundles[0]
    manifest = json.loads((node_1 / "manifest.json").read_text())
    rec = manifest["nodes"]["node-1"]
    assert rec["method"] == "node"
    status = {c["file"]: c["status"] for c in rec["commands"]}
    for name in (
        "ip-route.json",
        "ip-link.json",
        "ip-addr.json",
        "iptables-save.txt",
        "iptables-nft-save.txt",
        "iptables-legacy-save.txt",
        "nft-ruleset.json",
        "sysctl.txt",
        "cni-net.d",
        "cni-bin.txt",
        "flannel-subnet.env",
        "resolv.conf",
        "cni-ipam.txt",
        "uname.txt",
    ):
        assert status[name] in ("ok",), (name, status[name])
    assert "dmesg.txt" not in status and "kubelet.log" not in status
    routes = json.loads((node_1 / "nodes/node-1/ip-route.json").read_text())
    assert {"dst": "10.244.1.0/24", "gateway": "10.244.1.0", "dev": "flannel.1"}.items() <= next(
        r for r in routes if r["dst"] == "10.244.1.0/24"
    ).items()
    assert (node_1 / "nodes/node-1/cni-net.d/10-flannel.conflist").is_file()
    bins = (node_1 / "nodes/node-1/cni-bin.txt").read_text().splitlines()
    assert bins[0] == "# /opt/cni/bin" and "portmap" in bins and "flannel" in bins
    assert "net.ipv4.ip_forward = 1" in (node_1 / "nodes/node-1/sysctl.txt").read_text()
    ipam = (node_1 / "nodes/node-1/cni-ipam.txt").read_text()
    assert ipam.startswith("# cbr0\n") and "10.244.0.2 " in ipam
    node_2 = (bundles[1] / "nodes/node-2/sysctl.txt").read_text()
    assert "net.ipv4.ip_forward = 0" in node_2
    assert "10.244.0.0/16" in (bundles[0] / "nodes/node-1/iptables-nft-save.txt").read_text()


def test_flannel_faults_are_exactly_the_findings(flannel):
    _, _, report = flannel
    top, folded, by = findings(report)
    assert top == FLANNEL_EXPECTED, sorted(top ^ FLANNEL_EXPECTED)
    built = {cid for cid, _ in FLANNEL_EXPECTED}
    for cid, parents in by.items():  # a folded symptom (GEN066 outliers...) hangs under a fault that was built
        assert not parents or set(parents) & built, (cid, parents)
    assert not any(n == "node-1" for _, n in top | folded), "the clean node has findings"


def test_flannel_evidence_names_the_fault(flannel):
    _, _, report = flannel
    ev = {f["id"]: " | ".join(e["excerpt"] for e in f["evidence"]) for f in report["findings"]}
    assert "10.244.2.0/24 via 192.168.56.13 dev eth0" in ev["GEN151"]
    assert "net.ipv4.ip_forward = 0" in ev["GEN050"]
    assert "10.244.0.0/24 (node-1)" in ev["FLN050"]


# -- cilium (tunnel) -------------------------------------------------------------------------------
CILIUM = "healthy-cilium"
CILIUM_HOST = {"node-1": "10.0.0.99", "node-2": "10.0.1.131", "node-3": "10.0.2.237"}
CILIUM_FAULTS = {
    "node-1": set(),  # clean
    "node-2": {"no route to node-3", "rp_filter strict on all"},
    "node-3": {"ip_forward off"},
}
CILIUM_EXPECTED = {("GEN150", "node-2"), ("GEN052", "node-2"), ("GEN050", "node-3")}


def build_cilium(lab: Lab) -> None:
    nodes = [lab.add_node(f"node-{i}", i) for i in (1, 2, 3)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda node: _cilium_node(lab, node, nodes), nodes))


def _cilium_node(lab: Lab, node: Node, nodes: list[Node]) -> None:
    faults = CILIUM_FAULTS[node.name]
    ns, host_ip = node.ns, CILIUM_HOST[node.name]
    lab.sysctl(ns, **{"net.ipv4.conf.default.rp_filter": 0})
    lab.device(node, "cilium_vxlan", "type vxlan external dstport 8472", CILIUM)
    cmds = [
        "link add cilium_host type veth peer name cilium_net",
        "link set cilium_net up",
        "link set cilium_host up",
        "link set cilium_vxlan up",
        f"addr add {host_ip}/32 dev cilium_host",
        f"route add {host_ip} dev cilium_host proto kernel scope link",
    ]
    for other in nodes:
        if "no route to node-3" in faults and other.name == "node-3":
            continue
        cmds.append(
            f"route add 10.0.{other.index - 1}.0/24 via {host_ip} dev cilium_host proto kernel src {host_ip} mtu 1450"
        )
    lab.batch(ns, *cmds)
    lab.sysctl(
        ns,
        **{
            "net.ipv4.ip_forward": 0 if "ip_forward off" in faults else 1,
            "net.ipv4.conf.all.rp_filter": 1 if "rp_filter strict on all" in faults else 0,
            "net.ipv4.conf.eth0.rp_filter": 2,
            "net.ipv4.conf.default.rp_filter": 2,
        },
    )
    lab.iptables(node, "nft", fixture_rules(CILIUM, node.name))
    fake_root(node, CILIUM)


@pytest.fixture(scope="module")
def cilium(tmp_path_factory):
    require_lab()
    tmp = tmp_path_factory.mktemp("cilium-lab")
    with Lab(tmp, "c") as lab:
        build_cilium(lab)
        bundles, report = collect_and_analyze(lab, tmp, CILIUM)
        yield lab, bundles, report


def test_cilium_faults_are_exactly_the_findings(cilium):
    _, _, report = cilium
    top, folded, by = findings(report)
    assert top == CILIUM_EXPECTED, sorted(top ^ CILIUM_EXPECTED)
    built = {cid for cid, _ in CILIUM_EXPECTED}
    for cid, parents in by.items():
        assert not parents or set(parents) & built, (cid, parents)
    assert not any(n == "node-1" for _, n in top | folded), "the clean node has findings"
    ev = {f["id"]: " | ".join(e["excerpt"] for e in f["evidence"]) for f in report["findings"]}
    assert (
        "no route to the pod CIDRs of other nodes: 10.0.2.0/24 (node-3); cilium tunnel (vxlan) expects dev "
        "cilium_host" in ev["GEN150"]
    )
    assert "node-1 has it: 10.0.2.0/24 via 10.0.0.99 dev cilium_host" in ev["GEN150"]
    assert "Cilium needs 0" in ev["GEN052"]
