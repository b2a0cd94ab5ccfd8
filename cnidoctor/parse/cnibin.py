"""Parser of cni-bin.txt: `ls -1` of each CNI binary directory, each preceded by "# DIR"."""

from __future__ import annotations

from dataclasses import dataclass

from cnidoctor.parse.errors import ParseError


@dataclass(frozen=True)
class CniBinDirs:
    dirs: dict[str, tuple[str, ...]]  # directory -> file names, in listed order
    missing: tuple[str, ...]  # directories ls could not read
    errors: tuple[str, ...]  # `ls:` lines

    def has(self, plugin: str) -> bool:
        """Whether any listed directory holds a binary named PLUGIN."""
        return any(plugin in names for names in self.dirs.values())

    def where(self, plugin: str) -> tuple[str, ...]:
        return tuple(d for d, names in self.dirs.items() if plugin in names)


def parse_cni_bin(text: str, source: str = "<input>") -> CniBinDirs:
    """Parse "# /opt/cni/bin" headers each followed by one file name per line."""
    dirs: dict[str, list[str]] = {}
    missing: list[str] = []
    errors: list[str] = []
    cur: str | None = None
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            cur = line[1:].strip()
            if not cur:
                raise ParseError("'#' header without a directory", source, n)
            dirs.setdefault(cur, [])
        elif line.startswith("ls:"):
            errors.append(line)
            if cur is not None and cur in line and not dirs[cur]:
                missing.append(cur)
        elif cur is None:
            raise ParseError(f"file {line[:80]!r} listed before any '# DIR' header", source, n)
        else:
            dirs[cur].append(line)
    return CniBinDirs({d: tuple(names) for d, names in dirs.items()}, tuple(missing), tuple(errors))
