"""Remediation text placeholders: `{node}`, `{pod}`, `{namespace}` and regex groups, filled from evidence."""

from __future__ import annotations

import string


class _Defaulting(dict):
    def __missing__(self, key: str) -> str:
        return f"<{key}>"


def fill(template: str, values: dict[str, str]) -> str:
    """Fill placeholders from VALUES; unknown ones read `<name>`, `{{`/`}}` become braces."""
    try:
        return string.Formatter().vformat(template, (), _Defaulting(values))
    except (ValueError, IndexError, KeyError, AttributeError):
        return template
