"""CoreDNS timing out on its upstream servers, and whether that happens on some nodes only."""

from __future__ import annotations

import re
from collections import Counter

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context
from cnidoctor.model import Evidence, Hit

DNS_POD = re.compile(r".*coredns.*|kube-dns-.*")
# `[ERROR] plugin/errors: 2 example.com. A: read udp 10.0.2.60:57317->192.0.2.16:53: i/o timeout`
# kube-dns/skydns: `skydns: failure to forward request "read udp 172.17.1.28:38601->192.0.2.16:53: i/o timeout"`
TIMEOUT = re.compile(
    r"(plugin/errors: \d+ \S+ \S+:|failure to forward request).*?(read|dial|write) (udp|tcp) "
    r"\S*?->?(?P<upstream>[0-9a-fA-F.:\[\]]+:53)\S*: i/o timeout"
)
MIN_LINES = 3


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    per_pod: dict[tuple[str, str], list[Evidence]] = {}
    counts: Counter[tuple[str, str]] = Counter()
    upstreams: Counter[str] = Counter()
    seen_logs = False
    for ref in ctx.bundle.logs:
        if not DNS_POD.fullmatch(ref.pod):
            continue
        seen_logs = True
        key = (ref.namespace, ref.pod)
        per_pod.setdefault(key, [])
        for line in ctx.bundle.grep_log(ref, TIMEOUT):
            m = TIMEOUT.search(line.text)
            if not m:
                continue
            counts[key] += 1
            upstreams[m.group("upstream")] += 1
            if len(per_pod[key]) < 2:
                per_pod[key].append(
                    Evidence(
                        ref.path,
                        line.text.strip()[:300],
                        f"{ref.namespace}/Pod/{ref.pod}",
                        ctx.pod_node(*key),
                        line.lineno,
                    )
                )
    if not seen_logs:
        return None
    failing = [k for k, n in counts.items() if n >= MIN_LINES]
    if not failing:
        return []
    clean = [k for k in per_pod if counts[k] == 0]
    node_of = {k: ctx.pod_node(*k) for k in per_pod}
    bad_nodes = sorted({n for k in failing if (n := node_of[k])})
    good_nodes = sorted({n for k in clean if (n := node_of[k])} - set(bad_nodes))
    upstream = upstreams.most_common(1)[0][0]
    where = f"CoreDNS on {', '.join(bad_nodes) or 'unknown nodes'}"
    if good_nodes:
        where += f" times out while CoreDNS on {', '.join(good_nodes)} logs no upstream errors: the problem is local"
        where += " to the failing node(s), not the upstream server"
    else:
        where += " times out on every replica: check the upstream server and the path to it"
    hits = []
    for k in failing:
        ns, pod = k
        summary = Evidence(
            layout.namespaced_list(ns, "pods"),
            f"{ns}/{pod}: {counts[k]} upstream i/o timeouts to {upstream}; {where}",
            f"{ns}/Pod/{pod}",
            node_of[k],
        )
        values = {"namespace": ns, "pod": pod, "upstream": upstream.rsplit(":", 1)[0].strip("[]")}
        if node_of[k]:
            values["node"] = str(node_of[k])
        hits.append(
            Hit(
                per_pod[k] + [summary], [f"{ns}/Pod/{pod}"], [node_of[k]] if node_of[k] else [], values, summary.excerpt
            )
        )
    return hits
