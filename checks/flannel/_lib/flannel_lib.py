"""Facts the flannel checks share: where flannel runs, its net-conf.json, node leases, log lines, node files.

Each flannel `check.py` imports it relatively: `from .._lib import flannel_lib as fl`.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from cnidoctor.bundle import layout
from cnidoctor.bundle.reader import LogLine, LogRef
from cnidoctor.diagnose.context import Context, dict_at, dicts_at, list_at, meta, obj_name, str_at
from cnidoctor.diagnose.logscan import scope_flags, strip_groups
from cnidoctor.model import Evidence

ANNOTATION = "flannel.alpha.coreos.com/"
PUBLIC_IP = ANNOTATION + "public-ip"
PUBLIC_IP_OVERWRITE = ANNOTATION + "public-ip-overwrite"
FLANNEL_NAME = re.compile(r"(kube-)?flannel|canal|rke2-canal", re.I)
FLANNEL_IMAGE = re.compile(r"((^|/)(mirrored-flannelcni-)?flannel|/flannel/flannel|coreos/flannel)(:|@|$)", re.I)
STARTED = re.compile(r"Wrote subnet file|Running backend|Node controller sync successful|bootstrap done")
DEFAULT_VXLAN_PORT = 8472  # what the kernel uses when flannel asks for port 0
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


# -- where flannel runs ---------------------------------------------------------------------------
def _containers(pod_spec: object) -> list[dict]:
    return dicts_at(pod_spec, "containers")


def is_flannel_container(c: dict) -> bool:
    return bool(FLANNEL_IMAGE.search(str(c.get("image", "")))) or c.get("name") in ("kube-flannel", "flannel")


def flannel_daemonsets(ctx: Context) -> list[dict]:
    """DaemonSets running flanneld (kube-flannel-ds, canal, rke2-canal, ...)."""
    out = []
    for ds in ctx.daemonsets:
        if any(is_flannel_container(c) for c in _containers(dict_at(ds, "spec", "template", "spec"))):
            out.append(ds)
    return out


def is_flannel_pod(ctx: Context, pod: dict) -> bool:
    if any(is_flannel_container(c) for c in _containers(dict_at(pod, "spec"))):
        return True
    owner = ctx.owner_name(pod) or ""
    return bool(FLANNEL_NAME.match(owner) or FLANNEL_NAME.match(obj_name(pod)))


def flannel_pods(ctx: Context) -> list[dict]:
    return [p for p in ctx.pods if is_flannel_pod(ctx, p)]


def flannel_pod_on(ctx: Context, node: str) -> dict | None:
    for p in ctx.pods_by_node.get(node, []):
        if is_flannel_pod(ctx, p):
            return p
    return None


def flannel_container_name(pod: dict) -> str:
    for c in _containers(dict_at(pod, "spec")):
        if is_flannel_container(c):
            return str(c.get("name"))
    return "kube-flannel"


def pod_ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in dicts_at(pod, "status", "conditions"))


def pod_ref(pod: dict) -> str:
    return f"{meta(pod).get('namespace')}/Pod/{obj_name(pod)}"


def is_flannel_log(ctx: Context, ref: LogRef) -> bool:
    pod = ctx.pod(ref.namespace, ref.pod)
    if pod is not None:
        return is_flannel_pod(ctx, pod)
    return bool(FLANNEL_NAME.match(ref.pod))


_WATCHED: list[re.Pattern] = []  # log patterns of the flannel checks, registered when their module loads
_LINES: WeakKeyDictionary[Context, tuple[frozenset[str], list[tuple[LogRef, LogLine]]]] = WeakKeyDictionary()


def log_pattern(pattern: str) -> re.Pattern:
    """Compile a flannel log pattern and register it for the shared single pass over flannel's logs."""
    rx = re.compile(pattern)
    _WATCHED.append(rx)
    return rx


def _scan(ctx: Context, pattern: re.Pattern | None) -> Iterator[tuple[LogRef, LogLine]]:
    for ref in ctx.bundle.logs:
        if not is_flannel_log(ctx, ref):
            continue
        lines = ctx.bundle.stream_log(ref) if pattern is None else ctx.bundle.grep_log(ref, pattern)
        for line in lines:
            if line.container not in ("install-cni", "install-cni-plugin") and (
                pattern is None or pattern.search(line.text)
            ):
                yield ref, line


def _candidate_lines(ctx: Context, pattern: re.Pattern) -> Iterable[tuple[LogRef, LogLine]]:
    """flannel log lines any registered pattern matches, read once per bundle (all lines for an unknown one)."""
    cached = _LINES.get(ctx)
    if cached is None:
        watched = [STARTED, *_WATCHED]
        combined = re.compile("|".join(f"(?:{scope_flags(strip_groups(p.pattern))})" for p in watched))
        cached = _LINES[ctx] = (frozenset(p.pattern for p in watched), list(_scan(ctx, combined)))
    return cached[1] if pattern.pattern in cached[0] else _scan(ctx, pattern)


def flannel_log_lines(ctx: Context, pattern: re.Pattern) -> Iterator[tuple[LogRef, LogLine, re.Match]]:
    """Lines of flanneld's container logs (current and previous) matching PATTERN."""
    for ref, line in _candidate_lines(ctx, pattern):
        m = pattern.search(line.text)
        if m:
            yield ref, line, m


def log_evidence(ctx: Context, ref: LogRef, line: LogLine) -> Evidence:
    return Evidence(
        ref.path,
        line.text.strip()[:400],
        f"{ref.namespace}/Pod/{ref.pod}",
        ctx.pod_node(ref.namespace, ref.pod),
        line.lineno,
    )


# -- configuration --------------------------------------------------------------------------------
@dataclass(frozen=True)
class NetConf:
    """flannel's net-conf.json, from the ConfigMap that carries it."""

    namespace: str
    configmap: str
    network: Network | None
    ipv6_network: Network | None
    backend: str | None
    vni: int | None
    port: int | None
    raw: dict

    @property
    def ref(self) -> str:
        return f"{self.namespace}/ConfigMap/{self.configmap}"

    @property
    def path(self) -> str:
        return layout.namespaced_list(self.namespace, "configmaps")


def _net(value: object) -> Network | None:
    try:
        return ipaddress.ip_network(str(value), strict=False) if value else None
    except ValueError:
        return None


def net_conf(ctx: Context) -> NetConf | None:
    """The first ConfigMap holding a parseable `net-conf.json` (kube-flannel-cfg, canal-config, ...)."""
    for cm in ctx.configmaps:
        data = cm.get("data") if isinstance(cm.get("data"), dict) else {}
        text = data.get("net-conf.json") or data.get("net-conf") or ""
        if not text:
            continue
        try:
            doc = json.loads(text)
        except ValueError:
            continue
        if not isinstance(doc, dict):
            continue
        backend = doc.get("Backend") if isinstance(doc.get("Backend"), dict) else {}
        return NetConf(
            namespace=str(meta(cm).get("namespace")),
            configmap=obj_name(cm),
            network=_net(doc.get("Network")),
            ipv6_network=_net(doc.get("IPv6Network")),
            backend=str(backend.get("Type") or "udp").lower() if backend or "Backend" in doc else None,
            vni=int(backend["VNI"]) if isinstance(backend.get("VNI"), int) else None,
            port=int(backend["Port"]) if isinstance(backend.get("Port"), int) else None,
            raw=doc,
        )
    return None


def uses_kube_subnet_manager(ctx: Context) -> bool | None:
    """Whether flannel takes its leases from the nodes' pod CIDRs (None: the bundle does not say)."""
    if any(annotations(n).get(ANNOTATION + "kube-subnet-manager") == "true" for n in ctx.nodes):
        return True
    flags = [
        str(a)
        for ds in flannel_daemonsets(ctx)
        for c in _containers(dict_at(ds, "spec", "template", "spec"))
        if is_flannel_container(c)
        for a in list_at(c, "command") + list_at(c, "args")
    ]
    if flags:
        return "--kube-subnet-mgr" in flags or "--kube-subnet-mgr=true" in flags
    return None


def controller_manager_args(ctx: Context) -> list[tuple[dict, list[str]]]:
    """kube-controller-manager pods and their command-line flags."""
    out = []
    for p in ctx.pods:
        if not obj_name(p).startswith("kube-controller-manager"):
            continue
        args: list[str] = []
        for c in _containers(dict_at(p, "spec")):
            args += [str(a) for a in list_at(c, "command") + list_at(c, "args")]
        out.append((p, args))
    return out


def flag(args: list[str], name: str) -> str | None:
    """Value of `--name=value` (or a bare `--name`, as "true")."""
    for a in args:
        if a == f"--{name}":
            return "true"
        if a.startswith(f"--{name}="):
            return a.split("=", 1)[1]
    return None


# -- nodes ----------------------------------------------------------------------------------------
def pod_cidrs(node: dict) -> list[Network]:
    spec = dict_at(node, "spec")
    raw = list_at(spec, "podCIDRs") or [spec.get("podCIDR")]
    return [n for n in (_net(r) for r in raw if isinstance(r, str)) if n is not None]


def annotations(node: dict) -> dict[str, str]:
    ann = meta(node).get("annotations")
    return {str(k): str(v) for k, v in ann.items()} if isinstance(ann, dict) else {}


def node_addresses(node: dict, kind: str | None = None) -> list[str]:
    return [
        str(a.get("address"))
        for a in dicts_at(node, "status", "addresses")
        if a.get("address") and (kind is None or a.get("type") == kind)
    ]


def node_evidence(node: str, excerpt: str) -> Evidence:
    return Evidence(layout.NODES_LIST, excerpt[:400], f"Node/{node}", node)


def file_evidence(node: str, name: str, excerpt: str, line: int | None = None) -> Evidence:
    return Evidence(layout.node_file(node, name), excerpt[:400], f"Node/{node}", node, line)


def ds_of(ctx: Context, pod: dict | None) -> dict | None:
    """The flannel DaemonSet owning POD (or the only flannel DaemonSet)."""
    dss = flannel_daemonsets(ctx)
    if pod is not None:
        owner = ctx.owner_name(pod)
        for ds in dss:
            if obj_name(ds) == owner and meta(ds).get("namespace") == meta(pod).get("namespace"):
                return ds
    return dss[0] if len(dss) == 1 else None


def ds_values(ctx: Context, pod: dict | None = None) -> dict[str, str]:
    """`{namespace}`, `{ds}`, `{container}`, `{container_index}` and `{args_field}` (where flanneld's flags are)
    of the flannel DaemonSet, for remediation commands."""
    ds = ds_of(ctx, pod)
    if ds is None:
        return {}
    containers = _containers(dict_at(ds, "spec", "template", "spec"))
    idx = next((i for i, c in enumerate(containers) if is_flannel_container(c)), 0)
    return {
        "namespace": str(meta(ds).get("namespace")),
        "ds": obj_name(ds),
        "container": str(containers[idx].get("name")) if containers else "kube-flannel",
        "container_index": str(idx),
        "args_field": "args" if containers and containers[idx].get("args") else "command",
    }


# -- the flannel CNI plugin's own failure -----------------------------------------------------------
SUBNET_ENV_MISSING = re.compile(r"subnet\.env: no such file or directory|loadFlannelSubnetEnv failed")


def subnet_env_failures(ctx: Context) -> dict[str, list[Evidence]]:
    """Per node, sandbox errors saying /run/flannel/subnet.env is missing (events, then kubelet.log)."""
    out: dict[str, list[Evidence]] = {}
    for ev in ctx.events:
        msg = str(ev.get("message") or "")
        inv = dict_at(ev, "involvedObject")
        if not SUBNET_ENV_MISSING.search(msg) or inv.get("kind") != "Pod":
            continue
        ns, name = str(inv.get("namespace") or meta(ev).get("namespace")), str(inv.get("name"))
        node = ctx.pod_node(ns, name) or str_at(ev, "source", "host")
        if node:
            excerpt = f"{ev.get('type', '')} {ev.get('reason')} {ns}/Pod/{name}: {msg}"
            out.setdefault(node, []).append(
                Evidence(layout.namespaced_list(ns, "events"), excerpt[:500], f"{ns}/Pod/{name}", node)
            )
    for node in ctx.bundle.node_dirs:
        if node in out:
            continue
        for i, line in enumerate((ctx.node_file(node, "kubelet.log") or "").splitlines(), start=1):
            if SUBNET_ENV_MISSING.search(line):
                out[node] = [file_evidence(node, "kubelet.log", line.strip(), i)]
                break
    return out


def flannel_cni_files(ctx: Context, node: str) -> list[str]:
    """Names of flannel CNI config files in the node's net.d."""
    files = ctx.node_files(node, layout.CNI_NET_D + "/")
    return sorted(n for n, text in files.items() if "/" not in n and ("flannel" in n or '"flannel"' in text))


def recovered_after(ctx: Context, ref: LogRef, lineno: int) -> bool:
    """True when flanneld logged successful start-up steps after line LINENO of the same log."""
    return any(r == ref and line.lineno > lineno for r, line, _ in flannel_log_lines(ctx, STARTED))


def lasting_errors(ctx: Context, pattern: re.Pattern) -> Iterator[tuple[LogRef, LogLine, re.Match]]:
    """Matches of PATTERN in flannel logs that flanneld did not get past: its pod is not ready, or nothing
    in the same log shows it started afterwards (previous logs count only while the pod is not ready)."""
    for ref, line, m in flannel_log_lines(ctx, pattern):
        pod = ctx.pod(ref.namespace, ref.pod)
        ready = pod is not None and pod_ready(pod)
        if ready and (ref.previous or recovered_after(ctx, ref, line.lineno)):
            continue
        yield ref, line, m
