"""Run a node plan through a runner under budgets; every failure becomes a gap, never an abort.

Budgets: each command gets at most `command_timeout` seconds and never more than what is left of
the node's `node_timeout`; stdout is cut at `max_bytes` (the file is kept, marked by a gap); the
iptables/nft reads of one node run one at a time under a per-node lock (they never run concurrently
with each other, so they never contend for the xtables lock; we never call `iptables` itself, so no
`-w` is needed). Files go to a `Sink` (a bundle writer or the live session), which redacts on write.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from cnidoctor.bundle import layout
from cnidoctor.node.plan import OPTIONAL_BIN_DIRS, Budget, NodePaths, Step, build_plan
from cnidoctor.node.runner import CommandResult, CommandRunner

# POSIX sh only: agent images may have nothing but a shell, cat and ls.
_WHICH = 'for c in "$@"; do command -v "$c" >/dev/null 2>&1 && echo "$c"; done; exit 0'
_EXISTS = 'for p in "$@"; do if [ -e "$p" ]; then echo "$p"; exit 0; fi; done; exit 1'
_WALK = r"""walk() { for f in "$1"/* "$1"/.[!.]*; do
  if [ -d "$f" ] && [ ! -L "$f" ]; then [ "$2" -lt 3 ] && walk "$f" $(($2 + 1));
  elif [ -e "$f" ] || [ -L "$f" ]; then printf '%s\n' "${f#"$ROOT"/}"; fi; done; }
ROOT=$1; [ -d "$ROOT" ] || { echo "$ROOT: No such file or directory" >&2; exit 2; }; walk "$ROOT" 0"""
_IPAM = r"""[ -d "$1" ] || { echo "$1: No such file or directory" >&2; exit 2; }
for d in "$1"/*/; do [ -d "$d" ] || continue; n=${d%/}; echo "# ${n##*/}"
  for f in "$d"*; do [ -f "$f" ] || continue; b=${f##*/}
    case "$b" in lock) ;; last_reserved_ip*) echo "$b $(cat "$f")" ;; *) set -- $(cat "$f"); echo "$b $*" ;; esac
  done; done"""
_SHELL_TOOLS = ("sh", "cat", "ls")
_SAFE_NAME = re.compile(r"[^\x00-\x1f/\\]+")
_BIN_DIR = re.compile(rb'"binDir"\s*:\s*"([^"]+)"')

_IPTABLES_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


class Sink(Protocol):
    """Where files and gaps go: `NodeBundleSink` for `cnidoctor node`, the live `Session` for exec/probe."""

    def write_text(self, path: str, data: bytes) -> None: ...

    def gap(self, path: str, reason: str) -> None: ...


@dataclass
class CommandRecord:
    """One step's outcome, kept in the manifest."""

    file: str
    status: str  # ok | truncated | missing | failed | timeout | skipped | empty
    command: str = ""
    seconds: float = 0.0
    detail: str = ""

    def to_dict(self) -> dict:
        out = {"file": self.file, "status": self.status, "command": self.command, "seconds": round(self.seconds, 3)}
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass
class NodeRecord:
    """How one node's state was obtained (manifest `nodes.<name>`)."""

    node: str
    method: str  # node | exec | probe | none
    where: str = ""
    attempts: list[dict] = field(default_factory=list)  # fallback history: method, where, outcome
    commands: list[CommandRecord] = field(default_factory=list)
    seconds: float = 0.0
    files: int = 0

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "where": self.where,
            "attempts": self.attempts,
            "files": self.files,
            "seconds": round(self.seconds, 3),
            "commands": [c.to_dict() for c in self.commands],
        }


def _lock_for(node: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _IPTABLES_LOCKS.setdefault(node, threading.Lock())


def _show(argv: Sequence[str]) -> str:
    if len(argv) > 2 and argv[0] == "sh" and argv[1] == "-c":
        return "sh -c <script> " + " ".join(argv[3:])
    return " ".join(argv)


class _Gatherer:
    """One node's collection: a runner, a sink, the budget and a deadline."""

    def __init__(
        self, runner: CommandRunner, node: str, sink: Sink, paths: NodePaths, budget: Budget, clock: Callable[[], float]
    ) -> None:
        self.runner = runner
        self.node = node
        self.sink = sink
        self.paths = paths
        self.budget = budget
        self.clock = clock
        self.deadline = clock() + budget.node_timeout
        self.available: set[str] | None = None
        self.conf_texts: list[bytes] = []
        self.record = NodeRecord(node, runner.method, runner.where)

    # -- plumbing -----------------------------------------------------------------------------------
    def remaining(self) -> float:
        return self.deadline - self.clock()

    def run(self, argv: Sequence[str], step: Step | None = None, max_bytes: int | None = None) -> CommandResult:
        timeout = max(0.01, min(self.budget.command_timeout, self.remaining()))
        limit = max_bytes or self.budget.max_bytes
        if step is not None and step.iptables:
            with _lock_for(self.node):
                return self.runner.run(argv, timeout=timeout, max_bytes=limit)
        return self.runner.run(argv, timeout=timeout, max_bytes=limit)

    def path(self, name: str) -> str:
        return layout.node_file(self.node, name)

    def write(self, name: str, data: bytes) -> None:
        self.sink.write_text(self.path(name), data)
        self.record.files += 1

    def gap(self, name: str, reason: str) -> None:
        self.sink.gap(self.path(name), reason)

    def note(self, step: Step, status: str, res: CommandResult | None = None, detail: str = "") -> None:
        self.record.commands.append(
            CommandRecord(step.file, status, _show(res.argv) if res else "", res.seconds if res else 0.0, detail)
        )

    def has_tool(self, name: str) -> bool:
        return self.available is None or name in self.available

    # -- discovery ----------------------------------------------------------------------------------
    def discover_tools(self, steps: list[Step]) -> None:
        names = sorted({t for s in steps for t in s.tools} | set(_SHELL_TOOLS))
        res = self.run(("sh", "-c", _WHICH, "sh", *names), max_bytes=1 << 16)
        if res.ok:
            self.available = set(res.stdout.decode("utf-8", "replace").split()) | {"sh"}

    def first_existing(self, host_path: str) -> str | None:
        """The first candidate of HOST_PATH that exists where the runner runs."""
        res = self.run(("sh", "-c", _EXISTS, "sh", *self.paths.candidates(host_path)), max_bytes=1 << 16)
        found = res.stdout.decode("utf-8", "replace").strip() if res.ok else ""
        return found or None

    # -- steps --------------------------------------------------------------------------------------
    def step(self, step: Step) -> None:
        if self.remaining() <= 0:
            self.note(step, "skipped", detail="per-node deadline reached")
            self.gap(step.file, f"not collected: the per-node deadline of {self.budget.node_timeout:g}s was reached")
            return
        handler = {
            "command": self.command,
            "file": self.file,
            "conf-tree": self.conf_tree,
            "bin-listing": self.bin_listing,
            "ipam": self.ipam,
        }[step.kind]
        handler(step)

    def command(self, step: Step) -> None:
        failures: list[str] = []
        last: CommandResult | None = None
        for argv in step.commands:
            if not self.has_tool(argv[0]):
                failures.append(f"{argv[0]}: command not found")
                continue
            res = self.run(argv, step)
            last = res
            if res.not_found:
                failures.append(f"{argv[0]}: command not found")
                continue
            if res.timed_out or res.error:
                why = f"timed out after {res.seconds:.0f}s" if res.timed_out else res.stderr_line()
                self.note(step, "timeout" if res.timed_out else "failed", res, why)
                self.gap(step.file, f"{_show(argv)}: {why}")
                return
            if res.returncode in step.ok_codes or res.truncated:
                self.write(step.file, res.stdout + (res.stderr if step.stderr else b""))
                self.finish_ok(step, res)
                return
            if step.keep_failure:
                self.write(step.file, res.stdout + res.stderr)
                self.note(step, "failed", res, res.stderr_line())
                self.gap(step.file, f"{_show(argv)}: exit status {res.returncode}: {res.stderr_line()}")
                return
            failures.append(f"{_show(argv)}: exit status {res.returncode}: {res.stderr_line()}")
        status = "missing" if all("command not found" in f for f in failures) else "failed"
        detail = "; ".join(dict.fromkeys(failures))
        if step.keep_failure and status == "missing":
            self.write(step.file, ("\n".join(failures) + "\n").encode())
        self.note(step, status, last, detail)
        self.gap(step.file, f"not collected from {self.runner.where}: {detail}")

    def finish_ok(self, step: Step, res: CommandResult) -> None:
        if res.truncated:
            self.note(step, "truncated", res, f"output cut at {self.budget.max_bytes} bytes")
            self.gap(step.file, f"{_show(res.argv)}: output cut at {self.budget.max_bytes} bytes (--max-bytes)")
        else:
            self.note(step, "ok", res)

    def file(self, step: Step) -> None:
        assert step.path is not None
        found = self.first_existing(step.path)
        if found is None:
            self.note(step, "missing", detail=f"{step.path}: no such file")
            self.gap(step.file, f"{step.path}: no such file on the node (as seen from {self.runner.where})")
            return
        res = self.run(("cat", "--", found), step)
        if res.ok or res.truncated:
            self.write(step.file, res.stdout)
            self.finish_ok(step, res)
        else:
            self.note(step, "failed", res, res.stderr_line())
            self.gap(step.file, f"cat {found}: {res.stderr_line() or 'failed'}")

    def conf_tree(self, step: Step) -> None:
        assert step.path is not None
        root = self.first_existing(step.path)
        if root is None:
            self.note(step, "missing", detail=f"{step.path}: no such directory")
            self.gap(step.file + "/", f"{step.path}: no such directory (as seen from {self.runner.where})")
            return
        res = self.run(("sh", "-c", _WALK, "sh", root), step, max_bytes=1 << 20)
        if not res.ok:
            self.note(step, "failed", res, res.stderr_line())
            self.gap(step.file + "/", f"listing {root}: {res.stderr_line() or res.returncode}")
            return
        names = [n for n in res.stdout.decode("utf-8", "replace").splitlines() if n]
        if not names:
            self.note(step, "empty", res, f"{step.path} is empty")
            return
        bad = [n for n in names if not all(_SAFE_NAME.fullmatch(p) and p not in (".", "..") for p in n.split("/"))]
        for n in bad:
            self.gap(f"{step.file}/", f"{step.path}: file name {n[:80]!r} not kept")
        names = [n for n in names if n not in bad]
        for n in names[self.budget.max_conf_files :]:
            self.gap(f"{step.file}/{n}", f"not read: more than {self.budget.max_conf_files} files in {step.path}")
        failed = 0
        for n in names[: self.budget.max_conf_files]:
            one = self.run(("cat", "--", f"{root}/{n}"), step)
            if one.ok or one.truncated:
                self.write(f"{step.file}/{n}", one.stdout)
                self.conf_texts.append(one.stdout)
            else:
                failed += 1
                self.gap(f"{step.file}/{n}", f"cat {step.path}/{n}: {one.stderr_line() or 'failed'}")
        self.note(
            step,
            "ok" if not failed else "failed",
            res,
            f"{len(names)} file(s)" + (f", {failed} unreadable" if failed else ""),
        )

    def bin_dirs(self) -> list[str]:
        dirs = list(self.paths.cni_bin_dirs)
        if self.paths.cni_bin_dirs_explicit:
            return dirs
        for text in self.conf_texts:  # Multus (and others) run delegates from their own binDir
            for m in _BIN_DIR.finditer(text):
                d = m.group(1).decode("utf-8", "replace").rstrip("/")
                if d.startswith("/") and d not in dirs:
                    dirs.append(d)
        for d in OPTIONAL_BIN_DIRS:
            if d not in dirs and self.first_existing(d) is not None:
                dirs.append(d)
        return dirs

    def bin_listing(self, step: Step) -> None:
        if not self.has_tool("ls"):
            self.note(step, "missing", detail="ls: command not found")
            self.gap(step.file, f"not collected from {self.runner.where}: ls: command not found")
            return
        out: list[bytes] = []
        last = None
        for host_dir in self.bin_dirs():
            seen = self.first_existing(host_dir) or self.paths.candidates(host_dir)[0]
            res = last = self.run(("ls", "-1", "--", seen), step)
            out.append(f"# {host_dir}\n".encode())
            if res.ok:
                out.append(res.stdout)
            else:
                msg = res.stderr_line() or f"ls: cannot access '{host_dir}': failed"
                out.append((msg.replace(seen, host_dir) + "\n").encode())
        self.write(step.file, b"".join(out))
        self.note(step, "ok", last)

    def ipam(self, step: Step) -> None:
        assert step.path is not None
        root = self.first_existing(step.path)
        if root is None:
            self.note(step, "missing", detail=f"{step.path}: no such directory")
            self.gap(step.file, f"{step.path}: no such directory (no host-local reservations on this node)")
            return
        res = self.run(("sh", "-c", _IPAM, "sh", root), step)
        if res.ok or res.truncated:
            self.write(step.file, res.stdout)
            self.finish_ok(step, res)
        else:
            self.note(step, "failed", res, res.stderr_line())
            self.gap(step.file, f"listing {step.path}: {res.stderr_line() or res.returncode}")

    def gather(self, steps: list[Step]) -> NodeRecord:
        started = self.clock()
        self.discover_tools(steps)
        shell_less = self.available is None and not self.run(("sh", "-c", "exit 0")).ok
        for step in steps:
            if shell_less and step.kind != "command":
                self.note(step, "missing", detail="sh: command not found")
                self.gap(step.file, f"not collected from {self.runner.where}: needs a POSIX shell (sh)")
                continue
            self.step(step)
        self.record.seconds = self.clock() - started
        return self.record


def gather_node_state(
    runner: CommandRunner,
    node: str,
    sink: Sink,
    *,
    paths: NodePaths | None = None,
    budget: Budget | None = None,
    skip: frozenset[str] = frozenset(),
    clock: Callable[[], float] = time.monotonic,
) -> NodeRecord:
    """Collect NODE's state through RUNNER into SINK (files under nodes/NODE/); returns what happened."""
    paths = paths or NodePaths()
    steps = build_plan(paths, agent_pod=runner.method == "exec", skip=skip)
    return _Gatherer(runner, node, sink, paths, budget or Budget(), clock).gather(steps)
