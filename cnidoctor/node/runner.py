"""The runner seam: how a command reaches a node. `LocalRunner` runs it here; `ExecRunner`
(`cnidoctor.collect.nodes.kubeexec`) runs it in a pod through the API's exec stream.

A runner never raises for a failing command: it returns a `CommandResult` that says what happened
(exit status, not found, timed out, output cut at the byte cap, or a transport error).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Protocol

NOT_FOUND_EXIT = 127  # the shell's "command not found"
STDERR_CAP = 64 << 10


@dataclass
class CommandResult:
    """What one command did."""

    argv: tuple[str, ...]
    returncode: int | None  # None when it did not finish (timeout, transport error)
    stdout: bytes
    stderr: bytes
    seconds: float
    timed_out: bool = False
    truncated: bool = False  # stdout reached the byte cap and the command was stopped
    not_found: bool = False  # the command does not exist where it ran
    error: str | None = None  # could not be run at all (exec refused, connection lost)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not (self.timed_out or self.not_found or self.error)

    def stderr_line(self, limit: int = 300) -> str:
        """The stderr (or error) as one short line, for a gap."""
        text = self.error or self.stderr.decode("utf-8", "replace")
        text = " ".join(text.split())
        return text if len(text) <= limit else text[: limit - 3] + "..."


class CommandRunner(Protocol):
    """Runs one command on (or for) a node; implementations: LocalRunner, ExecRunner."""

    method: str  # how state is obtained, recorded in the manifest: "node", "exec", "probe"
    where: str  # human description of the place commands run ("local", "pod ns/name container c")

    def run(self, argv: Sequence[str], *, timeout: float, max_bytes: int) -> CommandResult:
        """Run ARGV; stop it after TIMEOUT seconds or once stdout exceeds MAX_BYTES."""
        ...


def _drain(stream: IO[bytes], cap: int, into: bytearray, full: threading.Event) -> None:
    """Read STREAM into INTO up to CAP bytes, then set FULL (the caller stops the process)."""
    while True:
        chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
        if not chunk:
            return
        room = cap - len(into)
        if room > 0:
            into += chunk[:room]
        if len(chunk) > room:
            full.set()
            return


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


class LocalRunner:
    """Runs commands with subprocess (in their own process group, killed whole on timeout or cap).

    PREFIX is put before every command: `("ip", "netns", "exec", "ns1")` runs them in a network
    namespace, `("nsenter", "-t", "1", "-a", "--")` in the host's namespaces.
    """

    method = "node"

    def __init__(self, prefix: Sequence[str] = (), where: str = "local", method: str = "node") -> None:
        self.prefix = tuple(prefix)
        self.where = where
        self.method = method

    def run(self, argv: Sequence[str], *, timeout: float, max_bytes: int) -> CommandResult:
        full_argv = (*self.prefix, *argv)
        started = time.monotonic()
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        try:
            proc = subprocess.Popen(
                full_argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                env=env,
            )
        except FileNotFoundError:
            return CommandResult(
                tuple(argv),
                None,
                b"",
                f"{argv[0]}: command not found".encode(),
                time.monotonic() - started,
                not_found=True,
            )
        except OSError as exc:
            return CommandResult(
                tuple(argv),
                None,
                b"",
                b"",
                time.monotonic() - started,
                error=f"cannot run {argv[0]}: {exc.strerror or exc}",
            )
        out, err = bytearray(), bytearray()
        full, err_full = threading.Event(), threading.Event()
        assert proc.stdout is not None and proc.stderr is not None
        readers = [
            threading.Thread(target=_drain, args=(proc.stdout, max_bytes, out, full), daemon=True),
            threading.Thread(target=_drain, args=(proc.stderr, STDERR_CAP, err, err_full), daemon=True),
        ]
        for t in readers:
            t.start()
        deadline = started + max(timeout, 0.01)
        timed_out = False
        while proc.poll() is None:
            if full.is_set():
                break
            if time.monotonic() >= deadline:
                timed_out = True
                break
            full.wait(0.02)
        if proc.poll() is None:
            _kill_group(proc)
        proc.wait()
        for t in readers:
            t.join(timeout=2)
        proc.stdout.close()
        proc.stderr.close()
        code = None if timed_out else proc.returncode
        return CommandResult(
            tuple(argv),
            code,
            bytes(out),
            bytes(err),
            time.monotonic() - started,
            timed_out=timed_out,
            truncated=full.is_set() and not timed_out,
            not_found=code == NOT_FOUND_EXIT,
        )
