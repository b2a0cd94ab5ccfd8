"""CNI agent pods that cannot start because their image cannot be pulled, with the registry's reason."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence, Hit

AGENT = re.compile(
    r"(calico-node|calico-typha|calico-kube-controllers|canal|cilium|cilium-operator|cilium-envoy"
    r"|kube-flannel-ds|kube-flannel|flannel|kube-multus-ds|kube-multus|multus)(-[a-z0-9]+)+"
)
PULL = {"ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull"}
IMAGE = re.compile(r'image "(?P<image>[^"]+)"')
CAUSES = (
    (
        re.compile(r"not found|manifest unknown|NotFound|does not exist", re.I),
        "the image or tag does not exist in the registry (typo, a tag that was never published, or a moved repository)",
    ),
    (
        re.compile(r"unauthorized|denied|authentication required|403 Forbidden|401", re.I),
        "the registry refuses the credentials (missing or expired imagePullSecret, private repository)",
    ),
    (
        re.compile(r"toomanyrequests|429|rate limit", re.I),
        "the registry rate-limits the node's pulls (Docker Hub anonymous limit): mirror the image or authenticate",
    ),
    (
        re.compile(
            r"i/o timeout|no such host|connection refused|TLS handshake timeout|x509|dial tcp|proxyconnect", re.I
        ),
        "the node cannot reach the registry (egress firewall, proxy, DNS or certificates on the node)",
    ),
    (re.compile(r"InvalidImageName|invalid reference format", re.I), "the image reference is malformed"),
)


def _events(ctx: Context, ns: str, pod: str) -> list[dict]:
    return [
        e
        for e in ctx.events
        if (e.get("involvedObject") or {}).get("name") == pod
        and str(meta(e).get("namespace") or (e.get("involvedObject") or {}).get("namespace")) == ns
        and e.get("reason") in ("Failed", "Pulling", "BackOff", "InspectFailed", "ErrImageNeverPull")
    ]


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    if not ctx.has_resource("pods"):
        return None
    hits = []
    for pod in ctx.pods:
        name, ns = obj_name(pod), str(meta(pod).get("namespace"))
        if not AGENT.fullmatch(name):
            continue
        status = pod.get("status") or {}
        for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
            waiting = (cs.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") not in PULL:
                continue
            node = ctx.pod_node(ns, name)
            obj = f"{ns}/Pod/{name}"
            image = str(cs.get("image") or "")
            evidence = [
                Evidence(
                    layout.namespaced_list(ns, "pods"),
                    f"{obj} container {cs.get('name')}: waiting {waiting.get('reason')}"
                    + (f" ({waiting['message'][:250]})" if waiting.get("message") else ""),
                    obj,
                    node,
                )
            ]
            detail = str(waiting.get("message") or "")
            for ev in _events(ctx, ns, name):
                message = str(ev.get("message") or "")
                if ev.get("reason") == "Failed" and "ailed to pull" in message:
                    evidence.append(
                        Evidence(
                            layout.namespaced_list(ns, "events"), f"Warning Failed {obj}: {message}"[:500], obj, node
                        )
                    )
                    detail = message
                    break
            m = IMAGE.search(detail)
            image = m.group("image") if m else image
            cause = next(
                (text for rx, text in CAUSES if rx.search(detail + " " + str(waiting.get("reason")))),
                "the pull error above says why",
            )
            owner = ctx.owner_name(pod) or name
            refs = meta(pod).get("ownerReferences") or []
            if any(r.get("kind") == "ReplicaSet" for r in refs) and "-" in owner:
                workload = "deployment/" + owner.rsplit("-", 1)[0]
            else:
                workload = ("daemonset/" if any(r.get("kind") == "DaemonSet" for r in refs) else "pod/") + owner
            values = {
                "namespace": ns,
                "pod": name,
                "container": str(cs.get("name")),
                "image": image,
                "owner": owner,
                "workload": workload,
                "cause": cause,
                **({"node": node} if node else {}),
            }
            hits.append(Hit(evidence, [obj], [node] if node else [], values, f"{obj}: cannot pull {image}: {cause}"))
            break
    return hits
