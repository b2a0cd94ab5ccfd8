from __future__ import annotations

import pytest
from parse_testlib import data

from cnidoctor.parse.cnibin import parse_cni_bin
from cnidoctor.parse.errors import ParseError


def test_multus_node_without_macvlan():
    bins = parse_cni_bin(data("MU-02-node-1-cni-bin.txt"), "cni-bin.txt")
    assert bins.dirs == {"/opt/cni/bin": ("bridge", "flannel", "host-local", "loopback", "multus", "portmap")}
    assert bins.has("multus") and not bins.has("macvlan")
    assert bins.where("flannel") == ("/opt/cni/bin",)


def test_several_dirs_and_missing_dir():
    bins = parse_cni_bin(
        "# /opt/cni/bin\nloopback\n\n# /usr/libexec/cni\n"
        "ls: cannot access '/usr/libexec/cni': No such file or directory\n# /home/kubernetes/bin\n"
    )
    assert bins.dirs == {"/opt/cni/bin": ("loopback",), "/usr/libexec/cni": (), "/home/kubernetes/bin": ()}
    assert bins.missing == ("/usr/libexec/cni",)
    assert len(bins.errors) == 1


def test_name_before_header():
    with pytest.raises(ParseError) as exc:
        parse_cni_bin("bridge\n# /opt/cni/bin\n", "cni-bin.txt")
    assert str(exc.value) == "cni-bin.txt:1: file 'bridge' listed before any '# DIR' header"
