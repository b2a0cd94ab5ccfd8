"""Built-in CNI collectors: the CNI ConfigMaps by name (before detection, which reads them) and, after
detection, the CNIs' custom resources.

ConfigMaps are read one by one by name (never listed, so the ClusterRole can name them and nothing
else; an absent one is an answer, not a gap); a custom resource is listed only when its CNI was detected
and the API serves it, so a CRD that is not installed is not an error.
"""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.collect.base import Access, Phase, Task
from cnidoctor.collect.cluster import list_task
from cnidoctor.collect.session import Session, trim
from cnidoctor.kube import resources as R
from cnidoctor.kube.client import KubeClient
from cnidoctor.kube.errors import NotFound

# (namespaces, name) per CNI; "generic" is always read.
CONFIGMAPS: dict[str, list[tuple[tuple[str, ...], str]]] = {
    "generic": [
        (("kube-system",), "kube-proxy"),
        (("kube-system",), "coredns"),
        (("kube-system",), "kubeadm-config"),
        (("kube-system",), "kubelet-config"),
    ],
    "flannel": [(("kube-flannel", "kube-system"), "kube-flannel-cfg")],
    "calico": [(("kube-system", "calico-system"), "calico-config")],
    "cilium": [(("kube-system", "cilium"), "cilium-config")],
    "multus": [(("kube-system", "kube-multus"), "multus-cni-config"), (("kube-system",), "multus-daemon-config")],
}
# kubeadm before 1.24 named the kubelet ConfigMap after the minor version.
VERSIONED_KUBELET_CONFIG = tuple(f"kubelet-config-1.{m}" for m in range(10, 24))


def configmap_names() -> tuple[str, ...]:
    names = {name for entries in CONFIGMAPS.values() for _, name in entries}
    return tuple(sorted(names)) + VERSIONED_KUBELET_CONFIG


def server_minor(session: Session) -> int | None:
    m = re.match(r"v?1\.(\d+)", str(session.version.get("gitVersion", "")))
    return int(m.group(1)) if m else None


class ConfigMapsCollector:
    """kube-proxy, coredns, kubeadm/kubelet and the CNIs' ConfigMaps, by name (never Secrets)."""

    name = "configmaps"
    phase = Phase.INVENTORY

    def access(self) -> list[Access]:
        return [Access("", "configmaps", ("get",), configmap_names())]

    def wanted(self, session: Session) -> list[tuple[str, str]]:
        """Every candidate (namespace, name) in a namespace that exists; kubelet-config-1.N of the server's N."""
        pairs = [(ns, name) for entries in CONFIGMAPS.values() for namespaces, name in entries for ns in namespaces]
        minor = server_minor(session)
        if minor is not None and f"kubelet-config-1.{minor}" in VERSIONED_KUBELET_CONFIG:
            pairs.append(("kube-system", f"kubelet-config-1.{minor}"))
        existing = set(session.namespaces) if session.namespaces is not None else None
        return [(ns, n) for ns, n in dict.fromkeys(pairs) if existing is None or ns in existing]

    def plan(self, session: Session) -> list[Task]:
        pairs = self.wanted(session)
        self._order = [n for _, n in pairs]
        self._found: dict[str, list[dict]] = {ns: [] for ns, _ in pairs}
        self._answered: set[str] = set()  # namespaces where at least one get was answered

        def one(ns: str, name: str):  # noqa: ANN202
            def run(client: KubeClient) -> None:
                try:
                    cm = trim(client.get_configmap(ns, name))
                except NotFound:
                    with session._lock:
                        self._answered.add(ns)
                    return  # absent is an answer, not a gap
                with session._lock:
                    self._answered.add(ns)
                    self._found[ns].append(cm)
                    session.objects.setdefault("configmaps", []).append(cm)

            return run

        return [
            Task(
                f"get configmaps {ns}/{name}",
                layout.namespaced_list(ns, "configmaps"),
                Access("", "configmaps", ("get",), (name,)),
                one(ns, name),
            )
            for ns, name in pairs
        ]

    def finish(self, session: Session) -> None:
        """One ConfigMapList per namespace asked (empty when none of its names exist); none where every get
        failed, so a forbidden namespace is a gap and never reads as 'no ConfigMaps'."""
        rank = {n: i for i, n in enumerate(self._order)}
        for ns, items in self._found.items():
            if ns not in self._answered:
                continue
            items = sorted(items, key=lambda c: rank.get(str((c.get("metadata") or {}).get("name")), 0))
            session.write_json(
                layout.namespaced_list(ns, "configmaps"),
                {"kind": "ConfigMapList", "apiVersion": "v1", "metadata": {}, "items": items},
                force=True,
            )


class CniResourcesCollector:
    """Calico IP pools, BGP, Felix, IPAM, operator status; Cilium nodes, endpoints, policies; Multus NADs."""

    name = "cni-resources"
    phase = Phase.CNI

    def access(self) -> list[Access]:
        return [Access(k.group, k.plural, ("list",)) for k in R.CNI_RESOURCES]

    def plan(self, session: Session) -> list[Task]:
        crd_served = set()
        for crd in session.crds:
            spec = crd.get("spec") or {}
            versions = [v for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("served", True)]
            plural = (spec.get("names") or {}).get("plural")
            if versions and plural:
                storage = next((v for v in versions if v.get("storage")), versions[0])
                crd_served.add((spec.get("group"), plural, str(storage.get("name"))))
        tasks = []
        know_nothing = not session.api_groups and not session.crds
        for kind in R.CNI_RESOURCES:
            if kind.cni not in session.cnis:
                continue
            discovered = session.served.get((kind.group, kind.plural))
            from_crd = next((v for g, p, v in crd_served if g == kind.group and p == kind.plural), None)
            if discovered is not None:
                kind = kind.with_version(discovered.version)
            elif from_crd is not None:
                kind = kind.with_version(from_crd)
            elif not know_nothing:
                continue  # not installed: not an error
            for ns in session.list_namespaces if kind.namespaced else [None]:
                task = list_task(session, kind, ns)
                if know_nothing:
                    task.quiet_statuses = (404,)
                tasks.append(task)
        return tasks
