"""Small helpers shared by the text parsers."""

from __future__ import annotations

import re

_DIGITS = {10: re.compile(r"[+-]?[0-9]{1,40}"), 16: re.compile(r"(?:0[xX])?[0-9a-fA-F]{1,40}")}


def to_int(text: str, base: int = 10) -> int | None:
    """TEXT as an integer, or None if it is not one of sane length (int() refuses >4300 digits)."""
    text = text.strip()
    return int(text, base) if _DIGITS[base].fullmatch(text) else None
