"""Enforce a ClusterRole file the way the API server's RBAC authorizer would (allow rules only)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from cnidoctor.errors import UsageError

SUBJECT = "system:serviceaccount:cnidoctor:cnidoctor"


@dataclass(frozen=True)
class Rule:
    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    resource_names: tuple[str, ...] = ()

    def allows(self, verb: str, group: str, resource: str, name: str | None) -> bool:
        if not ("*" in self.api_groups or group in self.api_groups):
            return False
        if not ("*" in self.resources or resource in self.resources):
            return False
        if not ("*" in self.verbs or verb in self.verbs):
            return False
        return not self.resource_names or (name is not None and name in self.resource_names)


def _strings(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def load_rules(path: Path) -> list[Rule]:
    """The rules of every ClusterRole (or Role) in a YAML file."""
    try:
        docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"role file {path}: cannot read ({str(exc).splitlines()[0][:160]})") from None
    rules = []
    roles = 0
    for doc in docs:
        if not isinstance(doc, dict) or doc.get("kind") not in ("ClusterRole", "Role"):
            continue
        roles += 1
        for raw in doc.get("rules") or []:
            if isinstance(raw, dict) and not raw.get("nonResourceURLs"):
                rules.append(
                    Rule(
                        _strings(raw.get("apiGroups")),
                        _strings(raw.get("resources")),
                        _strings(raw.get("verbs")),
                        _strings(raw.get("resourceNames")),
                    )
                )
    if not roles:
        raise UsageError(f"role file {path}: no ClusterRole in it")
    return rules


class Authorizer:
    """Allow-only RBAC over resource requests; discovery (non-resource URLs) is always allowed."""

    def __init__(self, rules: list[Rule] | None) -> None:
        self.rules = rules

    def allows(self, verb: str, group: str, resource: str, name: str | None = None) -> bool:
        if self.rules is None:
            return True
        return any(r.allows(verb, group, resource, name) for r in self.rules)

    @staticmethod
    def denial(verb: str, group: str, resource: str, name: str | None, namespace: str | None) -> str:
        """The API server's wording of a 403."""
        plain = resource.split("/")[0]
        sub = resource.split("/", 1)[1] if "/" in resource else ""
        what = f'{plain} "{name}"' if name else plain
        scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        res = f'"{plain}/{sub}"' if sub else f'"{plain}"'
        return f'{what} is forbidden: User "{SUBJECT}" cannot {verb} resource {res} in API group "{group}" {scope}'
