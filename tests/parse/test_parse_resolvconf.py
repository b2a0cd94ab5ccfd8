from __future__ import annotations

from pathlib import Path

from parse_testlib import data

from cnidoctor.parse.resolvconf import parse_resolv_conf


def test_systemd_resolved_stub():
    rc = parse_resolv_conf(data("GE-07-node-2-resolv.conf"), "resolv.conf")
    assert rc.nameservers == ("127.0.0.53",)
    assert rc.search == (".",)
    assert rc.options == ("edns0", "trust-ad")
    assert rc.option("edns0") == "" and rc.option("ndots") is None


def test_pod_style_resolv_conf():
    rc = parse_resolv_conf(
        "; generated\nnameserver 10.96.0.10\nnameserver 10.96.0.11 # second\n"
        "domain old.local\nsearch default.svc.cluster.local svc.cluster.local\noptions ndots:5 timeout:2\nbogus x\n"
    )
    assert rc.nameservers == ("10.96.0.10", "10.96.0.11")
    assert rc.search == ("default.svc.cluster.local", "svc.cluster.local")
    assert rc.option("ndots") == "5" and rc.option("timeout") == "2"


def test_real_resolv_conf():
    path = Path("/etc/resolv.conf")
    if path.is_file():
        parse_resolv_conf(path.read_text(errors="replace"), str(path))
