"""What checks see: the bundle plus indexes (pods by node, owners, config maps) built once, lazily."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from functools import cached_property
from typing import TypeVar

from cnidoctor.bundle import layout
from cnidoctor.bundle.reader import Bundle
from cnidoctor.model import Evidence

T = TypeVar("T")


def dict_at(obj: object, *keys: str) -> dict:
    """The JSON object at OBJ[key][key]...; {} when a step is missing or of another type (a list, a string)."""
    for key in keys:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj if isinstance(obj, dict) else {}


def list_at(obj: object, *keys: str) -> list:
    """The list at OBJ[key][key]...; [] when a step is missing or of another type."""
    for key in keys:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj if isinstance(obj, list) else []


def dicts_at(obj: object, *keys: str) -> list[dict]:
    """The JSON objects in the list at OBJ[key][key]... (`containers`, `conditions`, ...); items of another type
    are skipped, so the well-formed ones are still read."""
    return [item for item in list_at(obj, *keys) if isinstance(item, dict)]


def str_at(obj: object, *keys: str) -> str | None:
    """The string at OBJ[key][key]...; None when a step is missing or of another type."""
    value = dict_at(obj, *keys[:-1]).get(keys[-1]) if keys else obj
    return value if isinstance(value, str) else None


def meta(obj: dict) -> dict:
    return dict_at(obj, "metadata")


def obj_name(obj: dict) -> str:
    return str(meta(obj).get("name", "?"))


def obj_ref(obj: dict, kind: str | None = None) -> str:
    """`ns/Kind/name` (or `Kind/name` for cluster-scoped objects)."""
    m = meta(obj)
    k = kind or obj.get("kind") or "Object"
    ns = m.get("namespace")
    return f"{ns}/{k}/{m.get('name', '?')}" if ns else f"{k}/{m.get('name', '?')}"


class Context:
    """A read-only, indexed view of one bundle for the checks."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        self.cnis: set[str] = set()
        self._parsed: dict[tuple[str, str], object] = {}

    # -- API objects ------------------------------------------------------------------------------
    @cached_property
    def nodes(self) -> list[dict]:
        return self.bundle.cluster_items("nodes")

    @cached_property
    def node_by_name(self) -> dict[str, dict]:
        return {obj_name(n): n for n in self.nodes}

    @cached_property
    def node_names(self) -> list[str]:
        """Every node known from the API or from node-state folders."""
        return sorted(set(self.node_by_name) | set(self.bundle.node_dirs))

    @cached_property
    def pods(self) -> list[dict]:
        return self.bundle.namespaced_items("pods")

    @cached_property
    def events(self) -> list[dict]:
        return self.bundle.namespaced_items("events")

    @cached_property
    def daemonsets(self) -> list[dict]:
        return self.bundle.namespaced_items("daemonsets")

    @cached_property
    def deployments(self) -> list[dict]:
        return self.bundle.namespaced_items("deployments")

    @cached_property
    def services(self) -> list[dict]:
        return self.bundle.namespaced_items("services")

    @cached_property
    def configmaps(self) -> list[dict]:
        return self.bundle.namespaced_items("configmaps")

    @cached_property
    def networkpolicies(self) -> list[dict]:
        return self.bundle.namespaced_items("networkpolicies")

    def resource(self, name: str, namespace: str | None = None) -> list[dict]:
        """Items of any list: `nodes`, a namespaced list (`pods`), or a custom resource file
        (`ippools.crd.projectcalico.org`), cluster-scoped or namespaced."""
        cached = {
            "nodes": "nodes",
            "pods": "pods",
            "events": "events",
            "daemonsets": "daemonsets",
            "deployments": "deployments",
            "services": "services",
            "configmaps": "configmaps",
            "networkpolicies": "networkpolicies",
        }
        if name in cached and namespace is None:
            return getattr(self, cached[name])
        if self.bundle.has(layout.cluster_list(name)):
            return self.bundle.cluster_items(name)
        return self.bundle.namespaced_items(name, namespace)

    def has_resource(self, name: str) -> bool:
        """True when the bundle holds a list file for NAME (evidence exists, possibly empty)."""
        if self.bundle.has(layout.cluster_list(name)):
            return True
        return any(self.bundle.has(layout.namespaced_list(ns, name)) for ns in self.bundle.namespaces)

    def configmap(self, name: str, namespace: str | None = None) -> dict | None:
        for cm in self.configmaps:
            m = meta(cm)
            if m.get("name") == name and (namespace is None or m.get("namespace") == namespace):
                return cm
        return None

    def configmap_data(self, name: str, namespace: str | None = None) -> dict[str, str]:
        cm = self.configmap(name, namespace)
        data = cm.get("data") if cm else None
        return data if isinstance(data, dict) else {}

    # -- pods and nodes ---------------------------------------------------------------------------
    @cached_property
    def pod_index(self) -> dict[tuple[str, str], dict]:
        return {(str(meta(p).get("namespace")), obj_name(p)): p for p in self.pods}

    def pod(self, namespace: str, name: str) -> dict | None:
        return self.pod_index.get((namespace, name))

    def pod_node(self, namespace: str, name: str) -> str | None:
        return str_at(self.pod(namespace, name), "spec", "nodeName")

    @cached_property
    def pods_by_node(self) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = defaultdict(list)
        for p in self.pods:
            node = str_at(p, "spec", "nodeName")
            if node is not None:
                out[node].append(p)
        return out

    def owner_name(self, obj: dict) -> str | None:
        """Name of the controller owning OBJ (DaemonSet, ReplicaSet...)."""
        for ref in dicts_at(obj, "metadata", "ownerReferences"):
            if ref.get("controller", True):
                return str_at(ref, "name")
        return None

    def pods_of_daemonset(self, namespace: str, name: str) -> list[dict]:
        return [p for p in self.pods if meta(p).get("namespace") == namespace and self.owner_name(p) == name]

    # -- node files -------------------------------------------------------------------------------
    def node_file(self, node: str, name: str) -> str | None:
        return self.bundle.node_text(node, name)

    def has_node_file(self, node: str, name: str) -> bool:
        return self.bundle.has(layout.node_file(node, name))

    def node_files(self, node: str, prefix: str) -> dict[str, str]:
        """Files under nodes/<node>/<prefix> (e.g. `cni-net.d/`) keyed by the path after the prefix."""
        base = layout.node_file(node, prefix)
        out = {}
        for p in self.bundle.paths(base):
            text = self.bundle.read_text(p)
            if text is not None:
                out[p[len(base) :].lstrip("/")] = text
        return out

    def parsed(self, node: str, name: str, parser: Callable[[str, str], T]) -> T | None:
        """A node file run through a parser from cnidoctor.parse, cached; a parse error is a gap."""
        key = (node, name + ":" + getattr(parser, "__name__", "?"))
        if key in self._parsed:
            return self._parsed[key]  # type: ignore[return-value]
        text = self.node_file(node, name)
        value = None
        if text is not None:
            path = layout.node_file(node, name)
            try:
                value = parser(text, path)
            except ValueError as exc:  # ParseError is a ValueError
                self.bundle.add_gap(path, f"cannot parse: {exc}")
        self._parsed[key] = value
        return value

    def evidence_line(self, node: str, name: str, needle: str) -> Evidence | None:
        """Evidence pointing at the first line of a node file containing NEEDLE."""
        text = self.node_file(node, name)
        if text is None:
            return None
        for i, line in enumerate(text.splitlines(), start=1):
            if needle in line:
                return Evidence(layout.node_file(node, name), line.strip()[:300], node=node, line=i)
        return None
