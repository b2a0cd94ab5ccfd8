from __future__ import annotations

import json

import pytest
from parse_testlib import data, data_dir

from cnidoctor.parse.cniconf import IpamRange, parse_cni_config, select_default
from cnidoctor.parse.errors import ParseError


def test_calico_conflist():
    cfg = parse_cni_config(data("CA-01-node-2-10-calico.conflist"), "10-calico.conflist")
    assert (cfg.name, cfg.cni_version, cfg.is_conflist, cfg.valid) == ("k8s-pod-network", "0.3.1", True, True)
    assert cfg.types == ("calico", "portmap", "bandwidth")
    calico = cfg.plugins[0]
    assert (calico.kubeconfig, calico.mtu, calico.ipam.type) == ("/etc/cni/net.d/calico-kubeconfig", 0, "calico-ipam")
    assert cfg.plugins[1].capabilities == ("portMappings",)
    assert cfg.ipam.type == "calico-ipam" and cfg.multus is None


def test_thin_multus_with_delegates():
    cfg = parse_cni_config(data("MU-02-node-1-00-multus.conf"), "00-multus.conf")
    assert (cfg.is_conflist, cfg.types, cfg.valid) == (False, ("multus",), True)
    m = cfg.multus
    assert (m.thick, m.kubeconfig, m.cluster_network) == (False, "/etc/cni/net.d/multus.d/multus.kubeconfig", None)
    (delegate,) = m.delegates
    assert (delegate.name, delegate.is_conflist, delegate.types) == ("cbr0", True, ("flannel", "portmap"))


def test_thick_multus_shim_and_settings():
    cfg = parse_cni_config(
        json.dumps(
            {
                "cniVersion": "0.3.1",
                "name": "multus-cni-network",
                "type": "multus-shim",
                "clusterNetwork": "/host/etc/cni/net.d/10-flannel.conflist",
                "binDir": "/opt/cni/bin",
                "confDir": "/etc/cni/net.d",
                "cniDir": "/var/lib/cni/multus",
                "readinessindicatorfile": "/run/flannel/subnet.env",
                "socketDir": "/run/multus",
                "defaultNetworks": ["sidecar"],
            }
        ),
        "00-multus.conf",
    )
    m = cfg.multus
    assert (m.thick, m.cluster_network, m.bin_dir, m.conf_dir, m.cni_dir) == (
        True,
        "/host/etc/cni/net.d/10-flannel.conflist",
        "/opt/cni/bin",
        "/etc/cni/net.d",
        "/var/lib/cni/multus",
    )
    assert (m.readiness_indicator_file, m.socket_dir, m.default_networks) == (
        "/run/flannel/subnet.env",
        "/run/multus",
        ("sidecar",),
    )


def test_host_local_ranges():
    files = data_dir("FL-10-node-2-cni-net.d")
    cfg = parse_cni_config(files["10-containerd-net.conflist"], "10-containerd-net.conflist")
    assert cfg.cni_version == "1.0.0" and cfg.types == ("bridge", "portmap")
    ipam = cfg.ipam
    assert ipam.type == "host-local"
    assert ipam.ranges == ((IpamRange("10.244.0.0/16", None, None, None),),)
    assert ipam.routes == ("0.0.0.0/0",) and ipam.subnets == ("10.244.0.0/16",)


@pytest.mark.parametrize(
    ("name", "body", "problems"),
    [
        ("a.conflist", {"plugins": [{"type": "x"}]}, ("no 'name'",)),
        ("a.conflist", {"name": "n", "type": "bridge"}, ("no 'plugins' list; perhaps this is a single-plugin .conf?",)),
        ("a.conflist", {"name": "n", "plugins": []}, ("no plugins in 'plugins'",)),
        ("a.conflist", {"name": "n", "plugins": [{"ipam": {}}]}, ("plugins[0]: missing 'type'",)),
        ("a.conflist", {"name": 3, "plugins": [{"type": "x"}]}, ("'name' is not a string",)),
        ("a.conf", {"name": "n", "plugins": [{"type": "x"}]}, ("no 'type'; perhaps this is a .conflist?",)),
        ("a.json", {"type": "bridge", "capabilities": {"portMappings": "yes"}},
         ("config: 'capabilities' is not a map of booleans",)),
        ("a.conf", {"type": "bridge", "cniVersion": 1}, ("'cniVersion' is not a string",)),
    ],
)  # fmt: skip
def test_libcni_problems(name, body, problems):
    assert parse_cni_config(json.dumps(body), name).problems == problems


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "f.conf:1: empty file, expected a JSON object"),
        ('{\n "type": "bridge",\n}', "f.conf:3: invalid JSON: Expecting property name enclosed in double quotes"),
        ("[1]", "f.conf:1: expected a JSON object"),
        ('{"mtu": NaN}', "f.conf: invalid JSON: invalid JSON literal NaN"),
    ],
)
def test_parse_errors(text, message):
    with pytest.raises(ParseError) as exc:
        parse_cni_config(text, "f.conf")
    assert str(exc.value) == message


def test_select_containerd_default_shadows_flannel():
    sel = select_default(data_dir("FL-10-node-2-cni-net.d"))
    assert sel.candidates == ("10-containerd-net.conflist", "10-flannel.conflist")
    assert sel.selected == "10-containerd-net.conflist"
    assert sel.config.types == ("bridge", "portmap")
    assert sel.shadowed == ("10-flannel.conflist",)
    assert (sel.blocked_by, sel.errors, sel.backups, sel.ignored) == (None, {}, (), ())


def test_select_cilium_after_multus_was_renamed():
    sel = select_default(data_dir("MU-07-node-3-cni-net.d"))
    assert (sel.selected, sel.candidates) == ("05-cilium.conflist", ("05-cilium.conflist",))
    assert sel.backups == ("00-multus.conf.cilium_bak",)
    assert sel.config.types == ("cilium-cni",)


def test_select_multus_ignores_subdirectory_kubeconfig():
    sel = select_default(data_dir("MU-04-node-2-cni-net.d"))
    assert sel.selected == "00-multus.conf" and sel.shadowed == ("10-flannel.conflist",)
    assert sel.ignored == ("multus.d/multus.kubeconfig",)
    assert sel.config.multus.kubeconfig == "/etc/cni/net.d/multus.d/multus.kubeconfig"


def test_select_skips_broken_first_file_but_reports_it():
    sel = select_default(
        {
            "05-broken.conflist": '{"name": "x", "plugins": [',
            "10-bad.conf": '{"name": "x", "plugins": [{"type": "bridge"}]}',
            "20-good.conflist": '{"name": "good", "cniVersion": "0.4.0", "plugins": [{"type": "ptp"}]}',
            "calico-kubeconfig": "apiVersion: v1",
            "99-old.conflist.bak": "{}",
            "README": "hello",
        }
    )
    assert sel.selected == "20-good.conflist"
    assert sel.blocked_by == "05-broken.conflist"
    assert sel.errors == {
        "05-broken.conflist": "05-broken.conflist:1: invalid JSON: Expecting value",
        "10-bad.conf": "10-bad.conf: no 'type'; perhaps this is a .conflist?",
    }
    assert sel.backups == ("99-old.conflist.bak",)
    assert sel.ignored == ("README", "calico-kubeconfig")
    assert set(sel.configs) == {"10-bad.conf", "20-good.conflist"}


def test_select_orders_by_bytes_and_handles_empty_dir():
    sel = select_default({"b.conf": '{"type": "b"}', "B.conf": '{"type": "B"}', "a.json": '{"type": "a"}'})
    assert sel.candidates == ("B.conf", "a.json", "b.conf") and sel.selected == "B.conf"
    empty = select_default({})
    assert (empty.selected, empty.config, empty.candidates, empty.blocked_by) == (None, None, (), None)
