"""Remediation text placeholders: `{node}`, `{pod}`, `{namespace}` and regex groups, filled from evidence."""

from __future__ import annotations

import re
import string

# A word that is safe unquoted in a shell command: name and path characters only, not starting with `-`.
_SAFE_WORD = re.compile(r"[A-Za-z0-9_/][A-Za-z0-9._:/,=@%+-]*")
# Values a check's own code composed as whole commands (it quotes what it puts in them).
_COMPOSED = ("fix", "restart", "inspect")


class _Defaulting(dict):
    def __missing__(self, key: str) -> str:
        return f"<{key}>"


def fill(template: str, values: dict[str, str]) -> str:
    """Fill placeholders from VALUES; unknown ones read `<name>`, `{{`/`}}` become braces."""
    try:
        return string.Formatter().vformat(template, (), _Defaulting(values))
    except (ValueError, IndexError, KeyError, AttributeError):
        return template


def shell_safe(values: dict[str, str]) -> dict[str, str]:
    """The VALUES that may be pasted into a command unquoted: space-separated words of name characters.

    Values come from the bundle (a node name, a log's captured group); one holding `$(...)`, `;`, quotes
    or a leading `-` would inject into the command a reader copies, so it stays a `<key>` placeholder.
    """
    return {
        k: v
        for k, v in values.items()
        if v == "" or k.endswith("command") or k in _COMPOSED or all(_SAFE_WORD.fullmatch(w) for w in v.split(" "))
    }
