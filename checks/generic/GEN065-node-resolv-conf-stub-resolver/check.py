"""Nodes whose kubelet hands pods a resolv.conf that lists only a local stub resolver."""

from __future__ import annotations

import ipaddress
import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.resolvconf import parse_resolv_conf

RESOLV_FLAG = re.compile(r"--resolv-conf=\"?(?P<path>[^\"\s]*)")
CONFIG_RESOLV = re.compile(r"^resolvConf:\s*\"?(?P<path>[^\"\s]*)", re.M)
NODE_FILE = "/etc/resolv.conf"  # what nodes/<node>/resolv.conf holds


def _loopback(ns: str) -> bool:
    try:
        return ipaddress.ip_address(ns.split("%")[0]).is_loopback
    except ValueError:
        return False


def _kubelet_resolv_conf(ctx: Context, node: str) -> tuple[str | None, Evidence | None]:
    """The resolv.conf kubelet hands to dnsPolicy Default pods: its flag, else the shared kubelet config."""
    text = ctx.node_file(node, "kubelet.log") or ""
    for i, line in enumerate(text.splitlines(), start=1):
        m = RESOLV_FLAG.search(line)
        if m:
            return m.group("path"), Evidence(
                layout.node_file(node, "kubelet.log"), line.strip()[:300], f"Node/{node}", node, i
            )
    for cm in ctx.configmaps:
        if obj_name(cm).startswith("kubelet-config"):
            for v in (cm.get("data") or {}).values():
                m = CONFIG_RESOLV.search(str(v))
                if m:
                    ns = str(meta(cm).get("namespace"))
                    return m.group("path"), Evidence(
                        layout.namespaced_list(ns, "configmaps"),
                        f"{obj_name(cm)}: resolvConf: {m.group('path')}",
                        f"{ns}/ConfigMap/{obj_name(cm)}",
                    )
    return None, None


def _default_policy_pods(ctx: Context) -> list[dict]:
    """Pods in their own network namespace that take kubelet's resolv.conf (dnsPolicy Default)."""
    return [
        p
        for p in ctx.pods
        if (p.get("spec") or {}).get("dnsPolicy") == "Default" and not (p.get("spec") or {}).get("hostNetwork")
    ]


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    affected = _default_policy_pods(ctx)
    if not affected:
        return []
    hits: list[Hit] = []
    seen = False
    for node in ctx.bundle.node_dirs:
        resolv = ctx.parsed(node, "resolv.conf", parse_resolv_conf)
        if resolv is None:
            continue
        seen = True
        if not resolv.nameservers or not all(_loopback(s) for s in resolv.nameservers):
            continue
        path, flag_ev = _kubelet_resolv_conf(ctx, node)
        if path != NODE_FILE or flag_ev is None:
            continue  # kubelet hands pods another file (or we cannot tell): the stub stays on the host
        stub = resolv.nameservers[0]
        ns_ev = ctx.evidence_line(node, "resolv.conf", f"nameserver {stub}")
        here = [p for p in affected if (p.get("spec") or {}).get("nodeName") == node]
        sample = here or affected
        pods = ", ".join(f"{meta(p).get('namespace')}/{obj_name(p)}" for p in sample[:3])
        text = (
            f"{node}: kubelet passes {NODE_FILE} (nameserver {stub} only) to dnsPolicy Default pods"
            f" ({'on this node: ' if here else 'e.g. '}{pods})"
        )
        evidence = [e for e in (ns_ev, flag_ev) if e]
        evidence.append(Evidence(layout.node_file(node, "resolv.conf"), text, f"Node/{node}", node))
        target = "/run/systemd/resolve/resolv.conf" if stub == "127.0.0.53" else "<a file listing the real upstreams>"
        hits.append(Hit(evidence, [f"Node/{node}"], [node], {"stub": stub, "resolv_target": target}, text))
    return hits if hits or seen else None
