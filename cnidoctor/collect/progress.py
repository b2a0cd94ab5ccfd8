"""Progress on stderr (phases, counts, elapsed); silent with --quiet. The report owns stdout."""

from __future__ import annotations

import threading
import time

from rich.console import Console


class Progress:
    """A live line on a terminal, one line per phase otherwise."""

    def __init__(self, quiet: bool = False, console: Console | None = None) -> None:
        self.quiet = quiet
        self.console = console or Console(stderr=True, highlight=False)
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._status = None
        self._phase = ""
        self._done = 0
        self._total = 0
        self._failed = 0

    def _line(self) -> str:
        failed = f", {self._failed} failed" if self._failed else ""
        return f"collect: {self._phase} {self._done}/{self._total}{failed} [{time.monotonic() - self.started:.1f}s]"

    def phase(self, name: str, total: int) -> None:
        with self._lock:
            self._phase, self._done, self._total, self._failed = name, 0, total, 0
        if self.quiet:
            return
        if self.console.is_terminal:
            if self._status is None:
                self._status = self.console.status(self._line())
                self._status.start()
            else:
                self._status.update(self._line())

    def advance(self, ok: bool = True) -> None:
        with self._lock:
            self._done += 1
            self._failed += 0 if ok else 1
        if self._status is not None:
            self._status.update(self._line())

    def end_phase(self) -> None:
        if self.quiet or self._total == 0:
            return
        if not self.console.is_terminal:
            self.console.print(self._line(), markup=False)

    def message(self, text: str) -> None:
        if not self.quiet:
            self.console.print(text, markup=False)

    def stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
