"""Find collectors: the `cnidoctor.collectors` entry-point group, built-ins included.

The built-ins are registered in pyproject.toml exactly like a third-party collector would be; when the
group does not provide them (an install without those lines) the built-in list below fills in. An entry
point with a built-in's name replaces it.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points

from cnidoctor.collect.base import Collector

ENTRY_POINT_GROUP = "cnidoctor.collectors"
BUILTIN = {
    "discovery": "cnidoctor.collect.discovery:DiscoveryCollector",
    "nodes": "cnidoctor.collect.cluster:NodesCollector",
    "workloads": "cnidoctor.collect.cluster:WorkloadsCollector",
    "crds": "cnidoctor.collect.cluster:CrdsCollector",
    "configmaps": "cnidoctor.collect.cni:ConfigMapsCollector",
    "cni-resources": "cnidoctor.collect.cni:CniResourcesCollector",
    "logs": "cnidoctor.collect.logs:LogsCollector",
}


def _load(ref: str) -> object:
    module, _, attr = ref.partition(":")
    return getattr(import_module(module), attr)


def _instance(obj: object) -> Collector:
    return obj() if isinstance(obj, type) else obj  # type: ignore[return-value]


def load_collectors() -> tuple[list[Collector], list[str]]:
    """Collectors ordered by phase then name, and load errors of broken plugins (reported as gaps)."""
    found: dict[str, object] = {}
    errors: list[str] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            found[ep.name] = _instance(ep.load())
        except Exception as exc:  # a broken plugin must not stop collection
            errors.append(f"collector plugin {ep.name!r} failed to load: {type(exc).__name__}: {exc}")
    for name, ref in BUILTIN.items():
        if name not in found:
            found[name] = _instance(_load(ref))
    collectors = [c for c in found.values() if hasattr(c, "plan") and hasattr(c, "phase")]
    return sorted(collectors, key=lambda c: (int(c.phase), c.name)), errors
