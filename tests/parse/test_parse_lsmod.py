from __future__ import annotations

import shutil
import subprocess

import pytest
from parse_testlib import data

from cnidoctor.parse.errors import ParseError
from cnidoctor.parse.lsmod import Module, parse_lsmod


def test_legacy_iptables_modules_loaded():
    mods = parse_lsmod(data("CA-06-node-2-modules.txt"), "modules.txt")
    assert len(mods.modules) == 62
    assert mods.get("ip_tables") == Module(
        "ip_tables", 32768, 5, ("iptable_nat", "iptable_filter", "iptable_mangle", "iptable_raw"), 57
    )
    assert mods.get("nf_tables").use_count == 294
    assert "br_netfilter" in mods and "br-netfilter" in mods
    assert "wireguard" not in mods
    assert {"iptable_nat", "nf_tables"} <= mods.names


def test_proc_modules_format_and_permanent():
    mods = parse_lsmod("nf_nat 49152 2 nft_chain_nat,xt_MASQUERADE, Live 0x0000000000000000\nfoo 1 0 - Live 0x0\n")
    assert mods.get("nf_nat").used_by == ("nft_chain_nat", "xt_MASQUERADE")
    assert mods.get("foo").used_by == ()


def test_bad_line():
    with pytest.raises(ParseError) as exc:
        parse_lsmod("Module Size Used by\nbridge big 0\n", "modules.txt")
    assert str(exc.value) == "modules.txt:2: expected 'name size count [users]', got 'bridge big 0'"


@pytest.mark.skipif(shutil.which("lsmod") is None, reason="lsmod not installed")
def test_real_lsmod_output():
    out = subprocess.run(["lsmod"], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        pytest.skip("lsmod cannot read /proc/modules here")
    assert len(parse_lsmod(out.stdout).modules) == len(out.stdout.strip().splitlines()) - 1
