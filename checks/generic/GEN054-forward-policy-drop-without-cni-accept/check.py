"""A filter FORWARD policy of DROP with nothing reachable from FORWARD that accepts pod traffic."""

from __future__ import annotations

import ipaddress
import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.iptables import BUILTIN_CHAINS, Chain, IptablesSave, Rule, parse_iptables_save
from cnidoctor.parse.subnetenv import parse_subnet_env

FILES = (("iptables-save.txt", None), ("iptables-legacy-save.txt", "legacy"), ("iptables-nft-save.txt", "nft"))
CNI_OWNERS = {"calico", "cilium", "flannel", "kube-router", "weave", "antrea", "cni-plugins"}
CNI_IFACE = re.compile(
    r"!?(cni\d*|cbr\d*|flannel[.\-].*|cali.*|cilium_.*|lxc.*|vxlan\.calico|vxlan-v6\.calico|tunl0"
    r"|wireguard\.cali|kube-bridge|weave.*|antrea-.*|genev_sys_.*|nodelocaldns)\+?"
)
MATCH_FREE = {"-m", "comment", "--comment", "-j", "ACCEPT"}


def _pod_cidrs(ctx: Context, node: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    raw: list[str] = []
    for n in ctx.nodes:
        spec = n.get("spec") or {}
        raw += [str(c) for c in spec.get("podCIDRs") or []] + ([str(spec["podCIDR"])] if spec.get("podCIDR") else [])
    env = ctx.parsed(node, "flannel-subnet.env", parse_subnet_env)
    for attr in ("network", "ipv6_network"):
        v = getattr(env, attr, None) if env is not None else None
        if v:
            raw.append(str(v))
    for cm in ("kube-proxy",):
        text = ctx.configmap_data(cm).get("config.conf", "")
        m = re.search(r"^clusterCIDR:\s*\"?([0-9a-fA-F:./,]+)", text, re.M)
        if m:
            raw += m.group(1).split(",")
    out = []
    for r in raw:
        try:
            out.append(ipaddress.ip_network(r.strip(), strict=False))
        except ValueError:
            continue
    v4 = [n for n in out if n.version == 4]
    v6 = [n for n in out if n.version == 6]
    return list(ipaddress.collapse_addresses(v4)) + list(ipaddress.collapse_addresses(v6))  # type: ignore[arg-type]


def _accepts_pods(rule: Rule, owner: str | None, cidrs: list) -> bool:
    if rule.target != "ACCEPT":
        return False
    if owner in CNI_OWNERS:
        return True
    tokens = set(rule.args)
    if tokens <= MATCH_FREE or (rule.comment and set(rule.args) - {rule.comment} <= MATCH_FREE):
        return True  # unconditional ACCEPT
    for opt in (("-i", "--in-interface"), ("-o", "--out-interface")):
        iface = rule.option(*opt)
        if iface and CNI_IFACE.fullmatch(iface) and not iface.startswith("!"):
            return True
    for opt in (("-s", "--source"), ("-d", "--destination")):
        v = rule.option(*opt)
        if not v or "!" in rule.args[max(0, rule.args.index(v) - 2) : rule.args.index(v)]:
            continue
        try:
            net = ipaddress.ip_network(v, strict=False)
        except ValueError:
            continue
        if any(net.version == c.version and net.overlaps(c) for c in cidrs):
            return True
    return False


def _accept_path(dump: IptablesSave, cidrs: list) -> Rule | None:
    """The first rule reachable from filter FORWARD that accepts pod traffic, if any."""
    table = dump.tables.get("filter")
    if table is None:
        return None
    todo, seen = ["FORWARD"], set()
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.add(name)
        chain: Chain | None = table.chains.get(name)
        if chain is None:
            continue
        for rule in chain.rules:
            if _accepts_pods(rule, chain.owner, cidrs):
                return rule
            if rule.target and rule.target not in BUILTIN_CHAINS and rule.target in table.chains:
                todo.append(rule.target)
    return None


def _bpf_host_routing(ctx: Context, node: str) -> bool:
    doc = ctx.bundle.node_json(node, "cilium-status.json")
    mode = (doc.get("host-routing") or {}).get("mode") if isinstance(doc, dict) else None
    return isinstance(mode, str) and mode.upper() == "BPF"


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits: list[Hit] = []
    seen_any = False
    for node in ctx.bundle.node_dirs:
        done: set[str] = set()
        for name, backend in FILES:
            dump = ctx.parsed(node, name, parse_iptables_save)
            if dump is None or not dump.tables:
                continue
            seen_any = True
            b = backend or dump.backend or name
            if b in done:
                continue
            done.add(b)
            fwd = dump.chain("filter", "FORWARD")
            if fwd is None or fwd.policy != "DROP" or _bpf_host_routing(ctx, node):
                continue
            cidrs = _pod_cidrs(ctx, node)
            if _accept_path(dump, cidrs) is not None:
                continue
            path = layout.node_file(node, name)
            evidence = [e for e in (ctx.evidence_line(node, name, ":FORWARD DROP"),) if e]
            jumps = sorted({r.target for r in fwd.rules if r.target and r.target not in ("ACCEPT", "DROP", "RETURN")})
            cidr_text = ", ".join(sorted({str(c) for c in cidrs})[:4]) or "the pod network"
            msg = (
                f"{node} ({b} backend): FORWARD policy DROP and no rule reachable from FORWARD accepts {cidr_text}"
                f" or a CNI interface" + (f" (FORWARD jumps to {', '.join(jumps[:6])})" if jumps else "")
            )
            evidence.append(Evidence(path, msg, f"Node/{node}", node))
            cidr = str(sorted(cidrs, key=lambda c: c.prefixlen)[0]) if cidrs else "<pod network CIDR>"
            hits.append(Hit(evidence, [f"Node/{node}"], [node], {"pod_cidr": cidr, "backend": str(b)}, msg))
    return hits if hits or seen_any else None
