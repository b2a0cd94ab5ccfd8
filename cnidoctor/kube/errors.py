"""cnidoctor's own API error types, so no other module needs the client's exception classes.

Every error names the verb and resource it came from; bodies are truncated to one short line.
"""

from __future__ import annotations

import json

from cnidoctor.errors import CnidoctorError

MAX_BODY = 300


class KubeConfigError(CnidoctorError):
    """The kubeconfig is missing, unreadable or names an unknown context."""


class KubeError(CnidoctorError):
    """A failed API request: verb, resource, HTTP status (None for transport errors) and a short reason."""

    status: int | None = None
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        verb: str = "",
        resource: str = "",
        status: int | None = None,
        retry_after: float | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.verb = verb
        self.resource = resource
        if status is not None:
            self.status = status
        self.retry_after = retry_after

    @property
    def what(self) -> str:
        """`list pods`, `get pods/log kube-system/x`..."""
        return f"{self.verb} {self.resource}".strip()


class BadRequest(KubeError):
    status = 400


class Unauthorized(KubeError):
    status = 401


class Forbidden(KubeError):
    status = 403


class NotFound(KubeError):
    status = 404


class Expired(KubeError):
    """410 Gone: a continue token (or resource version) is too old."""

    status = 410


class TooManyRequests(KubeError):
    status = 429
    retryable = True


class ServerError(KubeError):
    status = 500
    retryable = True


class Unavailable(KubeError):
    """No HTTP answer: connection refused, reset, DNS or TLS failure."""

    retryable = True


class Timeout(KubeError):
    """The request or the global --timeout ran out."""

    retryable = True


_BY_STATUS: dict[int, type[KubeError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    410: Expired,
    429: TooManyRequests,
}


def error_for_status(status: int) -> type[KubeError]:
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if 500 <= status <= 599:
        return ServerError
    return KubeError


def short_body(body: bytes | str | None) -> str:
    """The Status `message` of an error body, or its first line, truncated."""
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("message"), str):
        text = doc["message"]
    text = " ".join(text.split())
    return text if len(text) <= MAX_BODY else text[: MAX_BODY - 3] + "..."
