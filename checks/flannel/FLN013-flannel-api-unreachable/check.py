"""flanneld cannot reach the API server from its node (Service VIP not programmed, API down, network)."""

from __future__ import annotations

from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence, Hit

from .._lib import flannel_lib as fl

UNREACHABLE = fl.log_pattern(
    r"dial tcp (?P<api>\[?[0-9a-fA-F.:]+\]?:\d+): (?P<err>i/o timeout"
    r"|connect: connection refused|connect: no route to host|connect: network is unreachable)"
)


def _kubernetes_vip(ctx: Context) -> str | None:
    for svc in ctx.services:
        if obj_name(svc) == "kubernetes" and meta(svc).get("namespace") == "default":
            ip = (svc.get("spec") or {}).get("clusterIP")
            return str(ip) if ip else None
    return None


def _endpoints(ctx: Context) -> list[str]:
    """API server addresses behind the kubernetes Service."""
    for ep in ctx.resource("endpoints", "default"):
        if obj_name(ep) == "kubernetes":
            return [
                f"{a.get('ip')}:{p.get('port')}"
                for s in ep.get("subsets") or []
                for a in s.get("addresses") or []
                for p in (s.get("ports") or [])[:1]
            ]
    return []


def _why(ctx: Context, node: str, api: str) -> tuple[str, list[Evidence]]:
    """What the bundle says about the path from NODE to API."""
    host = api.rsplit(":", 1)[0].strip("[]")
    if host == _kubernetes_vip(ctx):
        proxies = [p for p in ctx.pods_by_node.get(node, []) if obj_name(p).startswith("kube-proxy")]
        if ctx.pods and not proxies:
            return "kube-proxy", [
                fl.node_evidence(
                    node, f"no kube-proxy pod on {node}: nothing translates the kubernetes Service address {host}"
                )
            ]
        if proxies and not fl.pod_ready(proxies[0]):
            return "kube-proxy", [
                Evidence(
                    f"cluster/{meta(proxies[0]).get('namespace')}/pods.json",
                    f"{obj_name(proxies[0])} on {node} is not ready",
                    fl.pod_ref(proxies[0]),
                    node,
                )
            ]
        rules = ctx.node_file(node, "iptables-save.txt")
        if rules is not None and "default/kubernetes:https" not in rules and f"{host}/32" not in rules:
            return "kube-proxy", [
                fl.file_evidence(node, "iptables-save.txt", f"no KUBE-SERVICES rule for {host} (default/kubernetes)")
            ]
        facts = [e for e in [ctx.evidence_line(node, "iptables-save.txt", f"-d {host}/32")] if e]
        backends = _endpoints(ctx)
        if backends:
            facts.append(
                Evidence(
                    "cluster/default/endpoints.json",
                    f"Service default/kubernetes ({host}) is served by {', '.join(backends)}: test those from {node}",
                    "default/Endpoints/kubernetes",
                )
            )
        return "vip", facts
    api_pods = [p for p in ctx.pods if obj_name(p).startswith("kube-apiserver")]
    down = [p for p in api_pods if not fl.pod_ready(p)]
    if api_pods and len(down) == len(api_pods):
        return "apiserver", [
            Evidence(
                f"cluster/{meta(down[0]).get('namespace')}/pods.json",
                f"{obj_name(down[0])} is not ready",
                fl.pod_ref(down[0]),
            )
        ]
    return "network", []


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits: dict[str, Hit] = {}
    for ref, line, m in fl.lasting_errors(ctx, UNREACHABLE):
        node = ctx.pod_node(ref.namespace, ref.pod) or "?"
        if node in hits:
            if len(hits[node].evidence) < 3 and not ref.previous:
                hits[node].evidence.insert(1, fl.log_evidence(ctx, ref, line))
            continue
        pod = ctx.pod(ref.namespace, ref.pod)
        why, facts = _why(ctx, node, m.group("api"))
        values = {"api": m.group("api"), "pod": ref.pod, "why": why, **fl.ds_values(ctx, pod)}
        values["api_backend"] = (_endpoints(ctx) or [m.group("api")])[0]
        hits[node] = Hit(
            [fl.log_evidence(ctx, ref, line), *facts],
            [f"{ref.namespace}/Pod/{ref.pod}"],
            [node] if node != "?" else [],
            values,
            message=f"flanneld on {node} cannot reach the API server at {m.group('api')} "
            f"({m.group('err')}); "
            + {
                "kube-proxy": "kube-proxy has not programmed the Service address there",
                "apiserver": "the API server is down",
                "vip": "the Service rules exist: check the route and firewall to the API server",
                "network": "check the route and firewall from the node to that address",
            }[why],
        )
    return list(hits.values())
