"""CNI agent containers whose last (or current) termination was the kernel's OOM killer."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence, Hit

AGENT = re.compile(
    r"(calico-node|calico-typha|calico-kube-controllers|canal|cilium|cilium-operator|cilium-envoy"
    r"|kube-flannel-ds|kube-flannel|flannel|kube-multus-ds|kube-multus|multus)(-[a-z0-9]+)+"
)
UNITS = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "K": 1000, "M": 1000**2, "G": 1000**3, "": 1}


def _bytes(q: str) -> int | None:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMG]i?)?", q.strip())
    return int(float(m.group(1)) * UNITS[m.group(2) or ""]) if m else None


def _limit(pod: dict, container: str) -> str | None:
    spec = pod.get("spec") or {}
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        if c.get("name") == container:
            return ((c.get("resources") or {}).get("limits") or {}).get("memory")
    return None


def _last_log_line(ctx: Context, ns: str, pod: str, container: str) -> Evidence | None:
    for ref in ctx.bundle.logs:
        if ref.namespace == ns and ref.pod == pod and ref.container == container and ref.previous:
            last = None
            for line in ctx.bundle.stream_log(ref):
                if line.text.strip():
                    last = line
            if last is not None:
                return Evidence(
                    ref.path, last.text.strip()[:300], f"{ns}/Pod/{pod}", ctx.pod_node(ns, pod), last.lineno
                )
    return None


def _oom_events(ctx: Context, ns: str, pod: str, node: str | None) -> list[Evidence]:
    """kubelet's OOMKilling / SystemOOM events for the pod or its node that name the pod."""
    out = []
    for ev in ctx.events:
        if ev.get("reason") not in ("OOMKilling", "SystemOOM", "OOMKilled"):
            continue
        inv = ev.get("involvedObject") or {}
        message = str(ev.get("message") or "")
        if inv.get("name") == pod or (node and inv.get("name") == node and pod in message):
            ev_ns = str(meta(ev).get("namespace") or inv.get("namespace") or "default")
            out.append(
                Evidence(
                    layout.namespaced_list(ev_ns, "events"),
                    f"{ev.get('type', '')} {ev.get('reason')} {inv.get('kind')}/{inv.get('name')}: {message}"[:400],
                    f"{ns}/Pod/{pod}",
                    node,
                )
            )
            if len(out) >= 2:
                break
    return out


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    if not ctx.has_resource("pods"):
        return None
    hits = []
    for pod in ctx.pods:
        name, ns = obj_name(pod), str(meta(pod).get("namespace"))
        if not AGENT.fullmatch(name):
            continue
        status = pod.get("status") or {}
        for cs in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
            term = (cs.get("state") or {}).get("terminated") or (cs.get("lastState") or {}).get("terminated") or {}
            if term.get("reason") != "OOMKilled":
                continue
            cname = str(cs.get("name"))
            limit = _limit(pod, cname)
            node = ctx.pod_node(ns, name)
            text = (
                f"{ns}/Pod/{name} container {cname}: last terminated OOMKilled (exit code {term.get('exitCode')})"
                f" at {term.get('finishedAt', '?')}, {cs.get('restartCount', 0)} restarts, memory limit "
                f"{limit or 'none'}"
            )
            evidence = [Evidence(layout.namespaced_list(ns, "pods"), text, f"{ns}/Pod/{name}", node)]
            if (e := _last_log_line(ctx, ns, name, cname)) is not None:
                evidence.append(e)
            evidence += _oom_events(ctx, ns, name, node)
            size = _bytes(limit) if limit else None
            values = {
                "namespace": ns,
                "pod": name,
                "container": cname,
                "owner": ctx.owner_name(pod) or name,
                "limit": limit or "none",
                "suggested": f"{2 * size // (1 << 20)}Mi" if size else "<2x the observed usage>",
            }
            kind = (
                "daemonset"
                if any(r.get("kind") == "DaemonSet" for r in meta(pod).get("ownerReferences") or [])
                else "deployment"
            )
            values["kind"] = kind
            if kind == "deployment" and values["owner"].count("-") and values["owner"] != name:
                values["owner"] = values["owner"].rsplit("-", 1)[0]  # ReplicaSet name -> Deployment name
            if node:
                values["node"] = node
            hits.append(Hit(evidence, [f"{ns}/Pod/{name}"], [node] if node else [], values, text))
            break
    return hits
