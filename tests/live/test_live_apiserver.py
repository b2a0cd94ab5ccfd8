"""The local API server as the official client sees it: discovery, selectors, paging, logs, RBAC, read-only."""

from __future__ import annotations

import json

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from cnidoctor.apiserver.rbac import Rule
from tests.live.conftest import fixture_bundle, served

FIXTURE = fixture_bundle("case-CA-07")


@pytest.fixture(scope="module")
def api():
    with served(FIXTURE) as server:
        cfg = k8s.Configuration(host=server.url)
        with k8s.ApiClient(cfg) as c:
            yield server, k8s.CoreV1Api(c), c


def names(items) -> list[str]:  # noqa: ANN001
    return [i.metadata.name for i in items]


def test_discovery_and_version(api):
    _, _, c = api
    groups = {g.name for g in k8s.ApisApi(c).get_api_versions().groups}
    assert {"apps", "networking.k8s.io", "apiextensions.k8s.io", "crd.projectcalico.org"} <= groups
    assert k8s.VersionApi(c).get_code().git_version == "v1.30.6"
    resources = {r.name for r in k8s.CoreV1Api(c).get_api_resources().resources}
    assert {"pods", "pods/log", "nodes", "configmaps", "events"} <= resources and "secrets" not in resources


def test_label_field_selectors_and_paging(api):
    _, core, _ = api
    assert names(core.list_pod_for_all_namespaces(label_selector="k8s-app=calico-node").items) == [
        "calico-node-cd25x",
        "calico-node-4nr84",
        "calico-node-mbjwr",
    ]
    both = core.list_namespaced_pod("kube-system", label_selector="k8s-app in (calico-node,kube-proxy),!missing")
    assert len(both.items) == 6
    on3 = core.list_pod_for_all_namespaces(field_selector="spec.nodeName=node-3")
    assert "calico-node-mbjwr" in names(on3.items) and all(p.spec.node_name == "node-3" for p in on3.items)
    full = names(core.list_pod_for_all_namespaces().items)
    pages, token = [], None
    while True:
        page = core.list_pod_for_all_namespaces(limit=5, _continue=token)
        pages += names(page.items)
        token = page.metadata._continue
        if not token:
            break
    assert pages == full and len(full) == 18
    with pytest.raises(ApiException) as bad:
        core.list_pod_for_all_namespaces(limit=5, _continue="garbage")
    assert bad.value.status == 400


def test_pod_logs_parameters(api):
    _, core, _ = api
    read = core.read_namespaced_pod_log
    previous = read("calico-node-mbjwr", "kube-system", container="calico-node", previous=True)
    assert "RPF check is set to 'loose'" in previous
    assert len(read("calico-node-mbjwr", "kube-system", container="calico-node", tail_lines=2).splitlines()) == 2
    assert len(read("calico-node-mbjwr", "kube-system", container="calico-node", limit_bytes=100).encode()) == 100
    recent = read("calico-node-cd25x", "kube-system", container="calico-node", since_seconds=600)
    everything = read("calico-node-cd25x", "kube-system", container="calico-node")
    assert len(recent) < len(everything)
    assert read("calico-node-mbjwr", "kube-system") == read("calico-node-mbjwr", "kube-system", container="calico-node")
    for kwargs, status in (
        ({"container": "nope"}, 400),
        ({"container": "calico-node", "name": "absent"}, 404),
        ({"container": "calico-node", "previous": True, "name": "calico-node-cd25x"}, 400),
    ):
        pod = kwargs.pop("name", "calico-node-mbjwr")
        with pytest.raises(ApiException) as err:
            read(pod, "kube-system", **kwargs)
        assert err.value.status == status


def test_get_objects_and_not_found(api):
    _, core, _ = api
    cm = core.read_namespaced_config_map("kube-proxy", "kube-system")
    assert cm.metadata.name == "kube-proxy" and "config.conf" in cm.data
    with pytest.raises(ApiException) as err:
        core.read_namespaced_config_map("absent", "kube-system")
    assert err.value.status == 404 and json.loads(err.value.body)["message"] == 'configmaps "absent" not found'


def test_read_only_and_request_log(api):
    server, core, _ = api
    with pytest.raises(ApiException) as err:
        core.delete_namespaced_pod("web-x4flbf872x-6w8j6", "default")
    assert err.value.status == 405
    with pytest.raises(ApiException) as err:
        core.list_pod_for_all_namespaces(watch=True, _preload_content=False)
    assert err.value.status == 405
    last = [r for r in server.requests if r.method == "DELETE"][-1]
    assert (last.verb, last.resource, last.status) == ("", "", 405)
    gets = [r for r in server.requests if r.resource == "configmaps"]
    assert gets and gets[0].verb == "get" and gets[0].namespace == "kube-system"


def test_cluster_role_is_enforced(tmp_path):
    rules = [Rule(("",), ("pods",), ("list",))]
    with served(FIXTURE, rules=rules) as server, k8s.ApiClient(k8s.Configuration(host=server.url)) as c:
        core = k8s.CoreV1Api(c)
        assert len(core.list_pod_for_all_namespaces().items) == 18
        with pytest.raises(ApiException) as err:
            core.list_node()
    assert err.value.status == 403
    assert json.loads(err.value.body)["message"] == (
        'nodes is forbidden: User "system:serviceaccount:cnidoctor:cnidoctor" cannot list resource "nodes" '
        'in API group "" at the cluster scope'
    )
