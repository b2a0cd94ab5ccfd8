"""Node settings that should be the same on every node, compared by majority vote (one hash per fact)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.cnibin import parse_cni_bin
from cnidoctor.parse.cniconf import CNI_EXTENSIONS
from cnidoctor.parse.iproute import parse_addrs, parse_links
from cnidoctor.parse.iptables import parse_iptables_save
from cnidoctor.parse.sysctl import parse_sysctl
from cnidoctor.parse.uname import parse_uname

MIN_NODES = 3
KERNEL = "kernel version (major.minor)"  # reported only beside another difference (mixed node pools are normal)
SYSCTLS = ("net.ipv4.ip_forward", "net.ipv4.conf.all.rp_filter", "net.bridge.bridge-nf-call-iptables")
CNI_IFACE = re.compile(
    r"flannel[.\-].*|cni0|cbr0|vxlan\.calico|vxlan-v6\.calico|tunl0|wireguard\.cali"
    r"|cilium_(host|net|vxlan|geneve)|weave|kube-bridge"
)
ABSENT = "absent"
AGENT = re.compile(
    r"(calico-node|canal|cilium|kube-flannel-ds|kube-flannel|flannel|kube-multus-ds|kube-multus"
    r"|antrea-agent|weave-net|kube-router)(-[a-z0-9]+)+"
)
# Facts the CNI agent itself writes: where it is not running they are a consequence, not a cause.
AGENT_MANAGED = ("net.ipv4.conf.all.rp_filter", "CNI config files (in load order)", "CNI binaries", "MTU of ")

Fact = tuple[str, str, object, Evidence | None]  # (key, file, value, evidence pointing at it)


def _sysctl_facts(ctx: Context, node: str) -> list[Fact]:
    s = ctx.parsed(node, "sysctl.txt", parse_sysctl)
    if s is None or not any(k.startswith("net.") for k in s.values):
        return []
    out: list[Fact] = []
    for key in SYSCTLS:
        value = s.get(key)
        out.append(
            (
                key,
                "sysctl.txt",
                value if value is not None else ABSENT,
                ctx.evidence_line(node, "sysctl.txt", key + " =") if value is not None else None,
            )
        )
    return out


def _kernel(ctx: Context, node: str) -> list[Fact]:
    u = ctx.parsed(node, "uname.txt", parse_uname)
    if u is None or u.version is None:
        return []
    return [
        (
            KERNEL,
            "uname.txt",
            f"{u.version[0]}.{u.version[1]}",
            Evidence(layout.node_file(node, "uname.txt"), u.text[:200], f"Node/{node}", node, 1),
        )
    ]


def _backend(ctx: Context, node: str) -> list[Fact]:
    d = ctx.parsed(node, "iptables-save.txt", parse_iptables_save)
    if d is None or d.backend is None:
        return []
    return [("iptables backend", "iptables-save.txt", d.backend, ctx.evidence_line(node, "iptables-save.txt", "# Gen"))]


def _cni_conf_names(ctx: Context) -> dict[str, list[str]]:
    """File names under each node's cni-net.d/, from one pass over the bundle's paths."""
    out: dict[str, list[str]] = defaultdict(list)
    for path in ctx.bundle.paths(layout.NODES + "/"):
        parts = path.split("/", 3)
        if len(parts) == 4 and parts[2] == "cni-net.d":
            out[parts[1]].append(parts[3])
    return out


def _cni_conf(ctx: Context, node: str, names: dict[str, list[str]]) -> list[Fact]:
    files = names.get(node)
    if not files:
        return []
    loaded = tuple(sorted(n for n in files if "/" not in n and n.endswith(CNI_EXTENSIONS)))
    return [("CNI config files (in load order)", "cni-net.d/", loaded or (ABSENT,), None)]


def _cni_bins(ctx: Context, node: str) -> list[Fact]:
    b = ctx.parsed(node, "cni-bin.txt", parse_cni_bin)
    if b is None or not b.dirs:
        return []
    return [("CNI binaries", "cni-bin.txt", frozenset(n for names in b.dirs.values() for n in names), None)]


def _mtus(ctx: Context, node: str) -> list[Fact]:
    links = ctx.parsed(node, "ip-link.json", parse_links)
    if links is None:
        return []
    addressed = {i.name for i in ctx.parsed(node, "ip-addr.json", parse_addrs) or () if i.addrs}
    out: list[Fact] = []
    for link in links:
        if CNI_IFACE.fullmatch(link.name) and link.mtu and (link.name != "tunl0" or link.name in addressed):
            out.append(
                (
                    f"MTU of {link.name}",
                    "ip-link.json",
                    link.mtu,
                    Evidence(
                        layout.node_file(node, "ip-link.json"),
                        f"{link.name} mtu {link.mtu}",
                        f"Node/{node}",
                        node,
                        link.line or None,
                    ),
                )
            )
    return out


COLLECTORS: tuple[Callable[[Context, str], list[Fact]], ...] = (_sysctl_facts, _kernel, _backend, _cni_bins, _mtus)


def _show(value: object) -> str:
    if isinstance(value, (tuple, list)):
        return ", ".join(str(v) for v in value) or ABSENT
    if isinstance(value, frozenset):
        return f"{len(value)} binaries"
    return str(value)


def _diff(value: object, majority: object) -> str:
    if isinstance(value, frozenset) and isinstance(majority, frozenset):
        missing, extra = sorted(majority - value), sorted(value - majority)
        parts = ([f"missing {', '.join(missing[:8])}"] if missing else []) + (
            [f"extra {', '.join(extra[:8])}"] if extra else []
        )
        return "; ".join(parts)
    return f"{_show(value)} (most nodes: {_show(majority)})"


def _agent_down(ctx: Context) -> set[str]:
    """Nodes whose CNI agent pod is not running and ready (or is missing while others have one)."""
    ready: dict[str, bool] = {}
    for pod in ctx.pods:
        name = str((pod.get("metadata") or {}).get("name"))
        node = (pod.get("spec") or {}).get("nodeName")
        if not AGENT.fullmatch(name) or not node:
            continue
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        ok = bool(statuses) and all(cs.get("ready") for cs in statuses)
        ready[node] = ready.get(node, True) and ok
    if not ready:
        return set()
    return {n for n in ctx.node_names if not ready.get(n, False)}


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    facts: dict[str, dict[str, tuple[object, str, Evidence | None]]] = defaultdict(dict)
    down = _agent_down(ctx)
    conf_names = _cni_conf_names(ctx)
    for node in ctx.bundle.node_dirs:
        for key, fname, value, ev in [f for c in COLLECTORS for f in c(ctx, node)] + _cni_conf(ctx, node, conf_names):
            if node in down and key.startswith(AGENT_MANAGED):
                continue
            facts[key][node] = (value, fname, ev)
    if not facts:
        return None
    hits: list[Hit] = []
    for key, per_node in sorted(facts.items(), key=lambda kv: kv[0] == KERNEL):
        if len(per_node) < MIN_NODES:
            continue
        votes = Counter(v for v, _, _ in per_node.values())
        majority, count = votes.most_common(1)[0]
        if count * 2 <= len(per_node) or count == len(per_node):
            continue
        outliers = sorted(n for n, (v, _, _) in per_node.items() if v != majority)
        if key == KERNEL:
            outliers = [n for n in outliers if any(n in h.nodes for h in hits)]
            if not outliers:
                continue
        evidence = []
        for node in outliers:
            value, fname, ev = per_node[node]
            text = f"{node}: {key} {_diff(value, majority)} (the majority value on {count} of {len(per_node)} nodes)"
            evidence.append(Evidence(layout.node_file(node, fname), text, f"Node/{node}", node))
            if ev is not None:
                evidence.append(ev)
        majority_node = next(n for n, (v, _, _) in sorted(per_node.items()) if v == majority)
        hits.append(
            Hit(
                evidence,
                [f"Node/{n}" for n in outliers],
                outliers,
                {"fact": key, "reference_node": majority_node, "file": per_node[outliers[0]][1]},
                f"{key} differs on {', '.join(outliers)}",
            )
        )
    return hits
