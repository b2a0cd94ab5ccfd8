"""What the Cilium checks (CIL*) read the same way: cilium-config, the agent DaemonSet, its pods and
logs, the operator, kube-proxy and Cilium's node files.

Check modules import it relatively: `from .._cilium import ...`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence
from cnidoctor.parse.cilium import CiliumHealth, CiliumStatus, parse_cilium_health, parse_cilium_status

AGENT = "cilium-agent"
OPERATOR = re.compile(r"cilium-operator.*")
CONFIG_MAP = "cilium-config"
# The agent cannot reach the API server at start-up (1.15 wording first, then older client errors).
API_UNREACHABLE = re.compile(
    r"(?i)unable to contact k8s api-?server|(unable to (create|initialize) (the )?k8s client|unable to initialize "
    r"kubernetes subsystem).*(i/o timeout|connection refused|no route to host|network is unreachable|deadline exceeded)"
)

# logrus/slog text: key=value or key="quoted \"value\""
_FIELD = re.compile(r'(\w[\w.\-]*)=("(?:[^"\\]|\\.)*"|\S+)')


# -- objects ---------------------------------------------------------------------------------------
def pod_spec(obj: dict) -> dict:
    """The pod spec of a pod or of a workload's template."""
    spec = obj.get("spec") or {}
    if isinstance(spec.get("template"), dict):
        spec = spec["template"].get("spec") or {}
    return spec if isinstance(spec, dict) else {}


def containers(obj: dict, init: bool = False) -> list[dict]:
    spec = pod_spec(obj)
    found = list(spec.get("containers") or []) + (list(spec.get("initContainers") or []) if init else [])
    return [c for c in found if isinstance(c, dict)]


def container(obj: dict, name: str) -> dict | None:
    return next((c for c in containers(obj) if c.get("name") == name), None)


def env_value(obj: dict, container_name: str, var: str) -> str | None:
    """A literal env value of one container of a pod or workload (None when unset or taken from a ref)."""
    c = container(obj, container_name) or {}
    for e in c.get("env") or []:
        if isinstance(e, dict) and e.get("name") == var:
            v = e.get("value")
            return str(v) if v not in (None, "") else None
    return None


def ref(obj: dict, kind: str) -> str:
    ns = meta(obj).get("namespace")
    return f"{ns}/{kind}/{obj_name(obj)}" if ns else f"{kind}/{obj_name(obj)}"


def node_of(pod: dict) -> str | None:
    n = (pod.get("spec") or {}).get("nodeName")
    return n if isinstance(n, str) else None


def agent_daemonset(ctx: Context) -> dict | None:
    """The DaemonSet running cilium-agent (usually kube-system/cilium)."""
    found = [d for d in ctx.daemonsets if container(d, AGENT)]
    found.sort(key=lambda d: obj_name(d) != "cilium")
    return found[0] if found else None


def agent_pods(ctx: Context) -> list[dict]:
    return [p for p in ctx.pods if container(p, AGENT)]


def operator_deployments(ctx: Context) -> list[dict]:
    return [
        d
        for d in ctx.deployments
        if OPERATOR.fullmatch(obj_name(d)) or any(OPERATOR.fullmatch(str(c.get("name"))) for c in containers(d))
    ]


def operator_pods(ctx: Context) -> list[dict]:
    return [p for p in ctx.pods if any(OPERATOR.fullmatch(str(c.get("name"))) for c in containers(p))]


def pod_ready(pod: dict) -> bool:
    conds = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds if isinstance(c, dict))


def api_endpoint(ctx: Context) -> tuple[str | None, str | None, Evidence | None]:
    """The API server's own address from the default/kubernetes Endpoints: (host, port, evidence)."""
    for ep in ctx.resource("endpoints", "default"):
        if obj_name(ep) != "kubernetes":
            continue
        for subset in ep.get("subsets") or []:
            addrs = [a.get("ip") for a in subset.get("addresses") or [] if isinstance(a, dict) and a.get("ip")]
            ports = [p.get("port") for p in subset.get("ports") or [] if isinstance(p, dict) and p.get("port")]
            if addrs:
                port = str(ports[0]) if ports else None
                text = "Endpoints default/kubernetes (the API servers): " + ", ".join(
                    f"{a}:{port}" if port else str(a) for a in addrs
                )
                return (
                    str(addrs[0]),
                    port,
                    Evidence(layout.namespaced_list("default", "endpoints"), text, "default/Endpoints/kubernetes"),
                )
    return None, None, None


# -- cilium-config ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CiliumConfig:
    data: dict[str, str]
    namespace: str

    @property
    def path(self) -> str:
        return layout.namespaced_list(self.namespace, "configmaps")

    @property
    def ref(self) -> str:
        return f"{self.namespace}/ConfigMap/{CONFIG_MAP}"

    def get(self, key: str) -> str | None:
        v = self.data.get(key)
        return str(v).strip() if v is not None and str(v).strip() != "" else None

    def evidence(self, key: str) -> Evidence:
        v = self.get(key)
        text = f"{CONFIG_MAP} {key}: {v!r}" if v is not None else f"{CONFIG_MAP} has no {key}"
        return Evidence(self.path, text, self.ref)


def cilium_config(ctx: Context) -> CiliumConfig | None:
    cm = ctx.configmap(CONFIG_MAP)
    if cm is None:
        return None
    data = cm.get("data") if isinstance(cm.get("data"), dict) else {}
    return CiliumConfig({str(k): str(v) for k, v in data.items()}, str(meta(cm).get("namespace") or "kube-system"))


def base_values(ctx: Context) -> dict[str, str]:
    """Names remediation commands use: {namespace} of Cilium, its agent {daemonset} and {operator} Deployment."""
    ds = agent_daemonset(ctx)
    ops = operator_deployments(ctx)
    return {
        "namespace": cilium_namespace(ctx),
        "daemonset": obj_name(ds) if ds else "cilium",
        "operator": obj_name(ops[0]) if ops else "cilium-operator",
    }


def cilium_namespace(ctx: Context) -> str:
    cfg = cilium_config(ctx)
    if cfg:
        return cfg.namespace
    ds = agent_daemonset(ctx)
    return str(meta(ds).get("namespace")) if ds else "kube-system"


def kpr_mode(ctx: Context) -> tuple[str | None, Evidence | None]:
    """Kube-proxy replacement as configured: 'true' (also `strict`), 'partial', 'probe', 'false' or None."""
    cfg = cilium_config(ctx)
    if cfg and cfg.get("kube-proxy-replacement"):
        raw = str(cfg.get("kube-proxy-replacement")).lower()
        norm = {"strict": "true", "disabled": "false"}.get(raw, raw)
        return norm, cfg.evidence("kube-proxy-replacement")
    for node in ctx.bundle.node_dirs:
        st = status(ctx, node)
        if st and st.kube_proxy_replacement:
            raw = st.kube_proxy_replacement.lower()
            norm = {"strict": "true", "disabled": "false"}.get(raw, raw)
            return norm, Evidence(
                layout.node_file(node, "cilium-status.json"),
                f"kube-proxy-replacement mode: {st.kube_proxy_replacement}",
                node=node,
            )
    return None, None


def kube_proxy(ctx: Context) -> list[Evidence]:
    """Evidence that kube-proxy runs: its DaemonSet (scheduled somewhere) or Running kube-proxy pods."""
    out: list[Evidence] = []
    for ds in ctx.daemonsets:
        if obj_name(ds).startswith("kube-proxy") and ((ds.get("status") or {}).get("desiredNumberScheduled") or 0) > 0:
            st = ds.get("status") or {}
            out.append(
                Evidence(
                    layout.namespaced_list(str(meta(ds).get("namespace")), "daemonsets"),
                    f"DaemonSet {obj_name(ds)}: desired {st.get('desiredNumberScheduled')}, "
                    f"ready {st.get('numberReady')}",
                    ref(ds, "DaemonSet"),
                )
            )
    if not out:
        for p in ctx.pods:
            if obj_name(p).startswith("kube-proxy") and (p.get("status") or {}).get("phase") == "Running":
                out.append(
                    Evidence(
                        layout.namespaced_list(str(meta(p).get("namespace")), "pods"),
                        f"kube-proxy pod {obj_name(p)} Running on {node_of(p)}",
                        ref(p, "Pod"),
                        node_of(p),
                    )
                )
    return out


# -- logs ------------------------------------------------------------------------------------------
def log_fields(text: str) -> dict[str, str]:
    """key=value fields of a logrus/slog text line (quotes removed), or of a JSON log line."""
    s = text.strip()
    if s.startswith("{"):
        try:
            doc = json.loads(s)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            return {str(k): str(v) for k, v in doc.items()}
    out = {}
    for k, v in _FIELD.findall(s):
        if v.startswith('"') and v.endswith('"') and len(v) >= 2:
            v = v[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        out.setdefault(k, v)
    return out


@dataclass(frozen=True)
class LogHit:
    namespace: str
    pod: str
    node: str | None
    path: str
    lineno: int
    text: str
    match: re.Match
    previous: bool

    @property
    def evidence(self) -> Evidence:
        return Evidence(self.path, self.text.strip()[:400], f"{self.namespace}/Pod/{self.pod}", self.node, self.lineno)


def log_lines(ctx: Context, pattern: re.Pattern, container_name: str | re.Pattern = AGENT) -> Iterator[LogHit]:
    """Lines of the given container's logs (current and previous) that PATTERN searches."""
    for r in ctx.bundle.logs:
        if r.container is not None and not _name_ok(r.container, container_name):
            continue
        node = ctx.pod_node(r.namespace, r.pod)
        for line in ctx.bundle.grep_log(r, pattern):
            if not _name_ok(line.container, container_name):
                continue
            m = pattern.search(line.text)
            if m:
                yield LogHit(r.namespace, r.pod, node, r.path, line.lineno, line.text, m, r.previous)


def _name_ok(name: str, want: str | re.Pattern) -> bool:
    return bool(want.fullmatch(name)) if isinstance(want, re.Pattern) else name == want


def first_per_pod(hits: list[LogHit], most: int = 1) -> list[LogHit]:
    """At most MOST hits per pod (current log first), to keep evidence short."""
    seen: dict[str, int] = {}
    out = []
    for h in sorted(hits, key=lambda h: (h.previous, h.path, h.lineno)):
        if seen.get(h.pod, 0) < most:
            seen[h.pod] = seen.get(h.pod, 0) + 1
            out.append(h)
    return out


# -- node files ------------------------------------------------------------------------------------
def status(ctx: Context, node: str) -> CiliumStatus | None:
    return ctx.parsed(node, "cilium-status.json", parse_cilium_status)


def health(ctx: Context, node: str) -> CiliumHealth | None:
    return ctx.parsed(node, "cilium-health.txt", parse_cilium_health)


@dataclass(frozen=True)
class HealthFailure:
    """One failing path in an agent's `cilium-health status`: OBSERVER cannot reach TARGET that way."""

    observer: str
    target: str  # node name without the cluster prefix
    kind: str  # Host, Endpoint, ...
    address: str
    evidence: Evidence


def health_failures(ctx: Context) -> list[HealthFailure]:
    out = []
    for obs in ctx.bundle.node_dirs:
        h = health(ctx, obs)
        for target in h.unreachable() if h else ():
            if target.local:
                continue
            name = target.name.rsplit("/", 1)[-1]
            for path in target.paths:
                bad = [p for p in path.probes if not p.ok]
                if bad:
                    text = (
                        f"from {obs}: {path.kind} connectivity to {name} ({path.address}): "
                        + "; ".join(f"{p.probe}: {p.result}" for p in bad)
                    )[:300]
                    ev = Evidence(layout.node_file(obs, "cilium-health.txt"), text, f"Node/{name}", name, bad[0].line)
                    out.append(HealthFailure(obs, name, path.kind, path.address, ev))
    return out


# -- CiliumNodes -----------------------------------------------------------------------------------
CILIUM_NODES = "ciliumnodes.cilium.io"


def pod_cidrs(cn: dict) -> list[str]:
    ipam = (cn.get("spec") or {}).get("ipam") or {}
    return [str(c) for c in ipam.get("podCIDRs") or [] if c]


def operator_error(cn: dict) -> str | None:
    """The error the operator wrote into a CiliumNode's IPAM status, if any."""
    err = (((cn.get("status") or {}).get("ipam") or {}).get("operator-status") or {}).get("error")
    return str(err) if err else None


def natural(s: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]
