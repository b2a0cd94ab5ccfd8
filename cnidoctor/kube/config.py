"""Find the cluster as kubectl does: --kubeconfig, KUBECONFIG (several files), ~/.kube/config, in-cluster.

Errors are one line naming the kubeconfig, the context and (when known) the server.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml
from kubernetes import client as k8s
from kubernetes.config import ConfigException
from kubernetes.config.incluster_config import (
    SERVICE_CERT_FILENAME,
    SERVICE_HOST_ENV_NAME,
    SERVICE_PORT_ENV_NAME,
    SERVICE_TOKEN_FILENAME,
    InClusterConfigLoader,
)
from kubernetes.config.kube_config import KubeConfigLoader, KubeConfigMerger

from cnidoctor.kube.errors import KubeConfigError

IN_CLUSTER = "in-cluster"


@dataclass
class Target:
    """A resolved cluster: client configuration plus names for messages and the manifest."""

    configuration: k8s.Configuration
    context: str
    server: str
    namespace: str | None  # the context's default namespace


def kubeconfig_paths(explicit: str | None) -> list[Path]:
    """Files kubectl would read, in precedence order (missing KUBECONFIG entries are skipped)."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            what = "a folder, not a file" if path.is_dir() else "no such file"
            raise KubeConfigError(f"kubeconfig {explicit}: {what}")
        return [path]
    env = os.environ.get("KUBECONFIG")
    if env:
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p and Path(p).expanduser().is_file()]
    home = Path("~/.kube/config").expanduser()
    return [home] if home.is_file() else []


def _read(path: Path) -> dict:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise KubeConfigError(f"kubeconfig {path}: cannot read ({str(exc).splitlines()[0][:160]})") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise KubeConfigError(f"kubeconfig {path}: not a kubeconfig (expected a mapping)")
    return doc


def _merged_names(paths: list[Path]) -> tuple[str | None, dict[str, dict], dict[str, dict]]:
    """kubectl merge rules for naming: the first file setting a key wins."""
    current: str | None = None
    contexts: dict[str, dict] = {}
    clusters: dict[str, dict] = {}
    for path in paths:
        doc = _read(path)
        current = current or doc.get("current-context") or None
        for key, into in (("contexts", contexts), ("clusters", clusters)):
            for entry in doc.get(key) or []:
                if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                    into.setdefault(entry["name"], entry.get(key[:-1]) or {})
    return current, contexts, clusters


def _in_cluster(context: str | None) -> Target:
    if context:
        raise KubeConfigError(f"context {context!r} requested but no kubeconfig was found")
    cfg = k8s.Configuration()
    try:
        InClusterConfigLoader(SERVICE_TOKEN_FILENAME, SERVICE_CERT_FILENAME).load_and_set(cfg)
    except ConfigException as exc:
        host = f"https://{os.environ.get(SERVICE_HOST_ENV_NAME)}:{os.environ.get(SERVICE_PORT_ENV_NAME)}"
        raise KubeConfigError(f"in-cluster configuration (context {IN_CLUSTER}, server {host}): {exc}") from None
    ns_file = Path(SERVICE_TOKEN_FILENAME).with_name("namespace")
    ns = ns_file.read_text().strip() if ns_file.is_file() else None
    return Target(cfg, IN_CLUSTER, cfg.host, ns)


def load_target(kubeconfig: str | None = None, context: str | None = None) -> Target:
    """Resolve the cluster to talk to, or raise KubeConfigError with one clear line."""
    paths = kubeconfig_paths(kubeconfig)
    if not paths:
        if os.environ.get(SERVICE_HOST_ENV_NAME) and os.environ.get(SERVICE_PORT_ENV_NAME):
            return _in_cluster(context)
        where = os.environ.get("KUBECONFIG") or "~/.kube/config"
        raise KubeConfigError(
            f"no kubeconfig found (looked at {where}) and not running in a cluster",
            hint="pass --kubeconfig FILE, set KUBECONFIG, or run `cnidoctor serve BUNDLE` for a local API",
        )
    shown = os.pathsep.join(str(p) for p in paths)
    current, contexts, clusters = _merged_names(paths)
    name = context or current
    if not name:
        raise KubeConfigError(f"kubeconfig {shown}: no current-context set", hint="pass --context NAME")
    if name not in contexts:
        known = ", ".join(sorted(contexts)) or "none"
        raise KubeConfigError(f"kubeconfig {shown}: context {name!r} not found (contexts: {known})")
    ctx = contexts[name] if isinstance(contexts[name], dict) else {}
    cluster = clusters.get(str(ctx.get("cluster")), {})
    server = str(cluster.get("server") or "?") if isinstance(cluster, dict) else "?"
    cfg = k8s.Configuration()
    try:
        merged = KubeConfigMerger(os.pathsep.join(str(p) for p in paths)).config
        KubeConfigLoader(config_dict=merged, active_context=name).load_and_set(cfg)
    except (ConfigException, KeyError, TypeError, ValueError, OSError) as exc:
        msg = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise KubeConfigError(f"kubeconfig {shown}, context {name!r} (server {server}): {msg}") from None
    namespace = ctx.get("namespace") if isinstance(ctx.get("namespace"), str) else None
    return Target(cfg, name, cfg.host or server, namespace)
