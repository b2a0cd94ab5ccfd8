"""Multus (thin plugin) is refused by the API server: the token in its multus.kubeconfig expired."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.kubeconfig import Kubeconfig, parse_kubeconfig

from .. import _multus as mx

UNAUTHORIZED = re.compile(
    r"\bUnauthorized\b|the server has asked for the client to provide credentials|"
    r"token has expired|invalid bearer token"
)
THIN = re.compile(r'plugin type="multus"|\bMultus: \[')
KUBECONFIG_NAME = re.compile(r"(^|/)[^/]*multus[^/]*kubeconfig[^/]*$")
APISERVER_FLAGS = ("--service-account-extend-token-expiration=false", "--service-account-max-token-expiration")


def _kubeconfig(ctx: Context, node: str) -> tuple[str, Kubeconfig] | None:
    """(net.d name, parsed) of the kubeconfig the node's Multus config names (or any multus*kubeconfig)."""
    names = []
    found = mx.multus_config(ctx, node)
    if found and found[1].multus and found[1].multus.kubeconfig:
        names.append(mx.host_net_d_name(found[1].multus.kubeconfig))
    names += sorted(n for n in mx.net_d(ctx, node) if KUBECONFIG_NAME.search(n))
    for name in names:
        if name:
            parsed = ctx.parsed(node, f"{layout.CNI_NET_D}/{name}", parse_kubeconfig)
            if parsed is not None:
                return name, parsed
    return None


def _utc(ts: int) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _apiserver_flags(ctx: Context) -> Evidence | None:
    for pod in ctx.pods:
        if not obj_name(pod).startswith("kube-apiserver"):
            continue
        for c in (pod.get("spec") or {}).get("containers") or []:
            args = [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]
            flags = [a for a in args if a.startswith(APISERVER_FLAGS)]
            if flags:
                ns = mx.pod_ns(pod)
                return Evidence(
                    layout.namespaced_list(ns, "pods"),
                    f"{obj_name(pod)} args: {' '.join(flags)}",
                    f"{ns}/Pod/{obj_name(pod)}",
                    mx.pod_node(pod),
                )
    return None


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    failures = []
    for m in mx.find_messages(ctx, UNAUTHORIZED, logs=False):
        own = mx.multus_own_error(m.text)
        if THIN.search(m.text) and "multus-shim" not in m.text and own and UNAUTHORIZED.search(own):
            failures.append(m)
    if not failures:
        return []
    now = mx.bundle_now(ctx)
    failing_nodes = sorted({m.node for m in failures if m.node})
    events = [m for m in failures if m.evidence.path.endswith("events.json")]
    evidence = [m.evidence for m in (events or failures)[:2]]
    expired: list[str] = []
    valid: list[Evidence] = []
    for node in ctx.node_names:
        found = _kubeconfig(ctx, node)
        if not found or not found[1].claims or not found[1].claims.exp:
            continue
        name, kc = found
        c = kc.claims
        life = f", lifetime {(c.exp - c.iat) // 60} min" if c.iat else ""
        if now and c.exp <= now.timestamp():
            expired.append(node)
            evidence.append(
                mx.file_evidence(
                    ctx,
                    node,
                    f"{layout.CNI_NET_D}/{name}",
                    f"{name}: token of {c.sub or 'the Multus service account'} issued {_utc(c.iat or 0)}, "
                    f"expired {_utc(c.exp)}{life}; bundle collected {mx.iso(now)}",
                )
            )
        elif now:
            valid.append(
                mx.file_evidence(
                    ctx,
                    node,
                    f"{layout.CNI_NET_D}/{name}",
                    f"{name}: token issued {_utc(c.iat or 0)} still valid until {_utc(c.exp)}: pods on {node} "
                    "start, so the service account's RBAC is fine",
                )
            )
    if expired:
        evidence += valid[:1]
    flags = _apiserver_flags(ctx)
    if flags:
        evidence.append(flags)
    ds = next(iter(mx.multus_daemonsets(ctx)), None)
    nodes = sorted(set(failing_nodes) | set(expired))
    values = {
        "namespace": meta(ds).get("namespace", "kube-system") if ds else "kube-system",
        "daemonset": obj_name(ds) if ds else "kube-multus-ds",
    }
    if failing_nodes:
        values["node"] = failing_nodes[0]
    pods = sorted({f"{m.pod[0]}/Pod/{m.pod[1]}" for m in failures if m.pod})
    if expired:
        message = (
            f"the Multus token expired on {', '.join(expired)}; the API server rejects Multus's calls "
            f"(`Unauthorized`) for {len(pods)} pod(s)"
        )
    elif any(_kubeconfig(ctx, n) for n in ctx.node_names):
        message = (
            "the API server rejects the token in multus.kubeconfig although its claims are not expired: "
            "it was revoked (bound to a deleted pod or service account) or signed with a rotated key"
        )
    else:
        message = (
            "the API server rejects Multus's credentials (`Unauthorized`); the bundle has no multus.kubeconfig "
            "to read the token's expiry from: decode it on the node (remediation step 2)"
        )
    return [Hit(evidence, pods + [f"Node/{n}" for n in nodes], nodes, values, message)]
