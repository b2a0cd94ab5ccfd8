"""Built-in collector of what the API serves: API groups, the CNI groups' resources, namespaces."""

from __future__ import annotations

from cnidoctor.collect.base import Access, Phase, Task
from cnidoctor.collect.session import Session
from cnidoctor.kube import resources as R
from cnidoctor.kube.client import KubeClient
from cnidoctor.kube.errors import KubeError
from cnidoctor.kube.resources import ResourceKind


class DiscoveryCollector:
    """Discovery (`/apis`, and `/apis/<group>/<version>` of the CNI groups) and the namespace list."""

    name = "discovery"
    phase = Phase.DISCOVERY

    def access(self) -> list[Access]:
        return [Access("", "namespaces", ("list",))]

    def plan(self, session: Session) -> list[Task]:
        def groups(client: KubeClient) -> None:
            doc = client.api_groups()
            found: dict[str, str] = {}
            for g in doc.get("groups") or []:
                if isinstance(g, dict) and isinstance(g.get("name"), str):
                    pref = (g.get("preferredVersion") or {}).get("version")
                    if isinstance(pref, str):
                        found[g["name"]] = pref
            with session._lock:
                session.api_groups = found
            failures = []
            for group, version in sorted(found.items()):
                if group not in R.CNI_GROUPS:
                    continue
                try:
                    res = client.api_resources(group, version)
                except KubeError as exc:  # one group failing is a gap, the others still count
                    failures.append(exc.message)
                    continue
                for r in res.get("resources") or []:
                    if isinstance(r, dict) and "/" not in str(r.get("name", "")):
                        kind = ResourceKind(
                            group,
                            version,
                            str(r["name"]),
                            str(r.get("kind", "")),
                            bool(r.get("namespaced")),
                            cni=R.CNI_GROUPS[group],
                        )
                        with session._lock:
                            session.served[(group, kind.plural)] = kind
            for msg in failures:
                session.gap("discovery", msg)

        def namespaces(client: KubeClient) -> None:
            doc = client.list(R.NAMESPACES)
            names = sorted(
                str((n.get("metadata") or {}).get("name"))
                for n in doc.get("items") or []
                if isinstance(n, dict) and (n.get("metadata") or {}).get("name")
            )
            with session._lock:
                session.namespaces = names

        return [
            Task("get /apis (discovery)", "discovery", None, groups),
            Task("list namespaces", "cluster/<namespaces>", Access("", "namespaces", ("list",)), namespaces),
        ]
