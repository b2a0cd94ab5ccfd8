"""A host firewall drops Cilium's tunnel (8472/udp, 6081/udp) or health (4240/tcp) traffic between nodes."""

from __future__ import annotations

from typing import Any

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.iptables import Rule, parse_iptables_save
from cnidoctor.parse.nft import parse_nft_ruleset

from .._cilium import base_values, cilium_config, health_failures, natural, status

DROP = {"DROP", "REJECT"}
IPTABLES_FILES = ("iptables-save.txt", "iptables-nft-save.txt", "iptables-legacy-save.txt")


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    ports = _cilium_ports(ctx)
    unreachable = _unreachable(ctx)
    blocked: dict[str, list[tuple[Evidence, str, str]]] = {}  # node -> (evidence, port/proto, undo command)
    looked = False
    for node in ctx.bundle.node_dirs:
        for fname in IPTABLES_FILES:
            dump = ctx.parsed(node, fname, parse_iptables_save)
            if dump is None:
                continue
            looked = True
            for rule in dump.rules():
                hit = _iptables_blocks(rule, ports)
                if hit and (not _restricted(rule) or node in unreachable):
                    undo = f"sudo iptables -t {rule.table} -D {rule.text.strip().split(None, 1)[1]}"
                    blocked.setdefault(node, []).append(
                        (
                            Evidence(
                                layout.node_file(node, fname),
                                f"{node}: {rule.text.strip()} (drops {hit})"[:300],
                                f"Node/{node}",
                                node,
                                rule.line,
                            ),
                            hit,
                            undo,
                        )
                    )
        nft = ctx.parsed(node, "nft-ruleset.json", parse_nft_ruleset)
        if nft is not None:
            looked = True
            for r in nft.rules:
                if r.verdict in ("drop", "reject") and r.owner not in ("cilium", "kube-proxy"):
                    hit = next((f"{p}/{proto}" for p, proto in ports if _nft_matches(r.expr, p, proto)), None)
                    if hit:
                        undo = f"sudo nft delete rule {r.family} {r.table} {r.chain} handle {r.handle}"
                        blocked.setdefault(node, []).append(
                            (
                                Evidence(
                                    layout.node_file(node, "nft-ruleset.json"),
                                    f"{node}: nft {r.family} {r.table} {r.chain}: {r.verdict} {hit}"
                                    + (f" ({r.comment})" if r.comment else ""),
                                    f"Node/{node}",
                                    node,
                                    r.line,
                                ),
                                hit,
                                undo,
                            )
                        )
    if not looked:
        return None
    if not blocked:
        return []
    nodes = sorted(blocked, key=natural)
    evidence = [e for n in nodes for e, _, _ in blocked[n][:2]]
    evidence += [e for n in nodes for e in unreachable.get(n, [])[:2]]
    values = base_values(ctx)
    _, hit, undo = blocked[nodes[0]][0]
    values.update(node=nodes[0], port=hit.split("/")[0], proto=hit.split("/")[1], undo=undo)
    msg = f"a host firewall on {', '.join(nodes)} drops Cilium's inter-node traffic" + (
        f"; cilium-health on other nodes cannot reach {', '.join(n for n in nodes if n in unreachable)}"
        if any(n in unreachable for n in nodes)
        else ""
    )
    return [Hit(evidence, [f"Node/{n}" for n in nodes], nodes, values, msg)]


def _cilium_ports(ctx: Context) -> list[tuple[int, str]]:
    """(port, protocol) pairs Cilium needs open between nodes, from its routing mode and config."""
    cfg = cilium_config(ctx)
    tunnel_proto = (cfg.get("tunnel-protocol") if cfg else None) or (cfg.get("tunnel") if cfg else None)
    routing = (cfg.get("routing-mode") if cfg else None) or ""
    for node in ctx.bundle.node_dirs:
        st = status(ctx, node)
        if st and st.routing_mode:
            routing, tunnel_proto = st.routing_mode, st.tunnel_protocol or tunnel_proto
            break
    ports = [(4240, "tcp")]
    if routing.lower() != "native" and (tunnel_proto or "vxlan").lower() not in ("disabled", ""):
        default = 6081 if (tunnel_proto or "").lower() == "geneve" else 8472
        custom = cfg.get("tunnel-port") if cfg else None
        ports.append((int(custom) if custom and custom.isdigit() and custom != "0" else default, "udp"))
    return ports


def _iptables_blocks(rule: Rule, ports: list[tuple[int, str]]) -> str | None:
    if rule.table != "filter" or rule.target not in DROP or (rule.chain.startswith(("CILIUM_", "KUBE-"))):
        return None
    proto = (rule.option("-p", "--protocol") or "").lower()
    args = rule.args
    for i, tok in enumerate(args[:-1]):
        if tok not in ("--dport", "--destination-port", "--dports", "--destination-ports"):
            continue
        if i > 0 and args[i - 1] == "!":
            return None
        for port, p in ports:
            if p == proto and _port_in(port, args[i + 1]):
                return f"{port}/{p}"
    return None


def _port_in(port: int, spec: str) -> bool:
    for part in spec.split(","):
        lo, _, hi = part.partition(":")
        if lo.isdigit() and (int(lo) == port if not hi else hi.isdigit() and int(lo) <= port <= int(hi)):
            return True
    return False


def _restricted(rule: Rule) -> bool:
    """The rule only drops traffic from some sources (hardening), not from the other nodes in general."""
    return bool(rule.option("-s", "--source") or rule.option("-m", "--match") == "set")


def _nft_matches(expr: Any, port: int, proto: str) -> bool:
    """An nft rule expression that matches PROTO destination PORT (==, in a set, or a range)."""
    for stmt in expr or []:
        m = stmt.get("match") if isinstance(stmt, dict) else None
        if not isinstance(m, dict) or m.get("op") in ("!=",):
            continue
        left, right = m.get("left") or {}, m.get("right")
        pl = left.get("payload") if isinstance(left, dict) else None
        if not (isinstance(pl, dict) and pl.get("field") == "dport" and pl.get("protocol") == proto):
            continue
        if _nft_value_has(right, port):
            return True
    return False


def _nft_value_has(value: Any, port: int) -> bool:
    if isinstance(value, int):
        return value == port
    if isinstance(value, dict):
        if "set" in value:
            return any(_nft_value_has(v, port) for v in value["set"])
        if "range" in value and len(value["range"]) == 2:
            lo, hi = value["range"]
            return isinstance(lo, int) and isinstance(hi, int) and lo <= port <= hi
    if isinstance(value, list):
        return any(_nft_value_has(v, port) for v in value)
    return False


def _unreachable(ctx: Context) -> dict[str, list[Evidence]]:
    """Nodes that cilium-health on other nodes cannot reach, with the failing probe lines."""
    out: dict[str, list[Evidence]] = {}
    for f in health_failures(ctx):
        out.setdefault(f.target, []).append(f.evidence)
    return out
