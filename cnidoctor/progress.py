"""Progress of long work on stderr: phase, items or bytes done, elapsed.

Nothing is drawn for work that ends within a second, when stderr is not a terminal, or with `--quiet`.
Updates only add to counters; a background refresh (a few times a second) draws them, so reporting never
slows the work it reports on. The report itself owns stdout.
"""

from __future__ import annotations

import threading
from typing import Any

SHOW_AFTER = 1.0  # seconds


class NullProgress:
    """Reports nothing (quiet, not a terminal, or a library caller)."""

    def phase(self, name: str, total: int, unit: str = "") -> None:
        return None

    def advance(self, amount: int = 1) -> None:
        return None

    def finish(self) -> None:
        return None


class RichProgress:
    """A rich progress bar on stderr that appears once the work has taken SHOW_AFTER seconds."""

    def __init__(self, console: Any = None, show_after: float = SHOW_AFTER) -> None:
        from rich.console import Console

        self.console = console or Console(stderr=True)
        self.show_after = show_after
        self._lock = threading.Lock()
        self._bar: Any = None
        self._task: Any = None
        self._name, self._total, self._unit, self._done = "", 0, "", 0
        self._timer = threading.Timer(show_after, self._show)
        self._timer.daemon = True
        self._timer.start()

    def _columns(self) -> list[Any]:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        count = DownloadColumn() if self._unit == "bytes" else MofNCompleteColumn()
        return [TextColumn("{task.description}"), BarColumn(), count, TimeElapsedColumn()]

    def _show(self) -> None:
        from rich.progress import Progress

        with self._lock:
            if self._bar is not None or self._name == "finished":
                return
            self._bar = Progress(*self._columns(), console=self.console, transient=True, refresh_per_second=4)
            self._bar.start()
            self._task = self._bar.add_task(self._name, total=self._total or None, completed=self._done)

    def phase(self, name: str, total: int, unit: str = "") -> None:
        with self._lock:
            self._name, self._total, self._unit, self._done = name, total, unit, 0
            if self._bar is not None:
                self._bar.columns = tuple(self._columns())
                self._bar.reset(self._task, total=total or None, description=name, completed=0)

    def advance(self, amount: int = 1) -> None:
        self._done += amount  # the refresh thread reads it; no lock on the hot path
        bar = self._bar
        if bar is not None:
            bar.update(self._task, completed=self._done)

    def finish(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._name = "finished"
            if self._bar is not None:
                self._bar.stop()
                self._bar = None


def progress_for(quiet: bool, console: Any = None) -> NullProgress | RichProgress:
    """A RichProgress when stderr is an interactive terminal and not QUIET, else a NullProgress."""
    if quiet:
        return NullProgress()
    if console is None:
        from rich.console import Console

        console = Console(stderr=True)
    if not console.is_terminal or console.is_dumb_terminal:
        return NullProgress()
    return RichProgress(console)
