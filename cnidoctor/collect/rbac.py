"""The least-privilege ClusterRole, generated from what the collectors declare they need.

`python -m cnidoctor.collect.rbac > deploy/rbac.yaml` regenerates the shipped file; a test fails when
the file and the collectors disagree.
"""

from __future__ import annotations

from collections import defaultdict

from cnidoctor.collect.base import Access, Collector

NAMESPACE = "cnidoctor"
NAME = "cnidoctor"


def role_rules(collectors: list[Collector]) -> list[dict]:
    """ClusterRole rules: one per (API group, verbs, resource names), resources merged and sorted."""
    merged: dict[tuple[str, tuple[str, ...], tuple[str, ...]], set[str]] = defaultdict(set)
    for c in collectors:
        for a in c.access():
            merged[(a.group, tuple(sorted(a.verbs)), tuple(sorted(a.names)))].add(a.resource)
    rules = []
    for (group, verbs, names), resources in sorted(merged.items()):
        rule: dict = {"apiGroups": [group], "resources": sorted(resources), "verbs": list(verbs)}
        if names:
            rule["resourceNames"] = list(names)
        rules.append(rule)
    return rules


def accesses(collectors: list[Collector]) -> list[Access]:
    return [a for c in collectors for a in c.access()]


def _flow(values: list[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def render(collectors: list[Collector]) -> str:
    lines = [
        "# Least-privilege, read-only access for `cnidoctor scan` and `cnidoctor collect`: get/list only (no watch,",
        "# no writes), never Secrets, ConfigMaps only by name, pod logs. Generated from the collectors:",
        "#   python -m cnidoctor.collect.rbac > deploy/rbac.yaml",
        "# Bind it to another subject (your user or group) by editing the ClusterRoleBinding.",
        "apiVersion: v1",
        "kind: Namespace",
        "metadata:",
        f"  name: {NAMESPACE}",
        "---",
        "apiVersion: v1",
        "kind: ServiceAccount",
        "metadata:",
        f"  name: {NAME}",
        f"  namespace: {NAMESPACE}",
        "---",
        "apiVersion: rbac.authorization.k8s.io/v1",
        "kind: ClusterRole",
        "metadata:",
        f"  name: {NAME}-reader",
        "rules:",
    ]
    for rule in role_rules(collectors):
        lines.append(f"- apiGroups: {_flow(rule['apiGroups'])}")
        lines.append(f"  resources: {_flow(rule['resources'])}")
        lines.append(f"  verbs: {_flow(rule['verbs'])}")
        if "resourceNames" in rule:
            lines.append(f"  resourceNames: {_flow(rule['resourceNames'])}")
    lines += [
        "---",
        "apiVersion: rbac.authorization.k8s.io/v1",
        "kind: ClusterRoleBinding",
        "metadata:",
        f"  name: {NAME}-reader",
        "roleRef:",
        "  apiGroup: rbac.authorization.k8s.io",
        "  kind: ClusterRole",
        f"  name: {NAME}-reader",
        "subjects:",
        "- kind: ServiceAccount",
        f"  name: {NAME}",
        f"  namespace: {NAMESPACE}",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    from cnidoctor.collect.registry import load_collectors

    print(render(load_collectors()[0]), end="")
