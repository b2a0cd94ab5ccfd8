"""Built-in log collector: agent, kube-proxy, coredns and control-plane logs, bounded on big clusters.

Which pods: every pod of the system namespaces (kube-system, the CNI namespaces) plus the pods a check
of the catalog reads logs from. Which containers: init and regular ones that have run, the previous
instance of restarted ones. On a cluster larger than `small_cluster_nodes`, node agents (DaemonSet and
static pods) are read only on the suspect nodes (NotReady, agent not ready or restarting, sandbox
failures) plus a small sample of healthy ones; `--nodes` names the nodes explicitly. Application pods
(outside the system namespaces, wanted by a check such as GEN133's DNS timeouts) are capped at
`app_log_pods`: the unhealthy ones first (restarting, not ready, not running), then a spread of the rest,
so a 150,000-pod cluster costs a few dozen log requests, not one per pod.
"""

from __future__ import annotations

import re

from cnidoctor.bundle import layout
from cnidoctor.collect.base import Access, Phase, Task
from cnidoctor.collect.session import SYSTEM_NAMESPACES, Session
from cnidoctor.kube.client import KubeClient

_SYSTEM_WORKLOAD = re.compile(r"calico|cilium|flannel|multus|tigera|kube-proxy|coredns|kube-dns|whereabouts")
_SANDBOX_EVENT = re.compile(r"FailedCreatePodSandBox|FailedKillPodSandbox|NetworkNotReady")


def _meta(obj: dict) -> dict:
    m = obj.get("metadata")
    return m if isinstance(m, dict) else {}


def controller_kind(pod: dict) -> str | None:
    for ref in _meta(pod).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller", True):
            return str(ref.get("kind"))
    return None


def node_bound(pod: dict) -> bool:
    """A per-node agent: a DaemonSet pod or a static (mirror) pod."""
    return controller_kind(pod) in ("DaemonSet", "Node") or "kubernetes.io/config.mirror" in (
        _meta(pod).get("annotations") or {}
    )


def _node(pod: dict) -> str | None:
    node = (pod.get("spec") or {}).get("nodeName")
    return node if isinstance(node, str) and node else None


def _statuses(pod: dict) -> list[dict]:
    status = pod.get("status") or {}
    return [
        c
        for key in ("initContainerStatuses", "containerStatuses")
        for c in status.get(key) or []
        if isinstance(c, dict)
    ]


def system_namespaces(session: Session) -> set[str]:
    out = set(SYSTEM_NAMESPACES)
    for kind in ("daemonsets", "deployments"):
        for obj in session.items(kind):
            if _SYSTEM_WORKLOAD.search(str(_meta(obj).get("name", ""))):
                out.add(str(_meta(obj).get("namespace")))
    return out


def suspect_nodes(session: Session, system_ns: set[str]) -> set[str]:
    """Nodes where networking looks broken: NotReady, agents unhealthy, sandbox failures."""
    out: set[str] = set()
    for node in session.items("nodes"):
        conds = {
            c.get("type"): c.get("status")
            for c in (node.get("status") or {}).get("conditions") or []
            if isinstance(c, dict)
        }
        if conds.get("Ready") != "True" or conds.get("NetworkUnavailable") == "True":
            out.add(str(_meta(node).get("name")))
    pods_by_name = {}
    for pod in session.items("pods"):
        ns, node = str(_meta(pod).get("namespace")), _node(pod)
        pods_by_name[(ns, _meta(pod).get("name"))] = pod
        if not node:
            continue
        statuses = _statuses(pod)
        if (
            ns in system_ns
            and node_bound(pod)
            and any(
                not c.get("ready") and "terminated" not in (c.get("state") or {}) or int(c.get("restartCount") or 0)
                for c in statuses
            )
        ):
            out.add(node)
        if any(((c.get("state") or {}).get("waiting") or {}).get("reason") == "ContainerCreating" for c in statuses):
            out.add(node)
    for ev in session.items("events"):
        if not _SANDBOX_EVENT.search(str(ev.get("reason", ""))):
            continue
        host = (ev.get("source") or {}).get("host")
        inv = ev.get("involvedObject") or {}
        pod = pods_by_name.get((inv.get("namespace"), inv.get("name"))) if inv.get("kind") == "Pod" else None
        for node in (host, _node(pod) if pod else None):
            if isinstance(node, str) and node:
                out.add(node)
    return out


def selected_nodes(session: Session, system_ns: set[str]) -> set[str] | None:
    """Nodes whose agents' logs are read (None: all of them)."""
    opts = session.options
    if opts.nodes:
        return set(opts.nodes)
    names = sorted(str(_meta(n).get("name")) for n in session.items("nodes"))
    if len(names) <= opts.small_cluster_nodes:
        return None
    suspects = suspect_nodes(session, system_ns)
    healthy = [n for n in names if n not in suspects]
    step = max(1, len(healthy) // max(opts.healthy_sample, 1))
    return suspects | set(healthy[::step][: opts.healthy_sample])


def log_pods(session: Session) -> list[dict]:
    """The pods whose logs are collected, in list order."""
    system_ns = system_namespaces(session)
    nodes = selected_nodes(session, system_ns)
    out, apps = [], []
    for pod in session.items("pods"):
        ns, name = str(_meta(pod).get("namespace")), str(_meta(pod).get("name"))
        if ns not in system_ns and not any(s.accepts(ns, name) for s in session.options.log_scopes):
            continue
        node = _node(pod)
        if session.options.nodes and node not in nodes:
            continue
        if ns not in system_ns:
            apps.append(pod)
            continue
        if nodes is not None and node_bound(pod) and node not in nodes:
            continue
        out.append(pod)
    return out + app_sample(apps, session.options.app_log_pods)


def _trouble(pod: dict) -> int:
    """How unhealthy an application pod looks: restarts, plus 1000 when not running or a container not ready."""
    statuses = _statuses(pod)
    restarts = sum(int(c.get("restartCount") or 0) for c in statuses if str(c.get("restartCount") or 0).isdigit())
    phase = (pod.get("status") or {}).get("phase")
    unready = phase not in ("Running", "Succeeded") or any(
        not c.get("ready") and "terminated" not in (c.get("state") or {}) for c in statuses
    )
    return restarts + (1000 if unready else 0)


def app_sample(pods: list[dict], cap: int) -> list[dict]:
    """At most CAP application pods, in list order: the unhealthy ones first, then a spread of the others."""
    if len(pods) <= cap:
        return pods
    scored = [(_trouble(p), i) for i, p in enumerate(pods)]
    troubled = sorted((t for t in scored if t[0]), key=lambda t: -t[0])[:cap]
    chosen = {i for _, i in troubled}
    rest = [i for t, i in scored if not t]
    room = cap - len(chosen)
    if room > 0 and rest:
        step = max(1, len(rest) // room)
        chosen.update(rest[::step][:room])
    return [pods[i] for i in sorted(chosen)]


def streams(pod: dict) -> list[tuple[str, bool]]:
    """(container, previous) pairs worth reading: containers that ran, previous instances of restarted ones."""
    spec = pod.get("spec") or {}
    by_name = {c.get("name"): c for c in _statuses(pod)}
    out = []
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        name = c.get("name") if isinstance(c, dict) else None
        if not isinstance(name, str):
            continue
        st = by_name.get(name)
        if st is None:
            continue  # no status: never started
        state = st.get("state") or {}
        restarts = int(st.get("restartCount") or 0)
        never_ran = "waiting" in state and not restarts and not st.get("lastState")
        if not never_ran:
            out.append((name, False))
        if restarts or (st.get("lastState") or {}).get("terminated"):
            out.append((name, True))
    return out


class LogsCollector:
    """Container logs (current and previous), capped by --since and --max-log-bytes."""

    name = "logs"
    phase = Phase.LOGS

    def access(self) -> list[Access]:
        return [Access("", "pods/log", ("get",))]

    def plan(self, session: Session) -> list[Task]:
        tasks = []
        for pod in log_pods(session):
            ns, name = str(_meta(pod).get("namespace")), str(_meta(pod).get("name"))
            for container, previous in streams(pod):
                path = f"{layout.CLUSTER}/{ns}/{name}/{container}{'.previous' if previous else ''}.log"
                tasks.append(
                    Task(
                        f"get pods/log {ns}/{name} container {container}{' (previous)' if previous else ''}",
                        path,
                        Access("", "pods/log", ("get",)),
                        self._reader(session, ns, name, container, previous, path),
                    )
                )
        session.log_streams = len(tasks)
        return tasks

    @staticmethod
    def _reader(session: Session, ns: str, pod: str, container: str, previous: bool, path: str):  # noqa: ANN205
        opts = session.options

        def run(client: KubeClient) -> None:
            data = client.pod_log(
                ns,
                pod,
                container,
                previous=previous,
                since_seconds=opts.since_seconds or None,
                limit_bytes=opts.max_log_bytes or None,
            )
            session.write_text(path, data)
            if opts.max_log_bytes and len(data) >= opts.max_log_bytes:
                session.gap(path, f"log cut at {opts.max_log_bytes} bytes (--max-log-bytes)")

        return run
