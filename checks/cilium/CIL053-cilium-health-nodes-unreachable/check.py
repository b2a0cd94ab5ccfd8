"""cilium-health on some nodes cannot reach other nodes (host and/or endpoint probes fail)."""

from __future__ import annotations

import sys
from pathlib import Path

if str(Path(__file__).resolve().parents[1]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _cilium import base_values, health, natural  # noqa: E402

from cnidoctor.bundle import layout  # noqa: E402
from cnidoctor.diagnose.context import Context  # noqa: E402
from cnidoctor.model import Evidence, Hit  # noqa: E402


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    observers = [n for n in ctx.bundle.node_dirs if ctx.has_node_file(n, "cilium-health.txt")]
    if not observers:
        return None
    broken: dict[str, list[Evidence]] = {}
    kinds: dict[str, set[str]] = {}
    seen_by: dict[str, set[str]] = {}
    peer_ip: dict[str, str] = {}
    for obs in observers:
        h = health(ctx, obs)
        if h is None:
            continue
        for target in h.unreachable():
            if target.local:
                continue
            name = target.name.rsplit("/", 1)[-1]
            for path in target.paths:
                bad = [p for p in path.probes if not p.ok]
                if bad:
                    kinds.setdefault(name, set()).add(path.kind)
                    if obs in seen_by.setdefault(name, set()):
                        continue  # one line per observer and target
                    seen_by[name].add(obs)
                    broken.setdefault(name, []).append(Evidence(
                        layout.node_file(obs, "cilium-health.txt"),
                        f"from {obs}: {path.kind} connectivity to {name} ({path.address}): "
                        + "; ".join(f"{p.probe}: {p.result}" for p in bad)[:300], f"Node/{name}", name, bad[0].line))
                if path.kind == "Host":
                    peer_ip.setdefault(name, path.address)
    if not broken:
        return []
    nodes = sorted(broken, key=natural)
    evidence = [e for n in nodes for e in broken[n][:4]]
    values = base_values(ctx)
    values.update(observer=sorted(seen_by[nodes[0]], key=natural)[0], peer_ip=peer_ip.get(nodes[0], "<peer node IP>"))
    only_endpoints = all(kinds[n] <= {"Endpoint"} for n in nodes)
    what = ("pod (endpoint) paths only, hosts answer: the overlay/pod path between nodes is broken"
            if only_endpoints else "host and endpoint probes fail: the node is unreachable or down")
    msg = f"cilium-health cannot reach {', '.join(nodes)}: {what}"
    return [Hit(evidence, [f"Node/{n}" for n in nodes], nodes, values, msg)]
