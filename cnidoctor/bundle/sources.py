"""Where bundle bytes come from: a directory, a tar archive, or a `cluster-info dump` stdout file.

Each source maps bundle-relative paths (`cluster/...`, `nodes/...`) to bytes. Unsafe or oversized
archive members are refused and recorded as gaps; nothing is ever extracted to disk.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from cnidoctor.bundle import layout
from cnidoctor.errors import BundleError
from cnidoctor.model import Gap

try:
    from lzma import LZMAError as _XzError
except ImportError:  # pragma: no cover - Python built without lzma
    _XzError = OSError  # type: ignore[misc,assignment]

MAX_MEMBER_BYTES = 1 << 30  # 1 GiB: a larger archive member is skipped as a gap
MAX_ARCHIVE_MEMBERS = 200_000
MAX_TOTAL_UNCOMPRESSED = 16 << 30
PRELOAD_MEMBER_BYTES = 64 << 20  # members up to this size are kept in memory while scanning ...
PRELOAD_TOTAL_BYTES = 512 << 20  # ... up to this much in all; the rest is read from the archive on demand
MAX_LINE_BYTES = 8 << 20  # a longer log line keeps its first 8 MiB (= linematch.MAX_LINE_BYTES)
MAX_DUMP_BYTES = 256 << 20  # the stdout form is parsed whole: a larger one is refused (memory stays bounded)


class Source:
    """A read-only mapping of bundle paths to content."""

    name: str
    gaps: list[Gap]

    def paths(self) -> list[str]:
        raise NotImplementedError

    def size(self, path: str) -> int:
        raise NotImplementedError

    def open(self, path: str) -> io.BufferedIOBase:
        raise NotImplementedError


def _looks_like_cluster_root(entries: set[str]) -> bool:
    return "nodes.json" in entries or "nodes.yaml" in entries


def _looks_like_bundle_root(entries: set[str]) -> bool:
    return bool({layout.CLUSTER, layout.NODES, layout.MANIFEST} & entries)


class DirSource(Source):
    """A bundle directory, or a plain `kubectl cluster-info dump --output-directory` folder."""

    def __init__(self, root: Path) -> None:
        self.name = str(root)
        self.gaps = []
        entries = {p.name for p in root.iterdir()}
        if not _looks_like_bundle_root(entries) and not _looks_like_cluster_root(entries):
            subdirs = [p for p in root.iterdir() if p.is_dir()]
            if len(subdirs) == 1:
                inner = {p.name for p in subdirs[0].iterdir()}
                if _looks_like_bundle_root(inner) or _looks_like_cluster_root(inner):
                    root, entries = subdirs[0], inner
        if _looks_like_bundle_root(entries):
            self.prefix = ""
        elif _looks_like_cluster_root(entries):
            self.prefix = layout.CLUSTER + "/"
        else:
            raise BundleError(
                f"{self.name} is not a cnidoctor bundle or a cluster-info dump "
                "(no manifest.json, cluster/, nodes/ or nodes.json)",
                hint="point at the folder `cnidoctor collect` or `kubectl cluster-info dump` wrote",
            )
        self.root = root
        self._files: dict[str, Path] = {}
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames.sort()
            for dn in [d for d in dirnames if (Path(dirpath) / d).is_symlink()]:
                rel = (Path(dirpath) / dn).relative_to(root).as_posix()
                self.gaps.append(Gap(self.prefix + rel, "not a regular file (a link to a folder); skipped"))
            for fn in sorted(filenames):
                full = Path(dirpath) / fn
                rel = full.relative_to(root).as_posix()
                if full.is_symlink() or not full.is_file():
                    self.gaps.append(Gap(self.prefix + rel, "not a regular file; skipped"))
                    continue
                self._files[self.prefix + rel] = full

    def paths(self) -> list[str]:
        return list(self._files)

    def size(self, path: str) -> int:
        return self._files[path].stat().st_size

    def open(self, path: str) -> io.BufferedIOBase:
        return open(self._files[path], "rb")  # noqa: SIM115


def _safe_member_name(name: str) -> str | None:
    """Normalised relative member name, or None when it escapes the archive."""
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return None
    parts = [p for p in PurePosixPath(name.replace("\\", "/")).parts if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


class TarSource(Source):
    """A `.tar.gz`/`.tgz`/`.tar` bundle read in place; at most one top-level folder is stripped."""

    def __init__(self, path: Path) -> None:
        self.name = str(path)
        self.gaps = []
        self._data: dict[str, bytes] = {}
        try:
            self._tar = tarfile.open(path, "r:*")  # noqa: SIM115
            members = self._scan()
        except (tarfile.TarError, OSError, EOFError, zlib.error, gzip.BadGzipFile, _XzError) as exc:
            raise BundleError(f"{path}: not a readable tar archive ({_short(exc)})") from None
        names = list(members)
        tops = {n.split("/", 1)[0] for n in names}
        strip = ""
        if len(tops) == 1 and all("/" in n for n in names):
            strip = next(iter(tops)) + "/"
        stripped = {n[len(strip) :]: m for n, m in members.items()}
        firsts = {n.split("/", 1)[0] for n in stripped}
        if _looks_like_bundle_root(firsts):
            prefix = ""
        elif _looks_like_cluster_root(firsts):
            prefix = layout.CLUSTER + "/"
        elif not stripped:
            raise BundleError(f"{path}: the archive holds no files")
        else:
            raise BundleError(f"{path}: the archive does not hold a cnidoctor bundle or cluster-info dump")
        self._members = {prefix + n: m for n, m in stripped.items()}

    def _scan(self) -> dict[str, tarfile.TarInfo]:
        members: dict[str, tarfile.TarInfo] = {}
        total = preloaded = 0
        complete = True
        for count, m in enumerate(self._tar):
            if count >= MAX_ARCHIVE_MEMBERS:
                self.gaps.append(Gap(self.name, f"more than {MAX_ARCHIVE_MEMBERS} members; rest skipped"))
                complete = False
                break
            if m.isdir():
                continue
            name = _safe_member_name(m.name)
            if name is None:
                self.gaps.append(Gap(_printable(m.name), "unsafe archive member path refused"))
                continue
            if not m.isfile():
                self.gaps.append(Gap(name, "archive member is a link or device; refused"))
                continue
            if m.size > MAX_MEMBER_BYTES or total + m.size > MAX_TOTAL_UNCOMPRESSED:
                self.gaps.append(Gap(name, f"archive member of {m.size} bytes is over the size cap; skipped"))
                continue
            if name in members:
                self.gaps.append(Gap(name, "duplicate archive member; the last one is used"))
                preloaded -= len(self._data.pop(name, b""))
            total += m.size
            members[name] = m
            small = m.size <= (1 << 20 if layout.is_log_path(name) else PRELOAD_MEMBER_BYTES)
            if small and preloaded + m.size <= PRELOAD_TOTAL_BYTES:
                f = self._tar.extractfile(m)
                self._data[name] = f.read() if f else b""
                preloaded += m.size
        if complete:
            self._check_integrity(len(members))
        return members

    def _check_integrity(self, listed: int) -> None:
        """Read the stream to its end: a bad checksum, or data after where the listing stopped, is a gap.

        tarfile ends the listing silently at the first unreadable header after the first member, so
        anything but zero padding left behind means members were lost.
        """
        stream = self._tar.fileobj
        trailing = False
        try:
            while stream is not None and (chunk := stream.read(1 << 20)):
                trailing = trailing or bool(chunk.strip(b"\0"))
        except (OSError, EOFError, zlib.error, _XzError) as exc:
            self.gaps.append(Gap(self.name, f"archive integrity check failed ({_short(exc)}); contents may be damaged"))
            return
        if trailing:
            self.gaps.append(
                Gap(
                    self.name,
                    f"archive listing stopped at an unreadable header after {listed} files; the rest is lost",
                )
            )

    def paths(self) -> list[str]:
        return list(self._members)

    def size(self, path: str) -> int:
        return self._members[path].size

    def open(self, path: str) -> io.BufferedIOBase:
        data = self._data.get(path)
        if data is not None:
            return io.BytesIO(data)
        try:
            f = self._tar.extractfile(self._members[path])
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise OSError(f"cannot read archive member: {_short(exc)}") from None
        return f if f is not None else io.BytesIO(b"")


class DumpFileSource(Source):
    """The stdout form of `kubectl cluster-info dump`: JSON lists back to back and log blocks."""

    _KIND_FILES = {
        "NodeList": "nodes",
        "EventList": "events",
        "PodList": "pods",
        "DaemonSetList": "daemonsets",
        "DeploymentList": "deployments",
        "ReplicaSetList": "replicasets",
        "ServiceList": "services",
        "ReplicationControllerList": "replication-controllers",
        "ConfigMapList": "configmaps",
        "NetworkPolicyList": "networkpolicies",
        "EndpointsList": "endpoints",
    }

    def __init__(self, path: Path) -> None:
        self.name = str(path)
        self.gaps = []
        try:
            if path.stat().st_size > MAX_DUMP_BYTES:
                raise BundleError(
                    f"{path}: `kubectl cluster-info dump` output larger than {MAX_DUMP_BYTES >> 20} MiB",
                    hint="save it with `kubectl cluster-info dump --output-directory DIR` and analyze DIR",
                )
            text = path.read_bytes().decode("utf-8", errors="replace")
        except OSError as exc:
            raise BundleError(f"{path}: cannot read ({_short(exc)})") from None
        self._data: dict[str, bytes] = {}
        self._parse(text)
        if layout.NODES_LIST not in self._data:
            raise BundleError(f"{path}: not a cnidoctor bundle, archive or `kubectl cluster-info dump` output")

    def _parse(self, text: str) -> None:
        decoder = json.JSONDecoder()
        lists: dict[str, list] = {}
        logs: dict[str, list[str]] = {}
        pos, n = 0, len(text)
        while pos < n:
            while pos < n and text[pos].isspace():
                pos += 1
            if pos >= n:
                break
            if text.startswith("==== START logs", pos):
                end = text.find("\n", pos)
                end = n if end < 0 else end
                m = layout.LOG_BLOCK_START.match(text[pos:end].rstrip("\r"))
                close = text.find("==== END logs", end)
                close = n if close < 0 else close
                if m:
                    container, ns, pod = m.groups()
                    logs.setdefault(f"{layout.CLUSTER}/{ns}/{pod}/{container}.log", []).append(text[end + 1 : close])
                nl = text.find("\n", close)
                pos = n if nl < 0 else nl + 1
                continue
            if text[pos] in "{[":
                try:
                    doc, pos = decoder.raw_decode(text, pos)
                except (json.JSONDecodeError, RecursionError) as exc:
                    msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
                    self.gaps.append(Gap(self.name, f"malformed JSON document at offset {pos}: {msg}"))
                    nxt = text.find("\n{", pos + 1)
                    pos = n if nxt < 0 else nxt + 1
                    continue
                self._add_doc(doc, lists)
                continue
            nl = text.find("\n", pos)
            pos = n if nl < 0 else nl + 1
        for path, items in lists.items():
            kind = path.rsplit("/", 1)[-1]
            self._data[path] = json.dumps({"kind": kind, "items": items}).encode()
        for path, chunks in logs.items():
            self._data[path] = "".join(chunks).encode()

    def _add_doc(self, doc: object, lists: dict[str, list]) -> None:
        if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
            return
        resource = self._KIND_FILES.get(str(doc.get("kind")))
        if resource is None:
            return
        if resource == "nodes":
            lists.setdefault(layout.NODES_LIST, []).extend(doc["items"])
            return
        skipped = 0
        for item in doc["items"]:
            meta = item.get("metadata") if isinstance(item, dict) else None
            ns = meta.get("namespace") if isinstance(meta, dict) else None
            if not isinstance(ns, str) or not ns or "/" in ns or ns in (".", ".."):
                skipped += 1
                continue
            lists.setdefault(layout.namespaced_list(ns, resource), []).append(item)
        if skipped:
            self.gaps.append(Gap(self.name, f"{skipped} {doc.get('kind')} item(s) without a valid namespace; ignored"))

    def paths(self) -> list[str]:
        return list(self._data)

    def size(self, path: str) -> int:
        return len(self._data[path])

    def open(self, path: str) -> io.BufferedIOBase:
        return io.BytesIO(self._data[path])


def open_source(path: Path) -> Source:
    """Pick the source type for PATH or raise BundleError with one line."""
    if not path.exists():
        raise BundleError(f"{path}: no such file or directory")
    if path.is_dir():
        if not any(path.iterdir()):
            raise BundleError(f"{path}: the folder is empty")
        return DirSource(path)
    if not path.is_file():  # opening a pipe would wait for a writer forever; a bundle is read more than once
        raise BundleError(f"{path}: not a regular file or folder (save a pipe's output to a file first)")
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError as exc:
        raise BundleError(f"{path}: cannot read ({_short(exc)})") from None
    if not head:
        raise BundleError(f"{path}: the file is empty")
    if head[:2] == b"\x1f\x8b" or (len(head) >= 262 and head[257:262] == b"ustar") or tarfile.is_tarfile(path):
        return TarSource(path)
    if head[:4] == b"PK\x03\x04":
        raise BundleError(f"{path}: zip archives are not supported; use a .tar.gz")
    if head.lstrip()[:1] in (b"{", b"[") or b"==== START logs" in head:
        return DumpFileSource(path)
    raise BundleError(f"{path}: not a bundle directory, a .tar.gz bundle or `kubectl cluster-info dump` output")


def iter_lines(stream: io.BufferedIOBase, chunk: int = 1 << 20, max_line: int = MAX_LINE_BYTES) -> Iterator[bytes]:
    """Lines of a binary stream without the newline, read in chunks (never the whole file); a line longer
    than MAX_LINE keeps only its first MAX_LINE bytes, as in `linematch.iter_blocks`."""
    rest = b""
    dropping = False  # inside the cut-off tail of an over-long line
    while True:
        block = stream.read(chunk)
        if not block:
            break
        if dropping:
            nl = block.find(b"\n")
            if nl < 0:
                continue
            block, dropping = block[nl:], False
        block = rest + block
        lines = block.split(b"\n")
        rest = lines.pop()
        for line in lines:
            yield line[:max_line]
        if len(rest) > max_line:
            rest, dropping = rest[:max_line], True
    if rest:
        yield rest


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def _printable(name: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in name)[:200]
