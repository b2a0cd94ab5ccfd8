"""The typer application: global flags, command registration, and error → exit-code mapping."""

from __future__ import annotations

import os
import sys

import typer

from cnidoctor.errors import CnidoctorError, ExitCode, StdoutClosed

app = typer.Typer(
    name="cnidoctor",
    help="Diagnose broken Kubernetes pod networking: what is broken, why, and what to type to fix it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        from cnidoctor import __version__

        typer.echo(f"cnidoctor {__version__}")
        raise typer.Exit(0)


@app.callback()
def _global(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", is_eager=True, callback=_print_version
    ),
) -> None:
    """Diagnose broken Kubernetes pod networking: what is broken, why, and what to type to fix it."""


def _register() -> None:
    from cnidoctor.cli import analyze, checks, version
    from cnidoctor.cli import node as node_cmd

    app.command("analyze")(analyze.analyze)
    app.add_typer(checks.app, name="checks")
    app.command("version")(version.version)
    app.command("node")(node_cmd.node)
    try:
        from cnidoctor.cli import live
    except ImportError:  # live collection not installed in this build
        return
    live.register(app)


_register()


def main() -> None:
    """Console-script entry point: domain errors are one line and exit 2, bugs exit 1."""
    try:
        code = app(standalone_mode=False)
        if code == 130:  # typer turns a KeyboardInterrupt inside a command into Exit(130)
            print("error: interrupted", file=sys.stderr)
    except CnidoctorError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        sys.exit(int(exc.exit_code))
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (StdoutClosed, BrokenPipeError):  # `cnidoctor analyze ... | head`: the reader has what it wanted
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush must not fail again
        sys.exit(int(ExitCode.STDOUT_CLOSED))
    except (typer.Abort, KeyboardInterrupt):
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # click usage errors (typer may vendor click) and our bugs
        if callable(getattr(exc, "format_message", None)) and hasattr(exc, "exit_code"):
            no_args = type(exc).__name__ == "NoArgsIsHelpError"  # bare `cnidoctor`: show the help
            print(exc.format_message() if no_args else f"error: {exc.format_message()}", file=sys.stderr)
            sys.exit(int(ExitCode.USAGE))
        if os.environ.get("CNIDOCTOR_DEBUG"):
            raise
        print(f"error: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        print("hint: rerun with CNIDOCTOR_DEBUG=1 for a traceback and report it", file=sys.stderr)
        sys.exit(int(ExitCode.INTERNAL))
    sys.exit(code if isinstance(code, int) else 0)
