"""Parser of the kubeconfig files CNI plugins keep in net.d (calico-kubeconfig, multus.kubeconfig).

Only what checks need is read: the API server and the service-account token's claims (the token's
signature is redacted in bundles, its claims are kept), so an expired CNI token can be spotted.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from cnidoctor.parse.errors import ParseError


@dataclass(frozen=True)
class TokenClaims:
    exp: int | None  # expiry, seconds since the epoch
    iat: int | None
    nbf: int | None
    sub: str | None  # e.g. system:serviceaccount:kube-system:calico-cni-plugin
    namespace: str | None
    service_account: str | None
    pod: str | None  # the pod a bound token was issued for


@dataclass(frozen=True)
class Kubeconfig:
    server: str | None  # server of the current context's cluster (or the first cluster)
    user: str | None
    token: str | None
    claims: TokenClaims | None  # None when there is no token or it is not a JWT


def _int(v: Any) -> int | None:
    return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and abs(v) < 1e18 else None


def _sstr(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def token_claims(token: str) -> TokenClaims | None:
    """The claims of a JWT (signature not checked); None if TOKEN is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        data = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    k8s = data.get("kubernetes.io")
    k8s = k8s if isinstance(k8s, dict) else {}
    sa = k8s.get("serviceaccount")
    pod = k8s.get("pod")
    return TokenClaims(
        exp=_int(data.get("exp")),
        iat=_int(data.get("iat")),
        nbf=_int(data.get("nbf")),
        sub=_sstr(data.get("sub")),
        namespace=_sstr(k8s.get("namespace")),
        service_account=_sstr(sa.get("name")) if isinstance(sa, dict) else None,
        pod=_sstr(pod.get("name")) if isinstance(pod, dict) else None,
    )


def _named(items: Any, name: Any, key: str) -> dict[str, Any]:
    """The KEY mapping of the entry called NAME in a kubeconfig list (or of the first entry)."""
    if not isinstance(items, list):
        return {}
    entries = [i for i in items if isinstance(i, dict)]
    chosen = next((e for e in entries if e.get("name") == name), entries[0] if entries else None)
    value = chosen.get(key) if chosen else None
    return value if isinstance(value, dict) else {}


def parse_kubeconfig(text: str, source: str = "<input>") -> Kubeconfig:
    """Parse a kubeconfig (YAML or JSON): server, user, token and the token's claims."""
    import yaml  # PyYAML: imported here so that importing cnidoctor.parse stays cheap

    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        raise ParseError(f"invalid YAML: {exc.problem or exc}", source, line) from None
    except Exception as exc:  # PyYAML raises assorted types on odd input
        raise ParseError(f"invalid YAML: {exc}", source, None) from None
    if not isinstance(data, dict):
        raise ParseError("expected a kubeconfig mapping", source, 1)
    ctx = _named(data.get("contexts"), data.get("current-context"), "context")
    cluster = _named(data.get("clusters"), ctx.get("cluster"), "cluster")
    users = data.get("users")
    user_name = ctx.get("user")
    if not isinstance(user_name, str) and isinstance(users, list) and users and isinstance(users[0], dict):
        user_name = users[0].get("name")
    user = _named(users, user_name, "user")
    token = _sstr(user.get("token"))
    return Kubeconfig(
        server=_sstr(cluster.get("server")),
        user=_sstr(user_name),
        token=token,
        claims=token_claims(token) if token else None,
    )
