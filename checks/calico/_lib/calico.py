"""Helpers shared by the Calico checks: calico-node pods and DaemonSets, IP pools and blocks, events, time.

Each check.py imports it relatively, `from .._lib import calico as lib` (folders starting with `_` are not
checks). Everything here reads the bundle through the engine's Context only.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

from cnidoctor.bundle import layout
from cnidoctor.bundle.reader import LogLine, LogRef
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence

IPV4_ANNOTATION = "projectcalico.org/IPv4Address"
CALICO_NODE = "calico-node"
_DS_POD = re.compile(r"calico-node-[a-z0-9]{5}")


# -- calico-node pods and DaemonSets --------------------------------------------------------------
def calico_node_daemonsets(ctx: Context) -> list[dict]:
    return [ds for ds in ctx.daemonsets if obj_name(ds) == CALICO_NODE]


def calico_node_pods(ctx: Context) -> list[dict]:
    return [p for p in ctx.pods if ctx.owner_name(p) == CALICO_NODE or _DS_POD.fullmatch(obj_name(p))]


def calico_node_pod_on(ctx: Context) -> dict[str, dict]:
    """The calico-node pod of each node that has one."""
    out: dict[str, dict] = {}
    for p in calico_node_pods(ctx):
        node = (p.get("spec") or {}).get("nodeName")
        if isinstance(node, str):
            out[node] = p
    return out


def pod_spec(obj: dict) -> dict:
    """The pod spec of a pod or of a workload's template."""
    spec = obj.get("spec") or {}
    tmpl = spec.get("template")
    if isinstance(tmpl, dict):
        return tmpl.get("spec") or {}
    return spec


def container(obj: dict, name: str) -> dict | None:
    for c in pod_spec(obj).get("containers") or []:
        if isinstance(c, dict) and c.get("name") == name:
            return c
    return None


def env_map(c: dict | None) -> dict[str, str | None]:
    """NAME -> literal value (None when it comes from valueFrom)."""
    out: dict[str, str | None] = {}
    for e in (c or {}).get("env") or []:
        if isinstance(e, dict) and isinstance(e.get("name"), str):
            v = e.get("value")
            out[e["name"]] = str(v) if v is not None else None
    return out


def container_status(pod: dict, name: str) -> dict:
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        if isinstance(cs, dict) and cs.get("name") == name:
            return cs
    return {}


def agent_running(pod: dict | None, name: str = CALICO_NODE) -> bool:
    """True when the container is running and not crash-looping."""
    if pod is None:
        return False
    cs = container_status(pod, name)
    state = cs.get("state") or {}
    return "running" in state and (pod.get("status") or {}).get("phase") == "Running"


# -- time -----------------------------------------------------------------------------------------
def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def bundle_time(ctx: Context) -> datetime | None:
    """When the bundle was taken: the manifest's time, else the newest event or node heartbeat."""
    man = ctx.bundle.manifest or {}
    for key in ("collected_at", "collectedAt", "created_at", "createdAt", "timestamp", "time"):
        t = parse_time(man.get(key))
        if t:
            return t
    times: list[datetime] = []
    for ev in ctx.events:
        series = ev.get("series") if isinstance(ev.get("series"), dict) else {}
        for v in (
            ev.get("lastTimestamp"),
            ev.get("eventTime"),
            ev.get("firstTimestamp"),
            series.get("lastObservedTime"),
        ):
            t = parse_time(v)
            if t:
                times.append(t)
    for n in ctx.nodes:
        for c in (n.get("status") or {}).get("conditions") or []:
            t = parse_time(c.get("lastHeartbeatTime")) if isinstance(c, dict) else None
            if t:
                times.append(t)
    return max(times) if times else None


# -- nodes ----------------------------------------------------------------------------------------
def node_addresses(node: dict, kinds: tuple[str, ...] = ("InternalIP", "ExternalIP")) -> list[str]:
    return [
        str(a.get("address"))
        for a in (node.get("status") or {}).get("addresses") or []
        if isinstance(a, dict) and a.get("type") in kinds and a.get("address")
    ]


def calico_ipv4(node: dict) -> str | None:
    """The node's Calico IPv4 address (without prefix) from its annotation."""
    v = (meta(node).get("annotations") or {}).get(IPV4_ANNOTATION)
    return str(v).split("/")[0] if v else None


def as_ip(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text) if text else None
    except ValueError:
        return None


def as_net(text: object) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(str(text), strict=False) if text else None
    except ValueError:
        return None


# -- logs and events ------------------------------------------------------------------------------
def scan_logs(
    ctx: Context, pod: re.Pattern, container_name: re.Pattern, pattern: re.Pattern, limit: int = 20
) -> Iterator[tuple[LogRef, LogLine, re.Match]]:
    """Lines matching PATTERN in the logs of pods/containers matching the full-match regexes."""
    for ref in ctx.bundle.logs:
        if not pod.fullmatch(ref.pod):
            continue
        if ref.container is not None and not container_name.fullmatch(ref.container):
            continue
        found = 0
        for line in ctx.bundle.grep_log(ref, pattern):
            if not container_name.fullmatch(line.container):
                continue
            m = pattern.search(line.text)
            if m:
                yield ref, line, m
                found += 1
                if found >= limit:
                    break


def log_evidence(ctx: Context, ref: LogRef, line: LogLine) -> Evidence:
    node = ctx.pod_node(ref.namespace, ref.pod)
    return Evidence(ref.path, line.text.strip()[:400], f"{ref.namespace}/Pod/{ref.pod}", node, line.lineno)


@dataclass(frozen=True)
class Event:
    raw: dict
    namespace: str
    kind: str
    name: str
    reason: str
    message: str
    node: str | None

    @property
    def obj(self) -> str:
        return (
            f"{self.namespace}/{self.kind}/{self.name}"
            if self.namespace and self.kind != "Node"
            else f"{self.kind}/{self.name}"
        )

    def evidence(self) -> Evidence:
        excerpt = f"{self.raw.get('type', '')} {self.reason} {self.obj}: {self.message}".strip()
        return Evidence(
            layout.namespaced_list(self.namespace or "default", "events"), excerpt[:500], self.obj, self.node
        )


def events(ctx: Context, reason: str, message: re.Pattern) -> list[Event]:
    """Events whose reason fully matches REASON (a regex) and whose message matches MESSAGE."""
    rx = re.compile(reason)
    out = []
    for ev in ctx.events:
        r = str(ev.get("reason") or "")
        msg = str(ev.get("message") or ev.get("note") or "")
        if not rx.fullmatch(r) or not message.search(msg):
            continue
        inv = ev.get("involvedObject") or ev.get("regarding") or {}
        ns = str(meta(ev).get("namespace") or inv.get("namespace") or "")
        kind, name = str(inv.get("kind") or ""), str(inv.get("name") or "")
        node = name if kind == "Node" else ctx.pod_node(ns, name) if kind == "Pod" else None
        if node is None:
            src = ev.get("source") or {}
            host = src.get("host") if isinstance(src, dict) else None
            node = host if isinstance(host, str) and host else None
        out.append(Event(ev, ns, kind, name, r, msg, node))
    return out


# -- IP pools and IPAM blocks ---------------------------------------------------------------------
@dataclass(frozen=True)
class Pool:
    name: str
    cidr: ipaddress.IPv4Network | ipaddress.IPv6Network
    block_size: int
    disabled: bool
    node_selector: str
    workload: bool  # allowedUses includes Workload (or is unset)

    @property
    def blocks(self) -> int:
        return 2 ** max(0, self.block_size - self.cidr.prefixlen)


def ippools(ctx: Context) -> list[Pool] | None:
    """The cluster's Calico IP pools (crd.projectcalico.org or projectcalico.org/v3); None if not collected."""
    names = ("ippools.crd.projectcalico.org", "ippools.projectcalico.org")
    if not any(ctx.has_resource(n) for n in names):
        return None
    pools = []
    for n in names:
        for item in ctx.resource(n):
            spec = item.get("spec") or {}
            cidr = as_net(spec.get("cidr"))
            if cidr is None:
                continue
            uses = spec.get("allowedUses")
            pools.append(
                Pool(
                    name=obj_name(item),
                    cidr=cidr,
                    block_size=int(spec.get("blockSize") or (26 if cidr.version == 4 else 122)),
                    disabled=bool(spec.get("disabled")),
                    node_selector=str(spec.get("nodeSelector") or "all()"),
                    workload=not uses or "Workload" in uses,
                )
            )
    return pools


@dataclass(frozen=True)
class Block:
    name: str
    cidr: ipaddress.IPv4Network | ipaddress.IPv6Network
    node: str | None
    allocated: int
    size: int
    pod_handles: int  # allocations that belong to pods (not tunnel or host addresses)
    pod_names: tuple[tuple[str, str], ...]  # (namespace, pod) named in the allocation attributes


def ipam_blocks(ctx: Context) -> list[Block] | None:
    if not ctx.has_resource("ipamblocks.crd.projectcalico.org"):
        return None
    out = []
    for item in ctx.resource("ipamblocks.crd.projectcalico.org"):
        spec = item.get("spec") or {}
        cidr = as_net(spec.get("cidr"))
        if cidr is None:
            continue
        allocs = spec.get("allocations") or []
        attrs = spec.get("attributes") or []
        used = [a for a in allocs if a is not None]
        pods, names = 0, []
        for idx in used:
            attr = attrs[idx] if isinstance(idx, int) and 0 <= idx < len(attrs) else {}
            if not isinstance(attr, dict):
                continue
            handle = str(attr.get("handle_id") or "")
            sec = attr.get("secondary") or {}
            if sec.get("type") or handle.startswith(("ipip-tunnel-addr", "vxlan-tunnel-addr", "wireguard-tunnel")):
                continue
            pods += 1
            if sec.get("pod"):
                names.append((str(sec.get("namespace") or ""), str(sec["pod"])))
        aff = str(spec.get("affinity") or "")
        out.append(
            Block(
                obj_name(item),
                cidr,
                aff[5:] if aff.startswith("host:") else None,
                len(used),
                cidr.num_addresses,
                pods,
                tuple(names),
            )
        )
    return out


def pods_with_ip_in(ctx: Context, node: str, nets: list) -> list[dict]:
    """Non-host-network pods on NODE whose pod IP is inside one of NETS."""
    out = []
    for p in ctx.pods_by_node.get(node, []):
        if (p.get("spec") or {}).get("hostNetwork"):
            continue
        ip = as_ip((p.get("status") or {}).get("podIP"))
        if ip is not None and any(ip.version == n.version and ip in n for n in nets):
            out.append(p)
    return out


# -- Calico selectors -----------------------------------------------------------------------------
_TOKEN = re.compile(r"\s*(?:(?P<str>'[^']*'|\"[^\"]*\")|(?P<op>==|!=|&&|\|\||[!(){},])|(?P<word>[A-Za-z0-9_./-]+))")


def selector_matches(expr: str, labels: dict[str, str]) -> bool | None:
    """Evaluate a Calico selector (all(), has(k), k == 'v', k != 'v', k in {...}, !, &&, ||);
    None when the expression uses something this small evaluator does not know."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    expr = expr.strip()
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            return None
        pos = m.end()
        kind = m.lastgroup or ""
        text = m.group(kind)
        tokens.append((kind, text[1:-1] if kind == "str" else text))
    try:
        value, rest = _or(tokens, labels)
    except (IndexError, ValueError):
        return None
    return value if not rest else None


def _or(t: list[tuple[str, str]], labels: dict[str, str]) -> tuple[bool, list[tuple[str, str]]]:
    value, t = _and(t, labels)
    while t and t[0] == ("op", "||"):
        right, t = _and(t[1:], labels)
        value = value or right
    return value, t


def _and(t: list[tuple[str, str]], labels: dict[str, str]) -> tuple[bool, list[tuple[str, str]]]:
    value, t = _unary(t, labels)
    while t and t[0] == ("op", "&&"):
        right, t = _unary(t[1:], labels)
        value = value and right
    return value, t


def _unary(t: list[tuple[str, str]], labels: dict[str, str]) -> tuple[bool, list[tuple[str, str]]]:
    if t[0] == ("op", "!"):
        value, rest = _unary(t[1:], labels)
        return not value, rest
    if t[0] == ("op", "("):
        value, rest = _or(t[1:], labels)
        if not rest or rest[0] != ("op", ")"):
            raise ValueError("unbalanced")
        return value, rest[1:]
    kind, word = t[0]
    if kind != "word":
        raise ValueError(word)
    if word in ("all", "has") and len(t) > 1 and t[1] == ("op", "("):
        if word == "all" and t[2] == ("op", ")"):
            return True, t[3:]
        if word == "has" and t[2][0] == "word" and t[3] == ("op", ")"):
            return t[2][1] in labels, t[4:]
        raise ValueError(word)
    key, rest = word, t[1:]
    negate = False
    if rest and rest[0] == ("word", "not") and len(rest) > 1 and rest[1] == ("word", "in"):
        negate, rest = True, rest[1:]
    if rest and rest[0] in (("op", "=="), ("op", "!=")) and rest[1][0] == "str":
        eq = labels.get(key) == rest[1][1]
        return (eq if rest[0][1] == "==" else (key not in labels or not eq)), rest[2:]
    if rest and rest[0] == ("word", "in") and rest[1] == ("op", "{"):
        values, rest = [], rest[2:]
        while rest[0] != ("op", "}"):
            if rest[0][0] == "str":
                values.append(rest[0][1])
            elif rest[0] != ("op", ","):
                raise ValueError("set")
            rest = rest[1:]
        inside = labels.get(key) in values
        return (not inside if negate else inside), rest[1:]
    raise ValueError(key)


# -- IPAM usage per node --------------------------------------------------------------------------
IPAM_FAILURE = re.compile(
    r'plugin type="calico" failed \(add\):.*?(?P<ipam_error>cannot allocate new block[^"\\]*|no more free affine '
    r"blocks[^\"\\]*|no configured Calico pools[^\"\\]*|IPAM allocated only[^\"\\]*|[Nn]o IPs? (?:addresses )?"
    r"available[^\"\\]*|failed to request \d+ IPv[46] addresses[^\"\\]*)"
)


@dataclass(frozen=True)
class NodeIpam:
    node: str
    blocks: tuple[Block, ...]
    live_pods: int  # pods (anywhere) whose IP is in these blocks
    leaked: int  # pod allocations with no pod behind them

    @property
    def size(self) -> int:
        return sum(b.size for b in self.blocks)

    @property
    def allocated(self) -> int:
        return sum(b.allocated for b in self.blocks)

    @property
    def pod_allocations(self) -> int:
        return sum(b.pod_handles for b in self.blocks)

    @property
    def full(self) -> bool:
        return self.size > 0 and (self.allocated >= self.size * 0.9 or self.size - self.allocated <= 1)

    @property
    def mostly_leaked(self) -> bool:
        return self.leaked >= max(4, self.pod_allocations // 2)


def node_ipam(ctx: Context) -> dict[str, NodeIpam] | None:
    blocks = ipam_blocks(ctx)
    if blocks is None:
        return None
    existing = {(str(meta(p).get("namespace")), obj_name(p)) for p in ctx.pods}
    pod_ips = [
        ip
        for p in ctx.pods
        if not (p.get("spec") or {}).get("hostNetwork")
        for ip in [as_ip((p.get("status") or {}).get("podIP"))]
        if ip is not None
    ]
    out = {}
    by_node: dict[str, list[Block]] = {}
    for b in blocks:
        if b.node:
            by_node.setdefault(b.node, []).append(b)
    for node, bl in by_node.items():
        live = sum(1 for ip in pod_ips if any(ip.version == b.cidr.version and ip in b.cidr for b in bl))
        named = [n for b in bl for n in b.pod_names]
        if named:
            leaked = sum(1 for n in named if n not in existing) + max(
                0, sum(b.pod_handles for b in bl) - len(named) - live
            )
        else:
            leaked = max(0, sum(b.pod_handles for b in bl) - live)
        out[node] = NodeIpam(node, tuple(bl), live, leaked)
    return out


def block_evidence(n: NodeIpam) -> Evidence:
    cidrs = ", ".join(str(b.cidr) for b in n.blocks)
    return Evidence(
        layout.cluster_list("ipamblocks.crd.projectcalico.org"),
        f"{n.node}: block(s) {cidrs} hold {n.allocated}/{n.size} addresses ({n.pod_allocations} for pods); "
        f"{n.live_pods} existing pod(s) use addresses in them",
        f"Node/{n.node}",
        n.node,
    )


def ipam_failures(ctx: Context) -> dict[str, list[Event]]:
    """Sandbox failures from Calico IPAM, by node."""
    out: dict[str, list[Event]] = {}
    for ev in events(ctx, "FailedCreatePodSandBox", IPAM_FAILURE):
        out.setdefault(ev.node or "?", []).append(ev)
    return out


def usable_pools(ctx: Context, node: str, pools: list[Pool]) -> list[Pool]:
    """Enabled workload pools whose nodeSelector selects NODE (or that this evaluator cannot judge)."""
    labels = {str(k): str(v) for k, v in (meta(ctx.node_by_name.get(node, {})).get("labels") or {}).items()}
    return [
        p for p in pools if not p.disabled and p.workload and selector_matches(p.node_selector, labels) is not False
    ]


def pool_line(p: Pool) -> str:
    state = "disabled" if p.disabled else "enabled"
    return f"IPPool {p.name}: cidr {p.cidr}, blockSize {p.block_size}, {state}, nodeSelector {p.node_selector}"


# -- cluster networks as Kubernetes sees them ------------------------------------------------------
@dataclass(frozen=True)
class Declared:
    """A CIDR declared by a Kubernetes component, with where it was read."""

    net: ipaddress.IPv4Network | ipaddress.IPv6Network
    evidence: Evidence


def _flag_values(ctx: Context, pod_prefix: str, flag: str) -> list[Declared]:
    out = []
    for p in ctx.pods:
        if not obj_name(p).startswith(pod_prefix):
            continue
        ns = str(meta(p).get("namespace"))
        for c in (p.get("spec") or {}).get("containers") or []:
            for arg in [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]:
                if arg.startswith(flag + "="):
                    for part in arg.split("=", 1)[1].split(","):
                        net = as_net(part.strip())
                        if net:
                            out.append(
                                Declared(
                                    net,
                                    Evidence(
                                        layout.namespaced_list(ns, "pods"),
                                        f"{obj_name(p)}: {arg}",
                                        f"{ns}/Pod/{obj_name(p)}",
                                        (p.get("spec") or {}).get("nodeName"),
                                    ),
                                )
                            )
    return out


def _config_values(ctx: Context, cm_name: str, key: str, field: str) -> list[Declared]:
    out = []
    cm = ctx.configmap(cm_name)
    text = str((cm or {}).get("data", {}).get(key) or "")
    m = re.search(rf"^\s*{field}:\s*\"?([0-9a-fA-F.:/,]+)\"?\s*$", text, re.M)
    if cm and m:
        ns = str(meta(cm).get("namespace"))
        for part in m.group(1).split(","):
            net = as_net(part.strip())
            if net:
                out.append(
                    Declared(
                        net,
                        Evidence(
                            layout.namespaced_list(ns, "configmaps"),
                            f"ConfigMap {cm_name} {key}: {field}: {m.group(1)}",
                            f"{ns}/ConfigMap/{cm_name}",
                        ),
                    )
                )
    return out


def cluster_cidrs(ctx: Context) -> list[Declared]:
    """The pod network as kube-controller-manager, kubeadm and kube-proxy declare it."""
    return (
        _flag_values(ctx, "kube-controller-manager", "--cluster-cidr")
        + _config_values(ctx, "kubeadm-config", "ClusterConfiguration", "podSubnet")
        + _config_values(ctx, "kube-proxy", "config.conf", "clusterCIDR")
    )


def service_cidrs(ctx: Context) -> list[Declared]:
    return (
        _flag_values(ctx, "kube-apiserver", "--service-cluster-ip-range")
        + _flag_values(ctx, "kube-controller-manager", "--service-cluster-ip-range")
        + _config_values(ctx, "kubeadm-config", "ClusterConfiguration", "serviceSubnet")
    )
