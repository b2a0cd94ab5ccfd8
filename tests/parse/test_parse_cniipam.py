from __future__ import annotations

import pytest
from parse_testlib import data

from cnidoctor.parse.cniipam import Reservation, parse_cni_ipam
from cnidoctor.parse.errors import ParseError


def test_exhausted_host_local_range():
    ipam = parse_cni_ipam(data("GE-04-node-2-cni-ipam.txt"), "cni-ipam.txt")
    cbr0 = ipam.reservations("cbr0")
    assert list(ipam.networks) == ["cbr0"] and len(cbr0) == 253
    assert cbr0[0] == Reservation(
        "10.244.1.2", "0cf3ef34fb2a36763ccd6170b4171b112a5791b0f4a27f9fe720c43e8bcd31db", None, 2
    )
    assert cbr0[-1].ip == "10.244.1.254"
    assert len({r.container_id for r in cbr0}) == 253


def test_bookkeeping_files_and_ifname():
    ipam = parse_cni_ipam("# cbr0\nlast_reserved_ip.0 10.244.1.9\nlock\n10.244.1.9 abc eth0\n# empty\n")
    assert ipam.last_reserved == {"cbr0": ("10.244.1.9",)}
    assert ipam.reservations("cbr0") == (Reservation("10.244.1.9", "abc", "eth0", 4),)
    assert ipam.reservations("empty") == () and ipam.reservations("other") == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10.0.0.1 abc\n", "i:1: reservation listed before any '# NET' header"),
        ("# cbr0\nnot-an-ip abc\n", "i:2: expected 'IP CONTAINER-ID', got 'not-an-ip abc'"),
    ],
)
def test_errors(text, message):
    with pytest.raises(ParseError) as exc:
        parse_cni_ipam(text, "i")
    assert str(exc.value) == message
