from __future__ import annotations

import shutil
import subprocess

import pytest
from parse_testlib import data

from cnidoctor.parse.errors import ParseError
from cnidoctor.parse.sysctl import effective_rp_filter, iface_key, parse_sysctl


def test_loose_rp_filter_case():
    s = parse_sysctl(data("CA-07-node-3-sysctl.txt"), "sysctl.txt")
    assert len(s.values) == 62
    assert s.get("net.ipv4.conf.all.rp_filter") == "2"
    assert s.get_int("net.netfilter.nf_conntrack_max") == 131072
    assert s.get("net.ipv4.ip_local_port_range") == "32768\t60999"
    assert s.get_int("net.ipv4.ip_local_port_range") is None
    assert effective_rp_filter(s, "eth0") == 2
    assert effective_rp_filter(s, "lo") == 2  # all=2 wins over lo=0
    assert "net.ipv4.ip_forward" in s and s.errors == ()


def test_interface_names_with_dots():
    s = parse_sysctl(data("CI-05-node-1-sysctl.txt"))
    assert iface_key("eth0.4000") == "eth0/4000"
    assert s.get("net.ipv4.conf.eth0/4000.rp_filter") == "2"
    assert effective_rp_filter(s, "eth0.4000") == 2
    assert effective_rp_filter(s, "cilium_host") == 0
    assert effective_rp_filter(s, "lxc-new") == 2  # no key of its own: conf.default applies


def test_rp_filter_on_plain_mapping():
    values = {"net.ipv4.conf.all.rp_filter": "1", "net.ipv4.conf.eth0.rp_filter": "2"}
    assert effective_rp_filter(values, "eth0") == 2
    assert effective_rp_filter(values, "eth1") == 1
    assert effective_rp_filter({}, "eth0") == 0


def test_errors_and_comments():
    s = parse_sysctl(
        "# header\n"
        "sysctl: permission denied on key 'fs.protected_hardlinks'\n"
        "net.ipv4.ping_group_range =\n"
        "kernel.hostname=node-1\n"
    )
    assert s.errors == ("sysctl: permission denied on key 'fs.protected_hardlinks'",)
    assert s.values == {"net.ipv4.ping_group_range": "", "kernel.hostname": "node-1"}


def test_bad_line():
    with pytest.raises(ParseError) as exc:
        parse_sysctl("net.core.somaxconn = 4096\nthis is not sysctl\n", "sysctl.txt")
    assert str(exc.value) == "sysctl.txt:2: expected 'key = value', got 'this is not sysctl'"


@pytest.mark.skipif(shutil.which("sysctl") is None, reason="sysctl not installed")
def test_real_sysctl_output():
    out = subprocess.run(["sysctl", "-a"], capture_output=True, text=True, timeout=60)
    s = parse_sysctl(out.stdout + out.stderr, "sysctl.txt")
    assert s.get_int("net.ipv4.conf.all.rp_filter") in (0, 1, 2)
    assert effective_rp_filter(s, "lo") >= 0
