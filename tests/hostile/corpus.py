"""The hostile-bundle corpus: each input is built by code here, next to the outcome it must have.

An outcome is either `Finished` (the analysis runs to the end and lists the damage as gaps; the exit
code follows the findings) or `Refused` (`error: <one line>` on stderr and exit 2). Every case starts
from the healthy Flannel fixture (no findings) so any finding a case produces must come from its
damage. Big inputs are cheap to build: a `.tar.gz` may be a chain of gzip members, so a gigabyte of
zeros is a thousand copies of one small compressed block.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import stat
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "fixtures" / "healthy-flannel" / "bundle"
FLANNEL_LOG = "cluster/kube-flannel/kube-flannel-ds-48cff/kube-flannel.log"
MIB = 1 << 20
GIB = 1 << 30
SUMMARY: list[str] = []  # lines for pytest's terminal summary (conftest.py)


@dataclass(frozen=True)
class Finished:
    """The analysis completes; each (path part, reason part) pair names a gap that must be listed."""

    gaps: tuple[tuple[str, str], ...] = ()
    exit: int = 0
    findings: tuple[str, ...] = ()  # check IDs the damage is allowed to raise


@dataclass(frozen=True)
class Refused:
    """`error: <one line>` naming MESSAGE, exit 2, no report."""

    message: str


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], list[Path]]  # builds the input under the folder given; returns CLI paths
    expect: Finished | Refused
    about: str
    formats: tuple[str, ...] = ("json", "terminal")
    mem: int = 2 * GIB  # RLIMIT_AS of its runs

    @property
    def runs(self) -> tuple[str, ...]:
        """The report formats to run: a refusal happens before any report, one run shows it."""
        return self.formats if isinstance(self.expect, Finished) else self.formats[:1]


HEAVY = ("json",)  # big inputs: the reader is under test, one report format is enough
ALL_FORMATS = ("json", "terminal", "markdown")  # names and text that end up in every report


# -- building blocks ------------------------------------------------------------------------------


def copy_base(dest: Path) -> Path:
    shutil.copytree(BASE, dest, symlinks=True)
    return dest


def _normalised(ti: tarfile.TarInfo) -> tarfile.TarInfo:
    """Owner and time fixed, so an archive's bytes (and where a flipped byte lands) match on every clone."""
    ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = 0, 0, 0, "", ""
    return ti


def tar_dir(src: Path, dest: Path, mode: str = "w:gz", top: str = "bundle") -> Path:
    with tarfile.open(dest, mode) as tar:
        tar.add(src, arcname=top, filter=_normalised)
    return dest


def info(name: str, size: int = 0, kind: bytes = tarfile.REGTYPE, **kw: object) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.size, ti.type, ti.mode = size, kind, 0o644
    for k, v in kw.items():
        setattr(ti, k, v)
    return ti


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % tarfile.BLOCKSIZE)


class ChainedTgz:
    """A .tar.gz written as a chain of gzip members (gzip readers read them as one stream)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.f = open(path, "wb")  # noqa: SIM115

    def add(self, ti: tarfile.TarInfo, data: bytes = b"") -> None:
        if ti.type == tarfile.REGTYPE:
            ti.size = len(data)
        self.f.write(_gz(ti.tobuf(format=tarfile.GNU_FORMAT) + _pad(data)))

    def add_tree(self, src: Path, top: str = "bundle") -> None:
        for path in sorted(src.rglob("*")):
            if path.is_file():
                self.add(info(f"{top}/{path.relative_to(src).as_posix()}"), path.read_bytes())

    def add_repeated(
        self, name: str, chunk: bytes, count: int, claimed: int | None = None, tail: bytes = b"", head: bytes = b""
    ) -> None:
        """A member of HEAD, COUNT copies of CHUNK and TAIL; its header may claim another size."""
        assert len(chunk) % tarfile.BLOCKSIZE == 0 and len(head) % tarfile.BLOCKSIZE == 0
        size = len(head) + len(chunk) * count + len(tail)
        header = info(name, claimed if claimed is not None else size).tobuf(format=tarfile.GNU_FORMAT)
        self.f.write(_gz(header + head))
        blob = _gz(chunk)
        for _ in range(count):
            self.f.write(blob)
        if tail:
            self.f.write(_gz(_pad(tail)))

    def close(self, end: bool = True) -> Path:
        if end:
            self.f.write(_gz(b"\0" * 2 * tarfile.BLOCKSIZE))
        self.f.close()
        return self.path


def base_tgz(dest: Path) -> ChainedTgz:
    t = ChainedTgz(dest)
    t.add_tree(BASE)
    return t


def mutate(edit: Callable[[Path], object]) -> Callable[[Path], list[Path]]:
    """A case built as the base bundle folder with EDIT applied."""

    def build(where: Path) -> list[Path]:
        root = copy_base(where / "bundle")
        edit(root)
        return [root]

    return build


def mutate_tgz(add: Callable[[ChainedTgz], object], name: str = "bundle.tar.gz") -> Callable[[Path], list[Path]]:
    """A case built as the base bundle in a .tar.gz with more members added by ADD."""

    def build(where: Path) -> list[Path]:
        t = base_tgz(where / name)
        add(t)
        return [t.close()]

    return build


def write(root: Path, rel: str, data: bytes | str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def replace_with_dir(root: Path, rel: str) -> None:
    path = root / rel
    path.unlink()
    path.mkdir()
    (path / "inner.json").write_text("{}")


def replace_with_file(root: Path, rel: str) -> None:
    shutil.rmtree(root / rel)
    (root / rel).write_text("not a folder\n")


def pods(items: object, kind: str = "PodList") -> str:
    return json.dumps({"kind": kind, "apiVersion": "v1", "items": items})


def pod(name: str, ns: str = "default", **extra: object) -> dict:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": ns}, **extra}


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


BILLION_LAUGHS = "\n".join(
    ["kind: NodeList", 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    + ["items: *a9"]
)

# Strings a stranger may put in names: terminal escapes, bidi overrides, markup, nulls, newlines, and a
# shell payload that must never reach a copy-pasteable remediation command.
INJECTION = "$(touch PWNED);curl`id`"
NASTY = "x\x1b]0;owned\x07\x1b[2J\x1b[31m\u202e\u200b\x9b31m[/][bold]\r\n\t\x7f-😀é" + INJECTION


# -- the corpus -----------------------------------------------------------------------------------


def _abs_member(t: ChainedTgz) -> None:
    target = (t.path.parent.parent / "ESCAPED-absolute").as_posix()
    t.add(info(target), b"escaped\n")
    t.add(info("/etc/cnidoctor-escaped"), b"escaped\n")


def _symlink_then_file(t: ChainedTgz) -> None:
    outside = (t.path.parent.parent / "ESCAPED-via-symlink").as_posix()
    t.add(info("bundle/cluster/evil", kind=tarfile.SYMTYPE, linkname=outside))
    t.add(info("bundle/cluster/evil/pods.json"), pods([pod("p", "evil")]).encode())


def _devices(t: ChainedTgz) -> None:
    t.add(info("bundle/nodes/node-1/kubelet.log", kind=tarfile.CHRTYPE, devmajor=1, devminor=5))
    t.add(info("bundle/nodes/node-1/dmesg.txt", kind=tarfile.BLKTYPE, devmajor=8, devminor=0))
    t.add(info("bundle/cluster/default/events.json", kind=tarfile.FIFOTYPE))
    t.add(info("bundle/cluster/default/contig", kind=tarfile.CONTTYPE), b"x")


def _duplicates(t: ChainedTgz) -> None:
    t.add(info("bundle/cluster/nodes.json"), b'{"kind": "NodeList", "items": [')
    t.add(info("bundle/cluster/kube-system/pods.json"), (BASE / "cluster/kube-system/pods.json").read_bytes())


def _gzip_bomb_over_cap(t: ChainedTgz) -> None:
    t.add_repeated("bundle/cluster/default/pods.json", b" " * MIB, 1025)


def _gzip_bomb_under_cap(t: ChainedTgz) -> None:
    for ns in ("default", "kube-public", "kube-node-lease"):
        t.add_repeated(f"bundle/cluster/{ns}/configmaps.json", b" " * MIB, 400, tail=b"{}")


def _claims_gigabytes(t: ChainedTgz) -> None:
    t.add_repeated("bundle/cluster/default/services.json", b"\0" * MIB, 1, claimed=64 * GIB)


def _big_log_line(t: ChainedTgz) -> None:
    chunk = (b"E1203 vxlan_network.go failed to add route " * 30_000)[:MIB]
    t.add_repeated("bundle/cluster/default/big-line/app.log", chunk, 100, tail=b"\nend\n")


def _bad_names(t: ChainedTgz) -> None:
    t.add(info("../[/]\x1b]0;owned\x07"), b"x")
    t.add(info("bundle/cluster/" + "\x1b[2J[/]/pods.json"), b"{")
    t.add(info("bundle/nodes/\u202enode\x00x/sysctl.txt"), b"net.ipv4.ip_forward = 0\n")


def _windows_paths(t: ChainedTgz) -> None:
    t.add(info("C:\\Windows\\evil.txt"), b"x")
    t.add(info("..\\..\\ESCAPED-backslash"), b"x")
    t.add(info("bundle\\..\\..\\ESCAPED-backslash2"), b"x")


def _nested_archive(where: Path) -> list[Path]:
    inner = tar_dir(BASE, where / "inner.tar.gz")
    outer = where / "outer.tar.gz"
    with tarfile.open(outer, "w:gz") as tar:
        tar.add(inner, arcname="bundle.tar.gz")
    inner.unlink()
    return [outer]


def _truncated_tgz(where: Path) -> list[Path]:
    full = tar_dir(BASE, where / "full.tar.gz")
    data = full.read_bytes()
    full.unlink()
    (where / "truncated.tar.gz").write_bytes(data[: len(data) // 2])
    return [where / "truncated.tar.gz"]


def _corrupt_tgz(where: Path) -> list[Path]:
    full = tar_dir(BASE, where / "full.tar.gz")
    data = bytearray(full.read_bytes())
    full.unlink()
    for i in range(len(data) // 3, len(data) // 3 + 64):
        data[i] ^= 0x5A
    (where / "corrupt.tar.gz").write_bytes(bytes(data))
    return [where / "corrupt.tar.gz"]


def _crc_only(where: Path) -> list[Path]:
    """Deflate data intact, only the CRC trailer wrong: detected at the very end of the stream."""
    full = tar_dir(BASE, where / "full.tar.gz")
    data = bytearray(full.read_bytes())
    full.unlink()
    data[-8] ^= 0xFF
    (where / "crc.tar.gz").write_bytes(bytes(data))
    return [where / "crc.tar.gz"]


def _zip(where: Path) -> list[Path]:
    import zipfile

    path = where / "bundle.zip"
    with zipfile.ZipFile(path, "w") as z:
        for f in sorted(BASE.rglob("*")):
            if f.is_file():
                z.write(f, "bundle/" + f.relative_to(BASE).as_posix())
    return [path]


def _empty_tgz(where: Path) -> list[Path]:
    path = where / "empty.tar.gz"
    with tarfile.open(path, "w:gz"):
        pass
    return [path]


def _dirs_only_tgz(where: Path) -> list[Path]:
    path = where / "dirs.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for d in ("bundle", "bundle/cluster", "bundle/nodes", "bundle/nodes/node-1"):
            tar.addfile(info(d, kind=tarfile.DIRTYPE))
    return [path]


def _gzip_not_tar(where: Path) -> list[Path]:
    path = where / "logs.gz"
    path.write_bytes(_gz(b"just a gzipped log line\n" * 100))
    return [path]


def _empty_file(where: Path) -> list[Path]:
    (where / "bundle.tar.gz").write_bytes(b"")
    return [where / "bundle.tar.gz"]


def _xz_tar(where: Path) -> list[Path]:
    return [tar_dir(BASE, where / "bundle.tar.xz", mode="w:xz")]


def _plain_tar_truncated(where: Path) -> list[Path]:
    full = tar_dir(BASE, where / "full.tar", mode="w")
    data = full.read_bytes()
    full.unlink()
    (where / "cut.tar").write_bytes(data[: len(data) * 3 // 5])
    return [where / "cut.tar"]


def _plain_tar_bad_header(where: Path) -> list[Path]:
    """One header 3/4 into a plain tar overwritten: tarfile ends its listing there without a word."""
    full = tar_dir(BASE, where / "full.tar", mode="w")
    with tarfile.open(full) as tar:
        offsets = [m.offset for m in tar.getmembers() if m.isfile()]
    data = bytearray(full.read_bytes())
    full.unlink()
    at = offsets[len(offsets) * 3 // 4]
    data[at : at + tarfile.BLOCKSIZE] = b"\xa5" * tarfile.BLOCKSIZE
    (where / "bad-header.tar").write_bytes(bytes(data))
    return [where / "bad-header.tar"]


def _enormous_pods(t: ChainedTgz) -> None:
    """300 MiB of real-looking pods: `{"items": [` + 300 chunks of 1 MiB of items + `{}]}`."""
    item = json.dumps(pod("web", "default", spec={"nodeName": "node-1", "containers": [{"name": "c", "image": "i"}]}))
    chunk = ((item + ",") * (MIB // (len(item) + 1))).encode()
    chunk += b" " * (MIB - len(chunk))
    head = b'{"kind": "PodList", "items": ['
    head += b" " * (tarfile.BLOCKSIZE - len(head))
    t.add_repeated("bundle/cluster/default/pods.json", chunk, 300, head=head, tail=b"{}]}")


def _corrupt_xz(where: Path) -> list[Path]:
    full = tar_dir(BASE, where / "full.tar.xz", mode="w:xz")
    data = bytearray(full.read_bytes())
    full.unlink()
    for i in range(len(data) // 2, len(data) // 2 + 32):
        data[i] ^= 0xA5
    (where / "corrupt.tar.xz").write_bytes(bytes(data))
    return [where / "corrupt.tar.xz"]


def _sparse_log(root: Path) -> None:
    """A 1.5 GiB log file of NUL bytes without one newline (sparse: costs nothing on disk)."""
    path = root / "cluster/default/sparse/app.log"
    path.parent.mkdir(parents=True)
    with open(path, "wb") as f:
        f.truncate(3 * GIB // 2)


def _sparse_json(root: Path) -> None:
    with open(root / "cluster/kube-system/pods.json", "r+b") as f:
        f.truncate(40 * GIB)


def _hostile_fs_entries(root: Path) -> None:
    outside = root.parent / "outside-secret.txt"
    outside.write_text("outside\n")
    (root / "cluster/kube-system/pods.json").unlink()
    (root / "cluster/kube-system/pods.json").symlink_to(outside)
    (root / "nodes/node-1/sysctl.txt").unlink()
    os.link(outside, root / "nodes/node-1/sysctl.txt")  # a hardlink is a regular file: read as one
    os.mkfifo(root / "nodes/node-2/sysctl.txt.fifo")
    (root / "nodes/node-2/sysctl.txt").unlink()
    os.mkfifo(root / "nodes/node-2/sysctl.txt")
    (root / "cluster/etc").symlink_to("/etc", target_is_directory=True)
    (root / "nodes/loop").symlink_to(root / "nodes", target_is_directory=True)
    os.mknod(root / "nodes/node-3/dmesg.txt", stat.S_IFCHR | 0o600, os.makedev(1, 5))


def _unreadable(root: Path) -> None:
    """Files that vanish between listing and reading cannot be set up from outside; a dangling link can."""
    (root / "nodes/node-1/resolv.conf").unlink()
    (root / "nodes/node-1/resolv.conf").symlink_to(root / "does-not-exist")


def _undecodable_names(root: Path) -> None:
    base = os.fsencode(root / "cluster")
    os.makedirs(base + b"/ns-\xff\xfe", exist_ok=True)
    with open(base + b"/ns-\xff\xfe/pods.json", "wb") as f:
        f.write(b"{")
    os.makedirs(base + b"/default/pod-\xc3\x28", exist_ok=True)
    with open(base + b"/default/pod-\xc3\x28/app.log", "wb") as f:
        f.write(b"hello\n")


def _nasty_names(root: Path) -> None:
    ns = "ns-" + NASTY.replace("/", "").replace("\0", "").replace("\n", "").replace("\r", "")
    write(root, f"cluster/{ns}/pods.json", "{")
    write(root, f"cluster/{ns}/p\x1b[1m/logs.txt", "==== START logs for container c of pod x/p ====\nhi\n")


def _nasty_objects(root: Path) -> None:
    """Pods whose names, node names and statuses carry terminal escapes and markup."""
    bad = [
        pod(
            f"web-{i}{NASTY}",
            "default",
            spec={"nodeName": f"node-1{NASTY}", "containers": [{"name": NASTY, "image": NASTY}]},
            status={
                "phase": "Pending",
                "conditions": [{"type": "Ready", "status": "False", "message": NASTY}],
                "containerStatuses": [
                    {"name": NASTY, "ready": False, "state": {"waiting": {"reason": NASTY, "message": NASTY}}}
                ],
            },
        )
        for i in range(3)
    ]
    write(root, "cluster/default/pods.json", pods(bad))
    events = [
        {
            "kind": "Event",
            "metadata": {"name": f"e{i}{NASTY}", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": f"web-{i}{NASTY}", "namespace": "default"},
            "reason": "FailedCreatePodSandBox",
            "type": "Warning",
            "message": 'Failed to create pod sandbox: plugin type="flannel" failed (add): '
            + NASTY
            + " open /run/flannel/subnet.env: no such file or directory",
            "count": 3,
        }
        for i in range(3)
    ]
    write(root, "cluster/default/events.json", json.dumps({"kind": "EventList", "items": events}))


def _wrong_types(root: Path) -> None:
    """Right list kinds, wrong value types at every level a check reads."""
    weird: list[object] = [
        pod("a", status="Running", spec=[]),
        pod("b", spec={"containers": {}, "nodeName": 7, "hostNetwork": "yes"}, status={"conditions": "Ready"}),
        {"kind": "Pod", "metadata": {"name": 42, "namespace": ["x"], "labels": [], "annotations": "x"}},
        {"kind": "Pod", "metadata": {"name": "c", "namespace": "default", "ownerReferences": {"a": 1}}},
        pod("d", status={"containerStatuses": [None, 1, "x", {"state": []}], "podIPs": "10.0.0.1"}),
        pod("e", spec={"containers": [None, {"name": None, "env": {}, "ports": "80"}]}),
        {"metadata": None},
    ]
    write(root, "cluster/default/pods.json", pods(weird))
    write(root, "cluster/kube-system/daemonsets.json", pods([{"kind": "DaemonSet", "spec": "x", "status": []}]))
    nodes = json.loads((root / "cluster/nodes.json").read_text())
    nodes["items"].append({"kind": "Node", "metadata": {"name": "n-bad"}, "spec": {"podCIDR": 5}, "status": []})
    nodes["items"].append({"kind": "Node", "metadata": {"name": "n-bad2"}, "status": {"addresses": "x"}})
    (root / "cluster/nodes.json").write_text(json.dumps(nodes))
    write(root, "cluster/default/events.json", pods([{"kind": "Event", "message": 5, "involvedObject": "x"}]))
    write(root, "cluster/kube-system/configmaps.json", pods([{"kind": "ConfigMap", "data": ["x"]}]))


def _junk_node_files(root: Path) -> None:
    """Every node-state file of node-1 replaced by binary junk, node-2's by valid JSON of the wrong shape."""
    junk = bytes(range(256)) * 64 + b"\0\xff\n{[" * 100
    for f in sorted((root / "nodes/node-1").rglob("*")):
        if f.is_file():
            f.write_bytes(junk)
    for f in sorted((root / "nodes/node-2").rglob("*")):
        if f.is_file():
            f.write_text('{"kind": 5, "items": "x", "routes": [1, null, {}], "dst": []}')


_DIRECT = [
    Case(
        "tar-absolute-paths",
        mutate_tgz(_abs_member),
        Finished(gaps=(("ESCAPED-absolute", "unsafe"), ("/etc/cnidoctor-escaped", "unsafe"))),
        "members with absolute paths are refused, not written",
    ),
    Case(
        "tar-dotdot",
        mutate_tgz(
            lambda t: [
                t.add(info("../../ESCAPED-dotdot"), b"x"),
                t.add(info("bundle/cluster/../../../ESCAPED-dotdot2"), b"x"),
            ]
        ),
        Finished(gaps=(("../../ESCAPED-dotdot", "unsafe"), ("ESCAPED-dotdot2", "unsafe"))),
        "`..` members are refused",
    ),
    Case(
        "tar-windows-paths",
        mutate_tgz(_windows_paths),
        Finished(gaps=(("C:", "unsafe"), ("ESCAPED-backslash", "unsafe"), ("ESCAPED-backslash2", "unsafe"))),
        "drive letters and backslash `..` are refused",
    ),
    Case(
        "tar-symlink-outside",
        mutate_tgz(
            lambda t: t.add(info("bundle/cluster/kube-system/pods.json", kind=tarfile.SYMTYPE, linkname="/etc/passwd"))
        ),
        Finished(gaps=(("cluster/kube-system/pods.json", "link"),)),
        "a symlink member (to /etc/passwd) is refused; the real member of the same name is kept",
    ),
    Case(
        "tar-hardlink-outside",
        mutate_tgz(
            lambda t: t.add(info("bundle/nodes/node-1/resolv.conf.bak", kind=tarfile.LNKTYPE, linkname="/etc/shadow"))
        ),
        Finished(gaps=(("nodes/node-1/resolv.conf.bak", "link"),)),
        "a hardlink member is refused",
    ),
    Case(
        "tar-symlink-dir-then-file",
        mutate_tgz(_symlink_then_file),
        Finished(gaps=(("cluster/evil", "link"),)),
        "tar-slip through a symlinked folder: the link is refused, the file read from memory",
    ),
    Case(
        "tar-device-files",
        mutate_tgz(_devices),
        Finished(
            gaps=(
                ("nodes/node-1/kubelet.log", "device"),
                ("nodes/node-1/dmesg.txt", "device"),
                ("cluster/default/events.json", "device"),
            )
        ),
        "character, block and FIFO members are refused",
    ),
    Case(
        "tar-duplicate-names",
        mutate_tgz(_duplicates),
        Finished(gaps=(("cluster/nodes.json", "duplicate"), ("cluster/nodes.json", "malformed"))),
        "a later duplicate wins and is reported; here it is malformed",
    ),
    Case(
        "tar-bad-member-names",
        mutate_tgz(_bad_names),
        Finished(gaps=(("../[/]", "unsafe"),)),
        "member names with markup, terminal escapes, bidi overrides and NUL",
        formats=ALL_FORMATS,
    ),
    Case(
        "gzip-bomb-member-over-cap",
        mutate_tgz(_gzip_bomb_over_cap),
        Finished(gaps=(("cluster/default/pods.json", "size cap"),)),
        "a 1 GiB+ member (1 MiB compressed) is skipped, never held in memory",
        formats=HEAVY,
    ),
    Case(
        "gzip-bomb-members-under-cap",
        mutate_tgz(_gzip_bomb_under_cap),
        Finished(gaps=(("cluster/default/configmaps.json", "larger"),)),
        "three 400 MiB members, each under the member cap: 1.2 GiB must not be held at once (1 GiB cap)",
        formats=HEAVY,
        mem=GIB,
    ),
    Case(
        "tar-member-claims-64-gib",
        mutate_tgz(_claims_gigabytes),
        Refused("not a readable tar archive"),
        "a header claiming 64 GiB over 1 MiB of data: the archive ends early",
    ),
    Case(
        "tar-log-100-mib-line",
        mutate_tgz(_big_log_line),
        Finished(),
        "a container log holding one 100 MiB line, inside an archive",
        formats=HEAVY,
    ),
    Case("tar-nested-archive", _nested_archive, Refused("does not hold a cnidoctor bundle"), "a tar.gz in a tar.gz"),
    Case("gzip-truncated", _truncated_tgz, Refused("not a readable tar archive"), "the archive cut in half"),
    Case(
        "gzip-corrupted",
        _corrupt_tgz,
        Finished(gaps=(("corrupt.tar.gz", "integrity check failed"),)),
        "64 flipped bytes that still inflate: the checksum at the end says so",
    ),
    Case(
        "gzip-bad-crc",
        _crc_only,
        Finished(gaps=(("crc.tar.gz", "integrity check failed"),)),
        "only the gzip CRC trailer is wrong",
    ),
    Case("tar-truncated-plain", _plain_tar_truncated, Refused("not a readable tar archive"), "an uncompressed tar cut"),
    Case(
        "tar-bad-header-mid",
        _plain_tar_bad_header,
        Finished(gaps=(("bad-header.tar", "listing stopped at an unreadable header"),)),
        "a garbage member header 3/4 into a plain tar: the members after it are reported lost",
    ),
    Case("zip-archive", _zip, Refused("zip archives are not supported"), "a .zip of a good bundle"),
    Case("empty-archive", _empty_tgz, Refused("holds no files"), "a valid .tar.gz with no members"),
    Case("archive-only-folders", _dirs_only_tgz, Refused("holds no files"), "folders and no files"),
    Case("gzip-not-a-tar", _gzip_not_tar, Refused("not a readable tar archive"), "a gzipped log, not a tar"),
    Case("empty-file", _empty_file, Refused("the file is empty"), "zero bytes named .tar.gz"),
    Case("tar-xz-good", _xz_tar, Finished(), "positive control: a good bundle in a .tar.xz"),
    Case("xz-corrupted", _corrupt_xz, Refused("not a readable tar archive"), "32 flipped bytes in an xz stream"),
]


def _json_case(name: str, rel: str, data: str | bytes, gap: str | None, about: str, **kw: object) -> Case:
    """The base bundle with REL replaced by DATA; GAP names the gap reason REL must get."""
    expect = kw.pop("expect", None) or Finished(gaps=((rel, gap),) if gap else ())
    return Case(name, mutate(lambda root: write(root, rel, data)), expect, about, **kw)  # type: ignore[arg-type]


_JSON = [
    _json_case("json-malformed", "cluster/kube-system/pods.json", '{"kind": "PodList", "items": [', "malformed", "cut"),
    _json_case(
        "json-truncated-nodes",
        "cluster/nodes.json",
        (BASE / "cluster/nodes.json").read_text()[:700],
        "malformed",
        "nodes.json cut mid-object",
    ),
    _json_case("json-deeply-nested", "cluster/default/pods.json", nested(200_000), "malformed", "200k nested arrays"),
    _json_case(
        "json-nested-inside-item",
        "cluster/default/pods.json",
        '{"kind": "PodList", "items": [{"kind": "Pod", "metadata": {"name": "deep", "namespace": "default"}, '
        '"spec": ' + '{"a": ' * 900 + "1" + "}" * 900 + "}]}",
        None,
        "a pod 900 levels deep: parsed, and nothing that walks it may recurse out",
    ),
    _json_case(
        "json-huge-integer",
        "cluster/kube-public/pods.json",
        '{"items": [' + "9" * 100_000 + "]}",
        "malformed",
        "an integer of 100k digits",
    ),
    _json_case("json-not-a-list", "cluster/default/pods.json", '"just a string"', "not a Kubernetes List", "a string"),
    _json_case(
        "json-missing-items",
        "cluster/kube-system/pods.json",
        '{"kind": "PodList"}',
        "not a Kubernetes List",
        "a List without items",
    ),
    _json_case(
        "json-items-null",
        "cluster/kube-flannel/pods.json",
        '{"kind": "PodList", "items": null}',
        "not a Kubernetes List",
        "items: null",
    ),
    _json_case(
        "json-items-not-objects",
        "cluster/default/pods.json",
        pods([1, "x", None, [], True]),
        "not objects",
        "items of the wrong type",
    ),
    _json_case(
        "json-list-of-wrong-kind",
        "cluster/kube-flannel/pods.json",
        (BASE / "cluster/nodes.json").read_text(),
        None,
        "pods.json holding the NodeList",
    ),
    _json_case(
        "json-nul-and-bom",
        "cluster/kube-node-lease/pods.json",
        b'\xef\xbb\xbf{"items": [\0]}',
        "malformed",
        "a BOM and a NUL byte",
    ),
    _json_case(
        "json-invalid-utf8",
        "cluster/shop/pods.json",
        b'{"items": [{"metadata": {"name": "\xff\xfe"}}]}',
        "malformed",
        "invalid UTF-8 inside a JSON string",
    ),
    Case(
        "yaml-billion-laughs",
        mutate(
            lambda root: [(root / "cluster/nodes.json").unlink(), write(root, "cluster/nodes.yaml", BILLION_LAUGHS)]
        ),
        Finished(gaps=(("cluster/nodes.yaml", "aliases"),)),
        "nodes as YAML with an anchors-and-aliases bomb (10^9 strings if expanded)",
    ),
    _json_case(
        "yaml-python-tag",
        "cluster/yaml-ns/pods.yaml",
        "--- !!python/object/apply:os.system ['touch PWNED']\n",
        "malformed",
        "a YAML tag asking to run a command",
    ),
    _json_case("yaml-deeply-nested", "cluster/yaml-ns/pods.yaml", nested(50_000), "malformed", "50k nested"),
    _json_case("manifest-malformed", "manifest.json", "{", "malformed", "the manifest cut"),
    _json_case(
        "manifest-hostile-gaps",
        "manifest.json",
        json.dumps(
            {
                "format_version": [],
                "gaps": ["x", 5, None, {"path": "[/]\x1b[2J", "reason": NASTY}, {"path": {"a": 1}, "reason": []}],
                "redactions": "lots",
            }
        ),
        None,
        "a manifest whose recorded gaps carry markup and escapes",
        expect=Finished(gaps=(("[/]", "owned"),)),
        formats=ALL_FORMATS,
    ),
    _json_case("manifest-is-a-list", "manifest.json", "[1, 2, 3]", None, "a manifest of the wrong type"),
    Case(
        "json-wrong-value-types",
        mutate(_wrong_types),
        Finished(gaps=(("cluster/default/pods.json", "not objects"),)),
        "right kinds, wrong value types everywhere: checks that trip are gaps, not crashes",
    ),
    Case(
        "json-nasty-object-names",
        mutate(_nasty_objects),
        # pods pending on a sandbox error naming flannel's subnet.env: FLN002 and GEN100 are right
        Finished(exit=3, findings=("FLN002", "GEN100")),
        "names with escapes, markup, bidi, newlines, carried into findings and evidence",
        formats=ALL_FORMATS,
    ),
    Case(
        "node-files-junk",
        mutate(_junk_node_files),
        # a conflist that does not load is exactly GEN011's fault
        Finished(gaps=(("nodes/node-1/ip-route.json", "cannot parse"),), exit=3, findings=("GEN011",)),
        "binary junk and wrong-shape JSON in node files",
    ),
    Case(
        "json-enormous-300-mib",
        mutate_tgz(_enormous_pods),
        Finished(gaps=(("cluster/default/pods.json", "larger"),)),
        "a dense 300 MiB pods.json (about 1.2 GiB parsed) inside an archive",
        formats=HEAVY,
    ),
    Case(
        "json-sparse-40-gib",
        mutate(_sparse_json),
        Finished(gaps=(("cluster/kube-system/pods.json", "larger"),)),
        "a pods.json claiming 40 GiB (sparse)",
    ),
]

_LOGS = [
    _json_case("log-invalid-utf8", FLANNEL_LOG, b"ok\n\xff\xfe\xc3( broken\n" * 50, "UTF-8", "invalid UTF-8"),
    _json_case("log-nul-bytes", FLANNEL_LOG, b"I1203 main.go\0\0 started\n\0\0\0\n" * 200, None, "NUL bytes"),
    _json_case("log-only-cr", FLANNEL_LOG, b"line\r" * 200_000, None, "carriage returns, no newline"),
    _json_case(
        "log-single-100-mib-line",
        "cluster/default/big/app.log",
        b"x" * (100 * MIB),
        None,
        "one 100 MiB line",
        formats=HEAVY,
    ),
    _json_case(
        "log-markers-broken",
        "cluster/kube-flannel/kube-flannel-ds-2wtk2/logs.txt",
        "==== START logs for container kube-flannel of pod kube-flannel/kube-flannel-ds-2wtk2 ====\n"
        "==== START logs for container [/] of pod a/b ====\nline\n==== END logs for container x of pod y/z ====\n"
        "==== END logs for container\n==== START logs for container \x1b[2J of pod a/b ====\nafter\n",
        None,
        "unbalanced and hostile log block markers",
        formats=ALL_FORMATS,
    ),
    Case(
        "log-sparse-3-gib-no-newline",
        mutate(_sparse_log),
        Finished(),
        "a 1.5 GiB log of NULs without a newline (sparse file): held whole, it would not fit",
        formats=HEAVY,
    ),
]


def dump_file(*docs: str | bytes, name: str = "dump.txt") -> Callable[[Path], list[Path]]:
    """A case built as a `kubectl cluster-info dump` stdout file: the base NodeList, then DOCS."""

    def build(where: Path) -> list[Path]:
        parts = [(BASE / "cluster/nodes.json").read_bytes()]
        parts += [d.encode() if isinstance(d, str) else d for d in docs]
        (where / name).write_bytes(b"\n".join(parts) + b"\n")
        return [where / name]

    return build


def _logs_only_dump(where: Path) -> list[Path]:
    (where / "d.txt").write_text("==== START logs for container c of pod a/b ====\nhello\n")
    return [where / "d.txt"]


def _sparse_dump(where: Path) -> list[Path]:
    with open(where / "dump.txt", "wb") as f:
        f.write(b"{")
        f.truncate(3 * GIB)
    return [where / "dump.txt"]


_DUMP = [
    Case(
        "dump-items-wrong-types",
        dump_file(pods([1, "x", {"metadata": "x"}, {"metadata": {"namespace": 5}}, pod("ok", "default")])),
        Finished(gaps=(("dump.txt", "4 PodList item(s) without a valid namespace"),)),
        "stdout form: items that are not objects or lack a namespace",
    ),
    Case(
        "dump-hostile-namespaces",
        dump_file(pods([pod("a", "../../etc"), pod("b", "a/b"), pod("c", ".."), pod("d", "[/]\x1b[2J")])),
        Finished(gaps=(("dump.txt", "4 PodList item(s) without a valid namespace"),)),
        "stdout form: namespaces that are paths, markup and escapes",
        formats=ALL_FORMATS,
    ),
    Case(
        "dump-deeply-nested",
        dump_file(nested(200_000), pods([pod("ok", "default")])),
        Finished(gaps=(("dump.txt", "nested too deeply"),)),
        "stdout form: 200k nested arrays between two good lists",
    ),
    Case(
        "dump-malformed-and-unterminated",
        dump_file(
            '{"kind": "PodList", "items": [{"metadata": ',
            "garbage line\n\x00\x01",
            "==== START logs for container c of pod default/p ====\nno end marker\n" + "y" * 1000,
        ),
        Finished(gaps=(("dump.txt", "malformed JSON document"),)),
        "stdout form: a cut document, junk, a log block without its END line",
    ),
    Case(
        "dump-only-logs",
        _logs_only_dump,
        Refused("not a cnidoctor bundle"),
        "stdout form without a NodeList",
    ),
    Case("dump-3-gib", _sparse_dump, Refused("larger than 256 MiB"), "a 3 GiB stdout dump (sparse) is not read whole"),
]

_LAYOUT = [
    Case(
        "file-where-folder-expected",
        mutate(lambda root: [replace_with_file(root, "cluster/kube-system"), replace_with_file(root, "nodes/node-2")]),
        Finished(gaps=(("cluster/kube-system", "a file where"), ("nodes/node-2", "a file where"))),
        "a namespace folder and a node folder that are files",
    ),
    Case(
        "folder-where-file-expected",
        mutate(
            lambda root: [
                replace_with_dir(root, "cluster/nodes.json"),
                replace_with_dir(root, "nodes/node-1/ip-route.json"),
                replace_with_dir(root, FLANNEL_LOG),
            ]
        ),
        Finished(
            gaps=(
                ("cluster/nodes.json", "a folder where"),
                ("nodes/node-1/ip-route.json", "a folder where"),
                (FLANNEL_LOG, "a folder where"),
            )
        ),
        "nodes.json, a node file and a log that are folders",
    ),
    Case(
        "cni-net-d-is-a-file",
        mutate(lambda root: replace_with_file(root, "nodes/node-1/cni-net.d")),
        Finished(gaps=(("nodes/node-1/cni-net.d", "a file where"),)),
        "the CNI config folder is a file",
    ),
    Case(
        "fs-links-fifos-devices",
        mutate(_hostile_fs_entries),
        Finished(
            gaps=(
                ("cluster/kube-system/pods.json", "not a regular file"),
                ("nodes/node-2/sysctl.txt", "not a regular file"),
                ("nodes/node-3/dmesg.txt", "not a regular file"),
                ("cluster/etc", "not a regular file"),
                ("nodes/loop", "not a regular file"),
            )
        ),
        "symlinks out of the bundle (file and folder), a symlink loop, FIFOs, a device node",
    ),
    Case(
        "fs-dangling-symlink",
        mutate(_unreadable),
        Finished(gaps=(("nodes/node-1/resolv.conf", "not a regular file"),)),
        "a dangling symlink",
    ),
    Case(
        "fs-undecodable-names",
        mutate(_undecodable_names),
        Finished(gaps=(("cluster/ns-", "malformed"),)),
        "file names that are not UTF-8",
        formats=ALL_FORMATS,
    ),
    Case(
        "fs-nasty-names",
        mutate(_nasty_names),
        Finished(gaps=(("cluster/ns-x", "malformed"),)),
        "folder names with escapes, markup, bidi, emoji",
        formats=ALL_FORMATS,
    ),
    Case(
        "nodes-is-a-file",
        mutate(lambda root: replace_with_file(root, "nodes")),
        Finished(gaps=(("nodes", "a file where"),)),
        "the whole nodes/ folder is a file",
    ),
]

CORPUS: list[Case] = _DIRECT + _JSON + _LOGS + _DUMP + _LAYOUT


def build_all(root: Path, cases: list[Case] = CORPUS) -> dict[str, list[Path]]:
    """Build every case under ROOT/<case>/in (four at a time: copying and compressing); the CLI paths of each."""
    from concurrent.futures import ThreadPoolExecutor

    def one(case: Case) -> list[Path]:
        where = root / case.name / "in"
        where.mkdir(parents=True)
        return case.build(where)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip([c.name for c in cases], pool.map(one, cases), strict=True))


__all__ = ["CORPUS", "Case", "Finished", "Refused", "build_all"]
