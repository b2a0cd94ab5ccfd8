"""`cnidoctor version`."""

from __future__ import annotations

import typer

from cnidoctor import __version__


def version() -> None:
    """Print the cnidoctor version."""
    typer.echo(f"cnidoctor {__version__}")
