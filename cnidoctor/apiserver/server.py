"""The HTTP side of the local API server: routing, RBAC, faults, paging, logs and the request log."""

from __future__ import annotations

import base64
import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from cnidoctor.apiserver import tables
from cnidoctor.apiserver.faults import Fault, Faults
from cnidoctor.apiserver.logtime import since_filter
from cnidoctor.apiserver.rbac import Authorizer, Rule
from cnidoctor.apiserver.selectors import SelectorError, field_selector, label_selector
from cnidoctor.apiserver.store import BundleStore, Served
from cnidoctor.bundle.reader import Bundle

HOST = "127.0.0.1"
CONTEXT = "cnidoctor-bundle"
SHORT_NAMES = {
    "pods": ["po"],
    "nodes": ["no"],
    "namespaces": ["ns"],
    "services": ["svc"],
    "endpoints": ["ep"],
    "events": ["ev"],
    "configmaps": ["cm"],
    "replicationcontrollers": ["rc"],
    "daemonsets": ["ds"],
    "deployments": ["deploy"],
    "replicasets": ["rs"],
    "networkpolicies": ["netpol"],
    "customresourcedefinitions": ["crd", "crds"],
}


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False  # send half the body, then a TCP reset


@dataclass
class Request:
    """One request as the API server sees it (also the request-log entry)."""

    method: str
    path: str
    query: dict[str, str]
    verb: str = ""
    group: str = ""
    resource: str = ""  # plural, or plural/subresource
    namespace: str | None = None
    name: str | None = None
    status: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "verb": self.verb,
            "group": self.group,
            "resource": self.resource,
            "namespace": self.namespace,
            "name": self.name,
            "status": self.status,
            "seconds": round(self.seconds, 4),
        }


def status_body(code: int, reason: str, message: str, details: dict | None = None) -> bytes:
    doc = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        doc["details"] = details
    return json.dumps(doc).encode()


def _error(code: int, reason: str, message: str, **headers: str) -> Response:
    return Response(code, status_body(code, reason, message), headers=dict(headers))


def _json(doc: object) -> Response:
    return Response(200, json.dumps(doc, separators=(",", ":")).encode())


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    api: LocalApiServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the request log is ours
        return

    def do_GET(self) -> None:  # noqa: N802
        self.server.api.handle(self)

    def _read_only(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.api.handle(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _read_only  # noqa: N815


class LocalApiServer:
    """Serve BUNDLE on 127.0.0.1 (random free port unless PORT); use as a context manager or start/stop."""

    def __init__(
        self,
        bundle: Bundle,
        *,
        rules: list[Rule] | None = None,
        faults: list[Fault] | None = None,
        port: int = 0,
        page_size_cap: int = 0,
        on_request: Callable[[Request], None] | None = None,
    ) -> None:
        self.store = BundleStore(bundle)
        self.authorizer = Authorizer(rules)
        self.faults = Faults(faults)
        self.page_size_cap = page_size_cap  # a server may return fewer items than `limit`
        self.on_request = on_request
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self.httpd = _HTTPServer((HOST, port), _Handler)
        self.httpd.api = self
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LocalApiServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="cnidoctor-apiserver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> LocalApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def kubeconfig(self, context: str = CONTEXT, namespace: str = "default") -> str:
        """A kubeconfig that points kubectl (or cnidoctor) at this server."""
        return (
            "apiVersion: v1\nkind: Config\n"
            f"clusters:\n- name: {context}\n  cluster:\n    server: {self.url}\n"
            f"contexts:\n- name: {context}\n  context:\n    cluster: {context}\n    user: {context}\n"
            f"    namespace: {namespace}\n"
            f"current-context: {context}\n"
            f"users:\n- name: {context}\n  user: {{}}\n"
        )

    # -- request handling -------------------------------------------------------------------------
    def handle(self, h: _Handler) -> None:
        started = time.monotonic()
        split = urlsplit(h.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        req = Request(h.command, split.path, query)
        try:
            if h.command != "GET":
                resp = _error(
                    405, "MethodNotAllowed", f"the cnidoctor local API server is read-only: {h.command} is not allowed"
                )
            else:
                resp = self.route(req, h.headers.get("Accept", ""))
        except Exception as exc:  # a bug here must answer 500, not kill the connection
            resp = _error(500, "InternalError", f"{type(exc).__name__}: {exc}")
        req.status = resp.status
        req.seconds = time.monotonic() - started
        with self._lock:
            self.requests.append(req)
        if self.on_request:
            self.on_request(req)
        self._send(h, resp)

    def _send(self, h: _Handler, resp: Response) -> None:
        try:
            h.send_response(resp.status)
            h.send_header("Content-Type", resp.content_type)
            h.send_header("Content-Length", str(len(resp.body)))
            for k, v in resp.headers.items():
                h.send_header(k, v)
            h.end_headers()
            if resp.reset:
                h.wfile.write(resp.body[: len(resp.body) // 2])
                h.wfile.flush()
                h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                h.close_connection = True
                h.connection.close()
                return
            h.wfile.write(resp.body)
        except OSError:
            h.close_connection = True

    def route(self, req: Request, accept: str) -> Response:
        segs = [s for s in req.path.split("/") if s]
        if not segs:
            return _json({"paths": ["/api", "/api/v1", "/apis", "/version", "/healthz"]})
        if segs[0] in ("healthz", "livez", "readyz") and len(segs) == 1:
            return Response(200, b"ok", "text/plain")
        if segs == ["version"]:
            return _json(self.store.version)
        if segs == ["api"]:
            return _json(
                {
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": HOST}],
                }
            )
        if segs == ["apis"]:
            return _json(
                {"kind": "APIGroupList", "apiVersion": "v1", "groups": [self._group(g) for g in self._groups() if g]}
            )
        if segs[0] == "api" and len(segs) >= 2:
            group, version, rest = "", segs[1], segs[2:]
        elif segs[0] == "apis" and len(segs) >= 2:
            group = segs[1]
            if not group or group not in self._groups():
                return _error(404, "NotFound", "the server could not find the requested resource")
            if len(segs) == 2:
                return _json({"kind": "APIGroup", "apiVersion": "v1", **self._group(group)})
            version, rest = segs[2], segs[3:]
        else:
            return _error(404, "NotFound", "the server could not find the requested resource")
        if self._groups().get(group) != version:
            return _error(404, "NotFound", "the server could not find the requested resource")
        if not rest:
            return _json(self._resource_list(group, version))
        return self._resource(req, group, rest, accept)

    # -- discovery ----------------------------------------------------------------------------------
    def _groups(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for (group, _), s in sorted(self.store.resources.items()):
            out.setdefault(group, s.kind.version)
        return out

    def _group(self, group: str) -> dict:
        gv = {"groupVersion": f"{group}/{self._groups()[group]}", "version": self._groups()[group]}
        return {"name": group, "versions": [gv], "preferredVersion": gv}

    def _resource_list(self, group: str, version: str) -> dict:
        res = []
        for (g, plural), s in sorted(self.store.resources.items()):
            if g != group:
                continue
            res.append(
                {
                    "name": plural,
                    "singularName": s.kind.kind.lower(),
                    "namespaced": s.kind.namespaced,
                    "kind": s.kind.kind,
                    "verbs": ["get", "list"],
                    "shortNames": SHORT_NAMES.get(plural, []),
                }
            )
            if plural == "pods":
                res.append(
                    {"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]}
                )
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}".lstrip("/"),
            "resources": res,
        }

    # -- resources ----------------------------------------------------------------------------------
    def _resource(self, req: Request, group: str, rest: list[str], accept: str) -> Response:
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        if len(rest) > 3:
            return _error(404, "NotFound", "the server could not find the requested resource")
        plural, name = rest[0], rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else ""
        served = self.store.resources.get((group, plural))
        if served is None or (namespace and not served.kind.namespaced) or (sub and (plural, sub) != ("pods", "log")):
            return _error(404, "NotFound", "the server could not find the requested resource")
        verb = "get" if name else ("watch" if req.query.get("watch") in ("1", "true") else "list")
        req.verb, req.group, req.namespace, req.name = verb, group, namespace, name
        req.resource = f"{plural}/{sub}" if sub else plural
        if not self.authorizer.allows(verb, group, req.resource, name):
            return Response(
                403,
                status_body(
                    403,
                    "Forbidden",
                    Authorizer.denial(verb, group, req.resource, name, namespace),
                    {"name": name, "group": group, "kind": plural} if name else {"group": group, "kind": plural},
                ),
            )
        has_continue = bool(req.query.get("continue"))
        faults = self.faults.take(req.resource, has_continue)
        for f in faults:
            if f.kind == "slow":
                time.sleep(f.delay)
        failure = next((f for f in faults if f.kind != "slow"), None)
        if failure and failure.kind == "403":
            return _error(403, "Forbidden", Authorizer.denial(verb, group, req.resource, name, namespace))
        if failure and failure.kind == "404":
            return _error(404, "NotFound", "the server could not find the requested resource")
        if failure and failure.kind == "429":
            return _error(
                429,
                "TooManyRequests",
                "Too many requests, please try again later.",
                **{"Retry-After": f"{failure.retry_after:g}"},
            )
        if failure and failure.kind == "500":
            return _error(500, "InternalError", "Internal error occurred: injected fault")
        if failure and failure.kind == "410":
            return _error(
                410,
                "Expired",
                "The provided continue parameter is too old to display a consistent "
                "list result. You can start a new list without the continue parameter.",
            )
        if verb == "watch":
            return _error(405, "MethodNotAllowed", "watch is not supported by the cnidoctor local API server")
        if sub == "log":
            return self._log(served, namespace, name or "", req.query)
        if name:
            return self._get(served, namespace, name)
        resp = self._list(served, namespace, req, accept)
        if failure and failure.kind == "reset":
            resp.reset = True
        return resp

    def _get(self, served: Served, namespace: str | None, name: str) -> Response:
        for obj in served.objects:
            meta = obj.get("metadata") or {}
            if meta.get("name") == name and (not served.kind.namespaced or meta.get("namespace") == namespace):
                return _json({"kind": served.kind.kind, "apiVersion": served.kind.api_version, **obj})
        what = served.kind.group_resource
        return Response(
            404,
            status_body(
                404,
                "NotFound",
                f'{what} "{name}" not found',
                {"name": name, "group": served.kind.group, "kind": served.kind.plural},
            ),
        )

    def _list(self, served: Served, namespace: str | None, req: Request, accept: str) -> Response:
        try:
            by_label = label_selector(req.query.get("labelSelector"))
            by_field = field_selector(req.query.get("fieldSelector"))
        except SelectorError as exc:
            return _error(400, "BadRequest", str(exc))
        objects = [
            o
            for o in served.objects
            if (namespace is None or (o.get("metadata") or {}).get("namespace") == namespace)
            and by_label(o)
            and by_field(o)
        ]
        key = f"{req.path}?{req.query.get('labelSelector', '')}&{req.query.get('fieldSelector', '')}"
        start = 0
        token = req.query.get("continue")
        if token:
            try:
                state = json.loads(base64.urlsafe_b64decode(token.encode()))
                start = int(state["start"])
                if state["key"] != key:
                    raise ValueError("other query")
            except (ValueError, KeyError, TypeError):
                return _error(400, "BadRequest", "continue key is not valid")
        limit = 0
        try:
            limit = int(req.query.get("limit") or 0)
        except ValueError:
            return _error(400, "BadRequest", "limit must be an integer")
        if self.page_size_cap:
            limit = min(limit, self.page_size_cap) if limit else self.page_size_cap
        end = len(objects) if limit <= 0 else min(len(objects), start + limit)
        meta: dict = {"resourceVersion": "1"}
        if end < len(objects):
            meta["continue"] = base64.urlsafe_b64encode(json.dumps({"start": end, "key": key}).encode()).decode()
            meta["remainingItemCount"] = len(objects) - end
        page = objects[start:end]
        if "as=Table" in accept:
            return _json(tables.table(served.kind.plural, page, self.store.now, meta))
        return _json(
            {"kind": f"{served.kind.kind}List", "apiVersion": served.kind.api_version, "metadata": meta, "items": page}
        )

    def _log(self, served: Served, namespace: str | None, pod_name: str, q: dict[str, str]) -> Response:
        pod = self.store.pods.get((namespace, pod_name))
        if pod is None:
            return Response(
                404, status_body(404, "NotFound", f'pods "{pod_name}" not found', {"name": pod_name, "kind": "pods"})
            )
        spec = pod.get("spec") or {}
        regular = [c.get("name") for c in spec.get("containers") or [] if isinstance(c, dict)]
        init = [c.get("name") for c in spec.get("initContainers") or [] if isinstance(c, dict)]
        container = q.get("container") or ""
        if not container:
            if len(regular) != 1:
                return _error(
                    400,
                    "BadRequest",
                    f"a container name must be specified for pod {pod_name}, choose "
                    f"one of: [{' '.join(str(c) for c in regular)}] or one of the init containers: "
                    f"[{' '.join(str(c) for c in init)}]",
                )
            container = str(regular[0])
        if container not in regular + init:
            return _error(400, "BadRequest", f"container {container} is not valid for pod {pod_name}")
        if q.get("follow") in ("1", "true"):
            return _error(400, "BadRequest", "follow is not supported by the cnidoctor local API server")
        previous = q.get("previous") in ("1", "true")
        data = self.store.log(str(namespace), pod_name, container, previous)
        if data is None and previous:
            return _error(
                400, "BadRequest", f'previous terminated container "{container}" in pod "{pod_name}" not found'
            )
        if data is None:
            waiting = _waiting_reason(pod, container)
            if waiting:
                return _error(
                    400, "BadRequest", f'container "{container}" in pod "{pod_name}" is waiting to start: {waiting}'
                )
            data = b""
        try:
            since = int(q.get("sinceSeconds") or 0)
            tail = int(q["tailLines"]) if q.get("tailLines") else None
            limit = int(q.get("limitBytes") or 0)
        except ValueError:
            return _error(400, "BadRequest", "sinceSeconds, tailLines and limitBytes must be integers")
        if since > 0:
            year = time.gmtime(self.store.now).tm_year
            data = since_filter(data, self.store.now - since, year)
        if tail is not None:
            lines = data.splitlines(keepends=True)
            data = b"".join(lines[-tail:]) if tail > 0 else b""
        if limit > 0:
            data = data[:limit]
        return Response(200, data, "text/plain")


def _waiting_reason(pod: dict, container: str) -> str | None:
    """Why a container that never ran has no log (`ContainerCreating`, `PodInitializing`...)."""
    status = pod.get("status") or {}
    for key in ("containerStatuses", "initContainerStatuses"):
        for cs in status.get(key) or []:
            if isinstance(cs, dict) and cs.get("name") == container:
                waiting = (cs.get("state") or {}).get("waiting")
                if isinstance(waiting, dict) and not cs.get("restartCount") and not (cs.get("lastState") or {}):
                    return str(waiting.get("reason") or "ContainerCreating")
                return None
    return None
