"""Namespaces whose egress NetworkPolicies select pods but allow them no DNS (UDP 53) to the cluster DNS."""

from __future__ import annotations

import ipaddress
import json
import re

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence, Hit

DNS_POD = re.compile(r".*coredns.*|kube-dns-.*")
NODELOCAL_IP = "169.254.20.10"
ENFORCING_NONE = {"flannel"}  # flannel alone (or under multus) does not enforce NetworkPolicy
NATIVE_POLICIES = (
    "globalnetworkpolicies.crd.projectcalico.org",
    "networkpolicies.crd.projectcalico.org",
    "globalnetworkpolicies.projectcalico.org",
    "networkpolicies.projectcalico.org",
    "ciliumnetworkpolicies.cilium.io",
    "ciliumclusterwidenetworkpolicies.cilium.io",
)
NATIVE_DNS = re.compile(r'"(port|ports)"\s*:\s*\[?\s*"?53"?\b|"dns"\s*:')


def selects(selector: dict | None, labels: dict) -> bool:
    """Kubernetes label-selector semantics; an empty selector selects everything."""
    if selector is None:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _labels(obj: dict) -> dict:
    return meta(obj).get("labels") or {}


def _ns_labels(ctx: Context, ns: str) -> dict:
    for n in ctx.resource("namespaces") if ctx.has_resource("namespaces") else []:
        if obj_name(n) == ns:
            return {"kubernetes.io/metadata.name": ns, **_labels(n)}
    return {"kubernetes.io/metadata.name": ns}


def _dns_targets(ctx: Context) -> tuple[list[dict], list[str], set[str]]:
    """Cluster DNS pods, the IPs pods send DNS to, and the port names DNS listens on."""
    pods = [p for p in ctx.pods if _labels(p).get("k8s-app") == "kube-dns" or DNS_POD.fullmatch(obj_name(p))]
    ips = [str((p.get("status") or {}).get("podIP")) for p in pods if (p.get("status") or {}).get("podIP")]
    names = {
        str(port.get("name"))
        for p in pods
        for c in (p.get("spec") or {}).get("containers") or []
        for port in c.get("ports") or []
        if port.get("containerPort") == 53 and port.get("name")
    }
    if any(obj_name(p).startswith("node-local-dns") for p in ctx.pods):
        ips.append(NODELOCAL_IP)
    return pods, ips, names or {"dns"}


def _port_ok(ports: list | None, names: set[str]) -> bool:
    if not ports:
        return True
    for p in ports:
        if str(p.get("protocol") or "TCP").upper() != "UDP":
            continue
        port, end = p.get("port"), p.get("endPort")
        if port is None or port == 53 or str(port) in names or (isinstance(port, int) and end and port <= 53 <= end):
            return True
    return False


def _ip_ok(block: dict, ips: list[str]) -> bool:
    try:
        net = ipaddress.ip_network(str(block.get("cidr")), strict=False)
        excepts = [ipaddress.ip_network(str(e), strict=False) for e in block.get("except") or []]
    except ValueError:
        return False
    for ip in ips:
        try:
            a = ipaddress.ip_address(ip)
        except ValueError:
            continue
        if a.version == net.version and a in net and not any(a.version == e.version and a in e for e in excepts):
            return True
    return False


def _peer_ok(ctx: Context, peer: dict, policy_ns: str, dns_pods: list[dict], ips: list[str]) -> bool:
    if "ipBlock" in peer:
        return _ip_ok(peer["ipBlock"] or {}, ips)
    ns_sel, pod_sel = peer.get("namespaceSelector"), peer.get("podSelector")
    for p in dns_pods:
        ns = str(meta(p).get("namespace"))
        ns_match = selects(ns_sel, _ns_labels(ctx, ns)) if ns_sel is not None else ns == policy_ns
        if ns_match and (pod_sel is None or selects(pod_sel, _labels(p))):
            return True
    return not dns_pods and ns_sel is not None and selects(ns_sel, _ns_labels(ctx, "kube-system"))


def _allows_dns(ctx: Context, policy: dict, dns: tuple[list[dict], list[str], set[str]]) -> bool:
    ns = str(meta(policy).get("namespace"))
    for rule in (policy.get("spec") or {}).get("egress") or []:
        if not _port_ok(rule.get("ports"), dns[2]):
            continue
        peers = rule.get("to")
        if not peers or any(_peer_ok(ctx, peer, ns, dns[0], dns[1]) for peer in peers):
            return True
    return False


def _is_egress(policy: dict) -> bool:
    spec = policy.get("spec") or {}
    types = spec.get("policyTypes")
    return "Egress" in types if types else "egress" in spec


def _describe(policy: dict) -> str:
    spec = policy.get("spec") or {}
    rules = spec.get("egress") or []
    body = json.dumps(rules, separators=(",", ":"), sort_keys=True) if rules else "none (deny all egress)"
    return (
        f"{meta(policy).get('namespace')}/NetworkPolicy/{obj_name(policy)}: podSelector "
        f"{json.dumps(spec.get('podSelector') or {}, separators=(',', ':'), sort_keys=True)}, policyTypes "
        f"{spec.get('policyTypes') or ['(implied)']}, egress rules: {body}"
    )[:400]


def _native_dns_policy(ctx: Context) -> str | None:
    """A Calico or Cilium policy that mentions DNS (port 53 or a DNS rule), which may allow what K8s ones deny."""
    for name in NATIVE_POLICIES:
        if ctx.has_resource(name):
            for item in ctx.resource(name):
                if NATIVE_DNS.search(json.dumps(item.get("spec") or item.get("specs") or {})):
                    return f"{name.split('.')[0]}/{obj_name(item)}"
    return None


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    if not ctx.has_resource("networkpolicies"):
        return None
    if _native_dns_policy(ctx):
        return []  # the CNI's own policies take part in the decision; they are that CNI's checks' business
    if ctx.cnis and ctx.cnis <= ENFORCING_NONE | {"multus"} and "flannel" in ctx.cnis:
        return []
    dns = _dns_targets(ctx)
    by_ns: dict[str, list[dict]] = {}
    for pol in ctx.networkpolicies:
        if _is_egress(pol):
            by_ns.setdefault(str(meta(pol).get("namespace")), []).append(pol)
    hits = []
    for ns, policies in sorted(by_ns.items()):
        blocked, selecting = [], set()
        for pod in ctx.pods:
            spec = pod.get("spec") or {}
            if meta(pod).get("namespace") != ns or spec.get("hostNetwork"):
                continue
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            mine = [p for p in policies if selects((p.get("spec") or {}).get("podSelector") or {}, _labels(pod))]
            if mine and not any(_allows_dns(ctx, p, dns) for p in mine):
                blocked.append(pod)
                selecting |= {obj_name(p) for p in mine}
        if not blocked:
            continue
        evidence = [
            Evidence(layout.namespaced_list(ns, "networkpolicies"), _describe(p), f"{ns}/NetworkPolicy/{obj_name(p)}")
            for p in policies
            if obj_name(p) in selecting
        ]
        names = ", ".join(obj_name(p) for p in blocked[:5]) + (" ..." if len(blocked) > 5 else "")
        text = (
            f"namespace {ns}: {len(blocked)} pod(s) ({names}) are selected by egress policies "
            f"({', '.join(sorted(selecting))}) and none allows UDP 53 to the cluster DNS"
        )
        evidence.append(Evidence(layout.namespaced_list(ns, "networkpolicies"), text))
        dns_ns = str(meta(dns[0][0]).get("namespace")) if dns[0] else "kube-system"
        dns_labels = _labels(dns[0][0]) if dns[0] else {}
        key = "k8s-app" if "k8s-app" in dns_labels or not dns_labels else sorted(dns_labels)[0]
        hits.append(
            Hit(
                evidence,
                [f"{ns}/NetworkPolicy/{n}" for n in sorted(selecting)],
                sorted(
                    {
                        str((p.get("spec") or {}).get("nodeName"))
                        for p in blocked
                        if (p.get("spec") or {}).get("nodeName")
                    }
                ),
                {
                    "namespace": ns,
                    "dns_namespace": dns_ns,
                    "pod": obj_name(blocked[0]),
                    "dns_label": f"{key}: {dns_labels.get(key, 'kube-dns')}",
                },
                text,
            )
        )
    return hits
