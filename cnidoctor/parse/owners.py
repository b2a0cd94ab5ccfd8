"""Which component owns a netfilter chain or table, from the naming conventions each one uses."""

from __future__ import annotations

# Exact names first (kubelet's own chains share kube-proxy's KUBE- prefix), then prefixes, in order.
_EXACT = {
    "KUBE-KUBELET-CANARY": "kubelet",
    "KUBE-IPTABLES-HINT": "kubelet",
    "KUBE-FIREWALL": "kubelet",
    "KUBE-MARK-DROP": "kubelet",
}
_PREFIXES = (
    ("cali-", "calico"),
    ("CILIUM_", "cilium"),
    ("OLD_CILIUM_", "cilium"),
    ("FLANNEL-", "flannel"),
    ("KUBE-ROUTER-", "kube-router"),
    ("KUBE-NWPLCY-", "kube-router"),
    ("KUBE-POD-FW-", "kube-router"),
    ("KUBE-", "kube-proxy"),
    ("CNI-", "cni-plugins"),
    ("DOCKER", "docker"),
    ("WEAVE", "weave"),
    ("ANTREA-", "antrea"),
    ("ISTIO_", "istio"),
)
# nftables tables that belong to one component as a whole.
_NFT_TABLES = {
    "kube-proxy": "kube-proxy",
    "calico": "calico",
    "cilium": "cilium",
    "firewalld": "firewalld",
}


def chain_owner(name: str) -> str | None:
    """The component that creates chain NAME (`cali-` calico, `KUBE-` kube-proxy, ...), or None."""
    if name in _EXACT:
        return _EXACT[name]
    for prefix, owner in _PREFIXES:
        if name.startswith(prefix):
            return owner
    return None


def nft_owner(table: str, chain: str | None = None) -> str | None:
    """The owner of an nftables table, or of a chain in it (by the table first, then the chain name)."""
    owner = _NFT_TABLES.get(table)
    if owner is None and chain is not None:
        owner = chain_owner(chain)
    return owner
