"""Helpers shared by the generic CNI-layer checks (GEN002-GEN049, GEN110-GEN129).

Not a check (folders starting with `_` are skipped): where CNI errors surface (events, each node's
kubelet.log), what a node's CNI directories hold, which DaemonSets are CNI agents, pod IPs.
A check imports it relatively: `from .._lib import cnilayer as cl`.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections import Counter
from dataclasses import dataclass

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, dict_at, dicts_at, list_at, meta, obj_name, str_at
from cnidoctor.model import Evidence
from cnidoctor.parse.cnibin import CniBinDirs, parse_cni_bin
from cnidoctor.parse.cniconf import CniConfig, CniConfSelection, parse_cni_config, select_default

IPNet = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddr = ipaddress.IPv4Address | ipaddress.IPv6Address

# `pod="ns/name"` in kubelet structured logs; `"name_ns(uid)"` in older ones.
_KUBELET_POD = re.compile(r'\bpod="(?P<ns>[a-z0-9-]+)/(?P<name>[a-z0-9.-]+)"')
_CNI_AGENT_NAME = re.compile(
    r"calico|cilium|flannel|multus|weave|antrea|kube-router|kube-ovn|ovn|canal|whereabouts|aws-node|"
    r"azure-cni|cni",
    re.I,
)
_BIN_DIR_HINT = re.compile(r"(^|/)(cni/bin|libexec/cni|lib/cni|kubernetes/bin)/?$")


@dataclass(frozen=True)
class Occurrence:
    """One place an error pattern was seen: an event or a kubelet.log line."""

    node: str | None
    pod: str | None  # "ns/name" when known
    evidence: Evidence
    match: re.Match


def unescape(text: str) -> str:
    """Kubelet quotes errors inside errors: drop the backslashes so one regex fits both."""
    return text.replace("\\", "")


def cni_errors(ctx: Context, pattern: re.Pattern, kubelet: bool = True) -> list[Occurrence]:
    """Events (any reason) and kubelet.log lines whose text matches PATTERN; one kubelet line per node
    and distinct match."""
    out: list[Occurrence] = []
    for ev in ctx.events:
        message = unescape(str(ev.get("message") or ev.get("note") or ""))
        m = pattern.search(message)
        if not m:
            continue
        inv = dict_at(ev, "involvedObject")
        ns = str(meta(ev).get("namespace") or inv.get("namespace") or "")
        kind, name = str(inv.get("kind") or ""), str(inv.get("name") or "")
        node = ctx.pod_node(ns, name) if kind == "Pod" else (name if kind == "Node" else None)
        if node is None:
            node = str_at(ev, "source", "host") or None
        obj = f"{ns}/{kind}/{name}" if ns and kind != "Node" else f"{kind}/{name}"
        excerpt = f"{ev.get('type', '')} {ev.get('reason', '')} {obj}: {message}".strip()
        out.append(
            Occurrence(
                node,
                f"{ns}/{name}" if kind == "Pod" else None,
                Evidence(layout.namespaced_list(ns or "default", "events"), excerpt[:500], obj, node),
                m,
            )
        )
    if not kubelet:
        return out
    for node in ctx.node_names:
        seen: set[str] = set()
        for lineno, line, clean in kubelet_lines(ctx, node):
            m = pattern.search(clean)
            if not m or m.group(0) in seen:
                continue
            seen.add(m.group(0))
            pm = _KUBELET_POD.search(clean)
            out.append(
                Occurrence(
                    node,
                    f"{pm['ns']}/{pm['name']}" if pm else None,
                    Evidence(layout.node_file(node, "kubelet.log"), line.strip()[:500], f"Node/{node}", node, lineno),
                    m,
                )
            )
    return out


def kubelet_lines(ctx: Context, node: str) -> list[tuple[int, str, str]]:
    """(line number, line, line without backslashes) of the node's kubelet.log, read once per analysis."""
    cache = ctx.__dict__.setdefault("_cnilayer_kubelet", {})
    if node not in cache:
        text = ctx.node_file(node, "kubelet.log") or ""
        cache[node] = [(i, line, unescape(line)) for i, line in enumerate(text.splitlines(), start=1)]
    return cache[node]


# -- node CNI directories --------------------------------------------------------------------------
def has_node_state(ctx: Context, node: str) -> bool:
    return node in ctx.bundle.node_dirs


def net_d(ctx: Context, node: str) -> CniConfSelection | None:
    """The runtime's view of the node's /etc/cni/net.d; None when the bundle has no state for the node."""
    if not has_node_state(ctx, node):
        return None
    return select_default(ctx.node_files(node, layout.CNI_NET_D + "/"))


def cni_bin(ctx: Context, node: str) -> CniBinDirs | None:
    return ctx.parsed(node, "cni-bin.txt", parse_cni_bin)


def required_plugins(cfg: CniConfig) -> list[tuple[str, str]]:
    """(binary, role) for every plugin a config makes the runtime exec, in chain order."""
    out: list[tuple[str, str]] = []
    for i, p in enumerate(cfg.plugins):
        if p.type:
            out.append((p.type, "the primary plugin" if i == 0 else f"chained plugin #{i + 1}"))
        if p.ipam and p.ipam.type:
            out.append((p.ipam.type, f"the IPAM plugin of {p.type}"))
    if cfg.multus:
        for d in cfg.multus.delegates:
            for t, role in required_plugins(d):
                out.append((t, f"a Multus delegate ({d.name or 'cluster network'}: {role})"))
    return out


def node_required_plugins(sel: CniConfSelection) -> list[tuple[str, str]]:
    """(binary, role) the runtime and Multus exec for a node's selected config, including the cluster network a
    Multus config delegates to by file (`clusterNetwork`, or the next config in the directory)."""
    cfg = sel.config
    if cfg is None:
        return []
    out = required_plugins(cfg)
    if cfg.multus and not cfg.multus.delegates:
        target = (cfg.multus.cluster_network or "").rsplit("/", 1)[-1]
        names = [f for f in sel.shadowed if f == target or sel.configs[f].name == target] or list(sel.shadowed[:1])
        for f in names[:1]:
            out += [(t, f"Multus's cluster network {f}: {role}") for t, role in required_plugins(sel.configs[f])]
    return out


# -- CNI agents --------------------------------------------------------------------------------------
def host_paths(ds: dict) -> list[str]:
    return [
        str(dict_at(v, "hostPath").get("path") or "")
        for v in dicts_at(ds, "spec", "template", "spec", "volumes")
        if dict_at(v, "hostPath")
    ]


def installs_binaries(ds: dict) -> bool:
    """True when the DaemonSet mounts a host CNI binary directory (so its pods can (re)install plugins)."""
    return any(_BIN_DIR_HINT.search(p.rstrip("/") or "/") for p in host_paths(ds))


def cni_agent_daemonsets(ctx: Context) -> list[dict]:
    """DaemonSets that install or run a CNI: they mount a CNI config/bin dir, or are named like one."""
    out = []
    for ds in ctx.daemonsets:
        paths = host_paths(ds)
        mounts_cni = any("/cni" in p for p in paths)
        if mounts_cni or (_CNI_AGENT_NAME.search(obj_name(ds)) and not obj_name(ds).startswith("kube-proxy")):
            out.append(ds)
    return out


def family_of(plugin: str) -> str | None:
    """The CNI project a plugin binary belongs to (None for the reference plugins)."""
    p = plugin.lower()
    for fam, keys in (
        ("calico", ("calico",)),
        ("cilium", ("cilium",)),
        ("flannel", ("flannel",)),
        ("multus", ("multus",)),
        ("whereabouts", ("whereabouts",)),
        ("weave", ("weave",)),
        ("antrea", ("antrea",)),
        ("kube-ovn", ("kube-ovn",)),
        ("ovn-kubernetes", ("ovn-k8s",)),
        ("aws-vpc-cni", ("aws-cni", "egress-cni")),
        ("azure", ("azure",)),
        ("kube-router", ("kube-router",)),
    ):
        if any(k in p for k in keys):
            return fam
    return None


def daemonsets_of(ctx: Context, family: str) -> list[dict]:
    rx = re.compile(re.escape(family.split("-")[0]), re.I)
    out = []
    for ds in ctx.daemonsets:
        spec = dict_at(ds, "spec", "template", "spec")
        containers = dicts_at(spec, "containers") + dicts_at(spec, "initContainers")
        images = " ".join(str(c.get("image", "")) for c in containers)
        if rx.search(obj_name(ds)) or rx.search(images):
            out.append(ds)
    return out


def agent_pod_on(ctx: Context, ds: dict, node: str) -> dict | None:
    ns = str(meta(ds).get("namespace"))
    for p in ctx.pods_by_node.get(node, []):
        if meta(p).get("namespace") == ns and ctx.owner_name(p) == obj_name(ds):
            return p
    return None


# -- nodes ------------------------------------------------------------------------------------------
def node_info(ctx: Context, node: str) -> dict:
    return dict_at(ctx.node_by_name.get(node), "status", "nodeInfo")


def version_outlier(ctx: Context, node: str) -> Evidence | None:
    """Evidence that NODE runs another kubelet or runtime version than most other nodes (an upgrade)."""
    if len(ctx.nodes) < 2:
        return None
    for key in ("kubeletVersion", "containerRuntimeVersion"):
        versions = (node_info(ctx, obj_name(n)).get(key) for n in ctx.nodes if obj_name(n) != node)
        counts = Counter(v for v in versions if isinstance(v, str) and v)  # a node that shows none does not vote
        mine = node_info(ctx, node).get(key)
        if not counts or not isinstance(mine, str) or not mine or mine in counts:
            continue
        others = counts.most_common(1)[0][0]
        return Evidence(layout.NODES_LIST, f"node {node} {key} {mine} (other nodes: {others})", f"Node/{node}", node)
    return None


def node_pod_cidrs(ctx: Context, node: str) -> list[IPNet]:
    spec = dict_at(ctx.node_by_name.get(node), "spec")
    raw = list_at(spec, "podCIDRs") or [spec.get("podCIDR")]
    return [n for n in (to_net(c) for c in raw if isinstance(c, str)) if n is not None]


def to_net(text: object) -> IPNet | None:
    try:
        return ipaddress.ip_network(str(text), strict=False)
    except ValueError:
        return None


def to_ip(text: object) -> IPAddr | None:
    try:
        return ipaddress.ip_address(str(text))
    except ValueError:
        return None


def pod_ips(pod: dict) -> list[IPAddr]:
    """The pod's own addresses (none for hostNetwork pods, whose IP is the node's)."""
    if dict_at(pod, "spec").get("hostNetwork"):
        return []
    st = dict_at(pod, "status")
    raw = [x.get("ip") for x in dicts_at(st, "podIPs")] or [st.get("podIP")]
    return [ip for ip in (to_ip(r) for r in raw if isinstance(r, str)) if ip is not None]


def is_live(pod: dict) -> bool:
    """Running or Pending (holding its IP): not Succeeded/Failed and not being deleted long ago."""
    return dict_at(pod, "status").get("phase") in ("Running", "Pending")


def pod_ref(pod: dict) -> str:
    return f"{meta(pod).get('namespace')}/Pod/{obj_name(pod)}"


def nad_types(nad: dict) -> list[str]:
    """Plugin binaries a NetworkAttachmentDefinition's config makes Multus exec."""
    try:
        raw = json.loads(str(dict_at(nad, "spec").get("config") or ""))
    except ValueError:
        return []
    if not isinstance(raw, dict):
        return []
    cfg = parse_cni_config(json.dumps(raw), "nad.conflist" if "plugins" in raw else "nad.conf")
    return [t for t, _ in required_plugins(cfg)]


def pod_networks(pod: dict) -> list[tuple[str, str]]:
    """(namespace, name) of the NetworkAttachmentDefinitions a pod asks for."""
    raw = str(dict_at(pod, "metadata", "annotations").get("k8s.v1.cni.cncf.io/networks") or "").strip()
    ns = str(meta(pod).get("namespace") or "default")
    out: list[tuple[str, str]] = []
    if not raw:
        return out
    if raw.startswith("["):
        try:
            items = json.loads(raw)
        except ValueError:
            return out
        for it in items if isinstance(items, list) else []:
            if isinstance(it, dict) and it.get("name"):
                out.append((str(it.get("namespace") or ns), str(it["name"])))
        return out
    for part in raw.split(","):
        part = part.strip().split("@")[0]
        if part:
            n, _, name = part.rpartition("/")
            out.append((n or ns, name))
    return out


# -- IPAM exhaustion -------------------------------------------------------------------------------
EXHAUSTED = re.compile(
    r"no IP addresses available in (?:range set: (?P<start>[0-9a-fA-F.:]+)-(?P<end>[0-9a-fA-F.:]+)"
    r"|network: (?P<network>[\w.-]+))"
)
_TEARDOWN_TROUBLE = re.compile(
    r"(?i)(containerd|crio|docker(shim)?)\.sock: connect: connection refused|Failed to stop sandbox|"
    r"StopPodSandbox .*failed|KillPodSandbox .*failed|failed to destroy network for sandbox|"
    r"failed to teardown|failed to tear down"
)


@dataclass
class RangeUse:
    """One node whose host-local range reported exhaustion, and how its addresses are really used."""

    node: str
    errors: list[Occurrence]
    range_text: str  # "10.244.1.1-10.244.1.254" or the network name
    capacity: int | None  # addresses in the range
    network: str | None  # the host-local network directory (/var/lib/cni/networks/<network>)
    reservations: list | None  # cniipam.Reservation in the range; None without cni-ipam.txt
    live: list[tuple[dict, IPAddr]]  # running/pending pods on the node holding an address of the range
    leaked: list  # reservations no live pod holds
    teardown: Evidence | None  # kubelet.log line showing sandboxes torn down without the runtime

    @property
    def used(self) -> int:
        return len(self.reservations) if self.reservations is not None else (self.capacity or 0)


def _between(ip: object, start: IPAddr | None, end: IPAddr | None) -> bool:
    a = to_ip(ip) if not isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address) else ip
    return bool(a and start and end and a.version == start.version == end.version and start <= a <= end)


def exhausted_ranges(ctx: Context) -> list[RangeUse]:
    """Nodes whose host-local IPAM reported `no IP addresses available`, with the range's real use."""
    from cnidoctor.parse.cniipam import parse_cni_ipam

    by_node: dict[str, list[Occurrence]] = {}
    for occ in cni_errors(ctx, EXHAUSTED):
        if occ.node:
            by_node.setdefault(occ.node, []).append(occ)
    out = []
    for node, occs in sorted(by_node.items()):
        m = occs[0].match
        start, end = to_ip(m["start"]), to_ip(m["end"])
        ranged = _between(start, start, end)
        capacity = int(end) - int(start) + 1 if ranged else None  # type: ignore[arg-type]
        ipam = ctx.parsed(node, "cni-ipam.txt", parse_cni_ipam)
        network, reservations = m["network"], None
        if ipam is not None:
            best: tuple[int, str | None, list] = (-1, None, [])
            for net, res in ipam.networks.items():
                mine = [r for r in res if (_between(r.ip, start, end) if ranged else net == network)]
                if len(mine) > best[0]:
                    best = (len(mine), net, mine)
            if best[1] is not None:
                network, reservations = best[1], best[2]
        live = [
            (p, ip)
            for p in ctx.pods_by_node.get(node, [])
            if is_live(p)
            for ip in pod_ips(p)
            if not ranged or _between(ip, start, end)
        ]
        live_ips = {str(ip) for _, ip in live}
        leaked = [r for r in reservations or [] if r.ip not in live_ips]
        teardown = None
        for i, line, _ in kubelet_lines(ctx, node):
            if _TEARDOWN_TROUBLE.search(line):
                teardown = Evidence(layout.node_file(node, "kubelet.log"), line.strip()[:400], f"Node/{node}", node, i)
                break
        rt = f"{m['start']}-{m['end']}" if m["start"] else str(m["network"])
        out.append(RangeUse(node, occs, rt, capacity, network, reservations, live, leaked, teardown))
    return out


# -- which CNI a config belongs to, and which CNIs are deployed -------------------------------------
_RUNTIME_DEFAULT = re.compile(r"(?i)containerd-net|podman|cri-?o|mynet|k8s-pod-network-bridge|cni0-bridge|loopback")


def config_family(cfg: CniConfig) -> str | None:
    """The CNI project a config file belongs to, from its first plugin (None for plain reference plugins)."""
    return family_of(cfg.types[0]) if cfg.types else None


def deployed_cnis(ctx: Context) -> dict[str, dict]:
    """CNI family -> the DaemonSet that runs its agent (from DaemonSet names and images)."""
    out: dict[str, dict] = {}
    for ds in ctx.daemonsets:
        containers = dicts_at(ds, "spec", "template", "spec", "containers")
        text = obj_name(ds) + " " + " ".join(str(c.get("image", "")) for c in containers)
        fam = family_of(text)
        if fam and not obj_name(ds).startswith("kube-proxy"):
            out.setdefault(fam, ds)
    return out


def runtime_default_config(name: str, cfg: CniConfig) -> bool:
    """A config a container runtime or its packaging installs by itself (containerd, CRI-O, podman)."""
    only_reference = config_family(cfg) is None
    return only_reference and bool(_RUNTIME_DEFAULT.search(name) or _RUNTIME_DEFAULT.search(cfg.name or ""))
