"""Parser of `lsmod` output (also accepts /proc/modules lines)."""

from __future__ import annotations

from dataclasses import dataclass

from cnidoctor.parse._text import to_int
from cnidoctor.parse.errors import ParseError


@dataclass(frozen=True)
class Module:
    name: str
    size: int
    use_count: int
    used_by: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class Modules:
    """Loaded kernel modules."""

    modules: tuple[Module, ...]

    @property
    def names(self) -> frozenset[str]:
        return frozenset(m.name for m in self.modules)

    def get(self, name: str) -> Module | None:
        """A module by name (`-` and `_` are the same to the kernel)."""
        name = name.replace("-", "_")
        return next((m for m in self.modules if m.name == name), None)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None


def parse_lsmod(text: str, source: str = "<input>") -> Modules:
    """Parse `lsmod`: a "Module Size Used by" header, then "name size count [users,...]" lines."""
    out = []
    for n, raw in enumerate(text.splitlines(), start=1):
        fields = raw.split()
        if not fields or fields[0] == "Module" or raw.lstrip().startswith("#"):
            continue
        size = to_int(fields[1]) if len(fields) >= 3 else None
        count = to_int(fields[2]) if len(fields) >= 3 else None
        if size is None or count is None:
            raise ParseError(f"expected 'name size count [users]', got {raw.strip()[:80]!r}", source, n)
        users: tuple[str, ...] = ()
        if len(fields) > 3 and fields[3] not in ("-", "[permanent]"):
            users = tuple(u for u in fields[3].split(",") if u and u != "[permanent]")
        out.append(Module(fields[0], size, count, users, n))
    return Modules(tuple(out))
