"""Read a bundle: one or more sources layered (later ones win), JSON/YAML lists, node files, logs.

Nothing here raises on damaged content: a malformed file becomes a gap and reads as missing.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import yaml

from cnidoctor.bundle import layout, linematch
from cnidoctor.bundle.compact import Sharer
from cnidoctor.bundle.linematch import ALL, LineMatcher, iter_blocks
from cnidoctor.bundle.sources import Source, iter_lines, open_source
from cnidoctor.gcpause import paused_gc
from cnidoctor.model import Gap

MAX_JSON_BYTES = 256 << 20  # parsed, a JSON file takes about 4x its size: keep one within 2 GiB
MAX_TEXT_BYTES = 64 << 20


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without anchors/aliases (kubectl never writes them; alias bombs are refused)."""

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("YAML aliases are not allowed in a bundle")
        return super().compose_node(parent, index)


def _file_in_layout(parts: list[str]) -> bool:
    """PARTS name a file of the layout: a list, a log, a node file or the manifest."""
    path = "/".join(parts)
    if parts[0] == layout.CLUSTER:
        return 2 <= len(parts) <= 3 and path.endswith((".json", ".yaml")) or layout.is_log_path(path)
    if parts[0] == layout.NODES:
        return len(parts) == 3 and parts[2] in layout.NODE_FILES
    return path == layout.MANIFEST


def _folder_in_layout(parts: list[str]) -> bool:
    """PARTS name a folder of the layout: cluster/, nodes/, a namespace, a node, a node's cni-net.d."""
    if parts[0] not in (layout.CLUSTER, layout.NODES):
        return False
    if len(parts) == 1 or (len(parts) == 2 and parts[0] == layout.NODES):
        return True
    if len(parts) == 2:
        return not parts[1].endswith((".json", ".yaml"))
    return parts[0] == layout.NODES and len(parts) == 3 and parts[2] == layout.CNI_NET_D


def misplaced(paths: list[str]) -> list[Gap]:
    """Gaps for folders where the layout has a file (`nodes.json/`) and files where it has a folder."""
    out: list[Gap] = []
    folders: set[str] = set()
    for path in sorted(paths):
        parts = path.split("/")
        for i in range(1, len(parts)):
            folder = "/".join(parts[:i])
            if folder not in folders:
                folders.add(folder)
                if _file_in_layout(parts[:i]):
                    out.append(Gap(folder, "a folder where the bundle layout has a file; not read"))
        if _folder_in_layout(parts):
            out.append(Gap(path, "a file where the bundle layout has a folder; not read"))
    return out


@dataclass(frozen=True)
class LogRef:
    """One log file of a pod: a per-container file, or a kubectl-style logs.txt with many blocks."""

    path: str
    namespace: str
    pod: str
    container: str | None  # None for logs.txt (container comes from the block markers)
    previous: bool = False


@dataclass(frozen=True)
class LogLine:
    container: str
    previous: bool
    lineno: int  # 1-based line in the file
    text: str


class Bundle:
    """A read-only view of a snapshot, the one input of every check."""

    def __init__(self, sources: list[Source]) -> None:
        self.sources = sources
        self.gaps: list[Gap] = []
        self._owner: dict[str, Source] = {}
        self._merged_manifests: list[Source] = []  # manifests of the bundles merged after the first
        overlaps: Counter[tuple[str, str]] = Counter()
        for src in sources:
            self.gaps.extend(src.gaps)
            for p in src.paths():
                prev = self._owner.get(p)
                if prev is not None and prev is not src:
                    if p == layout.MANIFEST:
                        self._merged_manifests.append(src)
                        continue
                    overlaps[(prev.name, src.name)] += 1
                self._owner[p] = src
        for (first, later), n in overlaps.items():
            self.gaps.append(
                Gap(
                    later,
                    f"{n} file(s) are in both {first} and {later} (the same node twice?); those of {later} are read",
                )
            )
        for p in list(self._owner):
            if p.endswith(".yaml") and p.startswith(layout.CLUSTER + "/"):
                alias = p[: -len(".yaml")] + ".json"
                if alias in self._owner:  # the .json of the same name is read, not shadowed by the .yaml
                    continue
                self._owner[alias] = self._owner[p]
                self._yaml_alias = getattr(self, "_yaml_alias", {})
                self._yaml_alias[alias] = p
        self._json_cache: dict[str, object] = {}
        self._items_cache: dict[str, list[dict]] = {}
        self._sharer = Sharer()  # equal parts of all JSON files kept once; checks never modify them
        self._gap_paths: set[str] = set()
        self.gaps.extend(misplaced(list(self._owner)))
        self._grep: dict[tuple[str, int], LineMatcher] = {}
        self._block_lines: dict[str, list[int]] = {}  # newlines per block of a log, from the first pass
        self._bad_utf8: set[str] = set()  # logs that the first pass found not valid UTF-8

    @classmethod
    def open(cls, paths: list[Path]) -> Bundle:
        """Open one bundle, or a cluster bundle followed by node bundles to merge into it."""
        return cls([open_source(Path(p)) for p in paths])

    @property
    def source(self) -> str:
        return ", ".join(s.name for s in self.sources)

    # -- raw access ---------------------------------------------------------------------------
    def has(self, path: str) -> bool:
        return path in self._owner

    def paths(self, prefix: str = "") -> list[str]:
        return sorted(p for p in self._owner if p.startswith(prefix))

    def size(self, path: str) -> int:
        return self._owner[path].size(self._real(path))

    def _real(self, path: str) -> str:
        return getattr(self, "_yaml_alias", {}).get(path, path)

    def add_gap(self, path: str, reason: str, source: str = "bundle") -> None:
        if (path, reason) not in self._gap_paths:
            self._gap_paths.add((path, reason))  # type: ignore[arg-type]
            self.gaps.append(Gap(path, reason, source))

    def read_bytes(self, path: str, limit: int = MAX_TEXT_BYTES) -> bytes | None:
        """Bytes of PATH (None if absent or unreadable; a gap is recorded when unreadable)."""
        src = self._owner.get(path)
        if src is None:
            return None
        real = self._real(path)
        try:
            if src.size(real) > limit:
                self.add_gap(path, f"file is larger than {limit} bytes; not read whole")
                return None
            with src.open(real) as f:
                return f.read()
        except OSError as exc:
            self.add_gap(path, f"unreadable: {exc}")
            return None

    def read_text(self, path: str) -> str | None:
        data = self.read_bytes(path)
        if data is None:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            self.add_gap(path, "not valid UTF-8; read with replacement characters")
            return data.decode("utf-8", errors="replace")

    def json(self, path: str) -> object | None:
        """Parsed JSON (or YAML) of PATH, cached; None and a gap if malformed."""
        if path in self._json_cache:
            return self._json_cache[path]
        data = self.read_bytes(path, MAX_JSON_BYTES)
        value: object | None = None
        if data is not None:
            value = self._decode(path, data)
        self._json_cache[path] = value
        return value

    def _decode(self, path: str, data: bytes) -> object | None:
        head = data.lstrip()[:3]
        try:
            if self._real(path).endswith(".yaml") or head == b"---":
                docs = [d for d in yaml.load_all(data, Loader=_NoAliasLoader) if d is not None]
                return docs[0] if len(docs) == 1 else {"kind": "List", "items": docs}
            with paused_gc():  # a big list is millions of objects: each collection would walk them all
                value = self._sharer.share(json.loads(data))
            if value is None:
                self.add_gap(self._real(path), "holds only `null`")
            return value
        except (ValueError, yaml.YAMLError, RecursionError) as exc:
            first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            self.add_gap(self._real(path), f"malformed: {first}")
        except MemoryError:
            self.add_gap(self._real(path), f"too big to parse in the memory available ({len(data)} bytes)")
            return None

    # -- Kubernetes lists -------------------------------------------------------------------------
    def items(self, path: str) -> list[dict]:
        """Items of a List file (cached); an item lacking `kind` is copied with the list's kind added."""
        cached = self._items_cache.get(path)
        if cached is None:
            cached = self._items_cache[path] = self._items(path)
        return cached

    def _items(self, path: str) -> list[dict]:
        doc = self.json(path)
        if doc is None:
            return []
        if isinstance(doc, list):
            raw, list_kind = doc, ""
        elif isinstance(doc, dict) and isinstance(doc.get("items"), list):
            raw, list_kind = doc["items"], str(doc.get("kind") or "")
        elif isinstance(doc, dict) and doc.get("kind") and "metadata" in doc:
            raw, list_kind = [doc], ""
        else:
            self.add_gap(path, "not a Kubernetes List (no items)")
            return []
        item_kind = list_kind[:-4] if list_kind.endswith("List") and list_kind != "List" else None
        out = []
        bad = 0
        for item in raw:
            if not isinstance(item, dict) or not isinstance(item.get("metadata", {}), dict):
                bad += 1
                continue
            if item_kind and "kind" not in item:
                item = {**item, "kind": item_kind}
            out.append(item)
        if bad:
            self.add_gap(path, f"{bad} list item(s) are not objects; ignored")
        return out

    @cached_property
    def namespaces(self) -> list[str]:
        found = set()
        for p in self._owner:
            parts = p.split("/")
            if len(parts) == 3 and parts[0] == layout.CLUSTER and parts[2].endswith(".json"):
                found.add(parts[1])
        return sorted(found)

    def namespaced_items(self, resource: str, namespace: str | None = None) -> list[dict]:
        """Items of `<ns>/<resource>.json` for one namespace or all of them."""
        namespaces = [namespace] if namespace else self.namespaces
        out: list[dict] = []
        for ns in namespaces:
            out.extend(self.items(layout.namespaced_list(ns, resource)))
        return out

    def cluster_items(self, resource: str) -> list[dict]:
        return self.items(layout.cluster_list(resource))

    # -- nodes ------------------------------------------------------------------------------------
    @cached_property
    def node_dirs(self) -> list[str]:
        """Names of nodes that have node-state files."""
        return sorted({p.split("/")[1] for p in self._owner if p.startswith(layout.NODES + "/") and p.count("/") >= 2})

    def node_text(self, node: str, name: str) -> str | None:
        return self.read_text(layout.node_file(node, name))

    def node_json(self, node: str, name: str) -> object | None:
        return self.json(layout.node_file(node, name))

    # -- logs -------------------------------------------------------------------------------------
    @cached_property
    def logs(self) -> list[LogRef]:
        """All container logs; logs.txt blocks are used only for containers without their own file."""
        refs: list[LogRef] = []
        for p in sorted(self._owner):
            if not layout.is_log_path(p):
                continue
            _, ns, pod, fname = p.split("/")
            if fname == "logs.txt":
                refs.append(LogRef(p, ns, pod, None))
            elif fname.endswith(".previous.log"):
                refs.append(LogRef(p, ns, pod, fname[: -len(".previous.log")], previous=True))
            else:
                refs.append(LogRef(p, ns, pod, fname[: -len(".log")]))
        return refs

    @cached_property
    def _own_logs(self) -> dict[tuple[str, str], set[str]]:
        out: dict[tuple[str, str], set[str]] = defaultdict(set)
        for r in self.logs:
            if r.container:
                out[(r.namespace, r.pod)].add(r.container)
        return out

    def own_log_containers(self, namespace: str, pod: str) -> set[str]:
        return set(self._own_logs.get((namespace, pod), ()))

    def stream_log(self, ref: LogRef) -> Iterator[LogLine]:
        """Lines of one log file, streamed; for logs.txt each line is attributed to its container."""
        src = self._owner[ref.path]
        skip = self.own_log_containers(ref.namespace, ref.pod) if ref.container is None else set()
        container = ref.container or "?"
        inside = ref.container is not None
        bad_utf8 = False
        try:
            with src.open(self._real(ref.path)) as f:
                for lineno, raw in enumerate(iter_lines(f), start=1):
                    try:
                        text = raw.decode("utf-8").rstrip("\r")
                    except UnicodeDecodeError:
                        bad_utf8 = True
                        text = raw.decode("utf-8", errors="replace").rstrip("\r")
                    if ref.container is None and text.startswith("==== "):
                        m = layout.LOG_BLOCK_START.match(text)
                        if m:
                            container, inside = m.group(1), m.group(1) not in skip
                            continue
                        if layout.LOG_BLOCK_END.match(text):
                            inside = False
                            continue
                    if inside:
                        yield LogLine(container, ref.previous, lineno, text)
        except OSError as exc:
            self.add_gap(ref.path, f"unreadable: {exc}")
        if bad_utf8:
            self.add_gap(ref.path, "not valid UTF-8; read with replacement characters")

    def grep_log(self, ref: LogRef, pattern: re.Pattern) -> Iterator[LogLine]:
        """The lines of `stream_log(ref)` that PATTERN searches, found without reading line by line."""
        key = (pattern.pattern, pattern.flags)
        matcher = self._grep.get(key)
        if matcher is None:
            matcher = self._grep[key] = LineMatcher([pattern])
        for line, _ in self.scan_log(ref, matcher):
            yield line

    def scan_log(self, ref: LogRef, matcher: LineMatcher) -> Iterator[tuple[LogLine, list[tuple[int, re.Match]]]]:
        """Each line of `stream_log(ref)` that some pattern of MATCHER searches, with (index, match) of
        every pattern that does; read in blocks, only candidate lines are decoded and tried."""
        src = self._owner[ref.path]
        real = self._real(ref.path)
        patterns = matcher.patterns
        skip = self.own_log_containers(ref.namespace, ref.pod) if ref.container is None else set()
        state = [ref.container or "?", ref.container is not None]  # container, inside a wanted block
        known = self._block_lines.get(ref.path)
        counts: list[int] = []
        bad_utf8 = False
        before = 0  # newlines before the current block
        try:
            engine = matcher.engine_for(src.size(real))
            with src.open(real) as f:
                for bi, block in enumerate(iter_blocks(f, linematch.BLOCK_BYTES)):
                    if known is None and not bad_utf8 and not block.isascii():
                        try:
                            block.decode("utf-8")
                        except UnicodeDecodeError:
                            bad_utf8 = True
                    cands = matcher.candidates(block, engine)
                    markers = _log_markers(block, skip) if ref.container is None else []
                    mi, pos, seen = 0, 0, before
                    for start in sorted(cands):
                        while mi < len(markers) and markers[mi][0] <= start:
                            state[0], state[1] = markers[mi][1] or state[0], markers[mi][2]
                            mi += 1
                        if markers and mi and markers[mi - 1][0] == start:
                            continue  # the marker line itself
                        if not state[1]:
                            continue
                        end = block.find(b"\n", start)
                        raw = block[start:] if end < 0 else block[start:end]
                        text = raw.decode("utf-8", errors="replace").rstrip("\r")
                        idxs = cands[start]
                        found = [
                            (i, m)
                            for i in (range(len(patterns)) if ALL in idxs else sorted(idxs))
                            if (m := patterns[i].search(text))
                        ]
                        if not found:
                            continue
                        seen += block.count(b"\n", pos, start)
                        pos = start
                        yield LogLine(state[0], ref.previous, seen + 1, text), found
                    while mi < len(markers):
                        state[0], state[1] = markers[mi][1] or state[0], markers[mi][2]
                        mi += 1
                    cached = known is not None and bi < len(known)
                    n = known[bi] if cached else seen - before + block.count(b"\n", pos)  # type: ignore[index]
                    counts.append(n)
                    before += n
        except OSError as exc:
            self.add_gap(ref.path, f"unreadable: {exc}")
            return
        if known is None:
            self._block_lines[ref.path] = counts
            if bad_utf8:
                self._bad_utf8.add(ref.path)
        if bad_utf8 or ref.path in self._bad_utf8:
            self.add_gap(ref.path, "not valid UTF-8; read with replacement characters")

    # -- manifest ---------------------------------------------------------------------------------
    @cached_property
    def manifest(self) -> dict | None:
        doc = self.json(layout.MANIFEST)
        return doc if isinstance(doc, dict) else None

    @cached_property
    def merged_manifests(self) -> list[dict]:
        """Manifests of the node bundles merged after the first: their collection gaps count too."""
        out = []
        for src in self._merged_manifests:
            try:
                if src.size(layout.MANIFEST) > MAX_TEXT_BYTES:
                    raise OSError("too large")
                with src.open(layout.MANIFEST) as f:
                    doc = self._decode(f"{src.name}:{layout.MANIFEST}", f.read())
            except OSError as exc:
                self.add_gap(f"{src.name}:{layout.MANIFEST}", f"unreadable: {exc}")
                continue
            if isinstance(doc, dict):
                out.append(doc)
        return out


def _log_markers(block: bytes, skip: set[str]) -> list[tuple[int, str | None, bool]]:
    """kubectl log-block markers in BLOCK: (line start, container or None, inside a wanted block after)."""
    out: list[tuple[int, str | None, bool]] = []
    pos = block.find(b"==== ")
    while pos >= 0:
        if pos == 0 or block[pos - 1] == 10:
            end = block.find(b"\n", pos)
            text = (block[pos:] if end < 0 else block[pos:end]).decode("utf-8", errors="replace").rstrip("\r")
            m = layout.LOG_BLOCK_START.match(text)
            if m:
                out.append((pos, m.group(1), m.group(1) not in skip))
            elif layout.LOG_BLOCK_END.match(text):
                out.append((pos, None, False))
        pos = block.find(b"==== ", pos + 1)
    return out
