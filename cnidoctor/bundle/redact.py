"""Redaction on write: secret data never enters a bundle; IP addresses, names and paths stay.

Two layers, both counted per (rule, file) for the manifest:
- structure: API objects are walked; values of env vars, ConfigMap keys and object fields whose *names*
  say secret/token/password/key are masked, and the `last-applied-configuration` annotation is dropped;
- text: every string (and every log) is searched for secret *shapes*: PEM private keys, JWTs (service
  account tokens), bearer tokens and Basic credentials, passwords in URLs, `password=...`-style assignments
  (`AccountKey=` of cloud connection strings too), BGP passwords, WireGuard and IPsec keys.

A name that ends in file/path/dir/name/ref (`ipsec-key-file`, `tokenPath`) is a reference, not a secret,
and booleans and numbers are never masked: the diagnosis needs them.
"""

from __future__ import annotations

import functools
import re
import threading
from collections import Counter
from collections.abc import Callable

MASK = "<redacted:{rule}>"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

_SECRET_WORDS = {
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "key",
    "apikey",
    "credential",
    "credentials",
    "privatekey",
    "psk",
    "passphrase",
}
_SECRET_SUFFIXES = (
    "password",
    "passwd",
    "secret",
    "token",
    "privatekey",
    "apikey",
    "secretkey",
    "accesskey",
    "authkey",
    "presharedkey",
    "credentials",
)
_REFERENCE_WORDS = {
    "file",
    "files",
    "path",
    "paths",
    "dir",
    "name",
    "names",
    "ref",
    "refs",
    "url",
    "uri",
    "size",
    "length",
    "type",
    "mode",
    "id",
    "ids",
    "interval",
    "period",
    "rotation",
    "duration",
    "ttl",
    "enabled",
    "enable",
    "required",
    "selector",
    "namespace",
    "algorithm",
    "bits",
    "index",
    "format",
    "source",
    "mount",
    "location",
    "prefix",
    "count",
    "public",
}
_BORING_VALUES = {
    "true",
    "false",
    "null",
    "none",
    "nil",
    "yes",
    "no",
    "on",
    "off",
    "enabled",
    "disabled",
    "",
    "required",
    "optional",
    "auto",
    "default",
    "unset",
    "empty",
}

_SCALARS = frozenset({int, float, bool, type(None)})
_CACHED_LEN = 256  # strings up to this long repeat (names, states, images, container IDs): results are cached

# A cheap prefilter: strings without any of these (in any case) cannot hold a secret shape. It runs on
# the casefolded string, five times faster than `(?i)`; the only letters `(?i)` matches that casefold
# does not turn into the same ASCII letter are dotless i and dotted capital I (casefolded to i + U+0307).
_MAYBE = re.compile(
    r"beg(?:i\u0307?|\u0131)n|eyj|bearer|://|pass|secret|token|key|rfc\d|psk|credent(?:i\u0307?|\u0131)al|auth|pwd"
)


def maybe_secret(text: str) -> bool:
    """False when TEXT cannot match any redaction rule (`(?i)BEGIN|eyJ|bearer|://|pass|secret|...`)."""
    if len(text) > _CACHED_LEN:
        return _MAYBE.search(text.casefold()) is not None
    return _short_maybe_secret(text)


@functools.lru_cache(maxsize=1 << 18)
def _short_maybe_secret(text: str) -> bool:
    return _MAYBE.search(text.casefold()) is not None


@functools.lru_cache(maxsize=1 << 16)
def name_says_secret(name: str) -> bool:
    """`DB_PASSWORD`, `apiToken`, `tls.key` yes; `ipsec-key-file`, `tokenPath`, `publicKey`, `key` alone no."""
    words = [w.lower() for w in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z0-9])", name)]
    if not words or words == ["key"] or any(w == "public" for w in words):
        return False
    if not any(w in _SECRET_WORDS or w.endswith(_SECRET_SUFFIXES) for w in words):
        return False
    return words[-1] not in _REFERENCE_WORDS


def value_may_be_secret(value: str) -> bool:
    v = value.strip().strip("\"'")
    if v.lower() in _BORING_VALUES or v.startswith(("<redacted", "$(", "${", "{{")):
        return False
    return not re.fullmatch(r"[-+]?\d{1,7}(\.\d+)?[a-zA-Z]{0,2}", v)  # a long run of digits may be a PIN


def _looks_like_secret_token(v: str) -> bool:
    """For free-text `key: value` hits: a value that is not plain prose or a path."""
    if not value_may_be_secret(v) or v.startswith(("/", "./", "~")) or "<redacted:" in v:
        return False
    return any(c.isdigit() for c in v) or any(not c.isalnum() for c in v) or len(v) >= 16


_KV_WORDS = (
    r"(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|"
    r"client[_-]?key(?:[_-]?data)?|auth[_-]?key|account[_-]?key|credentials?|passphrase|psk)"
)

# (rule, pattern, index of the group to mask (0 = whole match), optional guard on that group)
TextRule = tuple[str, re.Pattern[str], int, Callable[[str], bool] | None]
TEXT_RULES: list[TextRule] = [
    (
        "private-key",
        re.compile(r"-----BEGIN (?P<t>[A-Z0-9 ]*)PRIVATE KEY-----.{0,20000}?-----END (?P=t)PRIVATE KEY-----", re.S),
        0,
        None,
    ),
    ("private-key", re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?:[A-Za-z0-9+/=\s]|\\n|\\r)*"), 0, None),
    # A JWT keeps its header and claims (expiry, service account: what checks read); the signature, the
    # part that makes it usable, is masked.
    ("jwt", re.compile(r"\b(eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.)([A-Za-z0-9_-]+)"), 2, None),
    ("bearer-token", re.compile(r"(?i)\b(bearer)(\s+)([A-Za-z0-9\-._~+/]{8,}=*)"), 3, None),
    ("basic-auth", re.compile(r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?basic\s+)([A-Za-z0-9+/]{8,}=*)"), 2, None),
    ("url-password", re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@\"'<>]+:)([^\s@/\"'<>]+)(@)"), 2, None),
    ("bgp-password", re.compile(r"(?i)(\bpassword\s+\")([^\"]+)(\")"), 2, None),
    (
        "wireguard-key",
        re.compile(r"(?i)((?:private|preshared)[\s_-]?key\s*[=:]\s*[\"']?)([A-Za-z0-9+/]{42,43}=)"),
        2,
        None,
    ),
    (
        "ipsec-key",
        re.compile(r"(?i)((?:rfc\d+\(\w+\(\w+\)\)|cbc\(aes\)|gcm\(aes\)|hmac\(sha\d+\))\s+)((?:0x)?[0-9a-f]{16,})"),
        2,
        None,
    ),
    ("ipsec-key", re.compile(r"(?i)(:\s*PSK\s+[\"']?)([^\"'\s]+)"), 2, None),
    (
        "secret-assignment",
        re.compile(
            r"(?i)([\"']?(?:--?)?\b[a-z0-9_.-]*?" + _KV_WORDS + r"[\"']?\s*[:=]\s*[\"']?)([^\s\"',;&{}\[\]]{6,})"
        ),
        2,
        _looks_like_secret_token,
    ),
]


def masked(text: str) -> tuple[str, tuple[tuple[str, int], ...]]:
    """TEXT with every secret shape masked, and how many of each rule were masked."""
    hits: list[tuple[str, int]] = []
    for rule, pattern, group, guard in TEXT_RULES:
        text, n = _apply(rule, pattern, group, guard, text)
        if n:
            hits.append((rule, n))
    return text, tuple(hits)


_masked_short = functools.lru_cache(maxsize=1 << 14)(masked)


def _apply(
    rule: str, pattern: re.Pattern[str], group: int, guard: Callable[[str], bool] | None, text: str
) -> tuple[str, int]:
    hits = 0

    def sub(m: re.Match[str]) -> str:
        nonlocal hits
        if group == 0:
            hits += 1
            return MASK.format(rule=rule)
        value = m.group(group)
        if guard is not None and not guard(value):
            return m.group(0)
        hits += 1
        start, end = m.start(group) - m.start(0), m.end(group) - m.start(0)
        whole = m.group(0)
        return whole[:start] + MASK.format(rule=rule) + whole[end:]

    return pattern.sub(sub, text), hits


class Redactor:
    """Masks secrets in text and API objects; thread-safe counts per (rule, file)."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def _count(self, rule: str, file: str, n: int = 1) -> None:
        with self._lock:
            self.counts[(rule, file)] += n

    def summary(self) -> list[dict]:
        with self._lock:
            return [{"rule": r, "file": f, "count": n} for (r, f), n in sorted(self.counts.items())]

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.counts.values())

    # -- text -------------------------------------------------------------------------------------
    def text(self, text: str, file: str) -> str:
        """TEXT with every secret shape masked."""
        if not maybe_secret(text):
            return text
        out, hits = (_masked_short if len(text) <= _CACHED_LEN else masked)(text)
        for rule, n in hits:
            self._count(rule, file, n)
        return out

    # -- API objects ------------------------------------------------------------------------------
    def obj(self, value: object, file: str) -> object:
        """A redacted copy of a JSON value (Lists, objects, anything)."""
        return self._walk(value, file, parent_key="", in_configmap=False)

    def _walk(self, value: object, file: str, parent_key: str, in_configmap: bool) -> object:
        if isinstance(value, str):
            return self.text(value, file)
        if isinstance(value, list):
            if parent_key == "env":
                return [self._env(v, file) for v in value]
            return self._walk_list(value, file, parent_key, in_configmap)
        if not isinstance(value, dict):
            return value
        return self._walk_dict(value, file, in_configmap)

    # The two loops below keep plain strings and scalars without a call each: a 2,000-node cluster is
    # millions of values, nearly all of them names, numbers and states.
    def _walk_list(self, value: list, file: str, parent_key: str, in_configmap: bool) -> list:
        out = []
        for v in value:
            kind = type(v)
            if kind in _SCALARS or kind is str and not maybe_secret(v):
                out.append(v)
            else:
                out.append(self._walk(v, file, parent_key, in_configmap))
        return out

    def _walk_dict(self, value: dict, file: str, in_configmap: bool) -> dict:
        is_cm = value.get("kind") == "ConfigMap" or in_configmap and "data" in value and "metadata" in value
        in_configmap = in_configmap or file.endswith("configmaps.json")
        out: dict = {}
        for key, v in value.items():
            kind = type(v)
            if kind in _SCALARS:
                out[key] = v
                continue
            if kind is str:
                if name_says_secret(key if type(key) is str else str(key)) and value_may_be_secret(v):
                    out[key] = MASK.format(rule="secret-field")
                    self._count("secret-field", file)
                else:
                    out[key] = self.text(v, file) if maybe_secret(v) else v
                continue
            if key == "annotations" and isinstance(v, dict) and LAST_APPLIED in v:
                v = {k: a for k, a in v.items() if k != LAST_APPLIED}
                self._count("last-applied-configuration", file)
            if is_cm and key in ("data", "binaryData") and isinstance(v, dict):
                out[key] = {k: self._config_value(k, d, file) for k, d in v.items()}
                continue
            out[key] = self._walk(v, file, str(key), in_configmap)
        return out

    def _config_value(self, key: str, value: object, file: str) -> object:
        if isinstance(value, str) and name_says_secret(key) and value_may_be_secret(value):
            self._count("configmap-secret-key", file)
            return MASK.format(rule="configmap-secret-key")
        return self._walk(value, file, key, True)

    def _env(self, entry: object, file: str) -> object:
        if (
            isinstance(entry, dict)
            and isinstance(entry.get("value"), str)
            and name_says_secret(str(entry.get("name", "")))
            and value_may_be_secret(entry["value"])
        ):
            self._count("secret-env", file)
            return {**entry, "value": MASK.format(rule="secret-env")}
        return self._walk(entry, file, "", False)
