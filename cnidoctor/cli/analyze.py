"""`cnidoctor analyze BUNDLE [NODE-BUNDLE...]`: diagnose a snapshot offline."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from cnidoctor.cli.common import (
    FailOn,
    OutputFormat,
    check_output_apart,
    emit,
    exit_code,
    require_checks,
    split_ids,
)

FAST_EXIT_AFTER = 2.0  # seconds of analysis after which the process exits without freeing its objects


def analyze(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Bundle folder, .tar.gz, `kubectl cluster-info dump` folder or output file; "
            "more node bundles (from `cnidoctor node`) to merge may follow.",
            show_default=False,
        ),
    ],
    format: Annotated[OutputFormat, typer.Option("--format", "-f", help="Report format.")] = OutputFormat.terminal,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to a file.")] = None,
    select: Annotated[list[str] | None, typer.Option(help="Only checks with these IDs or ID prefixes.")] = None,
    ignore: Annotated[list[str] | None, typer.Option(help="Skip checks with these IDs or ID prefixes.")] = None,
    fail_on: Annotated[FailOn, typer.Option(help="Lowest severity that makes the exit code non-zero.")] = (
        FailOn.warning
    ),
    checks_dir: Annotated[
        list[Path] | None, typer.Option("--checks-dir", help="Extra folder of checks (repeatable).")
    ] = None,
    width: Annotated[int | None, typer.Option(help="Terminal report width.", hidden=True)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")] = False,
) -> None:
    """Diagnose a bundle offline and print the report."""
    from cnidoctor.bundle.reader import Bundle
    from cnidoctor.catalog.loader import load_catalog
    from cnidoctor.diagnose.engine import diagnose, select_checks
    from cnidoctor.progress import progress_for

    check_output_apart(output, paths)
    catalog = select_checks(load_catalog(checks_dir), split_ids(select), split_ids(ignore))
    bundle = Bundle.open(paths)
    progress = progress_for(quiet)
    try:
        result = diagnose(bundle, catalog, progress)
    finally:
        progress.finish()
    emit(result, format, output, width)
    require_checks(result)
    code = int(exit_code(result, fail_on))
    if result.elapsed > FAST_EXIT_AFTER and sys.stdout is sys.__stdout__:
        # a big analysis holds millions of objects: freeing them one by one at exit takes seconds
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise typer.Exit(code)
