"""The agent cannot reach the API through the `kubernetes` ClusterIP: no kube-proxy, no k8sServiceHost."""

from __future__ import annotations

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, obj_name
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.iptables import parse_iptables_save

from .._cilium import (
    AGENT,
    API_UNREACHABLE,
    agent_daemonset,
    api_endpoint,
    base_values,
    cilium_config,
    cilium_namespace,
    env_value,
    first_per_pod,
    kpr_mode,
    kube_proxy,
    log_lines,
    natural,
)


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits = list(log_lines(ctx, API_UNREACHABLE))
    if not hits:
        return []
    cfg = cilium_config(ctx)
    ds = agent_daemonset(ctx)
    if cfg is None and ds is None:
        return None
    if (cfg and cfg.get("k8s-service-host")) or (ds and env_value(ds, AGENT, "KUBERNETES_SERVICE_HOST")):
        return []  # a direct API address is configured: CIL002 judges it
    if kube_proxy(ctx):
        return []  # kube-proxy translates the ClusterIP: the API timeout has another cause
    mode, mode_ev = kpr_mode(ctx)
    ns = cilium_namespace(ctx)
    evidence = [h.evidence for h in first_per_pod(hits)]
    if mode_ev:
        evidence.append(mode_ev)
    if cfg:
        evidence.append(cfg.evidence("k8s-service-host"))
    if ds:
        evidence.append(
            Evidence(
                layout.namespaced_list(ns, "daemonsets"),
                f"DaemonSet {obj_name(ds)}: container {AGENT} sets no KUBERNETES_SERVICE_HOST",
                f"{ns}/DaemonSet/{obj_name(ds)}",
            )
        )
    evidence.append(
        Evidence(
            layout.namespaced_list(ns, "daemonsets"),
            "no kube-proxy DaemonSet and no running kube-proxy pod in the bundle",
        )
    )
    values = base_values(ctx)
    svc_ip = _kubernetes_service_ip(ctx)
    if svc_ip:
        values["service_ip"] = svc_ip
        evidence.append(
            Evidence(
                layout.namespaced_list("default", "services"),
                f"Service default/kubernetes ClusterIP {svc_ip}",
                "default/Service/kubernetes",
            )
        )
    host, port, ep_ev = api_endpoint(ctx)
    if host:
        values.update(api_host=host, api_port=port or "6443")
        evidence.append(ep_ev)
    nodes = sorted({h.node for h in hits if h.node}, key=natural)
    for node in nodes:
        ev = _no_service_rules(ctx, node, svc_ip)
        if ev:
            evidence.append(ev)
    pods = sorted({f"{h.namespace}/Pod/{h.pod}" for h in hits})
    values["pod"] = pods[0].rsplit("/", 1)[-1]
    how = "kube-proxy replacement is on and" if mode == "true" else "Cilium does not replace kube-proxy and"
    msg = (
        f"{how} kube-proxy is gone, no k8sServiceHost is set: the agent on {', '.join(nodes) or 'some nodes'} "
        f"dials the kubernetes ClusterIP{' ' + svc_ip if svc_ip else ''}, which nothing translates yet"
    )
    return [Hit(evidence, pods, nodes, values, msg)]


def _kubernetes_service_ip(ctx: Context) -> str | None:
    for svc in ctx.resource("services", "default"):
        if obj_name(svc) == "kubernetes":
            ip = (svc.get("spec") or {}).get("clusterIP")
            return str(ip) if ip else None
    return None


def _no_service_rules(ctx: Context, node: str, svc_ip: str | None) -> Evidence | None:
    """Evidence that nothing on NODE DNATs Service IPs (no kube-proxy KUBE-SERVICES chain)."""
    dump = ctx.parsed(node, "iptables-save.txt", parse_iptables_save)
    if dump is None or dump.command_missing:
        return None
    chain = dump.chain("nat", "KUBE-SERVICES")
    if chain is not None and chain.rules:
        return None
    what = f"nothing DNATs {svc_ip}" if svc_ip else "nothing DNATs Service IPs"
    return Evidence(
        layout.node_file(node, "iptables-save.txt"),
        f"nat table has no KUBE-SERVICES rules on {node}: {what} until the agent is up",
        f"Node/{node}",
        node,
    )
