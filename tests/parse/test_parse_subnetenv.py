from __future__ import annotations

import pytest
from parse_testlib import data

from cnidoctor.parse.errors import ParseError
from cnidoctor.parse.subnetenv import parse_subnet_env


def test_flannel_subnet_env():
    env = parse_subnet_env(data("GE-04-node-2-flannel-subnet.env"), "subnet.env")
    assert (env.network, env.subnet, env.mtu, env.ipmasq) == ("10.244.0.0/16", "10.244.1.1/24", 1450, True)
    assert env.ipv6_network is None


def test_dual_stack_quotes_and_export():
    env = parse_subnet_env(
        '# flannel\nexport FLANNEL_NETWORK="10.42.0.0/16"\nFLANNEL_IPV6_NETWORK=fd00::/56\n'
        "FLANNEL_IPV6_SUBNET=fd00:0:0:1::1/64\nFLANNEL_IPMASQ=false\n"
    )
    assert (env.network, env.ipv6_network, env.ipv6_subnet) == ("10.42.0.0/16", "fd00::/56", "fd00:0:0:1::1/64")
    assert env.ipmasq is False and env.mtu is None and env.subnet is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("FLANNEL_MTU=abc\n", "s:1: FLANNEL_MTU should be a number, got 'abc'"),
        ("\nFLANNEL_IPMASQ=maybe\n", "s:2: FLANNEL_IPMASQ should be true or false, got 'maybe'"),
        ("FLANNEL NETWORK\n", "s:1: expected KEY=VALUE, got 'FLANNEL NETWORK'"),
    ],
)
def test_errors(text, message):
    with pytest.raises(ParseError) as exc:
        parse_subnet_env(text, "s")
    assert str(exc.value) == message
