"""CoreDNS stopped by its loop plugin, with where the loop comes from: the resolv.conf it forwards to."""

from __future__ import annotations

import ipaddress
import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.resolvconf import parse_resolv_conf

DNS_POD = re.compile(r".*coredns.*|kube-dns-.*")
LOOP = re.compile(r'plugin/loop: (Loop \([^)]*\) detected|Seen "[^"]*" more than \w+, loop detected)')
FORWARD = re.compile(r"^\s*(forward|proxy)\s+\.\s+(?P<to>.+?)\s*(\{|$)", re.M)
RESOLV_FLAG = re.compile(r"--resolv-conf=\"?(?P<path>[^\"\s]*)")
CONFIG_RESOLV = re.compile(r"^resolvConf:\s*\"?(?P<path>[^\"\s]*)", re.M)
STUB = "/run/systemd/resolve/resolv.conf"


def _loopback(ns: str) -> bool:
    try:
        return ipaddress.ip_address(ns.split("%")[0]).is_loopback
    except ValueError:
        return False


def kubelet_resolv_conf(ctx: Context, node: str) -> tuple[str | None, Evidence | None]:
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


def _loops(ctx: Context) -> list[tuple[str, str, Evidence]]:
    out = []
    for ref in ctx.bundle.logs:
        if not DNS_POD.fullmatch(ref.pod) or any(ref.pod == p for _, p, _ in out):
            continue
        for line in ctx.bundle.grep_log(ref, LOOP):
            if LOOP.search(line.text):
                node = ctx.pod_node(ref.namespace, ref.pod)
                out.append(
                    (
                        ref.namespace,
                        ref.pod,
                        Evidence(
                            ref.path, line.text.strip()[:300], f"{ref.namespace}/Pod/{ref.pod}", node, line.lineno
                        ),
                    )
                )
                break
    return out


def _corefile(ctx: Context, namespace: str) -> tuple[str | None, Evidence | None]:
    for cm in ctx.configmaps:
        data = cm.get("data") or {}
        if meta(cm).get("namespace") == namespace and "Corefile" in data:
            m = FORWARD.search(str(data["Corefile"]))
            if m:
                return m.group("to"), Evidence(
                    layout.namespaced_list(namespace, "configmaps"),
                    f"{obj_name(cm)} Corefile: {m.group(0).strip().rstrip('{').strip()}",
                    f"{namespace}/ConfigMap/{obj_name(cm)}",
                )
    return None, None


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits: list[Hit] = []
    for ns, pod, loop_ev in _loops(ctx):
        node = ctx.pod_node(ns, pod)
        evidence = [loop_ev]
        target, fwd_ev = _corefile(ctx, ns)
        if fwd_ev:
            evidence.append(fwd_ev)
        cause = "the upstream it forwards to sends queries back to CoreDNS"
        values = {"namespace": ns, "pod": pod, "resolv_target": STUB, "configmap": "coredns"}
        if fwd_ev and fwd_ev.object:
            values["configmap"] = fwd_ev.object.split("/")[-1]
        if node:
            values["node"] = node
            resolv = ctx.parsed(node, "resolv.conf", parse_resolv_conf)
            path, flag_ev = kubelet_resolv_conf(ctx, node)
            stub = [s for s in (resolv.nameservers if resolv else ()) if _loopback(s)]
            if stub and path in (None, "/etc/resolv.conf"):
                evidence.append(
                    ctx.evidence_line(node, "resolv.conf", f"nameserver {stub[0]}")
                    or Evidence(layout.node_file(node, "resolv.conf"), f"nameserver {stub[0]}", f"Node/{node}", node)
                )
                cause = (
                    f"kubelet on {node} gives dnsPolicy Default pods its /etc/resolv.conf, whose nameserver "
                    f"{stub[0]} is a local stub: inside the pod that address is CoreDNS itself"
                )
                if stub[0] != "127.0.0.53":
                    values["resolv_target"] = "<a resolv.conf listing the real upstream servers>"
            if flag_ev is not None:
                evidence.append(flag_ev)
            for other in ctx.bundle.node_dirs:
                o_path, o_ev = kubelet_resolv_conf(ctx, other)
                if other != node and o_ev is not None and o_path not in (path, None) and o_ev.path.startswith("nodes/"):
                    evidence.append(o_ev)
                    break
        p = ctx.pod(ns, pod) or {}
        policy = (p.get("spec") or {}).get("dnsPolicy")
        msg = f"{ns}/{pod}: CoreDNS detected a forwarding loop ({target or 'forward target unknown'}); {cause}"
        if policy:
            msg += f"; the pod uses dnsPolicy {policy}"
        hits.append(Hit(evidence, [f"{ns}/Pod/{pod}"], [node] if node else [], values, msg))
    return hits
