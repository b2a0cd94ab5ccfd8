"""What the Multus checks share: network requests and status annotations, Multus pods, the node's
Multus config, and a search for Multus error messages in events, kubelet logs and Multus pod logs.

Check modules import it relatively (`from .. import _multus as mx`); it is not a check itself
(folders and files starting with `_` are skipped by the catalog loader).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from cnidoctor.bundle import layout
from cnidoctor.catalog.placeholders import shell_join, shell_quote
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence
from cnidoctor.parse.cnibin import CniBinDirs, parse_cni_bin
from cnidoctor.parse.cniconf import CniConfig, CniConfSelection, select_default

NETWORKS = "k8s.v1.cni.cncf.io/networks"
STATUS_KEYS = ("k8s.v1.cni.cncf.io/network-status", "k8s.v1.cni.cncf.io/networks-status")
NAD_RESOURCE = "network-attachment-definitions.k8s.cni.cncf.io"
NAD_CRD = "network-attachment-definitions.k8s.cni.cncf.io"
MULTUS_TYPES = ("multus", "multus-shim")
HOST_PREFIXES = ("/hostroot", "/host", "/rootfs")
NET_D = "/etc/cni/net.d/"
_MULTUS_NAME = re.compile(r"multus", re.I)
_KUBELET_POD = re.compile(r'\bpod="(?P<ns>[^"/]+)/(?P<name>[^"]+)"')
_MULTUS_POD_ARG = re.compile(r"\[(?P<ns>[a-z0-9.-]+)/(?P<name>[a-z0-9.-]+)(?:/[0-9a-f-]+)?\]")


# -- network requests and status --------------------------------------------------------------------
@dataclass(frozen=True)
class NetRequest:
    """One network a pod asks for in `k8s.v1.cni.cncf.io/networks`."""

    namespace: str
    name: str
    interface: str | None = None
    explicit_namespace: bool = False

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


def annotations(obj: dict) -> dict:
    a = meta(obj).get("annotations")
    return a if isinstance(a, dict) else {}


def requested_networks(pod: dict) -> list[NetRequest]:
    """The networks POD requests (JSON list or `ns/name@iface, ...` form); [] when none."""
    raw = annotations(pod).get(NETWORKS)
    if not isinstance(raw, str) or not raw.strip():
        return []
    pod_ns = str(meta(pod).get("namespace") or "default")
    text = raw.strip()
    out: list[NetRequest] = []
    if text.startswith("["):
        try:
            items = json.loads(text)
        except ValueError:
            return []
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"]:
                ns = item.get("namespace")
                iface = item.get("interface")
                out.append(
                    NetRequest(
                        ns if isinstance(ns, str) and ns else pod_ns,
                        item["name"],
                        iface if isinstance(iface, str) and iface else None,
                        isinstance(ns, str) and bool(ns),
                    )
                )
        return out
    for token in text.split(","):
        token = token.strip()
        if not token:
            continue
        iface = None
        if "@" in token:
            token, iface = token.split("@", 1)
        ns, _, name = token.rpartition("/")
        out.append(NetRequest(ns or pod_ns, name, iface or None, bool(ns)))
    return out


def network_status(pod: dict) -> list[dict] | None:
    """Entries of the pod's network-status annotation; None when the annotation is absent."""
    ann = annotations(pod)
    for key in STATUS_KEYS:
        raw = ann.get(key)
        if isinstance(raw, str):
            try:
                value = json.loads(raw)
            except ValueError:
                return []
            return [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []
    return None


def status_has(entries: list[dict], req: NetRequest) -> bool:
    """Whether the network-status entries show an interface for REQ."""
    for e in entries:
        if e.get("name") in (req.ref, req.name) and (req.interface is None or e.get("interface") == req.interface):
            return True
    return False


# -- objects ------------------------------------------------------------------------------------------
def pod_ref(pod: dict) -> str:
    return f"{meta(pod).get('namespace')}/Pod/{obj_name(pod)}"


def pod_ns(pod: dict) -> str:
    return str(meta(pod).get("namespace") or "")


def pod_node(pod: dict) -> str | None:
    node = (pod.get("spec") or {}).get("nodeName")
    return node if isinstance(node, str) and node else None


def is_multus_pod(ctx: Context, pod: dict) -> bool:
    """A Multus DaemonSet pod (by owner, name or image)."""
    owner = ctx.owner_name(pod) or ""
    if _MULTUS_NAME.search(owner) or _MULTUS_NAME.search(obj_name(pod).split("-ds-")[0]):
        return True
    spec = pod.get("spec") or {}
    return any("multus-cni" in str(c.get("image", "")) for c in spec.get("containers") or [] if isinstance(c, dict))


def multus_pods(ctx: Context) -> list[dict]:
    return [p for p in ctx.pods if is_multus_pod(ctx, p)]


def multus_daemonsets(ctx: Context) -> list[dict]:
    out = []
    for ds in ctx.daemonsets:
        spec = ((ds.get("spec") or {}).get("template") or {}).get("spec") or {}
        images = " ".join(str(c.get("image", "")) for c in spec.get("containers") or [] if isinstance(c, dict))
        if _MULTUS_NAME.search(obj_name(ds)) or "multus-cni" in images:
            out.append(ds)
    return out


def pod_is_ready(pod: dict) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == "Ready":
            return cond.get("status") == "True"
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return bool(statuses) and all(isinstance(c, dict) and c.get("ready") for c in statuses)


def pod_started(pod: dict) -> bool:
    """The pod has a sandbox: Running (or finished) with at least one container started."""
    status = pod.get("status") or {}
    if status.get("phase") not in ("Running", "Succeeded"):
        return False
    return any(
        isinstance(c, dict) and ("running" in (c.get("state") or {}) or "terminated" in (c.get("state") or {}))
        for c in status.get("containerStatuses") or []
    )


def host_network(pod: dict) -> bool:
    return bool((pod.get("spec") or {}).get("hostNetwork"))


def nad_index(ctx: Context) -> dict[tuple[str, str], dict]:
    """NetworkAttachmentDefinitions in the bundle keyed by (namespace, name)."""
    return {(str(meta(n).get("namespace") or ""), obj_name(n)): n for n in ctx.resource(NAD_RESOURCE)}


def nad_list_path(namespace: str) -> str:
    return layout.namespaced_list(namespace, NAD_RESOURCE)


# -- time -----------------------------------------------------------------------------------------------
def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or len(value) < 19:
        return None
    text = value.strip().replace("Z", "+00:00")
    text = re.sub(r"\.(\d{6})\d+", r".\1", text)
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def bundle_now(ctx: Context) -> datetime | None:
    """When the bundle was collected: the manifest's time, else the newest event or container state."""
    m = ctx.bundle.manifest or {}
    for key in ("collected_at", "collectedAt", "created", "time", "timestamp"):
        t = parse_time(m.get(key))
        if t:
            return t
    times: list[datetime] = []
    for ev in ctx.events:
        for key in ("lastTimestamp", "eventTime", "firstTimestamp"):
            t = parse_time(ev.get(key))
            if t:
                times.append(t)
                break
        series = ev.get("series")
        if isinstance(series, dict):
            t = parse_time(series.get("lastObservedTime"))
            if t:
                times.append(t)
    for pod in ctx.pods:
        for cs in (pod.get("status") or {}).get("containerStatuses") or []:
            for state in ((cs or {}).get("state") or {}).values():
                if isinstance(state, dict):
                    t = parse_time(state.get("startedAt")) or parse_time(state.get("finishedAt"))
                    if t:
                        times.append(t)
    return max(times) if times else None


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- node CNI files ---------------------------------------------------------------------------------------
def net_d(ctx: Context, node: str) -> dict[str, str]:
    return ctx.node_files(node, layout.CNI_NET_D + "/")


def selection(ctx: Context, node: str) -> CniConfSelection | None:
    files = net_d(ctx, node)
    return select_default(files) if files else None


def multus_config(ctx: Context, node: str) -> tuple[str, CniConfig] | None:
    """The node's Multus config: the runtime's pick when it is Multus, else the first Multus candidate."""
    sel = selection(ctx, node)
    if sel is None:
        return None
    if sel.selected and sel.config is not None and sel.config.multus is not None:
        return sel.selected, sel.config
    for name in sel.candidates:
        cfg = sel.configs.get(name)
        if cfg is not None and cfg.multus is not None:
            return name, cfg
    return None


def host_net_d_name(path: str | None) -> str | None:
    """`/host/etc/cni/net.d/10-flannel.conflist` -> `10-flannel.conflist` (None when not under net.d)."""
    if not path or not path.startswith("/"):
        return None
    for prefix in HOST_PREFIXES:
        if path.startswith(prefix + "/"):
            path = path[len(prefix) :]
            break
    return path[len(NET_D) :] if path.startswith(NET_D) else None


def bin_dirs(ctx: Context, node: str) -> CniBinDirs | None:
    return ctx.parsed(node, "cni-bin.txt", parse_cni_bin)


def file_evidence(ctx: Context, node: str, name: str, excerpt: str | None = None) -> Evidence:
    text = excerpt if excerpt is not None else (ctx.node_file(node, name) or "").strip()
    return Evidence(layout.node_file(node, name), " ".join(text.split())[:400], f"Node/{node}", node, 1)


# -- error messages ----------------------------------------------------------------------------------------
@dataclass
class Message:
    """One place where a matching error message was found."""

    evidence: Evidence
    node: str | None
    pod: tuple[str, str] | None  # (namespace, name) of the pod the message is about
    groups: dict[str, str] = field(default_factory=dict)
    count: int = 1
    text: str = ""


def excerpt_around(prefix: str, text: str, m: re.Match, width: int = 440) -> str:
    """PREFIX plus TEXT cut so that its start and the match M stay visible."""
    room = max(120, width - len(prefix))
    if len(text) <= room:
        return _tidy(prefix + text)
    head = text[: min(60, m.start())]
    rest = room - len(head)
    start = max(len(head), min(m.start() - rest // 3, len(text) - rest))
    body = text[start : start + rest]
    gap = " … " if start > len(head) else ""
    return _tidy(prefix + head + gap + body + ("…" if start + rest < len(text) else ""))


def _tidy(text: str) -> str:
    return " ".join(text.split()).rstrip("' ")


def _event_pod(ev: dict) -> tuple[str, str] | None:
    inv = ev.get("involvedObject") or ev.get("regarding") or {}
    if isinstance(inv, dict) and inv.get("kind") == "Pod" and inv.get("name"):
        return str(inv.get("namespace") or meta(ev).get("namespace") or ""), str(inv["name"])
    return None


def find_messages(
    ctx: Context,
    rx: re.Pattern,
    *,
    events: bool = True,
    kubelet: bool = True,
    logs: bool = True,
    log_pods: Iterable[dict] | None = None,
) -> list[Message]:
    """Matches of RX in event messages, nodes' kubelet.log and Multus pod logs (one per pod and source)."""
    out: list[Message] = []
    if events:
        for ev in ctx.events:
            message = str(ev.get("message") or ev.get("note") or "")
            m = rx.search(message)
            if not m:
                continue
            inv = ev.get("involvedObject") or ev.get("regarding") or {}
            ns = str(meta(ev).get("namespace") or inv.get("namespace") or "default")
            kind, name = str(inv.get("kind") or ""), str(inv.get("name") or "")
            pod = _event_pod(ev)
            node = ctx.pod_node(*pod) if pod else None
            if node is None:
                src = ev.get("source") or {}
                node = src.get("host") if isinstance(src, dict) and src.get("host") else None
            obj = f"{ns}/{kind}/{name}" if kind != "Node" else f"Node/{name}"
            prefix = f"{ev.get('type', '')} {ev.get('reason', '')} {obj}: "
            count = ev.get("count") if isinstance(ev.get("count"), int) else 1
            out.append(
                Message(
                    Evidence(layout.namespaced_list(ns, "events"), excerpt_around(prefix, message, m), obj, node),
                    node,
                    pod,
                    _groups(m),
                    count,
                    message,
                )
            )
    if kubelet:
        for node in ctx.bundle.node_dirs:
            text = ctx.node_file(node, "kubelet.log")
            if not text:
                continue
            seen: set[tuple[str, str] | None] = set()
            for lineno, raw in enumerate(text.splitlines(), start=1):
                line = raw.replace("\\", "")  # kubelet quotes errors inside errors
                m = rx.search(line)
                if not m:
                    continue
                pm = _KUBELET_POD.search(line) or _MULTUS_POD_ARG.search(line)
                pod = (pm.group("ns"), pm.group("name")) if pm else None
                if pod in seen:
                    continue
                seen.add(pod)
                out.append(
                    Message(
                        Evidence(
                            layout.node_file(node, "kubelet.log"),
                            excerpt_around("", line.strip(), m),
                            f"Node/{node}",
                            node,
                            lineno,
                        ),
                        node,
                        pod,
                        _groups(m),
                        1,
                        line,
                    )
                )
    if logs:
        pods = list(log_pods) if log_pods is not None else multus_pods(ctx)
        wanted = {(pod_ns(p), obj_name(p)): p for p in pods}
        for ref in ctx.bundle.logs:
            if (ref.namespace, ref.pod) not in wanted:
                continue
            node = ctx.pod_node(ref.namespace, ref.pod)
            for line in ctx.bundle.grep_log(ref, rx):
                m = rx.search(line.text)
                if m:
                    pm = _MULTUS_POD_ARG.search(line.text)
                    out.append(
                        Message(
                            Evidence(
                                ref.path,
                                excerpt_around("", line.text.strip(), m),
                                f"{ref.namespace}/Pod/{ref.pod}",
                                node,
                                line.lineno,
                            ),
                            node,
                            (pm.group("ns"), pm.group("name")) if pm else None,
                            _groups(m),
                            1,
                            line.text,
                        )
                    )
                    break
    return out


def _groups(m: re.Match) -> dict[str, str]:
    return {k: v for k, v in m.groupdict().items() if v is not None}


def multus_own_error(message: str) -> str | None:
    """The part of a sandbox error that Multus itself raised (not a delegate's error); None if a delegate's."""
    i = message.find("Multus:")
    if i < 0:
        i = message.find("multus:")
    part = message[i:] if i >= 0 else message
    if re.search(r"error adding container to network|invoke Delegate|delegateAdd|error in invoke", part):
        return None
    return part


# -- the Multus pods' containers ---------------------------------------------------------------------------
SOCKET_ERROR = re.compile(
    r"dial unix (?P<socket>/\S*multus\.sock): connect: (?P<why>[a-z ]+)|"
    r"CmdAdd \(shim\): failed to send CNI request: (?P<send>[^\n']{0,120})"
)


@dataclass(frozen=True)
class ContainerState:
    pod: dict
    name: str
    init: bool
    status: dict
    spec: dict

    @property
    def waiting(self) -> str | None:
        w = (self.status.get("state") or {}).get("waiting")
        return str(w.get("reason")) if isinstance(w, dict) else None

    @property
    def last_terminated(self) -> dict:
        """The current terminated state, else the last one (empty when the container never ended)."""
        t = (self.status.get("state") or {}).get("terminated") or (self.status.get("lastState") or {}).get("terminated")
        return t if isinstance(t, dict) else {}

    @property
    def restarts(self) -> int:
        r = self.status.get("restartCount")
        return r if isinstance(r, int) else 0


def containers(pod: dict) -> list[ContainerState]:
    spec = pod.get("spec") or {}
    specs = {
        c.get("name"): c
        for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])
        if isinstance(c, dict)
    }
    status = pod.get("status") or {}
    out = []
    for init, key in ((True, "initContainerStatuses"), (False, "containerStatuses")):
        for cs in status.get(key) or []:
            if isinstance(cs, dict):
                out.append(ContainerState(pod, str(cs.get("name", "")), init, cs, specs.get(cs.get("name")) or {}))
    return out


def recently(ts: object, now: datetime | None, minutes: int = 60) -> bool:
    t = parse_time(ts)
    return bool(t and now and (now - t).total_seconds() <= minutes * 60)


def socket_failures(ctx: Context, node: str | None = None) -> list[Message]:
    """Sandbox errors of the multus-shim that cannot reach the daemon's socket (on NODE when given)."""
    found = find_messages(ctx, SOCKET_ERROR, logs=False)
    return [m for m in found if node is None or m.node == node]


def pod_line(c: ContainerState) -> str:
    """`ns/Pod/name container c (init): waiting X, last terminated R (exit N) at T, K restarts`."""
    parts = []
    if c.waiting:
        parts.append(c.waiting)
    t = c.last_terminated
    if t:
        parts.append(
            f"last terminated {t.get('reason', '?')} (exit {t.get('exitCode', '?')})"
            + (f" at {t['finishedAt']}" if t.get("finishedAt") else "")
        )
    if c.restarts:
        parts.append(f"{c.restarts} restarts")
    kind = "init container" if c.init else "container"
    return f"{pod_ref(c.pod)} {kind} {c.name}: " + ", ".join(parts or ["running"])


def owner_daemonset(ctx: Context, pod: dict) -> str:
    return ctx.owner_name(pod) or obj_name(pod).rsplit("-", 1)[0]


def unwired_pods(ctx: Context, node: str) -> list[tuple[dict, list[NetRequest]]]:
    """Running pods on NODE whose requested networks are missing from their network-status."""
    out = []
    for pod in ctx.pods_by_node.get(node, []):
        requests = requested_networks(pod)
        if not requests or not pod_started(pod) or host_network(pod):
            continue
        status = network_status(pod)
        missing = [r for r in requests if status is None or not status_has(status, r)]
        if missing:
            out.append((pod, missing))
    return out


def unwired_evidence(pod: dict, missing: list[NetRequest]) -> Evidence:
    ns, name = pod_ns(pod), obj_name(pod)
    status = network_status(pod)
    shown = (
        "no network-status annotation"
        if status is None
        else "network-status lists only "
        + (", ".join(f"{e.get('interface')} ({e.get('name')})" for e in status) or "nothing")
    )
    return Evidence(
        layout.namespaced_list(ns, "pods"),
        f"{ns}/Pod/{name} on {pod_node(pod)} (Running) requests {', '.join(r.ref for r in missing)}: {shown}",
        f"{ns}/Pod/{name}",
        pod_node(pod),
    )


def recreate_command(node: str, pods: list[dict]) -> str:
    """A command deleting PODS (one line per namespace), or every pod on NODE that requests networks."""
    if not pods:
        return (
            f"kubectl get pods -A --field-selector {shell_quote(f'spec.nodeName={node}')} -o jsonpath="
            "'{range .items[?(@.metadata.annotations.k8s\\.v1\\.cni\\.cncf\\.io/networks)]}"
            '{.metadata.namespace} {.metadata.name}{"\\n"}{end}\''
            " | while read ns p; do kubectl -n $ns delete pod $p; done"
        )
    by_ns: dict[str, list[str]] = {}
    for p in pods:
        by_ns.setdefault(pod_ns(p), []).append(obj_name(p))
    return "\n".join(
        f"kubectl -n {shell_quote(ns)} delete pod {shell_join(names)}" for ns, names in sorted(by_ns.items())
    )
