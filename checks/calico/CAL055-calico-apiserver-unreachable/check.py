"""Calico components that keep failing to reach the API server (through the kubernetes Service IP)."""

from __future__ import annotations

import re

from cnidoctor.diagnose.context import Context
from cnidoctor.model import Evidence, Hit

PODS = re.compile(r"(calico-node|calico-kube-controllers|calico-typha|calico-apiserver)-[a-z0-9-]+")
CONTAINERS = re.compile(r"calico-node|calico-kube-controllers|calico-typha|calico-apiserver|felix")
FAILED = re.compile(
    r"dial tcp (?P<a1>[0-9.]+:\d+): (?:i/o timeout|connect: (?:no route to host|connection refused|network is "
    r"unreachable))|Get \"?https://(?P<a2>[^/\"\s]+)/[^\s\"]*\"?: (?:context deadline exceeded|net/http: TLS "
    r"handshake timeout)|Client\.Timeout exceeded while awaiting headers"
)
RECOVERED = re.compile(
    r"Datastore connection verified|Calico datastore is initialized|Got initial config snapshot|"
    r"Successfully (?:loaded configuration|connected)|datastore is in sync|in-sync"
)
EITHER = re.compile(f"{FAILED.pattern}|{RECOVERED.pattern}")  # lines worth reading


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits = []
    for ref in ctx.bundle.logs:
        if not PODS.fullmatch(ref.pod):
            continue
        pending: list[tuple[int, str, str]] = []  # failures since the last sign of a working connection
        for line in ctx.bundle.grep_log(ref, EITHER):
            if not CONTAINERS.fullmatch(line.container):
                continue
            m = FAILED.search(line.text)
            if m:
                pending.append((line.lineno, line.text.strip()[:400], m.group("a1") or m.group("a2") or "?"))
            elif RECOVERED.search(line.text):
                pending = []
        if len(pending) < 2:
            continue  # none, or one transient failure at start-up
        node = ctx.pod_node(ref.namespace, ref.pod)
        obj = f"{ref.namespace}/Pod/{ref.pod}"
        evidence = [Evidence(ref.path, text, obj, node, n) for n, text, _ in pending[:3]]
        api = pending[-1][2]
        hits.append(
            Hit(
                evidence,
                [obj],
                [node] if node else [],
                {"namespace": ref.namespace, "pod": ref.pod, "api": api, **({"node": node} if node else {})},
                f"{ref.pod}{' on ' + node if node else ''} cannot reach the API server at {api} "
                f"({len(pending)} failures, no success since)",
            )
        )
    return hits
