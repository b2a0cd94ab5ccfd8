"""Parsers of Cilium agent output: `cilium-dbg status -o json` and `cilium-health status` text."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cnidoctor.parse._json import Obj, loads
from cnidoctor.parse.errors import ParseError


@dataclass(frozen=True)
class ComponentState:
    """A `{"state": ..., "msg": ...}` entry of the status (kvstore, kubernetes, cilium, cni-file, ...)."""

    state: str
    msg: str

    @property
    def ok(self) -> bool:
        return self.state in ("Ok", "Disabled")


@dataclass(frozen=True)
class Controller:
    name: str
    consecutive_failures: int
    failures: int
    successes: int
    last_failure_msg: str | None
    last_failure_timestamp: str | None
    last_success_timestamp: str | None

    @property
    def failing(self) -> bool:
        return self.consecutive_failures > 0


@dataclass(frozen=True)
class ClusterNode:
    name: str  # "<cluster>/<node>", e.g. default/node-1
    ipv4: str | None
    ipv6: str | None
    health_ipv4: str | None


@dataclass(frozen=True)
class CiliumStatus:
    """The parts of the agent status that checks use; everything else stays in `raw`."""

    components: dict[str, ComponentState]  # every top-level entry that has a `state`
    controllers: tuple[Controller, ...]
    ipam_mode: str | None
    ipam_allocations: dict[str, str]  # IP -> owner ("router", "health", "ns/pod")
    kube_proxy_replacement: str | None  # mode: "True"/"False" (older: Strict/Partial/Disabled)
    routing_mode: str | None  # inter-host routing mode: Tunnel, Native
    tunnel_protocol: str | None  # VXLAN, Geneve
    host_routing: str | None  # Legacy, BPF
    masquerading_mode: str | None  # iptables, BPF; None when masquerading is off
    encryption: str | None  # Disabled, Wireguard, IPsec
    cni_chaining: str | None
    cni_file: str | None  # path of the CNI config the agent wrote
    bpf_maps: dict[str, int]  # map description -> size ("Endpoint policy" -> 16384)
    cluster_nodes: tuple[ClusterNode, ...]
    self_node: str | None
    raw: dict[str, Any] = field(compare=False, repr=False)

    def failing_controllers(self) -> tuple[Controller, ...]:
        return tuple(c for c in self.controllers if c.failing)


def _mode(o: Obj, key: str, field_name: str = "mode") -> str | None:
    sub = o.get_obj(key)
    return sub.get_str(field_name) if sub is not None else None


def _cluster_nodes(cluster: Obj | None) -> tuple[tuple[ClusterNode, ...], str | None]:
    if cluster is None:
        return (), None
    nodes = []
    for n in cluster.objs("nodes", "cluster node"):

        def addr(key: str, fam: str, n: Obj = n) -> str | None:
            outer = n.get_obj(key)
            inner = outer.get_obj(fam) if outer is not None else None
            return inner.get_str("ip") if inner is not None else None

        nodes.append(
            ClusterNode(
                name=n.req_str("name"),
                ipv4=addr("primary-address", "ipv4"),
                ipv6=addr("primary-address", "ipv6"),
                health_ipv4=addr("health-endpoint-address", "ipv4"),
            )
        )
    return tuple(nodes), cluster.get_str("self")


def parse_cilium_status(text: str, source: str = "<input>") -> CiliumStatus:
    """Parse `cilium-dbg status -o json` (also `cilium status -o json` of older agents)."""
    o = Obj(loads(text, source, "a JSON object"), source, None, "cilium status")
    components = {}
    for key in o.data:
        value = o.data[key]
        if isinstance(value, dict) and "state" in value:
            sub = Obj(value, source, None, key)
            components[key] = ComponentState(sub.get_str("state") or "", sub.get_str("msg") or "")
    cluster = o.get_obj("cluster")
    if cluster is not None:
        health = cluster.get_obj("ciliumHealth")
        if health is not None and health.has("state"):
            components["cluster.ciliumHealth"] = ComponentState(
                health.get_str("state") or "", health.get_str("msg") or ""
            )
    controllers = []
    for c in o.objs("controllers", "controller"):
        st = c.get_obj("status") or Obj({}, source, None, "controller.status")
        controllers.append(
            Controller(
                name=c.get_str("name") or "",
                consecutive_failures=st.get_int("consecutive-failure-count") or 0,
                failures=st.get_int("failure-count") or 0,
                successes=st.get_int("success-count") or 0,
                last_failure_msg=st.get_str("last-failure-msg"),
                last_failure_timestamp=st.get_str("last-failure-timestamp"),
                last_success_timestamp=st.get_str("last-success-timestamp"),
            )
        )
    ipam = o.get_obj("ipam")
    allocations: dict[str, str] = {}
    if ipam is not None:
        alloc = ipam.get_obj("allocations")
        if alloc is not None:
            allocations = {ip: alloc.get_str(ip) or "" for ip in alloc.data}
    routing = o.get_obj("routing")
    masq = o.get_obj("masquerading")
    maps: dict[str, int] = {}
    bpf = o.get_obj("bpf-maps")
    if bpf is not None:
        for m in bpf.objs("maps", "bpf map"):
            size = m.get_int("size")
            if m.has("name") and size is not None:
                maps[m.req_str("name")] = size
    cni_file = o.get_obj("cni-file")
    nodes, self_node = _cluster_nodes(cluster)
    return CiliumStatus(
        components=components,
        controllers=tuple(controllers),
        ipam_mode=ipam.get_str("ipam-mode") if ipam is not None else None,
        ipam_allocations=allocations,
        kube_proxy_replacement=_mode(o, "kube-proxy-replacement"),
        routing_mode=routing.get_str("inter-host-routing-mode") if routing is not None else None,
        tunnel_protocol=routing.get_str("tunnel-protocol") if routing is not None else None,
        host_routing=_mode(o, "host-routing"),
        masquerading_mode=masq.get_str("mode") if masq is not None and masq.get_bool("enabled") else None,
        encryption=_mode(o, "encryption"),
        cni_chaining=_mode(o, "cni-chaining"),
        cni_file=cni_file.get_str("msg") if cni_file is not None else None,
        bpf_maps=maps,
        cluster_nodes=nodes,
        self_node=self_node,
        raw=o.data,
    )


# --- cilium-health status -------------------------------------------------------------------------

_NODE = re.compile(r"(?P<name>\S+)(?P<local> \(localhost\))?:")
_PATH = re.compile(r"(?P<kind>.+?) connectivity to (?P<addr>\S+?):")
_PROBE = re.compile(r"(?P<probe>[^:]+):\s+(?P<result>.*)")


@dataclass(frozen=True)
class HealthProbe:
    probe: str  # "ICMP to stack", "HTTP to agent"
    ok: bool
    result: str  # "OK, RTT=130.327µs" or the error
    line: int


@dataclass(frozen=True)
class HealthPath:
    kind: str  # "Host", "Endpoint", "Secondary Host", ...
    address: str
    probes: tuple[HealthProbe, ...]

    @property
    def ok(self) -> bool:
        return bool(self.probes) and all(p.ok for p in self.probes)


@dataclass(frozen=True)
class HealthNode:
    name: str
    local: bool
    paths: tuple[HealthPath, ...]
    line: int

    @property
    def reachable(self) -> bool:
        """All probes to this node succeeded."""
        return all(p.ok for p in self.paths)


@dataclass(frozen=True)
class CiliumHealth:
    probe_time: str | None
    nodes: tuple[HealthNode, ...]
    messages: tuple[str, ...]  # lines outside the node tree (errors from cilium-health)

    def unreachable(self) -> tuple[HealthNode, ...]:
        return tuple(n for n in self.nodes if not n.reachable)


def parse_cilium_health(text: str, source: str = "<input>") -> CiliumHealth:
    """Parse `cilium-health status`: "Nodes:", then node, path and probe lines nested by indentation."""
    probe_time = None
    messages: list[str] = []
    nodes: list[tuple[str, bool, int, list[tuple[str, str, list[HealthProbe]]]]] = []
    in_nodes = False
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        indent = len(raw) - len(raw.lstrip())
        if indent == 0:
            in_nodes = line == "Nodes:"
            if line.startswith("Probe time:"):
                probe_time = line.partition(":")[2].strip()
            elif not in_nodes:
                messages.append(line)
            continue
        if not in_nodes:
            messages.append(line)
        elif (m := _PATH.fullmatch(line)) and nodes:
            nodes[-1][3].append((m["kind"], m["addr"], []))
        elif (m := _PROBE.fullmatch(line)) and nodes and nodes[-1][3] and indent > 4:
            result = m["result"].strip()
            nodes[-1][3][-1][2].append(HealthProbe(m["probe"].strip(), result.startswith("OK"), result, n))
        elif m := _NODE.fullmatch(line):
            nodes.append((m["name"], bool(m["local"]), n, []))
        else:
            raise ParseError(f"unexpected line in the node list: {line[:80]!r}", source, n)
    return CiliumHealth(
        probe_time,
        tuple(
            HealthNode(name, local, tuple(HealthPath(k, a, tuple(p)) for k, a, p in paths), ln)
            for name, local, ln, paths in nodes
        ),
        tuple(messages),
    )
