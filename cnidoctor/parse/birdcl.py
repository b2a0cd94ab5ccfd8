"""Parser of `birdcl show protocols` (BIRD 1.x as shipped in calico-node, and BIRD 2)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cnidoctor.parse.errors import ParseError

_BANNER = re.compile(r"BIRD (\S+) ready\.")
# name proto table state since [info]; BIRD 2 writes `since` as "2024-01-15 10:03:59".
_ROW = re.compile(
    r"(?P<name>\S+)\s+(?P<proto>\S+)\s+(?P<table>\S+)\s+(?P<state>\S+)\s+"
    r"(?P<since>\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}:\d{2}(?:\.\d+)?)?|\S+)(?:\s+(?P<info>.*))?"
)
_CONNECT_ERRORS = ("Unable to connect", "Cannot connect", "connect:", "No such file or directory")


@dataclass(frozen=True)
class BirdProtocol:
    name: str  # e.g. Mesh_192_168_56_12 (calico names mesh peers after their address)
    proto: str  # BGP, Kernel, Device, Direct, Static, ...
    table: str
    state: str  # up, start, down, ...
    since: str
    info: str  # e.g. "Established", "Active        Socket: Connection timed out"
    line: int

    @property
    def bgp_state(self) -> str | None:
        """The BGP state word of `info` (Established, Active, Connect, Idle, ...) for BGP sessions."""
        return self.info.split()[0] if self.proto == "BGP" and self.info else None

    @property
    def last_error(self) -> str | None:
        """What `info` says after the state word, e.g. "Socket: Connection timed out"."""
        parts = self.info.split(None, 1)
        return parts[1].strip() if len(parts) > 1 else None

    @property
    def established(self) -> bool:
        return self.bgp_state == "Established"


@dataclass(frozen=True)
class BirdProtocols:
    version: str | None  # from the "BIRD v0.3.3+birdv1.6.8 ready." banner
    protocols: tuple[BirdProtocol, ...]
    error: str | None  # birdcl could not talk to BIRD (e.g. control socket missing)

    def bgp(self) -> tuple[BirdProtocol, ...]:
        return tuple(p for p in self.protocols if p.proto == "BGP")


def parse_birdcl_protocols(text: str, source: str = "<input>") -> BirdProtocols:
    """Parse `birdcl show protocols`: an optional banner, a header row, then one row per protocol."""
    version = error = None
    header_seen = False
    protocols = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if m := _BANNER.fullmatch(line):
            version = m.group(1)
            continue
        if line.split()[0].lower() == "name" and "proto" in line.lower():
            header_seen = True
            continue
        if not header_seen:
            if any(e in line for e in _CONNECT_ERRORS):
                error = line
                continue
            raise ParseError(f"expected the 'name proto table state since info' header, got {line[:80]!r}", source, n)
        m = _ROW.fullmatch(line)
        if m is None:
            raise ParseError(f"expected 'name proto table state since [info]', got {line[:80]!r}", source, n)
        protocols.append(
            BirdProtocol(
                name=m["name"],
                proto=m["proto"],
                table=m["table"],
                state=m["state"],
                since=m["since"],
                info=(m["info"] or "").strip(),
                line=n,
            )
        )
    return BirdProtocols(version, tuple(protocols), error)
