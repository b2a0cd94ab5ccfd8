"""`cnidoctor checks list|explain|patterns`: the catalog, and the docs generated from it."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from cnidoctor.errors import UsageError

app = typer.Typer(help="Browse the check catalog.", no_args_is_help=True)


class ListFormat(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"


ChecksDir = Annotated[list[Path] | None, typer.Option("--checks-dir", help="Extra folder of checks.")]


@app.command("list")
def list_checks(
    format: Annotated[ListFormat, typer.Option("--format", "-f")] = ListFormat.table,
    checks_dir: ChecksDir = None,
) -> None:
    """List every check (markdown output is docs/checks.md)."""
    from rich.console import Console
    from rich.table import Table

    from cnidoctor.catalog.docs import check_dict, markdown_catalog
    from cnidoctor.catalog.loader import load_catalog

    catalog = load_catalog(checks_dir)
    if format is ListFormat.json:
        typer.echo(json.dumps([check_dict(c) for c in catalog], indent=2))
    elif format is ListFormat.markdown:
        typer.echo(markdown_catalog(catalog), nl=False)
    else:
        table = Table("ID", "severity", "kind", "cni", "title", box=None, pad_edge=False)
        for c in catalog:
            table.add_row(c.id, c.severity.value, c.kind.value, c.cni, c.title)
        Console(highlight=False).print(table)


@app.command("explain")
def explain(check_id: Annotated[str, typer.Argument(metavar="ID")], checks_dir: ChecksDir = None) -> None:
    """Show one check's documentation: symptom, root cause, remediation, references."""
    from cnidoctor.catalog.docs import explain_text
    from cnidoctor.catalog.loader import load_catalog

    catalog = {c.id: c for c in load_catalog(checks_dir)}
    check = catalog.get(check_id.upper())
    if check is None:
        raise UsageError(f"no check with id {check_id!r}", hint="`cnidoctor checks list` shows every id")
    typer.echo(explain_text(check, catalog))


@app.command("patterns")
def patterns(checks_dir: ChecksDir = None) -> None:
    """Print every log pattern of the catalog, one Python regex per line."""
    from cnidoctor.catalog.loader import load_catalog
    from cnidoctor.diagnose.logscan import LogScanner
    from cnidoctor.diagnose.templates import TEMPLATES, compiled_params

    scanner = LogScanner()
    for check in load_catalog(checks_dir):
        for group, specs in (("match", check.match), ("unless", check.unless)):
            for i, spec in enumerate(specs):
                TEMPLATES[spec.template].prepare(compiled_params(check, group, i), scanner)
    for p in sorted(set(scanner.patterns)):
        typer.echo(p)
