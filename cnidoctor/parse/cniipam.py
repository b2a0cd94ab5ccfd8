"""Parser of cni-ipam.txt: host-local reservations under /var/lib/cni/networks/<NET>.

Each network starts with "# NET", then one "IP CONTAINER-ID [IFNAME]" line per reserved address;
host-local's bookkeeping files (`last_reserved_ip.N IP`, `lock`) are recognised too.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from cnidoctor.parse.errors import ParseError


@dataclass(frozen=True)
class Reservation:
    ip: str
    container_id: str | None
    ifname: str | None
    line: int


@dataclass(frozen=True)
class CniIpam:
    networks: dict[str, tuple[Reservation, ...]]  # network name -> reservations
    last_reserved: dict[str, tuple[str, ...]]  # network name -> last_reserved_ip.N values

    def reservations(self, network: str) -> tuple[Reservation, ...]:
        return self.networks.get(network, ())


def parse_cni_ipam(text: str, source: str = "<input>") -> CniIpam:
    """Parse "# NET" headers followed by "IP CONTAINER-ID" lines."""
    networks: dict[str, list[Reservation]] = {}
    last: dict[str, list[str]] = {}
    cur: str | None = None
    for n, raw in enumerate(text.splitlines(), start=1):
        fields = raw.split()
        if not fields:
            continue
        if fields[0].startswith("#"):
            cur = raw.strip()[1:].strip()
            if not cur:
                raise ParseError("'#' header without a network name", source, n)
            networks.setdefault(cur, [])
            continue
        if cur is None:
            raise ParseError("reservation listed before any '# NET' header", source, n)
        if fields[0] == "lock":
            continue
        if fields[0].startswith("last_reserved_ip"):
            if len(fields) > 1:
                last.setdefault(cur, []).append(fields[1])
            continue
        try:
            ipaddress.ip_address(fields[0])
        except ValueError:
            raise ParseError(f"expected 'IP CONTAINER-ID', got {raw.strip()[:80]!r}", source, n) from None
        cid = fields[1] if len(fields) > 1 else None
        ifname = fields[2] if len(fields) > 2 else None
        networks[cur].append(Reservation(fields[0], cid, ifname, n))
    return CniIpam({k: tuple(v) for k, v in networks.items()}, {k: tuple(v) for k, v in last.items()})
