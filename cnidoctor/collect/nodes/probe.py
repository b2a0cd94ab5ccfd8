"""Probe pods (`--node-probe IMAGE`) and `KubeNodeAccess`, the real ways into a node through the API.

A probe pod is privileged, uses the host's network and PID namespaces, is pinned to one node with
`nodeName`, tolerates every taint, pulls its image only if absent, is labelled
`app.kubernetes.io/managed-by=cnidoctor` and annotated with who started it. Commands run in the host's
namespaces through `nsenter -t 1` (the host's own `ip`, `iptables` and files); an image without
`nsenter` falls back to its own tools and the host's files under the read-only `/host` mount.

It is deleted when collection of its node ends, whatever happens: a `finally` on the normal path, an
`atexit` hook for pods still registered when the process exits (Ctrl-C, the global --timeout
abandoning worker threads), SIGTERM/SIGHUP turned into KeyboardInterrupt so both run, and
`activeDeadlineSeconds` so the kubelet stops it even if cnidoctor is killed with SIGKILL.
"""

from __future__ import annotations

import atexit
import contextlib
import getpass
import os
import re
import secrets
import signal
import socket
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from cnidoctor import __version__
from cnidoctor.collect.nodes.fallback import AGENT_ROOTS, AccessError
from cnidoctor.collect.nodes.kubeexec import ExecRunner
from cnidoctor.node.agents import AgentPod
from cnidoctor.node.plan import NodePaths
from cnidoctor.node.runner import CommandRunner

if TYPE_CHECKING:
    from cnidoctor.kube.client import KubeClient

MANAGED_BY = "app.kubernetes.io/managed-by"
OWNER = "cnidoctor.io/owner"
CONTAINER = "probe"
NSENTER = ("nsenter", "-t", "1", "-m", "-u", "-i", "-n", "--")
START_TIMEOUT = 90.0
_FATAL_WAITING = {
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
}


def owner() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()} (cnidoctor {__version__}, pid {os.getpid()})"


def probe_name(node: str) -> str:
    base = re.sub(r"[^a-z0-9-]+", "-", node.lower()).strip("-")[:40].strip("-") or "node"
    return f"cnidoctor-probe-{base}-{secrets.token_hex(3)}"


def probe_pod(node: str, image: str, name: str, namespace: str, lifetime: int) -> dict:
    """The probe Pod object for NODE."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {MANAGED_BY: "cnidoctor", "app.kubernetes.io/name": "cnidoctor-node-probe"},
            "annotations": {
                OWNER: owner(),
                "cnidoctor.io/purpose": "reads node network state; deleted when collection ends",
            },
        },
        "spec": {
            "nodeName": node,
            "hostNetwork": True,
            "hostPID": True,
            "dnsPolicy": "ClusterFirstWithHostNet",
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 0,
            "activeDeadlineSeconds": lifetime,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "tolerations": [{"operator": "Exists"}],
            "containers": [
                {
                    "name": CONTAINER,
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["sleep", str(lifetime)],
                    "securityContext": {"privileged": True},
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "256Mi"}},
                    "volumeMounts": [{"name": "host", "mountPath": "/host", "readOnly": True}],
                }
            ],
            "volumes": [{"name": "host", "hostPath": {"path": "/"}}],
        },
    }


class _Live:
    """Probe pods that exist right now; deleted by `cleanup` at exit if still here."""

    def __init__(self) -> None:
        self.pods: dict[tuple[str, str], Any] = {}  # (namespace, name) -> delete callable
        self.closed = False
        self.lock = threading.Lock()
        self.installed = False

    def add(self, namespace: str, name: str, delete: Any) -> None:
        with self.lock:
            if self.closed:
                raise AccessError("cnidoctor is exiting; no new probe pods")
            self.pods[(namespace, name)] = delete

    def remove(self, namespace: str, name: str) -> None:
        with self.lock:
            self.pods.pop((namespace, name), None)

    def cleanup(self) -> None:
        with self.lock:
            self.closed = True
            pending = list(self.pods.items())
            self.pods.clear()
        for _, delete in pending:
            with contextlib.suppress(Exception):
                delete()


LIVE = _Live()


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def install_cleanup() -> None:
    """atexit deletion of leftover probe pods, and SIGTERM/SIGHUP as Ctrl-C (main thread only)."""
    with LIVE.lock:
        if LIVE.installed:
            return
        LIVE.installed = True
    atexit.register(LIVE.cleanup)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(sig) in (signal.SIG_DFL, None):
                signal.signal(sig, _raise_interrupt)


class KubeNodeAccess:
    """Exec into agent pods and probe pods through the API (`pods/exec` create, `pods` create/get/delete)."""

    def __init__(self, client: KubeClient, image: str | None = None, namespace: str = "kube-system") -> None:
        from kubernetes import client as k8s

        self.client = client
        self.image = image
        self.namespace = namespace
        self._api = k8s.ApiClient(client.target.configuration)
        self._core = k8s.CoreV1Api(self._api)
        self._lock = threading.Lock()
        install_cleanup()

    def close(self) -> None:
        self._api.close()

    def exec_runner(self, agent: AgentPod) -> tuple[CommandRunner, NodePaths]:
        return ExecRunner(self.client, agent.namespace, agent.name, agent.container), NodePaths(roots=AGENT_ROOTS)

    # -- pod API ------------------------------------------------------------------------------------
    def _call(self, verb: str, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from cnidoctor.kube.client import translate

        self.client.limiter.acquire(self.client.deadline)
        try:
            resp = fn(*args, _preload_content=False, _request_timeout=(5, self.client.request_timeout), **kwargs)
            try:
                return resp.data
            finally:
                resp.release_conn()
        except Exception as exc:  # translated to our error types
            raise translate(exc, verb, what, self.client.target.server) from exc

    def _delete(self, name: str) -> None:
        from cnidoctor.kube.errors import NotFound

        with contextlib.suppress(NotFound):
            self._call(
                "delete",
                f"pods {self.namespace}/{name}",
                self._core.delete_namespaced_pod,
                name,
                self.namespace,
                grace_period_seconds=0,
                propagation_policy="Background",
            )

    def _wait_running(self, name: str, until: float) -> None:
        import json

        from cnidoctor.kube.errors import KubeError

        state = "Pending"
        while time.monotonic() < until:
            try:
                pod = json.loads(
                    self._call(
                        "get", f"pods {self.namespace}/{name}", self._core.read_namespaced_pod, name, self.namespace
                    )
                )
            except (KubeError, ValueError) as exc:
                raise AccessError(f"probe pod {name}: {exc}") from None
            status = pod.get("status") or {}
            state = str(status.get("phase") or "Pending")
            if state in ("Failed", "Succeeded"):
                why = f"{status.get('reason') or ''} {status.get('message') or ''}".strip()
                raise AccessError(f"probe pod {name} {state}: {why}")
            for cs in status.get("containerStatuses") or []:
                st = cs.get("state") or {}
                if "running" in st:
                    return
                waiting = st.get("waiting") or {}
                if waiting.get("reason") in _FATAL_WAITING:
                    raise AccessError(f"probe container {waiting['reason']}: {str(waiting.get('message') or '')[:200]}")
                if waiting.get("reason"):
                    state = f"Pending: {waiting['reason']}"
            time.sleep(0.5)
        raise AccessError(f"probe pod {name} not running after {START_TIMEOUT:g}s ({state})")

    @contextlib.contextmanager
    def probe(self, node: str, deadline: float) -> Iterator[tuple[CommandRunner, NodePaths]]:
        from cnidoctor.kube.errors import KubeError

        if not self.image:
            raise AccessError("no --node-probe image given")
        name = probe_name(node)
        lifetime = max(60, int(deadline - time.monotonic()) + 60)
        body = probe_pod(node, self.image, name, self.namespace, lifetime)
        LIVE.add(self.namespace, name, lambda: self._delete(name))
        runner: ExecRunner | None = None
        try:
            try:
                self._call(
                    "create",
                    f"pods in namespace {self.namespace}",
                    self._core.create_namespaced_pod,
                    self.namespace,
                    body,
                )
            except KubeError as exc:
                raise AccessError(f"cannot create the probe pod: {exc.message}") from None
            self._wait_running(name, min(deadline, time.monotonic() + START_TIMEOUT))
            runner = ExecRunner(self.client, self.namespace, name, CONTAINER, prefix=NSENTER, method="probe")
            check = runner.run(("true",), timeout=15, max_bytes=4096)
            if check.error:
                raise AccessError(f"exec into probe pod {name}: {check.error}")
            if check.ok:
                yield runner, NodePaths()
            else:  # no nsenter in the image: its own tools, the host's files under /host
                runner.prefix = ()
                runner.where += " (no nsenter: image tools, host files under /host)"
                yield runner, NodePaths(roots=("/host",))
        finally:
            if runner is not None:
                runner.close()
            with contextlib.suppress(KubeError):  # on failure it stays registered: the atexit hook retries
                self._delete(name)
                LIVE.remove(self.namespace, name)
