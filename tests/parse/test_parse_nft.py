from __future__ import annotations

import json
import shutil

import pytest
from parse_testlib import data, needs_netns, netns

from cnidoctor.parse.errors import ParseError
from cnidoctor.parse.nft import parse_nft_ruleset


def test_real_ruleset_sample():
    rs = parse_nft_ruleset(data("nft-ruleset.json"), "nft-ruleset.json")
    assert (rs.version, rs.json_schema_version) == ("1.0.6", 1)
    assert [(t.family, t.name, t.owner) for t in rs.tables] == [
        ("ip", "filter", None),
        ("ip", "nat", None),
        ("ip", "kube-proxy", "kube-proxy"),
    ]
    fwd = rs.chain("ip", "filter", "FORWARD")
    assert (fwd.type, fwd.hook, fwd.prio, fwd.policy, fwd.base) == ("filter", "forward", 0, "drop", True)
    assert rs.chain("ip", "filter", "cali-FORWARD").owner == "calico"
    assert rs.chain("ip", "nat", "FLANNEL-POSTRTG").owner == "flannel"
    assert rs.chain("ip", "kube-proxy", "nat-prerouting").prio == -100
    assert [(r.verdict, r.targets) for r in rs.rules_in("ip", "filter", "FORWARD")] == [
        ("jump", ("KUBE-FORWARD",)),
        ("jump", ("cali-FORWARD",)),
    ]
    drop = rs.rules_in("ip", "kube-proxy", "services")[0]
    assert (drop.verdict, drop.comment, drop.packets, drop.bytes, drop.owner) == ("drop", "test", 0, 0, "kube-proxy")
    assert [(s.name, s.kind, s.type, s.elements) for s in rs.sets] == [
        ("cluster-ips", "set", "ipv4_addr", 2),
        ("service-ips", "map", "ipv4_addr . inet_proto . inet_service", 0),
    ]
    assert {c.name for c in rs.chains_owned_by("kube-proxy")} == {"KUBE-FORWARD", "services", "nat-prerouting"}


def test_line_numbers_of_pretty_printed_entries():
    text = json.dumps(
        {"nftables": [{"metainfo": {"version": "1.0.9"}}, {"table": {"family": "inet", "name": "x"}}]}, indent=1
    )
    rs = parse_nft_ruleset(text)
    assert rs.tables[0].line == 8
    bad = text.replace('"name": "x"', '"name": ["x"]')
    with pytest.raises(ParseError) as exc:
        parse_nft_ruleset(bad, "nft.json")
    assert str(exc.value) == "nft.json:8: table: 'name' should be a string, got a list"


def test_unknown_kinds_are_skipped():
    rs = parse_nft_ruleset('{"nftables": [{"flowtable": {"name": "f"}}, {"future": 1}]}')
    assert rs.tables == () and rs.rules == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "n:1: expected a JSON object with an 'nftables' list, got a list"),
        ('{"x": 1}', "n:1: expected a JSON object with an 'nftables' list: no 'nftables' list"),
        ("Error: Could not process rule", "n:1: invalid JSON: Expecting value"),
        ('{"nftables": [3]}', "n:1: expected a JSON object for nftables entry, got a number"),
        ('{"nftables": [{"rule": {"family": "ip", "table": "t", "chain": "c", "expr": [1]}}]}',
         "n:1: rule: expression should be an object, got a number"),
    ],
)  # fmt: skip
def test_errors(text, message):
    with pytest.raises(ParseError) as exc:
        parse_nft_ruleset(text, "n")
    assert str(exc.value) == message


@needs_netns
@pytest.mark.skipif(shutil.which("nft") is None, reason="nft not installed")
def test_real_nft_output_from_a_namespace():
    with netns() as ns:
        ns.setup("nft", "add", "table", "inet", "calico")
        ns.setup(
            "nft",
            "add",
            "chain",
            "inet",
            "calico",
            "filter-FORWARD",
            "{ type filter hook forward priority 0; policy drop; }",
        )
        ns.setup(
            "nft", "add", "rule", "inet", "calico", "filter-FORWARD", "ct", "state", "established", "counter", "accept"
        )
        rs = parse_nft_ruleset(ns.run("nft", "-j", "list", "ruleset"))
    fwd = rs.chain("inet", "calico", "filter-FORWARD")
    assert (fwd.hook, fwd.policy, fwd.owner) == ("forward", "drop", "calico")
    (rule,) = rs.rules_in("inet", "calico", "filter-FORWARD")
    assert (rule.verdict, rule.packets) == ("accept", 0)
