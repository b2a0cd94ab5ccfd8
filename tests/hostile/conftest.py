"""The corpus totals, printed in pytest's terminal summary (visible without -s)."""

from __future__ import annotations

from tests.hostile.corpus import SUMMARY


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001
    for line in SUMMARY:
        terminalreporter.write_line(line)
