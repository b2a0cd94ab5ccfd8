"""kube-proxy logging that it cannot program iptables; silent where kube-proxy is not deployed (replaced)."""

from __future__ import annotations

import re

from cnidoctor.diagnose.context import Context, obj_name
from cnidoctor.model import Evidence, Hit

PROXY = re.compile(r"kube-proxy-[a-z0-9]+")
BENIGN = r"(?!.*(xtables lock|Resource temporarily unavailable))"
FAILURES = [
    re.compile(p)
    for p in (
        r"can't initialize ip6?tables table [`'\"]?(?P<table>[a-z]+)",
        r"Failed to execute iptables-restore" + BENIGN,
        r"Couldn't load (target|match) [`'\"]?(?!nfacct)(?P<target>[A-Za-z0-9_-]+)",
        r"Failed to ensure that (?P<table>[a-z]+) chain (?P<chain>\S+) exists" + BENIGN,
        r"(?i)(failed|unable) to create proxier|Error running ProxyServer",
    )
]
MIN_LINES = 2
KEEP = 3  # evidence lines kept per pod


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    refs = [r for r in ctx.bundle.logs if PROXY.fullmatch(r.pod)]
    if not refs:
        return None if any(PROXY.fullmatch(obj_name(p)) for p in ctx.pods) else []
    hits: list[Hit] = []
    total = 0
    for ref in refs:
        node = ctx.pod_node(ref.namespace, ref.pod)
        evidence: list[Evidence] = []
        for line in ctx.bundle.stream_log(ref):
            if any(p.search(line.text) for p in FAILURES):
                total += 1
                if len(evidence) < KEEP:
                    evidence.append(
                        Evidence(ref.path, line.text.strip()[:400], f"{ref.namespace}/Pod/{ref.pod}", node, line.lineno)
                    )
        if evidence:
            values = {"namespace": ref.namespace, "pod": ref.pod, **({"node": node} if node else {})}
            hits.append(
                Hit(
                    evidence,
                    [f"{ref.namespace}/Pod/{ref.pod}"],
                    [node] if node else [],
                    values,
                    f"kube-proxy {ref.namespace}/{ref.pod} cannot program its rules",
                )
            )
    return hits if total >= MIN_LINES else []
