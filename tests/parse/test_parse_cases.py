"""Every node file of every shared case parses (skipped when ../shared/cases is absent)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from parse_testlib import CASES, all_case_files

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
    resolvconf,
    subnetenv,
    sysctl,
    uname,
)

PARSERS = {
    "ip-route.json": iproute.parse_routes,
    "ip-link.json": iproute.parse_links,
    "ip-addr.json": iproute.parse_addrs,
    "iptables-save.txt": iptables.parse_iptables_save,
    "iptables-legacy-save.txt": iptables.parse_iptables_save,
    "iptables-nft-save.txt": iptables.parse_iptables_save,
    "sysctl.txt": sysctl.parse_sysctl,
    "modules.txt": lsmod.parse_lsmod,
    "cni-bin.txt": cnibin.parse_cni_bin,
    "flannel-subnet.env": subnetenv.parse_subnet_env,
    "cilium-status.json": cilium.parse_cilium_status,
    "cilium-health.txt": cilium.parse_cilium_health,
    "bpftool-maps.json": bpftool.parse_bpf_maps,
    "birdcl-protocols.txt": birdcl.parse_birdcl_protocols,
    "conntrack-stats.txt": conntrack.parse_conntrack_stats,
    "resolv.conf": resolvconf.parse_resolv_conf,
    "uname.txt": uname.parse_uname,
    "cni-ipam.txt": cniipam.parse_cni_ipam,
}

needs_cases = pytest.mark.skipif(not CASES.is_dir(), reason="../shared/cases not available")


@needs_cases
@pytest.mark.parametrize("name", sorted(PARSERS))
def test_every_case_file_parses(name):
    paths = all_case_files(name)
    assert paths, f"no {name} in the shared cases"
    for path in paths:
        PARSERS[name](path.read_text(), str(path))


@needs_cases
def test_every_cni_dir_selects_a_network_and_kubeconfigs_parse():
    dirs = sorted(CASES.glob("*/bundle/nodes/*/cni-net.d"))
    assert len(dirs) == 85
    for d in dirs:
        files = {str(p.relative_to(d)): p.read_text() for p in d.rglob("*") if p.is_file()}
        sel = cniconf.select_default(files)
        assert sel.selected is not None and sel.errors == {}, d
        for name, text in files.items():
            if "kubeconfig" in name:
                assert kubeconfig.parse_kubeconfig(text, name).claims is not None


def test_importing_the_package_and_modules_loads_only_stdlib():
    code = (
        "import sys; before = set(sys.modules);"
        "import cnidoctor.parse.cniconf, cnidoctor.parse.iptables, cnidoctor.parse.iproute, cnidoctor.parse.nft,"
        " cnidoctor.parse.cilium, cnidoctor.parse.kubeconfig, cnidoctor.parse.sysctl, cnidoctor.parse.birdcl;"
        "new = {m.split('.')[0] for m in set(sys.modules) - before};"
        "print(sorted(m for m in new if m not in sys.stdlib_module_names and m != 'cnidoctor'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
