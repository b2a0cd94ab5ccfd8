"""A tiny API endpoint for the exec tests: `pods/exec` over a real WebSocket (v4.channel.k8s.io) and pod
create/get/delete, on 127.0.0.1 over real HTTP, so `ExecRunner` and `KubeNodeAccess` talk to it with the
official client exactly as to a cluster.

Exec runs the requested command for real, through a `runner` callable chosen per pod (typically
`ip netns exec <node namespace> ...`). Like the kubelet: output is streamed as channel frames (1 stdout,
2 stderr), then a Status on channel 3 (Success, NonZeroExitCode with the code, or the runtime's
"executable file not found" failure), then a close frame.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import struct
import subprocess
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
Runner = Callable[[list[str]], subprocess.Popen]


def frame(payload: bytes, opcode: int = 0x2) -> bytes:
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([n])
    elif n < 1 << 16:
        head += bytes([126]) + struct.pack(">H", n)
    else:
        head += bytes([127]) + struct.pack(">Q", n)
    return head + payload


def _status(code: int | None, argv: list[str], missing: bool) -> bytes:
    if missing:
        return json.dumps(
            {
                "metadata": {},
                "status": "Failure",
                "reason": "InternalError",
                "message": f"OCI runtime exec failed: exec failed: unable to start container process: "
                f'exec: "{argv[0]}": executable file not found in $PATH: unknown',
            }
        ).encode()
    if code == 0:
        return json.dumps({"metadata": {}, "status": "Success"}).encode()
    return json.dumps(
        {
            "metadata": {},
            "status": "Failure",
            "reason": "NonZeroExitCode",
            "message": f"command terminated with non-zero exit code: exit status {code}",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
        }
    ).encode()


class FakeApi:
    """Serves exec for pods registered with `add_pod`, and pod create/get/delete; records requests."""

    def __init__(self) -> None:
        self.pods: dict[tuple[str, str], dict] = {}
        self.runners: dict[tuple[str, str], Runner] = {}
        self.on_create: Callable[[dict], Runner | None] | None = None
        self.waiting: dict[str, str] = {}  # image -> waiting reason (ErrImagePull...)
        self.requests: list[tuple[str, str]] = []
        self.deleted: list[str] = []
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                return

            def do_GET(self) -> None:  # noqa: N802
                api.get(self)

            def do_POST(self) -> None:  # noqa: N802
                api.post(self)

            def do_DELETE(self) -> None:  # noqa: N802
                api.delete(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> FakeApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def add_pod(self, namespace: str, name: str, runner: Runner, container: str = "main") -> None:
        self.pods[(namespace, name)] = {
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"containers": [{"name": container}]},
            "status": {"phase": "Running", "containerStatuses": [{"name": container, "state": {"running": {}}}]},
        }
        self.runners[(namespace, name)] = runner

    # -- HTTP ---------------------------------------------------------------------------------------
    def _send(self, h: BaseHTTPRequestHandler, code: int, doc: dict) -> None:
        body = json.dumps(doc).encode()
        h.send_response(code)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _not_found(self, h: BaseHTTPRequestHandler, name: str) -> None:
        self._send(
            h,
            404,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "reason": "NotFound",
                "code": 404,
                "message": f'pods "{name}" not found',
            },
        )

    def _route(self, path: str) -> tuple[str, str | None, str | None]:
        m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/pods(?:/([^/]+))?(?:/(exec))?", path)
        if not m:
            return "", None, None
        return m.group(1), m.group(2), m.group(3)

    def get(self, h: BaseHTTPRequestHandler) -> None:
        split = urlsplit(h.path)
        ns, name, sub = self._route(split.path)
        with self.lock:
            self.requests.append(("GET", split.path))
        if name and (ns, name) not in self.pods:
            self._not_found(h, name)
            return
        if sub == "exec":
            self.exec(h, ns, name or "", parse_qs(split.query))
            return
        pod = self.pods[(ns, name or "")]
        image = pod["spec"]["containers"][0].get("image", "")
        if image in self.waiting:
            pod = {
                **pod,
                "status": {
                    "phase": "Pending",
                    "containerStatuses": [
                        {
                            "name": pod["spec"]["containers"][0]["name"],
                            "state": {
                                "waiting": {"reason": self.waiting[image], "message": f"pull {image}: not found"}
                            },
                        }
                    ],
                },
            }
        self._send(h, 200, pod)

    def post(self, h: BaseHTTPRequestHandler) -> None:
        split = urlsplit(h.path)
        ns, _, _ = self._route(split.path)
        body = json.loads(h.rfile.read(int(h.headers.get("Content-Length") or 0)))
        with self.lock:
            self.requests.append(("POST", split.path))
        name = body["metadata"]["name"]
        runner = self.on_create(body) if self.on_create else None
        body["status"] = {
            "phase": "Running",
            "containerStatuses": [{"name": body["spec"]["containers"][0]["name"], "state": {"running": {}}}],
        }
        self.pods[(ns, name)] = body
        if runner is not None:
            self.runners[(ns, name)] = runner
        self._send(h, 201, body)

    def delete(self, h: BaseHTTPRequestHandler) -> None:
        split = urlsplit(h.path)
        ns, name, _ = self._route(split.path)
        length = int(h.headers.get("Content-Length") or 0)
        if length:
            h.rfile.read(length)
        with self.lock:
            self.requests.append(("DELETE", split.path))
        if (ns, name) not in self.pods:
            self._not_found(h, name or "")
            return
        pod = self.pods.pop((ns, name or ""))
        self.deleted.append(name or "")
        self._send(h, 200, pod)

    # -- exec over WebSocket --------------------------------------------------------------------------
    def exec(self, h: BaseHTTPRequestHandler, ns: str, name: str, q: dict[str, list[str]]) -> None:
        key = h.headers.get("Sec-WebSocket-Key")
        if not key or h.headers.get("Upgrade", "").lower() != "websocket":
            self._send(h, 400, {"kind": "Status", "status": "Failure", "message": "Upgrade request required"})
            return
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        h.send_response(101)
        h.send_header("Upgrade", "websocket")
        h.send_header("Connection", "Upgrade")
        h.send_header("Sec-WebSocket-Accept", accept)
        h.send_header("Sec-WebSocket-Protocol", "v4.channel.k8s.io")
        h.end_headers()
        h.wfile.flush()
        sock: socket.socket = h.connection
        argv = q.get("command", [])
        try:
            proc = self.runners[(ns, name)](argv)
        except FileNotFoundError:
            proc = None
        try:
            if proc is None:
                sock.sendall(frame(b"\x03" + _status(None, argv, True)))
            else:
                self._pump(sock, proc)
                sock.sendall(frame(b"\x03" + _status(proc.returncode, argv, False)))
            sock.sendall(frame(b"", 0x8))
        except OSError:  # the client hung up (timeout, output cap): stop the command
            if proc is not None and proc.poll() is None:
                proc.kill()
        finally:
            if proc is not None:
                proc.wait()
        h.close_connection = True

    @staticmethod
    def _pump(sock: socket.socket, proc: subprocess.Popen) -> None:
        def relay(stream, channel: int) -> None:  # noqa: ANN001
            for chunk in iter(lambda: stream.read1(32768), b""):
                sock.sendall(frame(bytes([channel]) + chunk))

        err = threading.Thread(target=relay, args=(proc.stderr, 2), daemon=True)
        err.start()
        relay(proc.stdout, 1)
        err.join()
        proc.wait()


def netns_runner(ns: str, strip_nsenter: bool = False) -> Runner:
    """Run exec'd commands inside network namespace NS (a probe's `nsenter ... --` prefix removed)."""

    def run(argv: list[str]) -> subprocess.Popen:
        if strip_nsenter and argv[:1] == ["nsenter"] and "--" in argv:
            argv = argv[argv.index("--") + 1 :]
        if (
            argv
            and argv[0] not in ("sh", "cat", "ls")
            and subprocess.run(["sh", "-c", 'command -v "$1"', "sh", argv[0]], capture_output=True).returncode != 0
        ):
            raise FileNotFoundError(argv[0])
        return subprocess.Popen(["ip", "netns", "exec", ns, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    return run
