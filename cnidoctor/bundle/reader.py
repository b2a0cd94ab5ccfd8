"""Read a bundle: one or more sources layered (later ones win), JSON/YAML lists, node files, logs.

Nothing here raises on damaged content: a malformed file becomes a gap and reads as missing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import yaml

from cnidoctor.bundle import layout
from cnidoctor.bundle.sources import Source, iter_lines, open_source
from cnidoctor.model import Gap

MAX_JSON_BYTES = 512 << 20
MAX_TEXT_BYTES = 64 << 20


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without anchors/aliases (kubectl never writes them; alias bombs are refused)."""

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("YAML aliases are not allowed in a bundle")
        return super().compose_node(parent, index)


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
        for src in sources:
            self.gaps.extend(src.gaps)
            for p in src.paths():
                self._owner[p] = src
        for p in list(self._owner):
            if p.endswith(".yaml") and p.startswith(layout.CLUSTER + "/"):
                alias = p[: -len(".yaml")] + ".json"
                self._owner.setdefault(alias, self._owner[p])
                self._yaml_alias = getattr(self, "_yaml_alias", {})
                self._yaml_alias[alias] = p
        self._json_cache: dict[str, object] = {}
        self._gap_paths: set[str] = set()

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
            return json.loads(data)
        except (ValueError, yaml.YAMLError, RecursionError) as exc:
            first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            self.add_gap(path, f"malformed: {first}")
            return None

    # -- Kubernetes lists -------------------------------------------------------------------------
    def items(self, path: str) -> list[dict]:
        """Items of a List file; items lacking `kind` get it from the list kind."""
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
                item["kind"] = item_kind
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

    def own_log_containers(self, namespace: str, pod: str) -> set[str]:
        return {r.container for r in self.logs if r.namespace == namespace and r.pod == pod and r.container}

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

    # -- manifest ---------------------------------------------------------------------------------
    @cached_property
    def manifest(self) -> dict | None:
        doc = self.json(layout.MANIFEST)
        return doc if isinstance(doc, dict) else None
