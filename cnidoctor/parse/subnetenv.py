"""Parser of flannel's /run/flannel/subnet.env."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cnidoctor.parse._text import to_int
from cnidoctor.parse.errors import ParseError

_LINE = re.compile(r"(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)")


@dataclass(frozen=True)
class FlannelSubnetEnv:
    network: str | None  # FLANNEL_NETWORK, the cluster pod CIDR
    subnet: str | None  # FLANNEL_SUBNET, this node's gateway address/prefix (e.g. 10.244.1.1/24)
    mtu: int | None  # FLANNEL_MTU
    ipmasq: bool | None  # FLANNEL_IPMASQ
    ipv6_network: str | None
    ipv6_subnet: str | None
    values: dict[str, str]  # every variable, as written (quotes removed)


def _bool(value: str, source: str, line: int) -> bool:
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no", ""):
        return False
    raise ParseError(f"FLANNEL_IPMASQ should be true or false, got {value!r}", source, line)


def parse_subnet_env(text: str, source: str = "<input>") -> FlannelSubnetEnv:
    """Parse KEY=VALUE lines (FLANNEL_NETWORK, FLANNEL_SUBNET, FLANNEL_MTU, FLANNEL_IPMASQ, ...)."""
    values: dict[str, str] = {}
    lines: dict[str, int] = {}
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _LINE.fullmatch(line)
        if m is None:
            raise ParseError(f"expected KEY=VALUE, got {line[:80]!r}", source, n)
        value = m.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[m.group(1)] = value
        lines[m.group(1)] = n
    mtu = None
    if values.get("FLANNEL_MTU"):
        mtu = to_int(values["FLANNEL_MTU"])
        if mtu is None or mtu < 0:
            raise ParseError(
                f"FLANNEL_MTU should be a number, got {values['FLANNEL_MTU']!r}", source, lines["FLANNEL_MTU"]
            )
    ipmasq = None
    if "FLANNEL_IPMASQ" in values:
        ipmasq = _bool(values["FLANNEL_IPMASQ"], source, lines["FLANNEL_IPMASQ"])
    return FlannelSubnetEnv(
        network=values.get("FLANNEL_NETWORK") or None,
        subnet=values.get("FLANNEL_SUBNET") or None,
        mtu=mtu,
        ipmasq=ipmasq,
        ipv6_network=values.get("FLANNEL_IPV6_NETWORK") or None,
        ipv6_subnet=values.get("FLANNEL_IPV6_SUBNET") or None,
        values=values,
    )
