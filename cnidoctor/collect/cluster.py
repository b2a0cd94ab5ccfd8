"""Built-in collectors of cluster-wide lists: nodes, namespaces, workloads, events, services, policies, CRDs."""

from __future__ import annotations

from cnidoctor.bundle import layout
from cnidoctor.collect.base import Access, Phase, Task
from cnidoctor.collect.session import Session
from cnidoctor.kube import resources as R
from cnidoctor.kube.client import KubeClient
from cnidoctor.kube.resources import ResourceKind


def list_task(session: Session, kind: ResourceKind, namespace: str | None = None) -> Task:
    """List KIND (all pages) and keep it in the session."""
    target = (
        layout.cluster_list(kind.file_stem)
        if not kind.namespaced
        else (layout.namespaced_list(namespace or "*", kind.file_stem))
    )

    def run(client: KubeClient) -> None:
        session.keep_list(kind, client.list(kind, namespace))

    return Task(f"list {KubeClient.describe(kind, namespace)}", target, Access(kind.group, kind.plural, ("list",)), run)


class NodesCollector:
    """Node objects (conditions, pod CIDRs, annotations of the CNIs)."""

    name = "nodes"
    phase = Phase.INVENTORY

    def access(self) -> list[Access]:
        return [Access("", "nodes", ("list",))]

    def plan(self, session: Session) -> list[Task]:
        return [list_task(session, R.NODES)]


class WorkloadsCollector:
    """Pods, events, DaemonSets, Deployments, ReplicaSets, Services, Endpoints, NetworkPolicies..."""

    name = "workloads"
    phase = Phase.INVENTORY

    def access(self) -> list[Access]:
        return [Access(k.group, k.plural, ("list",)) for k in R.NAMESPACED_LISTS]

    def plan(self, session: Session) -> list[Task]:
        return [list_task(session, kind, ns) for kind in R.NAMESPACED_LISTS for ns in session.list_namespaces]


class CrdsCollector:
    """The CustomResourceDefinitions of the CNI API groups (which CNI custom resources exist)."""

    name = "crds"
    phase = Phase.INVENTORY

    def access(self) -> list[Access]:
        return [Access(R.CRDS.group, R.CRDS.plural, ("list",))]

    def plan(self, session: Session) -> list[Task]:
        def run(client: KubeClient) -> None:
            doc = client.list(R.CRDS)
            keep = []
            for crd in doc.get("items") or []:
                spec = crd.get("spec") if isinstance(crd, dict) and isinstance(crd.get("spec"), dict) else {}
                if spec.get("group") in R.CNI_GROUPS:
                    for v in spec.get("versions") or []:
                        if isinstance(v, dict):
                            v.pop("schema", None)  # the OpenAPI schema is large and says nothing about faults
                    keep.append(crd)
            doc["items"] = keep
            with session._lock:
                session.crds = keep
            session.write_json(layout.cluster_list(R.CRDS.file_stem), doc)

        return [
            Task(
                "list customresourcedefinitions.apiextensions.k8s.io",
                layout.cluster_list(R.CRDS.file_stem),
                Access(R.CRDS.group, R.CRDS.plural, ("list",)),
                run,
            )
        ]
