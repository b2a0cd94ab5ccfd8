"""Error types and exit codes: documented once, used everywhere."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes (see README)."""

    OK = 0  # nothing at or above the --fail-on threshold
    INTERNAL = 1  # a bug in cnidoctor
    USAGE = 2  # bad usage or unreadable input
    CRITICAL = 3  # critical findings
    WARNING = 4  # warnings only
    STDOUT_CLOSED = 141  # the reader of stdout went away (`| head`): 128 + SIGPIPE, as a Unix tool


class StdoutClosed(Exception):
    """The reader of stdout went away (not an OSError: click would turn that into exit 1)."""


class CnidoctorError(Exception):
    """A domain error shown to the user as `error: <message>` with an optional hint."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class BundleError(CnidoctorError):
    """The input is not a readable bundle."""


class CatalogError(CnidoctorError):
    """A check definition is invalid."""


class UsageError(CnidoctorError):
    """Bad command-line usage."""


class NothingCollected(CnidoctorError):
    """A live collection got no API object and no node state: no verdict can be given."""
