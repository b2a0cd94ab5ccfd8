"""The API resources cnidoctor reads, and the bundle file each one is written to.

Plain data (no client import): the collectors, the local API server and the RBAC generator share it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResourceKind:
    """One API resource: where it lives in the API and in the bundle."""

    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool
    file: str = ""  # bundle file stem; default `<plural>` (core/built-in) or `<plural>.<group>`
    cni: str = ""  # the CNI a custom resource belongs to

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """`pods`, `daemonsets.apps`, `ippools.crd.projectcalico.org` (as RBAC and errors name it)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def file_stem(self) -> str:
        return self.file or (f"{self.plural}.{self.group}" if self.cni else self.plural)

    def with_version(self, version: str) -> ResourceKind:
        return ResourceKind(self.group, version, self.plural, self.kind, self.namespaced, self.file, self.cni)


def _k(
    group: str, version: str, plural: str, kind: str, namespaced: bool, file: str = "", cni: str = ""
) -> ResourceKind:
    return ResourceKind(group, version, plural, kind, namespaced, file, cni)


NODES = _k("", "v1", "nodes", "Node", False)
NAMESPACES = _k("", "v1", "namespaces", "Namespace", False)
PODS = _k("", "v1", "pods", "Pod", True)
EVENTS = _k("", "v1", "events", "Event", True)
SERVICES = _k("", "v1", "services", "Service", True)
ENDPOINTS = _k("", "v1", "endpoints", "Endpoints", True)
REPLICATION_CONTROLLERS = _k(
    "", "v1", "replicationcontrollers", "ReplicationController", True, file="replication-controllers"
)
CONFIGMAPS = _k("", "v1", "configmaps", "ConfigMap", True)
DAEMONSETS = _k("apps", "v1", "daemonsets", "DaemonSet", True)
DEPLOYMENTS = _k("apps", "v1", "deployments", "Deployment", True)
REPLICASETS = _k("apps", "v1", "replicasets", "ReplicaSet", True)
NETWORK_POLICIES = _k("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True)
CRDS = _k(
    "apiextensions.k8s.io",
    "v1",
    "customresourcedefinitions",
    "CustomResourceDefinition",
    False,
    file="customresourcedefinitions.apiextensions.k8s.io",
)

# Namespaced lists every bundle has, in the order `kubectl cluster-info dump` writes them, plus ours.
NAMESPACED_LISTS = (
    EVENTS,
    PODS,
    DAEMONSETS,
    DEPLOYMENTS,
    REPLICASETS,
    SERVICES,
    REPLICATION_CONTROLLERS,
    NETWORK_POLICIES,
    ENDPOINTS,
)
BUILTIN = (NODES, NAMESPACES, *NAMESPACED_LISTS, CONFIGMAPS, CRDS)

# Custom resources of the CNIs (read only when the CNI is detected and the resource is served).
CNI_RESOURCES = (
    _k("crd.projectcalico.org", "v1", "ippools", "IPPool", False, cni="calico"),
    _k("crd.projectcalico.org", "v1", "bgpconfigurations", "BGPConfiguration", False, cni="calico"),
    _k("crd.projectcalico.org", "v1", "bgppeers", "BGPPeer", False, cni="calico"),
    _k("crd.projectcalico.org", "v1", "felixconfigurations", "FelixConfiguration", False, cni="calico"),
    _k("crd.projectcalico.org", "v1", "ipamblocks", "IPAMBlock", False, cni="calico"),
    _k("crd.projectcalico.org", "v1", "blockaffinities", "BlockAffinity", False, cni="calico"),
    _k("crd.projectcalico.org", "v1", "clusterinformations", "ClusterInformation", False, cni="calico"),
    _k("operator.tigera.io", "v1", "installations", "Installation", False, cni="calico"),
    _k("operator.tigera.io", "v1", "tigerastatuses", "TigeraStatus", False, cni="calico"),
    _k("cilium.io", "v2", "ciliumnodes", "CiliumNode", False, cni="cilium"),
    _k("cilium.io", "v2", "ciliumendpoints", "CiliumEndpoint", True, cni="cilium"),
    _k("cilium.io", "v2", "ciliumnetworkpolicies", "CiliumNetworkPolicy", True, cni="cilium"),
    _k("cilium.io", "v2", "ciliumclusterwidenetworkpolicies", "CiliumClusterwideNetworkPolicy", False, cni="cilium"),
    _k("k8s.cni.cncf.io", "v1", "network-attachment-definitions", "NetworkAttachmentDefinition", True, cni="multus"),
)

CNI_GROUPS = {
    "crd.projectcalico.org": "calico",
    "projectcalico.org": "calico",
    "operator.tigera.io": "calico",
    "cilium.io": "cilium",
    "k8s.cni.cncf.io": "multus",
}


def by_file_stem(stem: str) -> ResourceKind | None:
    """The known resource written to `<stem>.json` (`replication-controllers`, `ippools.crd.projectcalico.org`)."""
    for kind in (*BUILTIN, *CNI_RESOURCES):
        if kind.file_stem == stem:
            return kind
    return None
