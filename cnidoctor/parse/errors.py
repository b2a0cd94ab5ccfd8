"""The one error type every parser raises for input it cannot read."""

from __future__ import annotations


class ParseError(ValueError):
    """Input that a parser cannot read; `str()` reads like `ip-route.json:3: expected a JSON list`."""

    def __init__(self, message: str, source: str = "<input>", line: int | None = None) -> None:
        self.message = message
        self.source = source
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.message}"

    def __reduce__(self) -> tuple[type[ParseError], tuple[str, str, int | None]]:
        return (ParseError, (self.message, self.source, self.line))
