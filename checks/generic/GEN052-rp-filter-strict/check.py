"""Reverse-path filtering that the node's CNI cannot work with, computed per CNI interface as the kernel does."""

from __future__ import annotations

import re

from cnidoctor.diagnose.context import Context
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.sysctl import Sysctls, effective_rp_filter, iface_key, parse_sysctl

MODE = {0: "off", 1: "strict", 2: "loose"}
CILIUM_IFACE = re.compile(r"cilium_(host|net|vxlan|geneve|wg\d*)|lxc.*")
CALICO_IFACE = re.compile(r"cali.*|vxlan\.calico|vxlan-v6\.calico|tunl0|wireguard\.cali")
ALL = "net.ipv4.conf.all.rp_filter"


def _ifaces(sysctls: Sysctls) -> set[str]:
    """Interfaces with their own rp_filter key (sysctl -a lists every interface; others are not guessed)."""
    names = set()
    for key in sysctls.values:
        if key.startswith("net.ipv4.conf.") and key.endswith(".rp_filter"):
            names.add(key[len("net.ipv4.conf.") : -len(".rp_filter")].replace("/", "."))
    return names - {"all", "default"}


def _line(ctx: Context, node: str, key: str) -> Evidence | None:
    return ctx.evidence_line(node, "sysctl.txt", key + " =")


def _cilium(ctx: Context, node: str, s: Sysctls) -> Hit | None:
    bad = sorted(i for i in _ifaces(s) if CILIUM_IFACE.fullmatch(i) and effective_rp_filter(s, i) > 0)
    if not bad:
        return None
    mode = effective_rp_filter(s, bad[0])
    evidence = [
        e for e in (_line(ctx, node, ALL), _line(ctx, node, f"net.ipv4.conf.{iface_key(bad[0])}.rp_filter")) if e
    ]
    msg = (
        f"{node}: effective rp_filter {mode} ({MODE.get(mode, mode)}) = max(all, interface) on "
        f"{', '.join(bad[:6])}{' ...' if len(bad) > 6 else ''}; Cilium needs 0 on its interfaces"
    )
    evidence.append(Evidence(f"nodes/{node}/sysctl.txt", msg, f"Node/{node}", node))
    return Hit(evidence, [f"Node/{node}"], [node], {"iface": bad[0], "mode": str(mode), "cni": "cilium"}, msg)


def _calico(ctx: Context, node: str, s: Sysctls) -> Hit | None:
    if s.get_int(ALL) != 2:
        return None
    ifaces = sorted(i for i in _ifaces(s) if CALICO_IFACE.fullmatch(i))
    if not ifaces and "calico" not in ctx.cnis:
        return None
    evidence = [e for e in (_line(ctx, node, ALL),) if e]
    msg = f"{node}: net.ipv4.conf.all.rp_filter = 2 (loose); Felix requires 0 or 1 unless IgnoreLooseRPF is set"
    evidence.append(Evidence(f"nodes/{node}/sysctl.txt", msg, f"Node/{node}", node))
    return Hit(evidence, [f"Node/{node}"], [node], {"iface": "all", "mode": "2", "cni": "calico"}, msg)


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    if not ctx.cnis & {"cilium", "calico"}:
        return []
    hits: list[Hit] = []
    seen = False
    for node in ctx.bundle.node_dirs:
        s = ctx.parsed(node, "sysctl.txt", parse_sysctl)
        if s is None:
            continue
        seen = True
        for cni, fn in (("cilium", _cilium), ("calico", _calico)):
            if cni in ctx.cnis and (hit := fn(ctx, node, s)) is not None:
                hits.append(hit)
    return hits if hits or seen else None
