from __future__ import annotations

import pytest
from parse_testlib import data

from cnidoctor.parse.birdcl import BirdProtocol, parse_birdcl_protocols
from cnidoctor.parse.errors import ParseError


def test_bird1_mesh_peers_not_established():
    bird = parse_birdcl_protocols(data("CA-01-node-1-birdcl-protocols.txt"), "birdcl-protocols.txt")
    assert bird.version == "v0.3.3+birdv1.6.8" and bird.error is None
    assert [p.name for p in bird.protocols] == [
        "static1",
        "kernel1",
        "device1",
        "direct1",
        "Mesh_192_168_10_172",
        "Mesh_192_168_10_8",
    ]
    peer = bird.bgp()[0]
    assert peer == BirdProtocol(
        "Mesh_192_168_10_172", "BGP", "master", "start", "10:04:02", "Active        Socket: Connection timed out", 7
    )
    assert (peer.bgp_state, peer.last_error, peer.established) == ("Active", "Socket: Connection timed out", False)
    assert bird.protocols[0].bgp_state is None and bird.protocols[0].info == ""


def test_bird2_dates_and_established():
    bird = parse_birdcl_protocols(
        "BIRD 2.0.8 ready.\n"
        "Name       Proto      Table      State  Since         Info\n"
        "device1    Device     ---        up     2024-01-15 10:03:59  \n"
        "peer1      BGP        ---        up     2024-01-15 10:04:02  Established   \n"
        "peer2      BGP        ---        start  2024-01-14    Connect       Socket: Connection refused\n"
    )
    assert bird.version == "2.0.8"
    assert [(p.name, p.since, p.established) for p in bird.protocols] == [
        ("device1", "2024-01-15 10:03:59", False),
        ("peer1", "2024-01-15 10:04:02", True),
        ("peer2", "2024-01-14", False),
    ]
    assert bird.protocols[2].last_error == "Socket: Connection refused"


def test_control_socket_missing():
    bird = parse_birdcl_protocols(
        "Unable to connect to server control socket (/var/run/calico/bird.ctl): No such file or directory\n"
    )
    assert bird.protocols == () and bird.error.startswith("Unable to connect")


@pytest.mark.parametrize(
    ("text", "line"),
    [("garbage\n", 1), ("BIRD 1.6.8 ready.\nname proto table state since info\nshort row\n", 3)],
)
def test_errors(text, line):
    with pytest.raises(ParseError) as exc:
        parse_birdcl_protocols(text, "b")
    assert exc.value.line == line
