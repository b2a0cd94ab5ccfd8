"""Progress on stderr: silent when quiet or not a terminal; the engine reports phases without rich."""

from __future__ import annotations

import io

from rich.console import Console

from cnidoctor.bundle.reader import Bundle
from cnidoctor.diagnose.engine import diagnose
from cnidoctor.progress import NullProgress, RichProgress, progress_for
from tests.conftest import FIXTURES, catalog


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def phase(self, name: str, total: int, unit: str = "") -> None:
        self.events.append(("phase", name, unit, total))

    def advance(self, amount: int = 1) -> None:
        self.events.append(("advance", amount))

    def finish(self) -> None:
        self.events.append(("finish",))


def test_engine_reports_phases_and_bytes():
    bundle = Bundle.open([FIXTURES / "case-CI-01" / "bundle"])
    rec = Recorder()
    plain = diagnose(Bundle.open([FIXTURES / "case-CI-01" / "bundle"]), catalog())
    result = diagnose(bundle, catalog(), rec)
    phases = [e for e in rec.events if e[0] == "phase"]
    assert [p[1] for p in phases] == ["scanning logs", "running checks"]
    log_bytes = sum(bundle.size(r.path) for r in bundle.logs)
    assert phases[0][2:] == ("bytes", log_bytes)
    first_checks = rec.events.index(phases[1])
    assert sum(e[1] for e in rec.events[1:first_checks] if e[0] == "advance") == log_bytes
    assert sum(1 for e in rec.events[first_checks:] if e[0] == "advance") == phases[1][3]
    assert rec.events[-1] == ("finish",)
    assert [f.check.id for f in result.findings] == [f.check.id for f in plain.findings]


def test_quiet_or_not_a_terminal_draws_nothing():
    assert isinstance(progress_for(True), NullProgress)
    assert isinstance(progress_for(False, Console(file=io.StringIO())), NullProgress)


def test_short_work_draws_nothing():
    out = io.StringIO()
    p = RichProgress(Console(file=out, force_terminal=True, width=80), show_after=5.0)
    p.phase("running checks", 3, unit="checks")
    p.advance()
    p.finish()
    assert out.getvalue() == ""


def test_long_work_shows_phase_and_counts():
    out = io.StringIO()
    p = RichProgress(Console(file=out, force_terminal=True, width=100), show_after=0.0)
    p.phase("scanning logs", 4 << 20, unit="bytes")
    p.advance(1 << 20)
    import time

    time.sleep(0.4)
    p._bar.refresh()
    p.finish()
    text = out.getvalue()
    assert "scanning logs" in text
    assert "1.0/4.2 MB" in text or "MB" in text
