from __future__ import annotations

import ipaddress
import json

import pytest
from parse_testlib import case_file, data, needs_netns, netns

from cnidoctor.parse.errors import ParseError
from cnidoctor.parse.iproute import Vxlan, parse_addrs, parse_links, parse_routes


def _main(routes):
    return {r.dst: r for r in routes if r.table == "main" and r.family == "inet"}


def test_routes_cilium_case():
    routes = parse_routes(data("CI-05-node-1-ip-route.json"), "ip-route.json")
    assert len(routes) == 37
    main = _main(routes)
    default = main["default"]
    assert (default.gateway, default.dev, default.protocol, default.type) == (
        "198.51.100.1",
        "eth0",
        "static",
        "unicast",
    )
    assert default.network == ipaddress.ip_network("0.0.0.0/0")
    pod = main["10.0.1.0/24"]
    assert (pod.dev, pod.gateway, pod.mtu, pod.prefsrc) == ("cilium_host", "10.0.0.99", 1450, "10.0.0.99")
    assert main["192.168.56.0/24"].dev == "eth0.4000"
    assert main["192.168.56.0/24"].scope == "link"
    v6 = [r for r in routes if r.dst == "fe80::/64"]
    assert {r.family for r in v6} == {"inet6"} and {r.metric for r in v6} == {256}
    local = [r for r in routes if r.table == "local" and r.type == "local" and r.family == "inet"]
    assert "127.0.0.1" in {r.dst for r in local}


def test_routes_calico_blackhole():
    main = _main(parse_routes(data("CA-01-node-1-ip-route.json")))
    block = main["10.244.135.64/26"]
    assert (block.type, block.protocol, block.dev) == ("blackhole", "bird", None)
    assert main["10.244.135.65"].dev == "calie1c546175ca"
    assert main["10.244.135.65"].network == ipaddress.ip_network("10.244.135.65/32")


def test_routes_from_the_shared_case_match_the_copy():
    assert parse_routes(case_file("CI-05", "node-1", "ip-route.json")) == parse_routes(
        data("CI-05-node-1-ip-route.json")
    )


def test_links_vlan_veth_vxlan():
    links = {link.name: link for link in parse_links(data("CI-05-node-1-ip-link.json"), "ip-link.json")}
    vlan = links["eth0.4000"]
    assert (vlan.kind, vlan.vlan_id, vlan.parent, vlan.mtu) == ("vlan", 4000, "eth0", 1400)
    assert links["eth0"].kind is None and links["eth0"].mtu == 1500
    assert links["cilium_vxlan"].vxlan == Vxlan(
        id=0, port=8472, local=None, remote=None, underlay=None, learning=False, external=True
    )
    assert links["cilium_host"].veth_peer == "cilium_net"
    health = links["lxc_health"]
    assert (health.kind, health.link_index, health.link_netnsid, health.veth_peer) == ("veth", 2, 0, "if2")
    assert health.up and health.lower_up


def test_links_flannel_vxlan_and_bridge():
    links = {link.name: link for link in parse_links(data("FL-03-node-1-ip-link.json"))}
    flannel = links["flannel.1"]
    assert flannel.kind == "vxlan" and flannel.mtu == 1450
    assert flannel.vxlan == Vxlan(
        id=1, port=8472, local="10.0.2.15", remote=None, underlay="enp0s3", learning=False, external=False
    )
    assert links["cni0"].kind == "bridge"
    veth = links["vethd10d3f88"]
    assert (veth.master, veth.slave_kind, veth.kind) == ("cni0", "bridge", "veth")


def test_addrs():
    ifaces = {i.name: i for i in parse_addrs(data("FL-03-node-1-ip-addr.json"), "ip-addr.json")}
    assert [a.cidr for a in ifaces["cni0"].addresses("inet")] == ["10.244.0.1/24"]
    assert [a.cidr for a in ifaces["enp0s3"].addresses("inet")] == ["10.0.2.15/24"]
    assert ifaces["flannel.1"].addrs[0].cidr == "10.244.0.0/32"
    lo6 = ifaces["lo"].addresses("inet6")[0]
    assert (lo6.cidr, lo6.scope, lo6.flags) == ("::1/128", "host", ("noprefixroute",))
    assert ifaces["cni0"].addrs[0].interface == ipaddress.ip_interface("10.244.0.1/24")
    assert ifaces["vethd10d3f88"].master == "cni0"


def test_multipath_cross_family_gateway_and_metrics_forms():
    text = json.dumps(
        [
            {"dst": "10.40.0.0/24", "flags": [], "nexthops": [
                {"gateway": "10.9.0.3", "dev": "br0", "weight": 1, "flags": []},
                {"gateway": "10.10.0.3", "dev": "v0", "weight": 2, "flags": ["onlink"]},
            ]},
            {"dst": "10.60.0.0/24", "via": {"family": "inet6", "host": "fe80::1"}, "dev": "eth0", "flags": []},
            {"dst": "10.61.0.0/24", "dev": "eth0", "table": "100", "metrics": {"mtu": 1400}, "flags": []},
        ]
    )  # fmt: skip
    multi, via6, table = parse_routes(text)
    assert multi.devs == ("br0", "v0") and multi.nexthops[1].flags == ("onlink",)
    assert via6.gateway == "fe80::1"
    assert (table.table, table.mtu) == ("100", 1400)


def test_back_to_back_arrays_are_joined():
    text = '[{"dst":"10.0.0.0/8","dev":"eth0","flags":[]}]\n[{"dst":"::/0","dev":"eth0","flags":[]}]\n'
    routes = parse_routes(text)
    assert [(r.dst, r.family, r.line) for r in routes] == [("10.0.0.0/8", "inet", 1), ("::/0", "inet6", 2)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "ip-route.json:1: empty input, expected a JSON list of routes"),
        ('{"dst": "default"}', "ip-route.json:1: expected a JSON list of routes"),
        ("Error: ipv4: FIB table does not exist.", "ip-route.json:1: expected a JSON list of routes"),
        ('[\n {"dst": "a", "flags": []},\n {"flags": []}\n]', "ip-route.json:3: route: missing 'dst'"),
        ('[\n {"dst": "a",\n  "metric": "x"}]', "ip-route.json:2: route: 'metric' should be an integer, got a string"),
        ('[\n {"dst": "a"},\n 7]', "ip-route.json:3: expected a JSON object for route, got a number"),
        ('[\n {"dst": "a"}\n {"dst": "b"}]', "ip-route.json:3: invalid JSON: expected ',' or ']'"),
        ('[{"dst": "a", }]', "ip-route.json:1: invalid JSON: Expecting property name enclosed in double quotes"),
    ],
)
def test_route_errors_name_file_and_line(text, message):
    with pytest.raises(ParseError) as exc:
        parse_routes(text, "ip-route.json")
    assert str(exc.value) == message


def test_link_errors():
    with pytest.raises(ParseError, match=r"ip-link.json:1: link: missing 'ifname'"):
        parse_links('[{"ifindex": 1}]', "ip-link.json")
    with pytest.raises(ParseError, match=r"link.linkinfo: 'info_data' should be an object"):
        parse_links('[{"ifindex": 1, "ifname": "x", "linkinfo": {"info_kind": "vxlan", "info_data": 3}}]')


@needs_netns
def test_real_ip_output_from_a_namespace():
    with netns() as ns:
        ns.setup("ip", "link", "add", "br0", "type", "bridge")
        ns.setup("ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1")
        ns.setup("ip", "link", "set", "v0", "master", "br0")
        for dev in ("lo", "br0", "v0", "v1"):
            ns.setup("ip", "link", "set", dev, "up")
        ns.setup("ip", "link", "set", "v1", "mtu", "1400")
        ns.setup("ip", "addr", "add", "10.9.0.1/24", "dev", "br0")
        ns.setup("ip", "route", "add", "10.20.0.0/16", "via", "10.9.0.2", "dev", "br0", "mtu", "1380")
        ns.setup("ip", "route", "add", "blackhole", "10.30.0.0/26", "proto", "bird")
        ns.setup("ip", "route", "add", "10.50.0.0/24", "dev", "br0", "table", "100")
        links = {link.name: link for link in parse_links(ns.run("ip", "-j", "-d", "link", "show"))}
        routes = parse_routes(ns.run("ip", "-j", "route", "show", "table", "all"))
        addrs = {i.name: i for i in parse_addrs(ns.run("ip", "-j", "addr", "show"))}
    assert links["br0"].kind == "bridge"
    assert (links["v0"].kind, links["v0"].master, links["v0"].slave_kind, links["v0"].veth_peer) == (
        "veth",
        "br0",
        "bridge",
        "v1",
    )
    assert (links["v1"].mtu, links["v1"].veth_peer) == (1400, "v0")
    by_dst = {(r.table, r.dst): r for r in routes}
    via = by_dst[("main", "10.20.0.0/16")]
    assert (via.gateway, via.dev, via.mtu, via.type) == ("10.9.0.2", "br0", 1380, "unicast")
    hole = by_dst[("main", "10.30.0.0/26")]
    assert (hole.type, hole.protocol) == ("blackhole", "bird")
    assert by_dst[("100", "10.50.0.0/24")].dev == "br0"
    assert by_dst[("local", "10.9.0.1")].type == "local"
    assert [a.cidr for a in addrs["br0"].addresses("inet")] == ["10.9.0.1/24"]


@needs_netns
def test_real_vxlan_from_a_namespace():
    with netns() as ns:
        ns.setup("ip", "link", "add", "d0", "type", "veth", "peer", "name", "d1")
        ns.setup("ip", "addr", "add", "10.9.0.1/24", "dev", "d0")
        ns.setup(
            "ip", "link", "add", "flannel.1", "type", "vxlan", "id", "1", "dstport", "8472",
            "dev", "d0", "local", "10.9.0.1", "nolearning",
        )  # fmt: skip
        ns.setup("ip", "link", "set", "flannel.1", "mtu", "1450")
        links = {link.name: link for link in parse_links(ns.run("ip", "-j", "-d", "link", "show"))}
    vx = links["flannel.1"]
    assert (vx.kind, vx.mtu) == ("vxlan", 1450)
    assert vx.vxlan == Vxlan(
        id=1, port=8472, local="10.9.0.1", remote=None, underlay="d0", learning=False, external=False
    )
