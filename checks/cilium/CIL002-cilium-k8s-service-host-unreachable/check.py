"""The API address the agents are told to use directly (k8sServiceHost) does not answer."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, obj_name
from cnidoctor.model import Evidence, Hit

from .._cilium import (
    AGENT,
    API_UNREACHABLE,
    agent_daemonset,
    api_endpoint,
    base_values,
    cilium_config,
    env_value,
    first_per_pod,
    log_lines,
    natural,
)

DIALING = re.compile(r'Establishing connection to apiserver.*host="?https?://\[?(?P<host>[^\]/"\s]+?)\]?(:\d+)?["\s/]')


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits = list(log_lines(ctx, API_UNREACHABLE))
    if not hits:
        return []
    cfg = cilium_config(ctx)
    ds = agent_daemonset(ctx)
    host = cfg.get("k8s-service-host") if cfg else None
    port = cfg.get("k8s-service-port") if cfg else None
    values = base_values(ctx)
    if host and cfg:
        evidence = [cfg.evidence("k8s-service-host")] + ([cfg.evidence("k8s-service-port")] if port else [])
    elif ds and env_value(ds, AGENT, "KUBERNETES_SERVICE_HOST"):
        host = env_value(ds, AGENT, "KUBERNETES_SERVICE_HOST")
        port = env_value(ds, AGENT, "KUBERNETES_SERVICE_PORT")
        evidence = [
            Evidence(
                layout.namespaced_list(values["namespace"], "daemonsets"),
                f"DaemonSet {obj_name(ds)} container {AGENT}: KUBERNETES_SERVICE_HOST={host}"
                + (f" KUBERNETES_SERVICE_PORT={port}" if port else ""),
                f"{values['namespace']}/DaemonSet/{obj_name(ds)}",
            )
        ]
    else:
        return []  # no direct address: CIL001 covers the ClusterIP path
    failing = {h.pod for h in hits if not h.previous} or {h.pod for h in hits}
    evidence = [h.evidence for h in first_per_pod([h for h in hits if h.pod in failing])] + evidence
    ok_nodes = sorted(
        {
            h.node
            for h in log_lines(ctx, DIALING)
            if h.pod not in failing and not h.previous and h.node and h.match["host"] == host
        },
        key=natural,
    )
    api_host, api_port, ep_ev = api_endpoint(ctx)
    if ep_ev:
        evidence.append(ep_ev)
    nodes = sorted({h.node for h in hits if h.pod in failing and h.node}, key=natural)
    target = f"{host}:{port or 443}"
    if ok_nodes:
        msg = (
            f"agents on {', '.join(ok_nodes)} reach {target} but not those on {', '.join(nodes)}: "
            "the path from those nodes to the API address is blocked"
        )
    else:
        msg = f"no agent reaches the configured API address {target}: it is wrong or nothing answers there"
    if ep_ev and not re.search(rf"(?<![\d.]){re.escape(str(host))}(?![\d.])", ep_ev.excerpt):
        msg += f"; {host} is not one of the API server endpoints"
    values.update(
        k8s_host=host,
        k8s_port=port or "443",
        node=nodes[0] if nodes else "<node>",
        pod=sorted(failing)[0],
        api_host=api_host or "<api-server address>",
        api_port=api_port or "6443",
    )
    pods = sorted(f"{h.namespace}/Pod/{h.pod}" for h in first_per_pod(hits) if h.pod in failing)
    return [Hit(evidence, pods, nodes, values, msg)]
