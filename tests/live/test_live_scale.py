"""On a big cluster the number of requests follows resource kinds and log streams, never pods or nodes;
agent logs come from the suspect nodes plus a small sample of healthy ones."""

from __future__ import annotations

import math

import pytest

from cnidoctor.collect.live import Connection, collect_to
from cnidoctor.collect.logs import app_sample
from cnidoctor.collect.progress import Progress
from cnidoctor.collect.session import CollectOptions
from tests.live.conftest import catalog_scopes, daemonset, gets_only, kubeconfig, node, pod, served, write_list

SUSPECTS = {"node-0007", "node-0042", "node-0099"}


def big_cluster(root, nodes: int):  # noqa: ANN001, ANN201
    names = [f"node-{i:04d}" for i in range(nodes)]
    write_list(root, "nodes.json", "Node", [node(n, ready=n != "node-0007") for n in names])
    system, apps = [], []
    for n in names:
        restarts = 3 if n == "node-0042" else 0
        system.append(
            pod(
                "kube-system",
                f"calico-node-{n}",
                n,
                ("calico-node",),
                init=("install-cni",),
                owner=("DaemonSet", "calico-node"),
                ready=not restarts,
                restarts=restarts,
            )
        )
        system.append(pod("kube-system", f"kube-proxy-{n}", n, ("kube-proxy",), owner=("DaemonSet", "kube-proxy")))
        apps += [pod("apps", f"web-{n}-{k}", n, ("web",), owner=("ReplicaSet", "web")) for k in range(5)]
    system += [
        pod("kube-system", f"coredns-{k}", names[k + 1], ("coredns",), owner=("ReplicaSet", "coredns"))
        for k in range(2)
    ]
    system += [
        pod("kube-system", f"{c}-node-0000", "node-0000", (c,), owner=("Node", "node-0000"))
        for c in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd")
    ]
    write_list(root, "kube-system/pods.json", "Pod", system)
    write_list(root, "apps/pods.json", "Pod", apps)
    write_list(
        root,
        "kube-system/daemonsets.json",
        "DaemonSet",
        [
            daemonset("kube-system", "calico-node", "calico/node:v3.28", desired=nodes, ready=nodes - 2),
            daemonset("kube-system", "kube-proxy", "registry.k8s.io/kube-proxy:v1.30.6", desired=nodes, ready=nodes),
        ],
        "apps/v1",
    )
    write_list(
        root,
        "apps/events.json",
        "Event",
        [
            {
                "metadata": {"name": "web-sandbox.1", "namespace": "apps"},
                "reason": "FailedCreatePodSandBox",
                "type": "Warning",
                "message": "failed to setup network for sandbox",
                "source": {"host": "node-0099"},
                "involvedObject": {"kind": "Pod", "namespace": "apps", "name": "web-node-0099-0"},
            }
        ],
    )
    return root, len(system) + len(apps)


def scan(tmp_path, nodes: int):  # noqa: ANN001, ANN201
    root, pods = big_cluster(tmp_path / f"bundle-{nodes}", nodes)
    with served(root) as server:
        result = collect_to(
            tmp_path / f"out-{nodes}",
            Connection(kubeconfig=str(kubeconfig(server, tmp_path))),
            CollectOptions(),
            Progress(True),
        )
    assert gets_only(server)
    assert [g.path for g in result.gaps] == ["cluster/kube-system/calico-node-node-0042/calico-node.previous.log"]
    return server, result, pods


@pytest.fixture(scope="module")
def two_sizes(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scale")
    return scan(tmp, 100), scan(tmp, 200)


def test_logs_come_from_suspect_nodes_plus_a_sample(two_sizes):
    (server, result, _), _ = two_sizes
    logged = {r.path.split("/")[6] for r in server.requests if r.resource == "pods/log"}
    node_of = {}
    for n in [f"node-{i:04d}" for i in range(100)]:
        node_of[f"calico-node-{n}"] = node_of[f"kube-proxy-{n}"] = n
    agent_nodes = {node_of[p] for p in logged if p in node_of}
    assert agent_nodes >= SUSPECTS and len(agent_nodes) <= len(SUSPECTS) + 3
    assert {"coredns-0", "coredns-1"} <= logged  # cluster-level system pods always
    assert not [p for p in logged if p.startswith("web-")]  # application pods never
    assert result.manifest["log_streams"] == len([r for r in server.requests if r.resource == "pods/log"])
    previous = [r for r in server.requests if r.resource == "pods/log" and r.query.get("previous") == "true"]
    assert [r.path.split("/")[6] for r in previous] == ["calico-node-node-0042"]


def test_request_count_follows_kinds_and_streams_not_objects(two_sizes):
    (small, small_result, small_pods), (big, big_result, big_pods) = two_sizes
    assert big_pods > 1.9 * small_pods
    for server, result, pods in ((small, small_result, small_pods), (big, big_result, big_pods)):
        lists = [r for r in server.requests if r.verb == "list"]
        assert len([r for r in lists if r.resource == "pods"]) == math.ceil(pods / 500)
        streams = result.manifest["log_streams"]
        assert len(server.requests) <= 40 + streams + math.ceil(pods / 500)
    grow = len(big.requests) - len(small.requests)
    assert grow <= math.ceil(big_pods / 500) - math.ceil(small_pods / 500) + 2


def test_application_pod_logs_are_capped_troubled_first(tmp_path):
    """A check reads every application pod's logs (GEN133): 500 app pods cost 40 pods' logs, troubled first."""
    root, _ = big_cluster(tmp_path / "bundle", 100)
    apps = [
        pod(
            "apps",
            f"web-node-{i:04d}-{k}",
            f"node-{i:04d}",
            ("web",),
            owner=("ReplicaSet", "web"),
            ready=(i, k) != (60, 2),
            restarts=2 if (i, k) == (50, 1) else 0,
        )
        for i in range(100)
        for k in range(5)
    ]
    write_list(root, "apps/pods.json", "Pod", apps)
    with served(root) as server:
        collect_to(
            tmp_path / "out",
            Connection(kubeconfig=str(kubeconfig(server, tmp_path))),
            CollectOptions(log_scopes=catalog_scopes()),
            Progress(True),
        )
    logged = {r.path.split("/")[6] for r in server.requests if r.resource == "pods/log"}
    web = {p for p in logged if p.startswith("web-")}
    assert len(web) == 40
    assert {"web-node-0050-1", "web-node-0060-2"} <= web
    assert len({p.split("-")[2] for p in web}) >= 30  # a spread over the nodes, not the first 40 of the list


def test_app_sample_keeps_list_order_and_small_lists_whole():
    pods = [pod("apps", f"a-{i}", "n", ("c",), restarts=2 if i % 7 == 3 else 0) for i in range(100)]
    assert app_sample(pods[:10], 40) == pods[:10]
    picked = app_sample(pods, 20)
    names = [p["metadata"]["name"] for p in picked]
    assert len(picked) == 20 and names == sorted(names, key=lambda n: int(n.split("-")[1]))
    assert {f"a-{i}" for i in range(100) if i % 7 == 3} <= set(names)
