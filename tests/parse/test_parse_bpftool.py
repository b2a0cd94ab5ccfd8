from __future__ import annotations

import pytest
from parse_testlib import data

from cnidoctor.parse.bpftool import BpfMap, parse_bpf_maps
from cnidoctor.parse.errors import ParseError


def test_cilium_policy_maps():
    maps = parse_bpf_maps(data("CI-01-node-2-bpftool-maps.json"), "bpftool-maps.json")
    assert len(maps) == 21
    assert maps[0] == BpfMap(34, "hash", "cilium_lxc", 0, 20, 48, 65535, 4980660, False, (), 1)
    policy = [(m.id, m.max_entries) for m in maps if m.name.startswith("cilium_policy")]
    assert policy == [(46, 65536), (50, 16384), (51, 16384), (52, 16384), (53, 16384), (54, 16384)]


def test_pids_unknown_type_and_old_memlock():
    (m,) = parse_bpf_maps('[{"id": 7, "type": 33, "bytes_memlock": 1, "pids": [{"pid": 12, "comm": "cilium-agent"}]}]')
    assert (m.type, m.name, m.pids, m.frozen) == ("33", "", ((12, "cilium-agent"),), False)
    assert parse_bpf_maps('[{"id": 1, "type": "hash", "memlock": 4096}]')[0].bytes_memlock == 4096
    assert parse_bpf_maps("[]") == ()


def test_errors():
    with pytest.raises(ParseError) as exc:
        parse_bpf_maps('[\n{"id": 1},\n{"type": "hash"}\n]', "bpftool-maps.json")
    assert str(exc.value) == "bpftool-maps.json:3: map: missing 'id'"
    with pytest.raises(ParseError) as exc:
        parse_bpf_maps("Error: can't get next map: Operation not permitted", "bpftool-maps.json")
    assert str(exc.value) == "bpftool-maps.json:1: expected a JSON list of BPF maps"
