"""The service-account token in the Calico CNI kubeconfig expired before the bundle was taken."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.kubeconfig import parse_kubeconfig

from .._lib import calico as lib

UNAUTHORIZED = re.compile(r'plugin type="calico" failed \(\w+\):.*(?:Unauthorized|unauthorized)')


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _kubeconfig_name(files: dict[str, str]) -> str | None:
    if "calico-kubeconfig" in files:
        return "calico-kubeconfig"
    return next((f for f in sorted(files) if "calico" in f and "kubeconfig" in f), None)


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    now = lib.bundle_time(ctx)
    found = False
    hits = []
    failing = {}
    for ev in lib.events(ctx, "FailedCreatePodSandBox|FailedKillPodSandbox", UNAUTHORIZED):
        if ev.node:
            failing.setdefault(ev.node, []).append(ev)
    for node in ctx.bundle.node_dirs:
        name = _kubeconfig_name(ctx.node_files(node, "cni-net.d/"))
        if name is None:
            continue
        found = True
        kc = ctx.parsed(node, f"cni-net.d/{name}", parse_kubeconfig)
        claims = kc.claims if kc else None
        if claims is None or claims.exp is None or now is None or claims.exp > now.timestamp():
            continue
        path = layout.node_file(node, f"cni-net.d/{name}")
        issued = f", issued {_iso(claims.iat)}" if claims.iat else ""
        evidence = [
            Evidence(
                path,
                f"token for {claims.sub or 'the CNI plugin'} expired {_iso(claims.exp)}{issued} "
                f"(bundle taken around {now.strftime('%Y-%m-%dT%H:%M:%SZ')})",
                f"Node/{node}",
                node,
            )
        ]
        evidence += [e.evidence() for e in failing.get(node, [])[:2]]
        hits.append(
            Hit(
                evidence,
                [f"Node/{node}"] + [e.obj for e in failing.get(node, [])],
                [node],
                {"node": node, "expired": _iso(claims.exp)},
                f"{node}: the Calico CNI token expired at {_iso(claims.exp)}"
                + (f"; {len(failing[node])} pod(s) there fail with Unauthorized" if node in failing else ""),
            )
        )
    if not found:
        return None
    if hits:
        manage = None
        for ds in lib.calico_node_daemonsets(ctx):
            value = lib.env_map(lib.container(ds, "calico-node")).get("CALICO_MANAGE_CNI")
            ns = str(ds["metadata"].get("namespace"))
            for h in hits:
                h.values["namespace"] = ns
            if value is not None and value.lower() == "false":
                manage = Evidence(
                    layout.namespaced_list(ns, "daemonsets"),
                    f"{ns}/DaemonSet/calico-node: env CALICO_MANAGE_CNI=false (calico-node does not "
                    "refresh the CNI kubeconfig)",
                    f"{ns}/DaemonSet/calico-node",
                )
        for h in hits:
            h.values.setdefault("namespace", "kube-system")
            h.values["manage_cni"] = "false" if manage else "default (true)"
            if manage:
                h.evidence.append(manage)
                h.message = f"{h.message}; CALICO_MANAGE_CNI=false stops calico-node from refreshing it"
    return hits
