"""Helpers for the live tests: serve a bundle on 127.0.0.1, point a kubeconfig at it, collect from it.

Everything goes over real HTTP with the real `kubernetes` client; nothing of cnidoctor is patched.
"""

from __future__ import annotations

import contextlib
import functools
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

from cnidoctor.apiserver.faults import parse_fault
from cnidoctor.apiserver.rbac import Rule
from cnidoctor.apiserver.server import LocalApiServer
from cnidoctor.bundle.reader import Bundle

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
RBAC = ROOT / "deploy" / "rbac.yaml"


@contextlib.contextmanager
def served(
    *paths: Path,
    rules: list[Rule] | None = None,
    faults: tuple[str, ...] = (),
    page_size_cap: int = 0,
) -> Iterator[LocalApiServer]:
    """A local API server for the bundle at PATHS, stopped on exit."""
    server = LocalApiServer(
        Bundle.open([Path(p) for p in paths]),
        rules=rules,
        faults=[parse_fault(f) for f in faults],
        page_size_cap=page_size_cap,
    )
    with server:
        yield server


def kubeconfig(server: LocalApiServer, folder: Path, name: str = "kubeconfig") -> Path:
    path = folder / name
    path.write_text(server.kubeconfig(), encoding="utf-8")
    return path


def fixture_bundle(name: str) -> Path:
    return FIXTURES / name / "bundle"


def node_bundle(bundle: Path, folder: Path) -> list[str]:
    """The fixture's `nodes/` as a separate node bundle (the API never serves node state)."""
    if not (bundle / "nodes").is_dir():
        return []
    out = folder / "node-bundle"
    shutil.copytree(bundle / "nodes", out / "nodes")
    return [str(out)]


@functools.cache
def catalog_scopes() -> list:
    from cnidoctor.cli.live import catalog_log_scopes
    from tests.conftest import catalog

    return catalog_log_scopes(catalog())


def gets_only(server: LocalApiServer) -> bool:
    return all(r.method == "GET" and r.verb != "watch" for r in server.requests)


# -- synthetic bundles ---------------------------------------------------------------------------------
T0 = "2026-11-20T10:00:00Z"


def write_list(root: Path, rel: str, kind: str, items: list[dict], api_version: str = "v1") -> None:
    path = root / "cluster" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"kind": f"{kind}List", "apiVersion": api_version, "items": items}), encoding="utf-8")


def node(name: str, *, ready: bool = True, version: str = "v1.30.6", annotations: dict | None = None) -> dict:
    return {
        "metadata": {
            "name": name,
            "creationTimestamp": T0,
            "annotations": annotations or {},
            "labels": {"kubernetes.io/hostname": name},
        },
        "spec": {"podCIDR": "10.244.0.0/24"},
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True" if ready else "False",
                    "lastHeartbeatTime": "2026-11-20T11:00:00Z",
                    "message": "kubelet is posting ready status" if ready else "NetworkPluginNotReady",
                }
            ],
            "nodeInfo": {"kubeletVersion": version},
        },
    }


def pod(
    ns: str,
    name: str,
    node_name: str | None,
    containers: tuple[str, ...] = ("main",),
    *,
    owner: tuple[str, str] | None = ("DaemonSet", "agent"),
    ready: bool = True,
    restarts: int = 0,
    init: tuple[str, ...] = (),
    env: list[dict] | None = None,
    annotations: dict | None = None,
) -> dict:
    meta: dict = {
        "name": name,
        "namespace": ns,
        "creationTimestamp": T0,
        "labels": {"app": name.rsplit("-", 1)[0]},
        "annotations": annotations or {},
    }
    if owner:
        meta["ownerReferences"] = [{"kind": owner[0], "name": owner[1], "controller": True}]
    status = {"name": "", "ready": ready, "restartCount": restarts, "state": {"running": {"startedAt": T0}}}
    return {
        "metadata": meta,
        "spec": {
            "nodeName": node_name,
            "containers": [{"name": c, "image": f"example/{c}:1", "env": env or []} for c in containers],
            "initContainers": [{"name": c, "image": f"example/{c}:1"} for c in init],
        },
        "status": {
            "phase": "Running",
            "containerStatuses": [{**status, "name": c} for c in containers],
            "initContainerStatuses": [
                {
                    **status,
                    "name": c,
                    "ready": True,
                    "restartCount": 0,
                    "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
                }
                for c in init
            ],
        },
    }


def daemonset(ns: str, name: str, image: str, *, desired: int = 1, ready: int = 1) -> dict:
    return {
        "metadata": {"name": name, "namespace": ns, "creationTimestamp": T0},
        "spec": {"template": {"spec": {"containers": [{"name": name, "image": image}]}}},
        "status": {"desiredNumberScheduled": desired, "numberReady": ready, "numberUnavailable": desired - ready},
    }


def write_log(root: Path, ns: str, pod_name: str, container: str, text: str, previous: bool = False) -> None:
    path = root / "cluster" / ns / pod_name / f"{container}{'.previous' if previous else ''}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
