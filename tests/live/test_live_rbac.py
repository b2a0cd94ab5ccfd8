"""deploy/rbac.yaml: generated from the collectors, enough for a gap-free scan, and nothing it does not use."""

from __future__ import annotations

import pytest

from cnidoctor.apiserver.rbac import load_rules
from cnidoctor.collect import rbac
from cnidoctor.collect.cni import CONFIGMAPS, VERSIONED_KUBELET_CONFIG
from cnidoctor.collect.live import Connection, collect_to
from cnidoctor.collect.progress import Progress
from cnidoctor.collect.registry import load_collectors
from cnidoctor.collect.session import CollectOptions
from cnidoctor.kube import resources as R
from tests.live.conftest import (
    RBAC,
    daemonset,
    gets_only,
    kubeconfig,
    node,
    pod,
    served,
    write_list,
    write_log,
)


def builtin_collectors() -> list:
    return [c for c in load_collectors()[0] if type(c).__module__.startswith("cnidoctor.")]


def kitchen_sink(root):  # noqa: ANN001, ANN201
    """A cluster with every CNI, every custom resource kind and every ConfigMap the role names."""
    nodes = [node(f"node-{m}", version=f"v1.{m}.3") for m in range(10, 24)]  # the server says v1.23.3
    write_list(root, "nodes.json", "Node", nodes)
    ds = [
        daemonset("kube-system", "calico-node", "calico/node:v3.28"),
        daemonset("kube-system", "cilium", "quay.io/cilium/cilium:v1.16"),
        daemonset("kube-flannel", "kube-flannel-ds", "flannel/flannel:v0.26"),
        daemonset("kube-system", "kube-multus-ds", "multus:v4"),
    ]
    write_list(
        root,
        "kube-system/daemonsets.json",
        "DaemonSet",
        [d for d in ds if d["metadata"]["namespace"] == "kube-system"],
        "apps/v1",
    )
    write_list(root, "kube-flannel/daemonsets.json", "DaemonSet", [ds[2]], "apps/v1")
    write_list(
        root,
        "kube-system/pods.json",
        "Pod",
        [pod("kube-system", "calico-node-a", "node-30", ("calico-node",), init=("install-cni",))],
    )
    write_log(root, "kube-system", "calico-node-a", "calico-node", "2026-11-20 10:59:00.000 [INFO] started\n")
    by_ns: dict[str, list] = {}
    for namespaces, name in [e for entries in CONFIGMAPS.values() for e in entries]:
        by_ns.setdefault(namespaces[0], []).append(
            {"metadata": {"name": name, "namespace": namespaces[0]}, "data": {"k": "v"}}
        )
    by_ns["kube-system"] += [
        {"metadata": {"name": n, "namespace": "kube-system"}, "data": {}} for n in VERSIONED_KUBELET_CONFIG
    ]
    for ns, cms in by_ns.items():
        write_list(root, f"{ns}/configmaps.json", "ConfigMap", cms)
    for kind in R.CNI_RESOURCES:
        item = {
            "apiVersion": kind.api_version,
            "kind": kind.kind,
            "metadata": {"name": f"one-{kind.plural}", **({"namespace": "kube-system"} if kind.namespaced else {})},
        }
        rel = f"kube-system/{kind.file_stem}.json" if kind.namespaced else f"{kind.file_stem}.json"
        write_list(root, rel, kind.kind, [item], kind.api_version)
    return root


def test_rbac_yaml_is_generated_from_the_collectors():
    text = RBAC.read_text(encoding="utf-8")
    assert text == rbac.render(builtin_collectors()), "regenerate: python -m cnidoctor.collect.rbac > deploy/rbac.yaml"
    for rule in load_rules(RBAC):
        assert set(rule.verbs) <= {"get", "list"}
        assert "secrets" not in rule.resources and "*" not in rule.resources + rule.api_groups


@pytest.fixture(scope="module")
def sink_scan(tmp_path_factory):
    root = kitchen_sink(tmp_path_factory.mktemp("sink") / "bundle")
    tmp = tmp_path_factory.mktemp("scan")
    with served(root, rules=load_rules(RBAC)) as server:
        result = collect_to(
            tmp / "out", Connection(kubeconfig=str(kubeconfig(server, tmp))), CollectOptions(), Progress(True)
        )
    return server, result


def test_scan_under_exactly_the_role_has_no_gaps(sink_scan):
    server, result = sink_scan
    assert result.gaps == []
    assert [r.path for r in server.requests if r.status == 403] == []
    assert sorted(result.cnis) == ["calico", "cilium", "flannel", "multus"]
    assert gets_only(server)


def test_the_role_grants_nothing_the_scan_does_not_use(sink_scan):
    server, _ = sink_scan
    used = {(r.verb, r.group, r.resource) for r in server.requests if r.verb}
    used_names = {r.name for r in server.requests if r.resource == "configmaps"}
    for rule in load_rules(RBAC):
        for group in rule.api_groups:
            for resource in rule.resources:
                for verb in rule.verbs:
                    assert (verb, group, resource) in used, f"granted but unused: {verb} {group}/{resource}"
        # The role is static, so it names kubelet-config-1.N for every kubeadm minor that used one (1.10-1.23);
        # a scan reads only its own server's. Every other name is read.
        unversioned = set(rule.resource_names) - set(VERSIONED_KUBELET_CONFIG)
        assert unversioned <= used_names, unversioned - used_names
        if rule.resource_names:
            assert used_names & set(VERSIONED_KUBELET_CONFIG) == {"kubelet-config-1.23"}


def test_a_missing_permission_is_a_gap_naming_the_rule(tmp_path):
    root = kitchen_sink(tmp_path / "bundle")
    rules = [r for r in load_rules(RBAC) if "daemonsets" not in r.resources]
    with served(root, rules=rules) as server:
        result = collect_to(
            tmp_path / "out", Connection(kubeconfig=str(kubeconfig(server, tmp_path))), CollectOptions(), Progress(True)
        )
    [gap] = [g for g in result.gaps if "daemonsets" in g.reason]
    assert gap.source == "collect"
    assert "list daemonsets.apps (all namespaces)" in gap.reason and "403" in gap.reason
    assert 'apiGroups: ["apps"], resources: ["daemonsets"], verbs: ["list"]' in gap.reason
    assert (result.path / "cluster" / "nodes.json").is_file()
