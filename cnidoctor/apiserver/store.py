"""What the local API server serves: the API objects, logs, version and clock of one bundle.

Built once from `cnidoctor.bundle.reader.Bundle`, so every bundle form the reader accepts can be served.
Built-in kinds are always served (possibly empty); custom resources are served when the bundle holds
their list file or their CustomResourceDefinition.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from cnidoctor.apiserver.logtime import parse_rfc3339
from cnidoctor.bundle import layout
from cnidoctor.bundle.reader import Bundle
from cnidoctor.kube import resources as R
from cnidoctor.kube.resources import ResourceKind

DEFAULT_VERSION = "v1.30.0"


@dataclass
class Served:
    """One resource type and its objects (cluster order: namespaces sorted, file order within)."""

    kind: ResourceKind
    objects: list[dict] = field(default_factory=list)


def _meta(obj: dict) -> dict:
    m = obj.get("metadata")
    return m if isinstance(m, dict) else {}


class BundleStore:
    """Read-only API state of a bundle, safe to use from many handler threads."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        self.lock = threading.Lock()
        self.resources: dict[tuple[str, str], Served] = {}
        for kind in R.BUILTIN:
            self.resources[(kind.group, kind.plural)] = Served(kind)
        self._load_lists()
        self._complete_namespaces()
        self._complete_crds()
        self.pods = {(_meta(p).get("namespace"), _meta(p).get("name")): p for p in self.served("", "pods").objects}
        self._logs: dict[tuple[str, str], list] = {}
        for ref in bundle.logs:
            self._logs.setdefault((ref.namespace, ref.pod), []).append(ref)
        self.version = self._version()
        self.now = self._snapshot_time()

    # -- building ---------------------------------------------------------------------------------
    def served(self, group: str, plural: str) -> Served:
        return self.resources[(group, plural)]

    def _kind_for(self, stem: str, items: list[dict], namespaced: bool) -> ResourceKind | None:
        known = R.by_file_stem(stem)
        first = items[0] if items else {}
        api_version = str(first.get("apiVersion") or "")
        if known is not None:
            if known.group and api_version.startswith(known.group + "/"):
                known = known.with_version(api_version.split("/", 1)[1])
            return known
        if "." not in stem or not first.get("kind") or "/" not in api_version:
            return None
        plural, group = stem.split(".", 1)
        if api_version.split("/", 1)[0] != group:
            return None
        return ResourceKind(group, api_version.split("/", 1)[1], plural, str(first["kind"]), namespaced, cni="custom")

    def _load_lists(self) -> None:
        for path in self.bundle.paths(layout.CLUSTER + "/"):
            parts = path.split("/")
            if not path.endswith(".json") or len(parts) not in (2, 3):
                continue
            namespace = parts[1] if len(parts) == 3 else None
            stem = parts[-1][: -len(".json")]
            items = self.bundle.items(path)
            kind = self._kind_for(stem, items, namespace is not None)
            if kind is None or kind.namespaced != (namespace is not None):
                continue
            served = self.resources.setdefault((kind.group, kind.plural), Served(kind))
            for item in items:
                obj = dict(item)
                # kind and apiVersion on every item (the reader adds `kind`; kubectl needs both or neither)
                obj.setdefault("kind", kind.kind)
                obj.setdefault("apiVersion", served.kind.api_version)
                meta = dict(_meta(obj))
                if namespace is not None:
                    meta.setdefault("namespace", namespace)
                obj["metadata"] = meta
                served.objects.append(obj)

    def _complete_namespaces(self) -> None:
        served = self.served("", "namespaces")
        have = {_meta(o).get("name") for o in served.objects}
        names = set(self.bundle.namespaces)
        for s in self.resources.values():
            if s.kind.namespaced:
                names |= {str(_meta(o).get("namespace")) for o in s.objects}
        for ns in sorted(names - have):
            served.objects.append(
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": ns},
                    "spec": {"finalizers": ["kubernetes"]},
                    "status": {"phase": "Active"},
                }
            )

    def _complete_crds(self) -> None:
        """CRDs from the bundle make their resources served; served CRs without a CRD get one."""
        crds = self.served("apiextensions.k8s.io", "customresourcedefinitions")
        for crd in crds.objects:
            spec = crd.get("spec") if isinstance(crd.get("spec"), dict) else {}
            names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
            versions = [v for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("served", True)]
            group, plural, kind = spec.get("group"), names.get("plural"), names.get("kind")
            if not (group and plural and kind and versions):
                continue
            storage = next((v for v in versions if v.get("storage")), versions[0])
            self.resources.setdefault(
                (group, plural),
                Served(
                    ResourceKind(
                        group, str(storage.get("name")), plural, kind, spec.get("scope") == "Namespaced", cni="custom"
                    )
                ),
            )
        named = {_meta(c).get("name") for c in crds.objects}
        for (group, plural), s in sorted(self.resources.items()):
            if not s.kind.cni or f"{plural}.{group}" in named:
                continue
            k = s.kind
            crds.objects.append(
                {
                    "apiVersion": "apiextensions.k8s.io/v1",
                    "kind": "CustomResourceDefinition",
                    "metadata": {"name": f"{plural}.{group}"},
                    "spec": {
                        "group": group,
                        "names": {
                            "plural": plural,
                            "singular": k.kind.lower(),
                            "kind": k.kind,
                            "listKind": k.kind + "List",
                        },
                        "scope": "Namespaced" if k.namespaced else "Cluster",
                        "versions": [{"name": k.version, "served": True, "storage": True}],
                    },
                    "status": {"acceptedNames": {"plural": plural, "kind": k.kind}, "storedVersions": [k.version]},
                }
            )

    def _version(self) -> dict:
        version = None
        manifest = self.bundle.manifest or {}
        cluster = manifest.get("cluster") if isinstance(manifest.get("cluster"), dict) else {}
        if isinstance(cluster.get("server_version"), str):
            version = cluster["server_version"]
        if not version:
            kubelets = []
            for node in self.served("", "nodes").objects:
                v = ((node.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion")
                if isinstance(v, str) and v.startswith("v"):
                    kubelets.append(v)
            version = max(kubelets, key=_version_key) if kubelets else DEFAULT_VERSION
        major, minor = (_version_key(version) + (0, 0))[:2]
        return {
            "major": str(major),
            "minor": str(minor),
            "gitVersion": version,
            "gitCommit": "cnidoctor-local",
            "gitTreeState": "clean",
            "buildDate": "1970-01-01T00:00:00Z",
            "goVersion": "go1.22",
            "compiler": "gc",
            "platform": "linux/amd64",
        }

    def _snapshot_time(self) -> float:
        """The bundle's "now": when it was collected, else its newest timestamp."""
        manifest = self.bundle.manifest or {}
        created = parse_rfc3339(manifest.get("created"))
        if created:
            return created
        newest = 0.0
        for ev in self.served("", "events").objects:
            for key in ("lastTimestamp", "eventTime", "firstTimestamp"):
                newest = max(newest, parse_rfc3339(ev.get(key)) or 0.0)
        for obj in self.served("", "nodes").objects + self.served("", "pods").objects:
            for cond in (obj.get("status") or {}).get("conditions") or []:
                if isinstance(cond, dict):
                    for key in ("lastHeartbeatTime", "lastTransitionTime"):
                        newest = max(newest, parse_rfc3339(cond.get(key)) or 0.0)
        return newest or time.time()

    # -- logs ---------------------------------------------------------------------------------------
    def log(self, namespace: str, pod: str, container: str, previous: bool) -> bytes | None:
        """The bundle's log of one container, or None when the bundle has none."""
        refs = self._logs.get((namespace, pod), [])
        with self.lock:
            for ref in refs:
                if ref.container == container and ref.previous == previous:
                    return self.bundle.read_bytes(ref.path) or b""
            if previous:
                return None
            for ref in refs:
                if ref.container is None:
                    lines = [ln.text for ln in self.bundle.stream_log(ref) if ln.container == container]
                    if lines:
                        return ("\n".join(lines) + "\n").encode()
        return None


def _version_key(version: str) -> tuple[int, ...]:
    nums = []
    for part in version.lstrip("v").split("-")[0].split("+")[0].split(".")[:3]:
        digits = "".join(ch for ch in part if ch.isdigit())
        nums.append(int(digits) if digits else 0)
    return tuple(nums)
