"""Bundle text made safe to show: a stranger's bundle must not drive the reader's terminal.

Names, paths, log excerpts and gap reasons come from the bundle; control characters (ESC sequences
that retitle, clear or recolour the terminal, carriage returns that overwrite a line), bidi overrides
that reorder what is shown, and undecodable bytes become visible `\\xNN` / `\\uNNNN` escapes.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object) -> str:
    """TEXT with control characters, bidi controls and lone surrogates shown as escapes (tab and newline kept)."""
    return _UNSAFE.sub(_escape, str(text))
