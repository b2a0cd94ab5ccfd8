"""A small, bounded API client over the official one: raw JSON, paging, retries, rate limit, our errors.

Responses are read with `_preload_content=False` and parsed as plain JSON (no model deserialisation).
Every request has a timeout no later than the global deadline; 429/5xx and broken connections are
retried with backoff honouring `Retry-After` (an answer asking to come back later up to 10 times, as
client-go does; no wait passes the deadline); an expired continue token restarts the list.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from cnidoctor.kube import errors
from cnidoctor.kube.config import Target
from cnidoctor.kube.resources import ResourceKind

CONNECT_TIMEOUT = 5.0
MAX_RETRY_AFTER = 30.0
THROTTLED_RETRIES = 10  # client-go's limit for an answer asking to come back later (429, or Retry-After)
MAX_LIST_RESTARTS = 3


class RateLimiter:
    """Token bucket shared by all workers (client-side QPS limit with a burst)."""

    def __init__(self, qps: float, burst: int) -> None:
        self.qps = max(qps, 0.001)
        self.burst = max(burst, 1)
        self._tokens = float(self.burst)
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self, deadline: float | None = None) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._last) * self.qps)
                self._last = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                wait = (1 - self._tokens) / self.qps
            if deadline is not None and time.monotonic() + wait > deadline:
                raise errors.Timeout("rate limit wait would pass the global timeout")
            time.sleep(wait)


@dataclass(frozen=True)
class RequestRecord:
    verb: str
    resource: str
    outcome: str  # HTTP status, or the error type for transport failures
    seconds: float


def translate(exc: BaseException, verb: str, resource: str, server: str = "") -> errors.KubeError:
    """Our error type for a client or transport exception (chained by the caller)."""
    where = f"{verb} {resource}"
    if isinstance(exc, errors.KubeError):
        return exc
    if isinstance(exc, ApiException):
        if not exc.status:
            return errors.Unavailable(f"{where}: {errors.short_body(exc.reason)}", verb=verb, resource=resource)
        cls = errors.error_for_status(int(exc.status))
        detail = errors.short_body(exc.body) or str(exc.reason or "")
        retry_after = None
        headers = exc.headers or {}
        value = headers.get("Retry-After") if hasattr(headers, "get") else None
        if value:
            try:
                retry_after = max(0.0, float(value))
            except ValueError:
                retry_after = None
        return cls(
            f"{where}: {exc.status} {exc.reason}: {detail}".rstrip(": "),
            verb=verb,
            resource=resource,
            status=int(exc.status),
            retry_after=retry_after,
        )
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        return translate(exc.reason, verb, resource, server)
    at = f" {server}" if server else ""
    if isinstance(exc, urllib3.exceptions.NewConnectionError):  # before timeouts: it subclasses one
        return errors.Unavailable(
            f"{where}: cannot connect to{at or ' the API server'}: {_reason(exc)}", verb=verb, resource=resource
        )
    if isinstance(exc, (urllib3.exceptions.TimeoutError, TimeoutError)):
        return errors.Timeout(f"{where}: request to{at or ' the API server'} timed out", verb=verb, resource=resource)
    if isinstance(exc, urllib3.exceptions.SSLError):
        return errors.Unavailable(
            f"{where}: TLS failure with{at or ' the API server'}: {_reason(exc)}", verb=verb, resource=resource
        )
    if isinstance(exc, (urllib3.exceptions.HTTPError, OSError)):
        return errors.Unavailable(
            f"{where}: connection to{at or ' the API server'} broken: {_reason(exc)}", verb=verb, resource=resource
        )
    if isinstance(exc, ValueError):
        return errors.ServerError(f"{where}: malformed response: {_reason(exc)}", verb=verb, resource=resource)
    raise exc


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused"
    return text[:200]


class KubeClient:
    """Thread-safe reads against one cluster; counts every request it sends."""

    def __init__(
        self,
        target: Target,
        *,
        qps: float = 50.0,
        burst: int = 100,
        request_timeout: float = 30.0,
        retries: int = 4,
        throttled_retries: int = THROTTLED_RETRIES,
        pool_size: int = 16,
        page_size: int = 500,
    ) -> None:
        cfg = target.configuration
        cfg.retries = False  # retries are ours: counted, backed off, bounded by the deadline
        cfg.connection_pool_maxsize = max(pool_size, 1)
        self.target = target
        self.api = k8s.ApiClient(cfg)
        self.api.user_agent = "cnidoctor"
        self.core = k8s.CoreV1Api(self.api)
        self.apps = k8s.AppsV1Api(self.api)
        self.networking = k8s.NetworkingV1Api(self.api)
        self.apiextensions = k8s.ApiextensionsV1Api(self.api)
        self.custom = k8s.CustomObjectsApi(self.api)
        self.limiter = RateLimiter(qps, burst)
        self.request_timeout = request_timeout
        self.retries = retries
        self.throttled_retries = throttled_retries
        self.page_size = page_size
        self.deadline: float | None = None
        self.records: list[RequestRecord] = []
        self._lock = threading.Lock()

    def close(self) -> None:
        self.api.close()

    # -- accounting -------------------------------------------------------------------------------
    def _record(self, verb: str, resource: str, outcome: str, started: float) -> None:
        with self._lock:
            self.records.append(RequestRecord(verb, resource, outcome, time.monotonic() - started))

    @property
    def request_count(self) -> int:
        return len(self.records)

    def request_summary(self) -> dict[str, int]:
        with self._lock:
            return dict(Counter(f"{r.verb} {r.resource.split(' ')[0]}" for r in self.records))

    # -- the one request path ---------------------------------------------------------------------
    def _call(self, verb: str, resource: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> bytes:
        retries: int | None = kwargs.pop("_retries", None)
        attempt = 0
        timeouts = 0
        while True:
            remaining = None if self.deadline is None else self.deadline - time.monotonic()
            if remaining is not None and remaining <= 0.05:
                raise errors.Timeout(
                    f"{verb} {resource}: not sent, the global --timeout was reached", verb=verb, resource=resource
                )
            self.limiter.acquire(self.deadline)
            read = self.request_timeout if remaining is None else max(0.05, min(self.request_timeout, remaining))
            timeout = (min(CONNECT_TIMEOUT, read), read)
            started = time.monotonic()
            try:
                resp = fn(*args, _preload_content=False, _request_timeout=timeout, **kwargs)
                try:
                    data = resp.data
                finally:
                    resp.release_conn()
                self._record(verb, resource, str(resp.status), started)
                return data
            except Exception as exc:  # translated below; anything untranslatable is re-raised
                err = translate(exc, verb, resource, self.target.server)
                self._record(verb, resource, str(err.status or type(err).__name__), started)
                if isinstance(err, errors.Timeout):
                    timeouts += 1
                if not err.retryable or attempt >= self._retry_limit(err, retries) or timeouts > 1:
                    raise err from exc
                delay = self._backoff(attempt, err.retry_after)
                if self.deadline is not None and time.monotonic() + delay >= self.deadline:
                    raise err from exc
                time.sleep(delay)
                attempt += 1

    def _retry_limit(self, err: errors.KubeError, override: int | None) -> int:
        """Retries allowed after ERR: more for a throttled answer (the server asks to come back later) than
        for a failure; a caller's own limit (a quick probe) wins."""
        if override is not None:
            return override
        throttled = isinstance(err, errors.TooManyRequests) or err.retry_after is not None
        return self.throttled_retries if throttled else self.retries

    @staticmethod
    def _backoff(attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER)
        return min(0.2 * (2**attempt), 5.0) * (0.5 + random.random() / 2)

    def _json(self, verb: str, resource: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> dict:
        data = self._call(verb, resource, fn, *args, **kwargs)
        try:
            doc = json.loads(data)
        except ValueError as exc:
            raise errors.ServerError(f"{verb} {resource}: response is not JSON", verb=verb, resource=resource) from exc
        if not isinstance(doc, dict):
            raise errors.ServerError(f"{verb} {resource}: response is not a JSON object", verb=verb, resource=resource)
        return doc

    # -- discovery --------------------------------------------------------------------------------
    def version(self, retries: int | None = None) -> dict:
        extra = {} if retries is None else {"_retries": retries}
        return self._json("get", "/version", k8s.VersionApi(self.api).get_code, **extra)

    def api_groups(self) -> dict:
        return self._json("get", "/apis", k8s.ApisApi(self.api).get_api_versions)

    def api_resources(self, group: str, version: str) -> dict:
        return self._json("get", f"/apis/{group}/{version}", self.custom.get_api_resources, group, version)

    # -- objects ----------------------------------------------------------------------------------
    _TYPED: dict[tuple[str, str], tuple[str, str, str | None]] = {
        ("", "nodes"): ("core", "list_node", None),
        ("", "namespaces"): ("core", "list_namespace", None),
        ("", "pods"): ("core", "list_pod_for_all_namespaces", "list_namespaced_pod"),
        ("", "events"): ("core", "list_event_for_all_namespaces", "list_namespaced_event"),
        ("", "services"): ("core", "list_service_for_all_namespaces", "list_namespaced_service"),
        ("", "endpoints"): ("core", "list_endpoints_for_all_namespaces", "list_namespaced_endpoints"),
        ("", "replicationcontrollers"): (
            "core",
            "list_replication_controller_for_all_namespaces",
            "list_namespaced_replication_controller",
        ),
        ("", "configmaps"): ("core", "list_config_map_for_all_namespaces", "list_namespaced_config_map"),
        ("apps", "daemonsets"): ("apps", "list_daemon_set_for_all_namespaces", "list_namespaced_daemon_set"),
        ("apps", "deployments"): ("apps", "list_deployment_for_all_namespaces", "list_namespaced_deployment"),
        ("apps", "replicasets"): ("apps", "list_replica_set_for_all_namespaces", "list_namespaced_replica_set"),
        ("networking.k8s.io", "networkpolicies"): (
            "networking",
            "list_network_policy_for_all_namespaces",
            "list_namespaced_network_policy",
        ),
        ("apiextensions.k8s.io", "customresourcedefinitions"): (
            "apiextensions",
            "list_custom_resource_definition",
            None,
        ),
    }

    def _lister(self, kind: ResourceKind, namespace: str | None) -> Callable[..., Any]:
        typed = self._TYPED.get((kind.group, kind.plural))
        if typed and kind.version == "v1":
            api, all_ns, in_ns = typed
            if namespace and kind.namespaced and in_ns:
                return partial(getattr(getattr(self, api), in_ns), namespace)
            return getattr(getattr(self, api), all_ns)
        if namespace and kind.namespaced:
            return partial(self.custom.list_namespaced_custom_object, kind.group, kind.version, namespace, kind.plural)
        return partial(self.custom.list_cluster_custom_object, kind.group, kind.version, kind.plural)

    @staticmethod
    def describe(kind: ResourceKind, namespace: str | None = None) -> str:
        if not kind.namespaced:
            return kind.group_resource
        return (
            f"{kind.group_resource} in namespace {namespace}"
            if namespace
            else f"{kind.group_resource} (all namespaces)"
        )

    def list(
        self,
        kind: ResourceKind,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        on_page: Callable[[int], None] | None = None,
    ) -> dict:
        """The whole List (all pages); an expired continue token restarts it from the first page."""
        fn = self._lister(kind, namespace)
        what = self.describe(kind, namespace)
        items: list = []
        token: str | None = None
        restarts = 0
        while True:
            kwargs: dict[str, Any] = {"limit": self.page_size}
            if token:
                kwargs["_continue"] = token
            if label_selector:
                kwargs["label_selector"] = label_selector
            try:
                doc = self._json("list", what, fn, **kwargs)
            except errors.Expired:
                if token and restarts < MAX_LIST_RESTARTS:
                    restarts += 1
                    items, token = [], None
                    continue
                raise
            page = doc.get("items")
            items.extend(page if isinstance(page, list) else [])
            if on_page:
                on_page(len(items))
            meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
            token = meta.get("continue") or None
            if not token:
                meta.pop("continue", None)
                meta.pop("remainingItemCount", None)
                doc["metadata"] = meta
                doc["items"] = items
                doc.setdefault("kind", f"{kind.kind}List")
                doc.setdefault("apiVersion", kind.api_version)
                return doc

    def get_configmap(self, namespace: str, name: str) -> dict:
        return self._json(
            "get", f"configmaps {namespace}/{name}", self.core.read_namespaced_config_map, name, namespace
        )

    def pod_log(
        self,
        namespace: str,
        pod: str,
        container: str,
        *,
        previous: bool = False,
        since_seconds: int | None = None,
        limit_bytes: int | None = None,
    ) -> bytes:
        """Raw log bytes of one container (current, or the previous instance)."""
        kwargs: dict[str, Any] = {"container": container}
        if previous:
            kwargs["previous"] = True
        if since_seconds:
            kwargs["since_seconds"] = int(since_seconds)
        if limit_bytes:
            kwargs["limit_bytes"] = int(limit_bytes)
        what = f"pods/log {namespace}/{pod} container {container}{' (previous)' if previous else ''}"
        return self._call("get", what, self.core.read_namespaced_pod_log, pod, namespace, **kwargs)
