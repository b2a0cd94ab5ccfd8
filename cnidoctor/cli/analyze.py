"""`cnidoctor analyze BUNDLE [NODE-BUNDLE...]`: diagnose a snapshot offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cnidoctor.cli.common import FailOn, OutputFormat, emit, exit_code, split_ids


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
) -> None:
    """Diagnose a bundle offline and print the report."""
    from cnidoctor.bundle.reader import Bundle
    from cnidoctor.catalog.loader import load_catalog
    from cnidoctor.diagnose.engine import diagnose, select_checks

    catalog = select_checks(load_catalog(checks_dir), split_ids(select), split_ids(ignore))
    bundle = Bundle.open(paths)
    result = diagnose(bundle, catalog)
    emit(result, format, output, width)
    raise typer.Exit(int(exit_code(result, fail_on)))
