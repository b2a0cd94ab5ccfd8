from __future__ import annotations

import json

import pytest
from parse_testlib import data

from cnidoctor.parse.cilium import ClusterNode, ComponentState, parse_cilium_health, parse_cilium_status
from cnidoctor.parse.errors import ParseError

POLICYMAP_ERROR = (
    "Failed to add PolicyMap key Ingress: 70755 0: Unable to update element for map with file "
    "descriptor 34: argument list too long"
)


def test_status_with_failing_policymap_controllers():
    st = parse_cilium_status(data("CI-01-node-2-cilium-status.json"), "cilium-status.json")
    assert st.components["cilium"] == ComponentState("Ok", "Ok")
    assert st.components["cni-file"].msg == "/host/etc/cni/net.d/05-cilium.conflist"
    assert st.components["cluster.ciliumHealth"].ok
    assert len(st.controllers) == 17
    failing = st.failing_controllers()
    assert [c.name for c in failing] == ["sync-policymap-2958", "sync-policymap-3733", "sync-policymap-3821"]
    assert {c.last_failure_msg for c in failing} == {POLICYMAP_ERROR}
    assert failing[0].consecutive_failures == 7 and failing[0].successes == 0
    assert st.bpf_maps["Endpoint policy"] == 16384 and len(st.bpf_maps) == 16
    assert (st.ipam_mode, st.kube_proxy_replacement, st.routing_mode, st.tunnel_protocol) == (
        "cluster-pool",
        "False",
        "Tunnel",
        "VXLAN",
    )
    assert (st.host_routing, st.masquerading_mode, st.encryption, st.cni_chaining) == (
        "Legacy",
        "iptables",
        "Disabled",
        "none",
    )
    assert st.cni_file == "/host/etc/cni/net.d/05-cilium.conflist"
    assert st.ipam_allocations["10.0.1.27"] == "health"
    assert st.self_node == "default/node-2"
    assert st.cluster_nodes[0] == ClusterNode("default/node-1", "192.168.56.11", None, "10.0.0.214")
    assert st.raw["datapath-mode"] == "veth"


def test_status_minimal_and_failure_state():
    st = parse_cilium_status(json.dumps({"cilium": {"state": "Failure", "msg": "Kubernetes: timeout"}}))
    assert not st.components["cilium"].ok
    assert st.controllers == () and st.bpf_maps == {} and st.ipam_mode is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("level=fatal msg=...", "s:1: invalid JSON: Expecting value"),
        ("[]", "s: expected a JSON object for cilium status, got a list"),
        ('{"controllers": {"a": 1}}', "s: cilium status: 'controllers' should be a list, got an object"),
        (
            '{"ipam": {"allocations": {"10.0.0.1": [5]}}}',
            "s: cilium status.ipam.allocations: '10.0.0.1' should be a string, got a list",
        ),
    ],
)
def test_status_errors(text, message):
    with pytest.raises(ParseError) as exc:
        parse_cilium_status(text, "s")
    assert str(exc.value).startswith(message)


def test_health_one_node_unreachable():
    h = parse_cilium_health(data("CI-10-node-1-cilium-health.txt"), "cilium-health.txt")
    assert h.probe_time == "2026-11-20T11:14:36Z"
    assert [(n.name, n.local, n.reachable) for n in h.nodes] == [
        ("node-1", True, True),
        ("node-2", False, False),
        ("node-3", False, True),
    ]
    (down,) = h.unreachable()
    assert [(p.kind, p.address) for p in down.paths] == [("Host", "192.168.56.12"), ("Endpoint", "10.0.1.27")]
    icmp, http = down.paths[0].probes
    assert (icmp.probe, icmp.ok, icmp.result) == ("ICMP to stack", False, "Connection timed out")
    assert http.result.startswith('Get "http://192.168.56.12:4240/hello": dial tcp')
    ok = h.nodes[0].paths[0].probes[0]
    assert ok.ok and ok.result == "OK, RTT=517.181µs"


def test_health_error_message_and_bad_line():
    h = parse_cilium_health("Error: cannot get status: Get http://localhost: connection refused\n")
    assert h.nodes == () and h.messages == ("Error: cannot get status: Get http://localhost: connection refused",)
    with pytest.raises(ParseError) as exc:
        parse_cilium_health("Nodes:\n  node-1 (localhost):\n  what is this\n", "h")
    assert str(exc.value) == "h:3: unexpected line in the node list: 'what is this'"
