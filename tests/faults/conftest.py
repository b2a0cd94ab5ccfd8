"""Totals of the fault suite, printed in pytest's terminal summary (visible without -s)."""

from __future__ import annotations

from tests.faults.totals import TOTALS


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001
    if TOTALS:
        terminalreporter.write_line(
            f"api faults: {TOTALS['faults']} faults injected, {TOTALS['scans']} scans completed, "
            f"tracebacks: {TOTALS['tracebacks']}"
        )
