"""The scenarios the node tests build: a healthy fixture's nodes as namespaces, plus faults on some."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from nodelab import Lab, Node, fake_root, fixture_rules, host_local_state, split_rules

FLANNEL = "healthy-flannel"
FLANNEL_FAULTS = {
    "node-1": set(),  # clean
    "node-2": {"ip_forward off", "stale host-gw route to node-3", "portmap binary missing", "eth0 mtu 1400"},
    "node-3": {"no route to node-1", "bridge-nf-call-iptables 0", "flannel rules in legacy", "FORWARD DROP (nft)"},
}
FLANNEL_EXPECTED = {
    ("GEN050", "node-2"),
    ("GEN151", "node-2"),
    ("GEN003", "node-2"),
    ("GEN056", "node-2"),
    ("FLN050", "node-3"),
    ("GEN051", "node-3"),
    ("GEN053", "node-3"),
    ("GEN054", "node-3"),
}


def build_flannel(lab: Lab) -> None:
    nodes = [lab.add_node(f"node-{i}", i) for i in (1, 2, 3)]
    with ThreadPoolExecutor(max_workers=3) as pool:  # the nodes are independent: set them up at once
        list(pool.map(lambda node: _flannel_node(lab, node, nodes), nodes))


def _flannel_node(lab: Lab, node: Node, nodes: list[Node]) -> None:
    faults = FLANNEL_FAULTS[node.name]
    ns, sub = node.ns, f"10.244.{node.index - 1}"
    lab.device(node, "flannel.1", f"type vxlan id 1 local {node.ip} dev eth0 dstport 8472 nolearning", FLANNEL)
    cmds = ["link set flannel.1 mtu 1450 up"]
    if "eth0 mtu 1400" in faults:  # the underlay shrank under the overlay (the kernel keeps flannel.1 at 1450)
        cmds.append("link set eth0 mtu 1400")
    cmds += [
        f"addr add {sub}.0/32 dev flannel.1",
        "link add cni0 type bridge",
        f"addr add {sub}.1/24 dev cni0",
        "link set cni0 mtu 1450 up",
    ]
    for other in nodes:
        osub = f"10.244.{other.index - 1}"
        if other is node or ("no route to node-1" in faults and other.name == "node-1"):
            continue
        if "stale host-gw route to node-3" in faults and other.name == "node-3":
            cmds.append(f"route add {osub}.0/24 via {other.ip} dev eth0")
        else:
            cmds.append(f"route add {osub}.0/24 via {osub}.0 dev flannel.1 onlink")
    lab.batch(ns, *cmds)
    lab.add_pod(node, "cni0", f"{sub}.2/24", f"{sub}.1", 1450)
    lab.sysctl(
        ns,
        **{
            "net.ipv4.ip_forward": 0 if "ip_forward off" in faults else 1,
            "net.bridge.bridge-nf-call-iptables": 0 if "bridge-nf-call-iptables 0" in faults else 1,
        },
    )
    rules = fixture_rules(FLANNEL, node.name)
    if "flannel rules in legacy" in faults:
        rules, legacy = split_rules(rules, "FLANNEL")
        lab.iptables(node, "legacy", legacy)
    if "FORWARD DROP (nft)" in faults:
        head, _, tail = rules.partition("*filter")
        rules = head + "*filter" + tail.replace(":FORWARD ACCEPT", ":FORWARD DROP", 1)
    lab.iptables(node, "nft", rules)
    fake_root(node, FLANNEL, bins_missing=("portmap",) if "portmap binary missing" in faults else ())
    host_local_state(node, FLANNEL, "cbr0")
