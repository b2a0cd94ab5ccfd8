"""Property tests: any input gives a typed result or a ParseError naming the source, never another error."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parse_testlib import DATA

from cnidoctor.parse import (
    birdcl,
    bpftool,
    cilium,
    cnibin,
    cniconf,
    cniipam,
    conntrack,
    iproute,
    iptables,
    kubeconfig,
    lsmod,
    nft,
    resolvconf,
    subnetenv,
    sysctl,
    uname,
)
from cnidoctor.parse.errors import ParseError

FUZZ = settings(max_examples=200, deadline=None)

TEXT_PARSERS: dict[str, tuple[Callable[[str, str], Any], str]] = {
    "iptables": (iptables.parse_iptables_save, "CA-06-node-2-iptables-legacy-save.txt"),
    "sysctl": (sysctl.parse_sysctl, "CA-07-node-3-sysctl.txt"),
    "lsmod": (lsmod.parse_lsmod, "CA-06-node-2-modules.txt"),
    "uname": (uname.parse_uname, "CA-05-node-3-uname.txt"),
    "resolvconf": (resolvconf.parse_resolv_conf, "GE-07-node-2-resolv.conf"),
    "subnetenv": (subnetenv.parse_subnet_env, "GE-04-node-2-flannel-subnet.env"),
    "conntrack": (conntrack.parse_conntrack_stats, "GE-06-node-2-conntrack-stats.txt"),
    "cnibin": (cnibin.parse_cni_bin, "MU-02-node-1-cni-bin.txt"),
    "cniipam": (cniipam.parse_cni_ipam, "GE-04-node-2-cni-ipam.txt"),
    "birdcl": (birdcl.parse_birdcl_protocols, "CA-01-node-1-birdcl-protocols.txt"),
    "cilium_health": (cilium.parse_cilium_health, "CI-10-node-1-cilium-health.txt"),
    "kubeconfig": (kubeconfig.parse_kubeconfig, "CA-08-node-2-calico-kubeconfig"),
}
JSON_PARSERS: dict[str, tuple[Callable[[str, str], Any], str]] = {
    "routes": (iproute.parse_routes, "CI-05-node-1-ip-route.json"),
    "links": (iproute.parse_links, "CI-05-node-1-ip-link.json"),
    "addrs": (iproute.parse_addrs, "FL-03-node-1-ip-addr.json"),
    "nft": (nft.parse_nft_ruleset, "nft-ruleset.json"),
    "cilium_status": (cilium.parse_cilium_status, "CI-01-node-2-cilium-status.json"),
    "bpftool": (bpftool.parse_bpf_maps, "CI-01-node-2-bpftool-maps.json"),
    "cniconf": (cniconf.parse_cni_config, "CA-01-node-2-10-calico.conflist"),
}
ALL = {**TEXT_PARSERS, **JSON_PARSERS}


def _sample_lines(name: str) -> list[str]:
    return (DATA / ALL[name][1]).read_text().splitlines()


def _keys(value: Any) -> set[str]:
    """Every object key in a JSON value, to build inputs shaped like the real format."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def _check(parser: Callable[[str, str], Any], text: str) -> None:
    try:
        result = parser(text, "fuzz-source")
    except ParseError as exc:
        assert exc.source == "fuzz-source"
        assert exc.line is None or exc.line >= 1
        assert str(exc).startswith("fuzz-source")
        return
    assert isinstance(result, tuple) or dataclasses.is_dataclass(result)


scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)


def json_values(keys: list[str]) -> st.SearchStrategy[Any]:
    key = st.sampled_from(keys) | st.text(max_size=8) if keys else st.text(max_size=8)
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=3) | st.dictionaries(key, children, max_size=4),
        max_leaves=10,
    )


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Paths (keys and indexes) to every value inside VALUE."""
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:3]):
            out += _paths(v, (*prefix, i))
    return out


def _replace(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replace(value[path[0]], path[1:], new)
    return copy


def perturbed(sample: Any, values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The real sample (lists cut to a few items) with one value somewhere replaced."""
    if isinstance(sample, list):
        sample = sample[:3]
    paths = _paths(sample)
    return st.tuples(st.sampled_from(paths), values).map(lambda t: _replace(sample, t[0], t[1]))


def mutated_lines(lines: list[str]) -> st.SearchStrategy[str]:
    """Real lines, shuffled, dropped, cut and mixed with arbitrary ones."""
    line = st.sampled_from(lines) if lines else st.text()
    cut = st.tuples(st.sampled_from(lines), st.integers(0, 200)).map(lambda t: t[0][: t[1]]) if lines else st.text()
    return st.lists(line | cut | st.text(max_size=40), max_size=30).map("\n".join)


def _text_test(name: str):
    parser = ALL[name][0]

    @FUZZ
    @given(text=st.text() | mutated_lines(_sample_lines(name)))
    def test(text: str) -> None:
        _check(parser, text)

    test.__name__ = f"test_fuzz_text_{name}"
    return test


def _json_test(name: str):
    parser = ALL[name][0]
    sample = json.loads((DATA / ALL[name][1]).read_text())
    keys = sorted(_keys(sample))
    values = json_values(keys)
    shaped = st.lists(st.dictionaries(st.sampled_from(keys), values, max_size=5), max_size=3)
    if name == "nft":
        shaped = st.fixed_dictionaries({"nftables": shaped})

    @FUZZ
    @given(value=values | shaped | perturbed(sample, values), indent=st.none() | st.just(1))
    def test(value: Any, indent: int | None) -> None:
        _check(parser, json.dumps(value, indent=indent))

    test.__name__ = f"test_fuzz_json_{name}"
    return test


for _name in ALL:
    globals()[f"test_fuzz_text_{_name}"] = _text_test(_name)
for _name in JSON_PARSERS:
    globals()[f"test_fuzz_json_{_name}"] = _json_test(_name)


@FUZZ
@given(
    files=st.dictionaries(
        st.sampled_from(["00-a.conf", "10-b.conflist", "20-c.json", "x.conf.bak", "d/e.conf", "kubeconfig"])
        | st.text(max_size=12),
        st.text(max_size=60)
        | json_values(["name", "type", "plugins", "cniVersion", "ipam", "delegates"]).map(json.dumps),
        max_size=6,
    )
)
def test_fuzz_select_default(files: dict[str, str]) -> None:
    sel = cniconf.select_default(files)
    assert sel.selected is None or sel.selected in sel.candidates
    assert set(sel.candidates) | set(sel.backups) | set(sel.ignored) == set(files)


@FUZZ
@given(values=st.dictionaries(st.text(max_size=40), st.text(max_size=10), max_size=5), iface=st.text(max_size=10))
def test_fuzz_effective_rp_filter(values: dict[str, str], iface: str) -> None:
    values["net.ipv4.conf.all.rp_filter"] = values.get("net.ipv4.conf.all.rp_filter", "1")
    assert isinstance(sysctl.effective_rp_filter(values, iface), int)


HUGE = "9" * 5000  # int() refuses strings longer than 4300 digits


@pytest.mark.parametrize("name", sorted(ALL))
def test_huge_numbers_are_parse_errors_or_values(name):
    parser = ALL[name][0]
    for text in (
        HUGE,
        f"[{HUGE}]",
        f'[{{"dst": "x", "metric": "{HUGE}"}}]',
        f":INPUT ACCEPT [{HUGE}:0]\n",
        f"cpu=0 found={HUGE}\n",
        f"Module Size Used by\nx {HUGE} 0\n",
        f"FLANNEL_MTU={HUGE}\n",
        f"Linux n {HUGE}.1.2 #1 x86_64\n",
    ):
        _check(parser, text)


def test_huge_numbers_in_getters():
    s = sysctl.parse_sysctl(f"net.ipv4.conf.all.rp_filter = {HUGE}\n")
    assert s.get_int("net.ipv4.conf.all.rp_filter") is None
    assert sysctl.effective_rp_filter(s, "eth0") == 0
