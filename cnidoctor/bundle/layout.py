"""Every path of bundle format v1 in one place (see docs/bundle-format.md)."""

from __future__ import annotations

import re

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CLUSTER = "cluster"
NODES = "nodes"

NODES_LIST = "cluster/nodes.json"

# Namespaced lists written by `kubectl cluster-info dump` plus our extras.
NAMESPACED_LISTS = (
    "events",
    "pods",
    "daemonsets",
    "deployments",
    "replicasets",
    "services",
    "replication-controllers",
    "configmaps",
    "networkpolicies",
    "endpoints",
)

# Per-node files, one per command (name -> what produced it).
NODE_FILES = {
    "ip-route.json": "ip -j route show table all",
    "ip-link.json": "ip -j -d link show",
    "ip-addr.json": "ip -j addr show",
    "iptables-save.txt": "iptables-save (stderr included)",
    "iptables-legacy-save.txt": "iptables-legacy-save",
    "iptables-nft-save.txt": "iptables-nft-save",
    "nft-ruleset.json": "nft -j list ruleset",
    "sysctl.txt": "sysctl -a",
    "modules.txt": "lsmod",
    "cni-bin.txt": "ls -1 of each CNI bin dir, '# DIR' before each",
    "flannel-subnet.env": "cat /run/flannel/subnet.env",
    "cilium-status.json": "cilium-dbg status -o json",
    "cilium-health.txt": "cilium-health status",
    "bpftool-maps.json": "bpftool -j map show",
    "birdcl-protocols.txt": "birdcl show protocols",
    "conntrack-stats.txt": "conntrack -S",
    "resolv.conf": "cat /etc/resolv.conf",
    "kubelet.log": "journalctl -u kubelet (excerpt)",
    "dmesg.txt": "dmesg (excerpt)",
    "uname.txt": "uname -a",
    "cni-ipam.txt": "host-local reservations under /var/lib/cni/networks",
}
CNI_NET_D = "cni-net.d"

LOG_BLOCK_START = re.compile(r"^==== START logs for container (\S+) of pod ([^/\s]+)/(\S+) ====$")
LOG_BLOCK_END = re.compile(r"^==== END logs for container (\S+) of pod ([^/\s]+)/(\S+) ====$")


def node_file(node: str, name: str) -> str:
    """Bundle path of one node file."""
    return f"{NODES}/{node}/{name}"


def namespaced_list(namespace: str, resource: str) -> str:
    return f"{CLUSTER}/{namespace}/{resource}.json"


def cluster_list(resource: str) -> str:
    return f"{CLUSTER}/{resource}.json"


def is_log_path(path: str) -> bool:
    """True for container log files under cluster/<ns>/<pod>/."""
    parts = path.split("/")
    return len(parts) == 4 and parts[0] == CLUSTER and (parts[3] == "logs.txt" or parts[3].endswith(".log"))
