"""Parser of `bpftool -j map show`."""

from __future__ import annotations

from dataclasses import dataclass

from cnidoctor.parse._json import Obj, load_items


@dataclass(frozen=True)
class BpfMap:
    id: int
    type: str  # hash, lru_hash, lpm_trie, ...; a number when bpftool does not know the type
    name: str  # at most 15 characters: cilium_policy_00123 shows as "cilium_policy_0"
    flags: int | None
    bytes_key: int | None
    bytes_value: int | None
    max_entries: int | None
    bytes_memlock: int | None
    frozen: bool
    pids: tuple[tuple[int, str], ...]  # (pid, comm) of processes holding the map
    line: int


def parse_bpf_maps(text: str, source: str = "<input>") -> tuple[BpfMap, ...]:
    """Parse `bpftool -j map show` (a JSON list of maps)."""
    out = []
    for line, item in load_items(text, source, "a JSON list of BPF maps"):
        o = Obj(item, source, line, "map")
        pids = tuple((p.req_int("pid"), p.get_str("comm") or "") for p in o.objs("pids", "map.pids[]"))
        out.append(
            BpfMap(
                id=o.req_int("id"),
                type=o.get_str("type") or "",
                name=o.get_str("name") or "",
                flags=o.get_int("flags"),
                bytes_key=o.get_int("bytes_key"),
                bytes_value=o.get_int("bytes_value"),
                max_entries=o.get_int("max_entries"),
                bytes_memlock=o.get_int("bytes_memlock") if o.has("bytes_memlock") else o.get_int("memlock"),
                frozen=bool(o.get_bool("frozen")),
                pids=pids,
                line=line,
            )
        )
    return tuple(out)
