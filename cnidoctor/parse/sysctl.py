"""Parser of `sysctl -a` output ("key = value" lines), and the kernel's rp_filter rule."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from cnidoctor.parse._text import to_int
from cnidoctor.parse.errors import ParseError

_LINE = re.compile(r"([A-Za-z0-9_][^\s=]*)\s*=\s?(.*)")


@dataclass(frozen=True)
class Sysctls:
    """Kernel parameters by key, as printed (interface names with dots appear with slashes)."""

    values: dict[str, str]
    errors: tuple[str, ...]  # `sysctl: ...` lines (permission denied, cannot stat)

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def get_int(self, key: str) -> int | None:
        """The value as an integer; None if missing or not a single integer."""
        v = self.values.get(key)
        return to_int(v) if v is not None else None

    def __contains__(self, key: object) -> bool:
        return key in self.values


def iface_key(iface: str) -> str:
    """The form an interface name takes inside a sysctl key (`eth0.4000` -> `eth0/4000`)."""
    return iface.replace(".", "/")


def parse_sysctl(text: str, source: str = "<input>") -> Sysctls:
    """Parse `sysctl -a`: "key = value" lines; `sysctl:` error lines are kept apart."""
    values: dict[str, str] = {}
    errors: list[str] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("sysctl:"):
            errors.append(line)
            continue
        m = _LINE.fullmatch(line)
        if m is None:
            raise ParseError(f"expected 'key = value', got {line[:80]!r}", source, n)
        values[m.group(1)] = m.group(2).strip()
    return Sysctls(values, tuple(errors))


def _int(sysctls: Sysctls | Mapping[str, str], key: str) -> int | None:
    if isinstance(sysctls, Sysctls):
        return sysctls.get_int(key)
    v = sysctls.get(key)
    return to_int(v) if isinstance(v, str) else None


def effective_rp_filter(sysctls: Sysctls | Mapping[str, str], iface: str) -> int:
    """The reverse-path filter mode the kernel applies on IFACE: max(conf.all, conf.<iface>).

    An interface without its own key takes `conf.default` (new interfaces inherit it); a missing
    value counts as 0.
    """
    base = "net.ipv4.conf."
    own = _int(sysctls, f"{base}{iface_key(iface)}.rp_filter")
    if own is None:
        own = _int(sysctls, f"{base}{iface}.rp_filter")
    if own is None:
        own = _int(sysctls, f"{base}default.rp_filter")
    return max(_int(sysctls, f"{base}all.rp_filter") or 0, own or 0)
