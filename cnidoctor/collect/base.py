"""The collector contract: what a collector needs (RBAC), when it runs (phase), what it does (tasks)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from cnidoctor.collect.session import Session
    from cnidoctor.kube.client import KubeClient


class Phase(IntEnum):
    """Collection order: discovery, cluster-wide lists, then CNI detection and CNI-specific reads, then logs."""

    DISCOVERY = 0
    INVENTORY = 1
    CNI = 2
    LOGS = 3


@dataclass(frozen=True)
class Access:
    """One RBAC permission: verbs on a resource of an API group (optionally only some names)."""

    group: str
    resource: str  # plural, or plural/subresource
    verbs: tuple[str, ...]
    names: tuple[str, ...] = ()

    def rule_text(self) -> str:
        """The ClusterRole rule that grants it, in one line."""
        names = f", resourceNames: [{', '.join(self.names)}]" if self.names else ""
        verbs = ", ".join(f'"{v}"' for v in self.verbs)
        return f'apiGroups: ["{self.group}"], resources: ["{self.resource}"], verbs: [{verbs}]{names}'


@dataclass
class Task:
    """One unit of work on the pool: a request (or a few) whose failure becomes one gap."""

    what: str  # `list pods (all namespaces)`, `get pods/log kube-system/x`
    target: str  # the bundle path it fills (named in the gap)
    access: Access | None  # the permission it needs (for the 403 hint); None for discovery
    run: Callable[[KubeClient], None]
    quiet_statuses: tuple[int, ...] = ()  # statuses that are expected answers, not gaps (404 for optional reads)


class Collector(Protocol):
    """A plugin registered under the `cnidoctor.collectors` entry-point group."""

    name: str
    phase: Phase

    def access(self) -> list[Access]:
        """Every permission the collector may use (deploy/rbac.yaml is generated from these)."""
        ...

    def plan(self, session: Session) -> list[Task]:
        """The tasks to run now, given what earlier phases collected."""
        ...
