"""Felix writes its cali- rules to one iptables backend while kubelet and kube-proxy use the other."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, obj_name
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.iptables import IptablesSave, parse_iptables_save

from .._lib import calico as lib

FILES = (("iptables-legacy-save.txt", "legacy"), ("iptables-nft-save.txt", "nft"), ("iptables-save.txt", None))
KUBELET_CHAINS = ("KUBE-KUBELET-CANARY", "KUBE-IPTABLES-HINT")
VERSION = re.compile(r":v?(\d+)\.(\d+)")


def _backends(ctx: Context, node: str) -> dict[str, tuple[str, IptablesSave]]:
    out: dict[str, tuple[str, IptablesSave]] = {}
    for name, backend in FILES:
        dump = ctx.parsed(node, name, parse_iptables_save)
        if dump is None or not dump.tables:
            continue
        b = backend or dump.backend
        if b in ("legacy", "nft") and b not in out:
            out[b] = (name, dump)
    return out


def _rules(dump: IptablesSave, owner: str) -> int:
    return sum(len(c.rules) for c in dump.chains_owned_by(owner))


def _host_backend(backends: dict[str, tuple[str, IptablesSave]]) -> str | None:
    """The backend kubelet (else kube-proxy) writes to: the host's."""
    for probe in (
        lambda d: any(d.chain("mangle", c) or d.chain("nat", c) for c in KUBELET_CHAINS),
        lambda d: _rules(d, "kube-proxy") > 0,
    ):
        have = [b for b, (_, d) in backends.items() if probe(d)]
        if len(have) == 1:
            return have[0]
    return None


def _felix_setting(ctx: Context) -> tuple[str, list[Evidence], str]:
    """FELIX_IPTABLESBACKEND / FelixConfiguration iptablesBackend (or Auto), its evidence, the calico version."""
    evidence: list[Evidence] = []
    setting, version = "", "?"
    for ds in lib.calico_node_daemonsets(ctx):
        image = str((lib.container(ds, "calico-node") or {}).get("image", ""))
        version = image.rsplit(":", 1)[-1] if VERSION.search(image) else version
        setting = lib.env_map(lib.container(ds, "calico-node")).get("FELIX_IPTABLESBACKEND") or ""
        ns = str(ds["metadata"].get("namespace"))
        evidence.append(
            Evidence(
                layout.namespaced_list(ns, "daemonsets"),
                f"{ns}/DaemonSet/calico-node: image {image or '?'}, FELIX_IPTABLESBACKEND={setting or 'unset (Auto)'}",
                f"{ns}/DaemonSet/calico-node",
            )
        )
    for fc in ctx.resource("felixconfigurations.crd.projectcalico.org"):
        value = (fc.get("spec") or {}).get("iptablesBackend")
        if value and not setting:
            setting = str(value)
            evidence.append(
                Evidence(
                    layout.cluster_list("felixconfigurations.crd.projectcalico.org"),
                    f"FelixConfiguration {obj_name(fc)}: iptablesBackend={value}",
                    f"FelixConfiguration/{obj_name(fc)}",
                )
            )
    return setting or "Auto", evidence, version


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits: list[Hit] = []
    seen = False
    for node in ctx.bundle.node_dirs:
        backends = _backends(ctx, node)
        if not backends:
            continue
        seen = True
        host = _host_backend(backends)
        if host is None or len(backends) < 2:
            continue
        other = "legacy" if host == "nft" else "nft"
        in_host = _rules(backends[host][1], "calico")
        in_other = _rules(backends[other][1], "calico")
        if in_other == 0 or in_host * 4 > in_other:
            continue
        evidence = []
        for b in (host, other):
            fname, dump = backends[b]
            warn = ctx.evidence_line(node, fname, "iptables-legacy tables present") if b == "nft" else None
            if warn:
                evidence.append(warn)
            owner = "calico" if b == other else "kube-proxy"
            chains = sorted(dump.chains_owned_by(owner), key=lambda c: (not c.rules, c.line))
            if chains:
                names = ", ".join(c.name for c in chains[:4]) + (", ..." if len(chains) > 4 else "")
                evidence.append(
                    Evidence(
                        layout.node_file(node, fname),
                        f"iptables-{b}: {owner} chains {names}",
                        f"Node/{node}",
                        node,
                        chains[0].line,
                    )
                )
        hits.append(
            Hit(
                evidence,
                [f"Node/{node}"],
                [node],
                {
                    "node": node,
                    "host_backend": host,
                    "felix_backend": other,
                    "backend_value": "NFT" if host == "nft" else "Legacy",
                },
                f"{node}: Felix's rules are in iptables-{other} ({in_other} cali- rules) while kubelet and "
                f"kube-proxy use {host} ({in_host} cali- rules there)",
            )
        )
    if not seen:
        return None
    if hits:
        setting, ev, version = _felix_setting(ctx)
        ns = next((str(ds["metadata"].get("namespace")) for ds in lib.calico_node_daemonsets(ctx)), "kube-system")
        agents = lib.calico_node_pod_on(ctx)
        for h in hits:
            h.evidence.extend(ev)
            pod = agents.get(h.nodes[0])
            h.values.update(
                {
                    "namespace": ns,
                    "setting": setting,
                    "version": version or "?",
                    "pod": obj_name(pod) if pod else "<calico-node pod on the node>",
                }
            )
            h.message = f"{h.message}; Felix iptables backend setting: {setting}"
    return hits
