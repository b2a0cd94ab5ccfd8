"""`ExecRunner`: run a command in a pod's container over the API's exec stream (`pods/exec`).

Uses the official client's WebSocket stream (`kubernetes.stream.stream`, imported lazily). Each
runner has its own ApiClient: the stream helper swaps the client's transport while it connects, so
sharing one with the list/log workers would be unsafe. Output is read frame by frame, so the byte cap
and the timeout hold however much the command prints; the exit status comes from the error channel.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cnidoctor.node.runner import STDERR_CAP, CommandResult

if TYPE_CHECKING:
    from cnidoctor.kube.client import KubeClient

CONNECT_TIMEOUT = 10.0
STDOUT, STDERR, ERROR = 1, 2, 3
_NOT_FOUND = ("executable file not found", "no such file or directory", "not found in $path")


def exit_status(raw: bytes | str) -> tuple[int | None, bool, str | None]:
    """(exit code, command not found, error) from the exec error channel's Status document."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if not text.strip():
        return None, False, "the exec stream closed without an exit status"
    try:
        doc = json.loads(text)
    except ValueError:
        return None, False, f"unreadable exec status: {text[:200]}"
    if not isinstance(doc, dict):
        return None, False, f"unreadable exec status: {text[:200]}"
    if doc.get("status") == "Success":
        return 0, False, None
    causes = (doc.get("details") or {}).get("causes") or []
    for c in causes:
        if isinstance(c, dict) and c.get("reason") == "ExitCode":
            try:
                return int(c.get("message")), False, None
            except (TypeError, ValueError):
                break
    message = str(doc.get("message") or doc.get("reason") or text)[:300]
    if any(s in message.lower() for s in _NOT_FOUND):
        return 127, True, None
    return None, False, message


def _handshake_error(exc: BaseException, what: str) -> str | None:
    """`create pods/exec ns/pod: 403 Forbidden: <Status message>` when the API refused the exec upgrade."""
    from cnidoctor.kube.errors import short_body

    seen: BaseException | None = exc
    while seen is not None:
        code = getattr(seen, "status_code", None)
        if isinstance(code, int):
            reasons = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}
            body = short_body(getattr(seen, "resp_body", None))
            return f"create {what}: {code} {reasons.get(code, '')}".rstrip() + (f": {body}" if body else "")
        seen = seen.__cause__ or seen.__context__
    return None


class ExecRunner:
    """Runs commands in CONTAINER of NAMESPACE/POD; PREFIX goes before each (e.g. nsenter into the host)."""

    def __init__(
        self,
        client: KubeClient,
        namespace: str,
        pod: str,
        container: str,
        *,
        prefix: Sequence[str] = (),
        method: str = "exec",
    ) -> None:
        from kubernetes import client as k8s

        self.client = client
        self.namespace = namespace
        self.pod = pod
        self.container = container
        self.prefix = tuple(prefix)
        self.method = method
        self.where = f"pod {namespace}/{pod} container {container}"
        self._api = k8s.ApiClient(client.target.configuration)
        self._core = k8s.CoreV1Api(self._api)

    def close(self) -> None:
        self._api.close()

    def _connect(self, argv: Sequence[str]) -> Any:
        import websocket
        from kubernetes.stream import stream

        websocket.setdefaulttimeout(CONNECT_TIMEOUT)
        self.client.limiter.acquire(self.client.deadline)
        return stream(
            self._core.connect_get_namespaced_pod_exec,
            self.pod,
            self.namespace,
            command=[*self.prefix, *argv],
            container=self.container,
            stdin=False,
            stdout=True,
            stderr=True,
            tty=False,
            binary=True,
            _preload_content=False,
        )

    def run(self, argv: Sequence[str], *, timeout: float, max_bytes: int) -> CommandResult:
        from cnidoctor.kube.client import translate

        started = time.monotonic()
        if self.client.deadline is not None:
            timeout = min(timeout, self.client.deadline - started)
        what = f"pods/exec {self.namespace}/{self.pod}"
        try:
            ws = self._connect(argv)
        except Exception as exc:  # ApiException (403, 404, handshake), websocket or socket errors
            message = _handshake_error(exc, what)
            if message is None:
                try:
                    message = translate(exc, "create", what, self.client.target.server).message
                except Exception:  # noqa: BLE001 - an exception translate does not know
                    message = f"create {what}: {type(exc).__name__}: {exc}"
            return CommandResult(tuple(argv), None, b"", b"", time.monotonic() - started, error=message)
        out, err = bytearray(), bytearray()
        timed_out = truncated = False
        try:
            while ws.is_open():
                left = started + timeout - time.monotonic()
                if left <= 0:
                    timed_out = True
                    break
                ws.update(timeout=min(left, 0.5))
                out += ws.read_channel(STDOUT) or b""
                chunk = ws.read_channel(STDERR) or b""
                err += chunk[: max(0, STDERR_CAP - len(err))]
                if len(out) > max_bytes:
                    del out[max_bytes:]
                    truncated = True
                    break
            status = b"" if timed_out or truncated else ws.read_channel(ERROR) or b""
            out += b"" if truncated or timed_out else (ws.read_channel(STDOUT) or b"")
        except Exception as exc:  # the connection broke mid-stream
            return CommandResult(
                tuple(argv),
                None,
                bytes(out),
                bytes(err),
                time.monotonic() - started,
                error=f"exec stream to {self.where} broke: {type(exc).__name__}: {exc}",
            )
        finally:
            if timed_out or truncated:  # do not wait for the command to end: drop the connection now
                with contextlib.suppress(Exception):
                    ws.sock.shutdown()
            ws.close()
        seconds = time.monotonic() - started
        if timed_out or truncated:
            return CommandResult(
                tuple(argv), None, bytes(out), bytes(err), seconds, timed_out=timed_out, truncated=truncated
            )
        code, not_found, error = exit_status(status)
        if not_found and not err:
            err += f"{argv[0]}: command not found".encode()
        return CommandResult(tuple(argv), code, bytes(out), bytes(err), seconds, not_found=not_found, error=error)
