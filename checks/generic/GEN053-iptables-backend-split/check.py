"""Kubernetes and CNI netfilter rules split between the iptables-legacy and iptables-nft backends of one node."""

from __future__ import annotations

from cnidoctor.bundle import layout
from cnidoctor.catalog.placeholders import shell_quote
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.iptables import IptablesSave, parse_iptables_save

FILES = (("iptables-legacy-save.txt", "legacy"), ("iptables-nft-save.txt", "nft"), ("iptables-save.txt", None))
OWNERS = {"kube-proxy", "calico", "cilium", "flannel", "kube-router", "weave", "antrea", "cni-plugins", "docker"}
AGENT_DS = {"calico": "calico-node", "cilium": "cilium", "flannel": "kube-flannel", "kube-proxy": "kube-proxy"}
PREFIX = {
    "calico": "cali-",
    "cilium": "CILIUM_",
    "flannel": "FLANNEL-",
    "kube-proxy": "KUBE-",
    "docker": "DOCKER",
    "kube-router": "KUBE-ROUTER-",
    "weave": "WEAVE",
    "antrea": "ANTREA-",
    "cni-plugins": "CNI-",
}


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


def _owners(dump: IptablesSave) -> dict[str, int]:
    """Components with at least one rule in a chain of theirs, and how many such chains."""
    counts: dict[str, int] = {}
    for chain in dump.chains():
        if chain.owner in OWNERS and chain.rules:
            counts[chain.owner] = counts.get(chain.owner, 0) + 1
    return counts


def _kubelet_backend(backends: dict[str, tuple[str, IptablesSave]]) -> str | None:
    """Where kubelet keeps its canary chains: the backend the host's iptables uses."""
    have = [
        b
        for b, (_, d) in backends.items()
        if d.chain("mangle", "KUBE-KUBELET-CANARY") or d.chain("mangle", "KUBE-IPTABLES-HINT")
    ]
    return have[0] if len(have) == 1 else None


def _daemonset(ctx: Context, component: str) -> tuple[str, str]:
    prefix = AGENT_DS.get(component)
    for ds in ctx.daemonsets:
        if prefix and obj_name(ds).startswith(prefix):
            return str(meta(ds).get("namespace")), obj_name(ds)
    return "kube-system", prefix or component


def _restart(ctx: Context, component: str, node: str) -> str:
    ns, ds = _daemonset(ctx, component)
    for p in ctx.pods_by_node.get(node, []):
        if meta(p).get("namespace") == ns and ctx.owner_name(p) == ds:
            return f"kubectl -n {shell_quote(ns)} delete pod {shell_quote(obj_name(p))}"
    return f"kubectl get pods -A -o wide --field-selector {shell_quote(f'spec.nodeName={node}')}"


def _fix(ctx: Context, component: str, host: str) -> str:
    """The command that makes COMPONENT write to the host's backend HOST."""
    namespace, name = _daemonset(ctx, component)
    ns, ds, daemonset = shell_quote(namespace), shell_quote(name), shell_quote(f"daemonset/{name}")
    if component == "calico":
        return f"kubectl -n {ns} set env {daemonset} FELIX_IPTABLESBACKEND={'NFT' if host == 'nft' else 'Legacy'}"
    if component == "kube-proxy":
        return (
            f"kubectl -n {ns} get daemonset {ds} -o jsonpath='{{.spec.template.spec.containers[0].image}}'"
            "  # use a kube-proxy image >= v1.17 (iptables-wrapper picks the host backend)"
        )
    if component in AGENT_DS:
        return f"kubectl -n {ns} rollout restart {daemonset}  # after upgrading to a release that detects it"
    return f"sudo update-alternatives --display iptables  # {component} uses the other backend than the host"


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits: list[Hit] = []
    seen = False
    for node in ctx.bundle.node_dirs:
        backends = _backends(ctx, node)
        if backends:
            seen = True
        if len(backends) < 2:
            continue
        owners = {b: _owners(d) for b, (_, d) in backends.items()}
        if not owners["legacy"] or not owners["nft"]:
            continue
        host = _kubelet_backend(backends)
        if host is None:
            host = max(owners, key=lambda b: (owners[b].get("kube-proxy", 0), sum(owners[b].values())))
        other = "legacy" if host == "nft" else "nft"
        misplaced = sorted(owners[other])
        summary = "; ".join(
            f"{b}: " + ", ".join(f"{o} ({n} chains)" for o, n in sorted(owners[b].items())) for b in (host, other)
        )
        evidence = []
        for b in (other, host):
            name, dump = backends[b]
            chains = [c for c in dump.chains() if c.owner in owners[b] and c.rules]
            if chains:
                c = chains[0]
                evidence.append(
                    Evidence(layout.node_file(node, name), c.rules[0].text[:300], f"Node/{node}", node, c.rules[0].line)
                )
        warn = ctx.evidence_line(node, "iptables-save.txt", "iptables-legacy tables present")
        if warn:
            evidence.insert(0, warn)
        msg = f"{node}: rules split across iptables backends ({summary}); the host uses {host}"
        evidence.append(Evidence(layout.node_file(node, backends[other][0]), msg, f"Node/{node}", node))
        comp = next((o for o in misplaced if o != "docker"), misplaced[0])
        values = {
            "component": comp,
            "wrong_backend": other,
            "host_backend": host,
            "prefix": PREFIX.get(comp, comp),
            "fix": _fix(ctx, comp, host),
            "restart": _restart(ctx, comp, node),
        }
        hits.append(Hit(evidence, [f"Node/{node}"], [node], values, msg))
    return hits if hits or seen else None
