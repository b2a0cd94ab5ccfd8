"""Parser of `uname -a` (or `uname -r`) output."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cnidoctor.parse.errors import ParseError

_RELEASE = re.compile(r"(\d{1,9})\.(\d{1,9})(?:\.(\d{1,9}))?")


@dataclass(frozen=True)
class Uname:
    kernel_name: str | None  # "Linux"; None for a bare `uname -r`
    nodename: str | None
    release: str  # e.g. "5.15.0-125-generic"
    machine: str | None  # e.g. "x86_64"
    text: str

    @property
    def version(self) -> tuple[int, int, int] | None:
        """The kernel version as (major, minor, patch), e.g. (5, 15, 0)."""
        m = _RELEASE.match(self.release)
        if m is None:
            return None
        return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def parse_uname(text: str, source: str = "<input>") -> Uname:
    """Parse `uname -a` ("Linux node 5.15.0-125-generic #135-Ubuntu SMP ... x86_64 GNU/Linux")."""
    for n, raw in enumerate(text.splitlines(), start=1):
        fields = raw.split()
        if not fields:
            continue
        if len(fields) == 1:
            release, name, node, machine = fields[0], None, None, None
        elif len(fields) >= 3:
            name, node, release = fields[0], fields[1], fields[2]
            machine = fields[-2] if fields[-1] == "GNU/Linux" and len(fields) > 4 else fields[-1]
        else:
            raise ParseError(f"expected `uname -a` output, got {raw.strip()[:80]!r}", source, n)
        if not _RELEASE.match(release):
            raise ParseError(f"no kernel release in {raw.strip()[:80]!r}", source, n)
        return Uname(name, node, release, machine, raw.strip())
    raise ParseError("empty input, expected `uname -a` output", source, 1)
