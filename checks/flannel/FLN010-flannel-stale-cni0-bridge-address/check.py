"""The cni0 bridge keeps an address from an earlier lease, so the bridge plugin refuses every new pod."""

from __future__ import annotations

import ipaddress
import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.cniconf import select_default
from cnidoctor.parse.iproute import parse_addrs, parse_routes
from cnidoctor.parse.subnetenv import parse_subnet_env

from .._lib import flannel_lib as fl

DIFFERENT = re.compile(
    r'\\?"(?P<bridge>[\w.-]+)\\?" already has an IP address different from (?P<want>[0-9a-fA-F.:]+/\d+)'
)
Iface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


def _iface(text: str | None) -> Iface | None:
    try:
        return ipaddress.ip_interface(text) if text else None
    except ValueError:
        return None


def _flannel_conf(ctx: Context, node: str) -> tuple[bool | None, str, str]:
    """Whether the runtime's CNI config on NODE is flannel's (None: unknown), its bridge and network name."""
    files = ctx.node_files(node, layout.CNI_NET_D + "/")
    if not files:
        return None, "cni0", "cbr0"
    sel = select_default(files)
    if sel.config is None or not sel.config.plugins:
        return False, "cni0", "cbr0"
    first = sel.config.plugins[0]
    delegate = first.raw.get("delegate") if isinstance(first.raw.get("delegate"), dict) else {}
    return first.type == "flannel", str(delegate.get("bridge") or "cni0"), str(sel.config.name or "cbr0")


def _stale_address(ctx: Context, node: str, bridge: str, want: Iface | None) -> tuple[str, list[Evidence]]:
    """("stale", evidence) when the bridge holds an address other than the lease's; "ok" or "unknown" otherwise."""
    links = ctx.parsed(node, "ip-addr.json", parse_addrs)
    env = ctx.parsed(node, "flannel-subnet.env", parse_subnet_env)
    want = want or (_iface(env.subnet) if env else None)
    if links is None or want is None:
        return "unknown", []
    link = next((x for x in links if x.name == bridge), None)
    addrs = [a.interface for a in (link.addrs if link else ()) if a.interface is not None and a.scope != "link"]
    stale = next((a for a in addrs if a is not None and a.version == want.version and a != want), None)
    if link is None or stale is None:
        return "ok", []
    cidrs = fl.pod_cidrs(ctx.node_by_name.get(node, {}))
    if cidrs and any(stale.ip in c for c in cidrs) and not any(want.ip in c for c in cidrs):
        return "ok", []  # the bridge agrees with the node: it is subnet.env that is stale (FLN014)
    ev = [fl.file_evidence(node, "ip-addr.json", f"{bridge} has {stale} but flannel's lease is {want}", link.line)]
    if env is not None and env.subnet:
        ev.append(
            ctx.evidence_line(node, "flannel-subnet.env", "FLANNEL_SUBNET")
            or fl.file_evidence(node, "flannel-subnet.env", f"FLANNEL_SUBNET={env.subnet}")
        )
    if cidrs:
        created = meta(ctx.node_by_name[node]).get("creationTimestamp")
        ev.append(
            fl.node_evidence(
                node,
                f"node {node} spec.podCIDR {', '.join(map(str, cidrs))}"
                + (f" (Node object created {created})" if created else ""),
            )
        )
    for r in ctx.parsed(node, "ip-route.json", parse_routes) or ():
        if r.table == "main" and r.dev == bridge and r.network is not None and stale.ip in r.network:
            ev.append(fl.file_evidence(node, "ip-route.json", f"{r.dst} dev {bridge} {' '.join(r.flags)}".strip()))
            break
    return "stale", ev


def _from_events(ctx: Context) -> dict[str, Hit]:
    hits: dict[str, Hit] = {}
    for ev in ctx.events:
        m = DIFFERENT.search(str(ev.get("message") or ""))
        inv = ev.get("involvedObject") or {}
        if not m or inv.get("kind") != "Pod":
            continue
        ns, name = str(inv.get("namespace") or meta(ev).get("namespace")), str(inv.get("name"))
        node = ctx.pod_node(ns, name) or str((ev.get("source") or {}).get("host") or "?")
        excerpt = f"{ev.get('type', '')} {ev.get('reason')} {ns}/Pod/{name}: {ev.get('message')}"
        evidence = Evidence(layout.namespaced_list(ns, "events"), excerpt[:500], f"{ns}/Pod/{name}", node)
        if node not in hits:
            state, facts = _stale_address(ctx, node, m.group("bridge"), _iface(m.group("want")))
            if state == "ok":
                continue  # the bridge has been fixed (or subnet.env is the stale side)
            hits[node] = Hit(
                [evidence, *facts],
                [],
                [node] if node != "?" else [],
                {"bridge": m.group("bridge"), "want": m.group("want"), "namespace": ns, "pod": name},
            )
        elif len(hits[node].evidence) < 8:
            hits[node].evidence.append(evidence)
        hits[node].objects.append(f"{ns}/Pod/{name}")
    return hits


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits = _from_events(ctx)
    for node in ctx.bundle.node_dirs:
        is_flannel, bridge, _ = _flannel_conf(ctx, node)
        if node in hits or not is_flannel:
            continue  # another config wins on this node: its bridge is not flannel's business
        state, facts = _stale_address(ctx, node, bridge, None)
        if state == "stale":
            hits[node] = Hit(facts, [f"Node/{node}"], [node], {"bridge": bridge})
    for node, hit in hits.items():
        hit.values["cni_network"] = _flannel_conf(ctx, node)[2]
        hit.message = f"{hit.values['bridge']} on {node} keeps an address from an earlier flannel lease"
    return list(hits.values())
