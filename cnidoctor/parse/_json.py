"""JSON decoding shared by the parsers of JSON command output.

Every failure becomes a ParseError with the file and, where it can be known, the line: decode errors
carry the decoder's line, and the items of a top-level array carry the line they start on.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from cnidoctor.parse.errors import ParseError

_DECODER = json.JSONDecoder()
_WS = re.compile(r"[ \t\n\r]*")
_INT = re.compile(r"-?[0-9]{1,40}")


class _Lines:
    """Line numbers of offsets, counted incrementally for offsets that only move forward."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1

    def at(self, offset: int) -> int:
        if offset < self.pos:
            return self.text.count("\n", 0, offset) + 1
        self.line += self.text.count("\n", self.pos, offset)
        self.pos = offset
        return self.line


def _ws(text: str, i: int) -> int:
    m = _WS.match(text, i)
    return m.end() if m else i


def _prepare(text: str, source: str, what: str) -> str:
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise ParseError(f"empty input, expected {what}", source, 1)
    return text


def _decode_at(text: str, i: int, source: str, lines: _Lines) -> tuple[Any, int]:
    try:
        return _DECODER.raw_decode(text, i)
    except json.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON: {exc.msg}", source, exc.lineno) from None
    except RecursionError:
        raise ParseError("invalid JSON: nested too deeply", source, lines.at(i)) from None
    except ValueError as exc:  # e.g. an integer literal longer than int() accepts
        raise ParseError(f"invalid JSON: {str(exc)[:80]}", source, lines.at(i)) from None


def kind(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def loads(text: str, source: str, what: str) -> Any:
    """Decode one JSON document."""
    text = _prepare(text, source, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON: {exc.msg}", source, exc.lineno) from None
    except RecursionError:
        raise ParseError("invalid JSON: nested too deeply", source, None) from None
    except ValueError as exc:  # e.g. an integer literal longer than int() accepts
        raise ParseError(f"invalid JSON: {str(exc)[:80]}", source, None) from None


def _scan_array(text: str, i: int, source: str, lines: _Lines, out: list[tuple[int, Any]]) -> int:
    """Append the items of the array opening at text[i] with their lines; return the offset after it."""
    i = _ws(text, i + 1)
    if text.startswith("]", i):
        return i + 1
    while True:
        value, end = _decode_at(text, i, source, lines)
        out.append((lines.at(i), value))
        i = _ws(text, end)
        if text.startswith(",", i):
            i = _ws(text, i + 1)
        elif text.startswith("]", i):
            return i + 1
        else:
            raise ParseError("invalid JSON: expected ',' or ']'", source, lines.at(i))


def load_items(text: str, source: str, what: str) -> list[tuple[int, Any]]:
    """Items of a top-level JSON array, each with the line it starts on.

    Several arrays written back to back (older iproute2 prints one per address family) are joined.
    """
    text = _prepare(text, source, what)
    lines = _Lines(text)
    items: list[tuple[int, Any]] = []
    i = _ws(text, 0)
    while i < len(text):
        if not text.startswith("[", i):
            raise ParseError(f"expected {what}", source, lines.at(i))
        i = _ws(text, _scan_array(text, i, source, lines, items))
    return items


def load_keyed_items(text: str, source: str, key: str, what: str) -> tuple[dict[str, Any], list[tuple[int, Any]]]:
    """A top-level JSON object and the items (with lines) of the array under KEY."""
    data = loads(text, source, what)
    if not isinstance(data, dict):
        raise ParseError(f"expected {what}, got {kind(data)}", source, 1)
    value = data.get(key)
    if not isinstance(value, list):
        raise ParseError(f"expected {what}: no {key!r} list", source, 1)
    text = text.lstrip("\ufeff")
    lines = _Lines(text)
    # The document is valid JSON: walk its top-level members to find where the last KEY's list starts.
    start = None
    i = _ws(text, _ws(text, 0) + 1)
    while not text.startswith("}", i):
        name, end = _decode_at(text, i, source, lines)
        i = _ws(text, _ws(text, end) + 1)  # skip ':'
        if name == key and text.startswith("[", i):
            start = i
        _, end = _decode_at(text, i, source, lines)
        i = _ws(text, end)
        if text.startswith(",", i):
            i = _ws(text, i + 1)
    items: list[tuple[int, Any]] = []
    if start is not None:
        _scan_array(text, start, source, lines, items)
    return data, items


class Obj:
    """A JSON object with typed getters that raise ParseError naming the file, line and field.

    Getters are lenient in the ways real tools are: a number where a string is expected is
    stringified, an integral string or float is accepted as an int, 0/1 as a boolean.
    """

    __slots__ = ("data", "source", "line", "what")

    def __init__(self, data: Any, source: str, line: int | None, what: str) -> None:
        if not isinstance(data, dict):
            raise ParseError(f"expected a JSON object for {what}, got {kind(data)}", source, line)
        self.data: dict[str, Any] = data
        self.source = source
        self.line = line
        self.what = what

    def _bad(self, key: str, expected: str) -> ParseError:
        got = kind(self.data.get(key))
        return ParseError(f"{self.what}: {key!r} should be {expected}, got {got}", self.source, self.line)

    def _missing(self, key: str) -> ParseError:
        return ParseError(f"{self.what}: missing {key!r}", self.source, self.line)

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def get_str(self, key: str) -> str | None:
        v = self.data.get(key)
        if v is None or isinstance(v, str):
            return v
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return str(v)
        raise self._bad(key, "a string")

    def req_str(self, key: str) -> str:
        v = self.get_str(key)
        if v is None:
            raise self._missing(key)
        return v

    def get_int(self, key: str) -> int | None:
        v = self.data.get(key)
        if v is None:
            return None
        if isinstance(v, bool):
            raise self._bad(key, "an integer")
        if isinstance(v, int):
            return v
        if isinstance(v, float) and math.isfinite(v) and v.is_integer():
            return int(v)
        if isinstance(v, str) and _INT.fullmatch(v.strip()):
            return int(v.strip())
        raise self._bad(key, "an integer")

    def req_int(self, key: str) -> int:
        v = self.get_int(key)
        if v is None:
            raise self._missing(key)
        return v

    def get_float(self, key: str) -> float | None:
        v = self.data.get(key)
        if v is None:
            return None
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
        raise self._bad(key, "a number")

    def get_bool(self, key: str) -> bool | None:
        v = self.data.get(key)
        if v is None or isinstance(v, bool):
            return v
        if isinstance(v, int) and v in (0, 1):
            return bool(v)
        if isinstance(v, str) and v.lower() in ("true", "false"):
            return v.lower() == "true"
        raise self._bad(key, "a boolean")

    def get_strs(self, key: str) -> tuple[str, ...]:
        """A list of strings (numbers stringified); missing or null is empty."""
        v = self.data.get(key)
        if v is None:
            return ()
        if not isinstance(v, list):
            raise self._bad(key, "a list of strings")
        out = []
        for item in v:
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, (int, float)) and not isinstance(item, bool):
                out.append(str(item))
            else:
                raise self._bad(key, "a list of strings")
        return tuple(out)

    def get_list(self, key: str) -> list[Any]:
        v = self.data.get(key)
        if v is None:
            return []
        if not isinstance(v, list):
            raise self._bad(key, "a list")
        return v

    def get_obj(self, key: str, what: str | None = None) -> Obj | None:
        v = self.data.get(key)
        if v is None:
            return None
        if not isinstance(v, dict):
            raise self._bad(key, "an object")
        return Obj(v, self.source, self.line, what or f"{self.what}.{key}")

    def objs(self, key: str, what: str | None = None) -> list[Obj]:
        """The items of a list of objects; missing or null is empty."""
        return [Obj(item, self.source, self.line, what or f"{self.what}.{key}[]") for item in self.get_list(key)]
