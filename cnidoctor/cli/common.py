"""Options and helpers shared by the commands that produce a report (analyze, scan)."""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from cnidoctor.errors import ExitCode, StdoutClosed, UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from cnidoctor.diagnose.engine import Diagnosis


class OutputFormat(str, Enum):
    terminal = "terminal"
    json = "json"
    markdown = "markdown"


class FailOn(str, Enum):
    critical = "critical"
    warning = "warning"
    never = "never"


def split_ids(values: list[str] | None) -> list[str]:
    """`--select CAL --select GEN001,GEN002` → ['CAL', 'GEN001', 'GEN002']."""
    out = []
    for v in values or []:
        out.extend(p.strip() for p in v.split(",") if p.strip())
    return out


def check_output_apart(output: Path | None, inputs: list[Path]) -> None:
    """The report must never overwrite the evidence it is written from (an input file, or a file in it)."""
    if output is None:
        return
    out = output.resolve()
    for p in inputs:
        src = p.resolve()
        if out == src or src in out.parents:
            raise UsageError(f"--output {output} would overwrite the bundle being analysed ({p}): choose another path")


def require_checks(d: Diagnosis) -> None:
    """No check evaluated (a `--select` of checks that do not apply here) is not a healthy cluster."""
    if not d.results:
        cnis = ", ".join(d.detected_cnis) or "none"
        raise UsageError(
            f"none of the selected checks applies to this bundle (CNIs detected: {cnis}; "
            f"{d.not_applicable} not applicable): nothing was evaluated"
        )


def exit_code(d: Diagnosis, fail_on: FailOn) -> ExitCode:
    if fail_on is FailOn.never:
        return ExitCode.OK
    sev = {f.check.severity.value for f in d.findings}
    if "critical" in sev:
        return ExitCode.CRITICAL
    if fail_on is FailOn.warning and "warning" in sev:
        return ExitCode.WARNING
    return ExitCode.OK


def stdout_console(width: int | None = None) -> Console:
    from rich.console import Console

    env_width = os.environ.get("CNIDOCTOR_WIDTH")
    if width is None and env_width and env_width.isdigit():
        width = int(env_width)
    console = Console(
        file=sys.stdout,
        width=width,
        no_color=bool(os.environ.get("NO_COLOR")) or None,
        highlight=False,
        soft_wrap=False,
    )

    def stdout_closed() -> None:  # rich would exit 1 ("internal error"); `main` makes it 141
        raise StdoutClosed

    console.on_broken_pipe = stdout_closed  # type: ignore[method-assign]
    return console


def emit(d: Diagnosis, fmt: OutputFormat, output: Path | None, width: int | None = None) -> None:
    """Write the report to stdout (or OUTPUT)."""
    if fmt is OutputFormat.json:
        from cnidoctor.render import jsonout

        text = jsonout.render(d)
    elif fmt is OutputFormat.markdown:
        from cnidoctor.render import markdown

        text = markdown.render(d)
    else:
        from rich.console import Console

        from cnidoctor.render import terminal

        if output is None:
            terminal.render(d, stdout_console(width))
            return
        console = Console(record=True, width=width or 100, file=open(os.devnull, "w"))  # noqa: SIM115
        terminal.render(d, console)
        text = console.export_text()
    if output is None:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()  # a closed pipe fails here, not in the interpreter's last flush
        except BrokenPipeError:
            raise StdoutClosed from None
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write report to {output}: {exc.strerror or exc}") from None
