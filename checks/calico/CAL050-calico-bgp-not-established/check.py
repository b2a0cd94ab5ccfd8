"""BGP sessions of calico-node that are not Established: readiness-probe events and `birdcl show protocols`."""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.birdcl import parse_birdcl_protocols

from .._lib import calico as lib

MIN_PROBE_FAILURES = 3
PROBE = re.compile(r"BIRD is not ready: (?P<detail>BGP not established with (?P<peers>\S+)|Error querying BIRD[^\n]*)")


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    probe_hits, probe_failures = [], 0
    for ev in lib.events(ctx, "Unhealthy", PROBE):
        count = ev.raw.get("count")
        probe_failures += count if isinstance(count, int) and count > 0 else 1
        m = PROBE.search(ev.message)
        values = {"namespace": ev.namespace, "pod": ev.name, **({"node": ev.node} if ev.node else {})}
        probe_hits.append(
            Hit(
                [ev.evidence()],
                [ev.obj],
                [ev.node] if ev.node else [],
                values,
                f"{ev.name}: {m.group('detail') if m else 'BIRD not ready'}",
            )
        )
    bird_hits = []
    agents = lib.calico_node_pod_on(ctx)
    for node in ctx.bundle.node_dirs:
        bird = ctx.parsed(node, "birdcl-protocols.txt", parse_birdcl_protocols)
        down = [p for p in (bird.bgp() if bird else ()) if not p.established]
        if not down:
            continue
        path = layout.node_file(node, "birdcl-protocols.txt")
        ev = [
            Evidence(
                path, f"{p.name} {p.proto} {p.table} {p.state} {p.since} {p.info}".strip(), f"Node/{node}", node, p.line
            )
            for p in down
        ]
        pod = agents.get(node)
        values = {"node": node}
        if pod:
            values.update({"pod": pod["metadata"]["name"], "namespace": str(pod["metadata"].get("namespace"))})
        bird_hits.append(
            Hit(ev, [f"Node/{node}"], [node], values, f"{node}: {len(down)} BGP session(s) not Established")
        )
    if not bird_hits and probe_failures < MIN_PROBE_FAILURES:
        return []  # a probe failing once or twice while BIRD starts is normal
    return probe_hits + bird_hits
