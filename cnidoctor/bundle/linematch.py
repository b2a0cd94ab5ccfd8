"""Which lines of a big text block may match which of many Python regexes, in one pass.

Checking every line of a 2 GiB log with Python's `re` costs minutes; this module finds the few
*candidate* lines fast, and the caller confirms each candidate with the original Python regex, so
the findings are exactly those of a per-line `pattern.search(line)`.

Two engines find candidates, both over whole blocks of lines (never one line at a time):

- **hyperscan** (optional, used when importable and the input is big): every pattern is rewritten from
  Python's own parse tree into an equivalent-or-looser hyperscan expression (each character class is
  evaluated by Python on all 128 ASCII characters; lookarounds are dropped), and all are scanned at once.
- **literals** (always available): from the same parse tree, a set of literals one of which every match
  must contain; `bytes.find` (on a lower-cased copy for case-insensitive literals) locates them.

A pattern neither engine can prefilter makes every line a candidate. Non-ASCII text is covered without
decoding: in a hyperscan expression a node that may match a non-ASCII character also accepts any run of
bytes >= 0x80 (and word boundaries are dropped); a case-insensitive literal with a letter Python also
folds to a non-ASCII character (i, k, s) makes the lines holding such bytes candidates.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

try:  # Python 3.11+
    import re._constants as _c  # type: ignore[import-not-found]
    import re._parser as _p  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _p  # type: ignore[no-redef]

try:
    import hyperscan as _hs  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - the optional fast engine
    _hs = None

BLOCK_BYTES = 8 << 20
MAX_LINE_BYTES = BLOCK_BYTES  # a longer log line is cut (see iter_blocks)
HYPERSCAN_MIN_BYTES = 16 << 20  # below this, compiling a hyperscan database costs more than it saves
ALL = -1  # "every pattern" in a candidate set

_ATOMIC = getattr(_c, "ATOMIC_GROUP", None)
_POSSESSIVE = getattr(_c, "POSSESSIVE_REPEAT", None)
_REPEATS = {_c.MAX_REPEAT, _c.MIN_REPEAT} | ({_POSSESSIVE} if _POSSESSIVE is not None else set())
_CATEGORY = {
    _c.CATEGORY_DIGIT: r"\d",
    _c.CATEGORY_NOT_DIGIT: r"\D",
    _c.CATEGORY_SPACE: r"\s",
    _c.CATEGORY_NOT_SPACE: r"\S",
    _c.CATEGORY_WORD: r"\w",
    _c.CATEGORY_NOT_WORD: r"\W",
}
_FLAG_LETTERS = ((_c.SRE_FLAG_IGNORECASE, "i"), (_c.SRE_FLAG_DOTALL, "s"), (_c.SRE_FLAG_ASCII, "a"))


class Unsupported(Exception):
    """The pattern uses a construct the prefilter cannot express (back-references, conditionals)."""


def hyperscan_available() -> bool:
    return _hs is not None


# -- character sets ---------------------------------------------------------------------------------
def _esc(code: int) -> str:
    return f"\\x{code:02x}" if code < 0x100 else (f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")


def _class_source(op: Any, av: Any) -> str:
    """Python regex source of one single-character node."""
    if op is _c.LITERAL:
        return _esc(av)
    if op is _c.NOT_LITERAL:
        return f"[^{_esc(av)}]"
    if op is _c.ANY:
        return "."
    parts, negate = [], ""
    for iop, iav in av:
        if iop is _c.NEGATE:
            negate = "^"
        elif iop is _c.LITERAL:
            parts.append(_esc(iav))
        elif iop is _c.RANGE:
            parts.append(f"{_esc(iav[0])}-{_esc(iav[1])}")
        elif iop is _c.CATEGORY and iav in _CATEGORY:
            parts.append(_CATEGORY[iav])
        else:
            raise Unsupported(f"character class item {iop}")
    return f"[{negate}{''.join(parts)}]"


@lru_cache(maxsize=4096)
def _ascii_set(source: str, flags: int) -> frozenset[int]:
    """The ASCII characters a one-character Python regex matches under FLAGS (evaluated, not reasoned)."""
    letters = "".join(ch for bit, ch in _FLAG_LETTERS if flags & bit)
    rx = re.compile(f"(?{letters}){source}" if letters else source)
    return frozenset(c for c in range(128) if rx.fullmatch(chr(c)))


def _char_set(op: Any, av: Any, flags: int) -> frozenset[int]:
    return _ascii_set(_class_source(op, av), flags & ~_c.SRE_FLAG_VERBOSE)


FOLD_PARTNERS = frozenset(b"iksIKS")  # ASCII letters that Python's IGNORECASE matches to non-ASCII letters


def may_match_non_ascii(op: Any, av: Any, flags: int) -> bool:
    """True unless the one-character node certainly matches no character above U+007F."""
    ci = bool(flags & _c.SRE_FLAG_IGNORECASE)
    if op is _c.LITERAL:
        return av >= 128 or (ci and av in FOLD_PARTNERS)
    if op is not _c.IN:
        return True  # ANY, NOT_LITERAL
    for iop, iav in av:
        if iop in (_c.NEGATE, _c.CATEGORY):
            return True
        if iop is _c.LITERAL and (iav >= 128 or (ci and iav in FOLD_PARTNERS)):
            return True
        if iop is _c.RANGE and (iav[1] >= 128 or (ci and any(iav[0] <= c <= iav[1] for c in FOLD_PARTNERS))):
            return True
    return False


def _hs_node(op: Any, av: Any, flags: int) -> str:
    """One character of the Python pattern as bytes: its ASCII set, or a run of non-ASCII bytes."""
    chars = _hs_class(_char_set(op, av, flags))
    if not may_match_non_ascii(op, av, flags):
        return chars
    return f"(?:{chars}|[\\x80-\\xff]+)" if chars else "[\\x80-\\xff]+"


def _hs_class(chars: frozenset[int]) -> str:
    """A hyperscan class of the ASCII CHARS (lines with other bytes are decided by Python)."""
    if len(chars) == 1:
        return f"\\x{next(iter(chars)):02x}"
    out, codes, i = [], sorted(chars), 0
    while i < len(codes):
        j = i
        while j + 1 < len(codes) and codes[j + 1] == codes[j] + 1:
            j += 1
        out.append(f"\\x{codes[i]:02x}" if i == j else f"\\x{codes[i]:02x}-\\x{codes[j]:02x}")
        i = j + 1
    return "[" + "".join(out) + "]" if out else ""


def _is_char(op: Any) -> bool:
    return op in (_c.LITERAL, _c.NOT_LITERAL, _c.ANY, _c.IN)


def _subflags(flags: int, add: int, dele: int) -> int:
    return (flags | add) & ~dele


# -- hyperscan expression -----------------------------------------------------------------------------
def hyperscan_expression(pattern: str) -> str:
    """An expression matching (as a byte-level, multi-line hyperscan pattern) at least every ASCII line
    the Python PATTERN searches; raises Unsupported when there is none."""
    tree = _p.parse(pattern, 0)
    return _emit(_trim_tail(list(tree)), tree.state.flags)


def _trim_tail(nodes: list) -> list:
    """Drop what cannot change whether a match exists at the end (X R{m,n} matches iff X R{m} does),
    so that hyperscan reports one end offset, not one per extra character."""
    while nodes:
        op, av = nodes[-1]
        if op in (_c.ASSERT, _c.ASSERT_NOT):
            nodes = nodes[:-1]
        elif op in _REPEATS:
            lo, _hi, body = av
            if lo == 0:
                nodes = nodes[:-1]
                continue
            return [*nodes[:-1], (op, (lo, lo, body))]
        else:
            return nodes
    return nodes


def _emit(nodes: Sequence, flags: int) -> str:
    out = []
    for op, av in nodes:
        if _is_char(op):
            node = _hs_node(op, av, flags)
            if not node:
                raise Unsupported("a character that matches nothing")
            out.append(node)
        elif op is _c.BRANCH:
            out.append("(?:" + "|".join(_emit(b, flags) for b in av[1]) + ")")
        elif op is _c.SUBPATTERN:
            _group, add, dele, sub = av
            out.append("(?:" + _emit(sub, _subflags(flags, add, dele)) + ")")
        elif op is _ATOMIC:
            out.append("(?:" + _emit(av, flags) + ")")
        elif op in _REPEATS:
            lo, hi, body = av
            inner = "(?:" + _emit(body, flags) + ")"
            out.append(inner + (f"{{{lo},}}" if hi == _c.MAXREPEAT else f"{{{lo},{hi}}}"))
        elif op is _c.AT:
            if av in (_c.AT_BEGINNING, _c.AT_BEGINNING_LINE, _c.AT_BEGINNING_STRING):
                out.append("^")
            elif av in (_c.AT_END, _c.AT_END_LINE, _c.AT_END_STRING):
                out.append("\\r*$")  # the line text had its trailing CRs stripped
            elif av in (_c.AT_BOUNDARY, _c.AT_NON_BOUNDARY):
                continue  # looser: Python's word characters include non-ASCII letters
            else:
                raise Unsupported(f"anchor {av}")
        elif op in (_c.ASSERT, _c.ASSERT_NOT):
            continue  # looser: lookarounds are left to Python
        else:
            raise Unsupported(f"{op}")
    return "".join(out)


# -- required literals ----------------------------------------------------------------------------
Literal = tuple[bytes, bool]  # (text, case-insensitive: search the lower-cased line)


def required_literals(pattern: str) -> frozenset[Literal] | None:
    """Literals one of which every ASCII line the Python PATTERN searches contains; None if unknown."""
    try:
        tree = _p.parse(pattern, 0)
        req = _required(list(tree), tree.state.flags)
    except (Unsupported, re.error, RecursionError):
        return None
    return _minimal(req) if req else None


def _lit_char(op: Any, av: Any, flags: int) -> tuple[int, bool] | None:
    """(lower-case char, case-insensitive) when the node matches one letter (in one or both cases)."""
    if op is not _c.LITERAL or av >= 128:
        return None
    chars = _char_set(op, av, flags)
    if chars == {av}:
        return av, False
    low = chr(av).lower()
    if chars == {ord(low), ord(low.upper())}:
        return ord(low), True
    return None


def _required(nodes: Sequence, flags: int) -> frozenset[Literal] | None:
    options: list[frozenset[Literal]] = []
    run: list[tuple[int, bool]] = []

    def flush() -> None:
        if run:
            ci = any(c for _, c in run)
            text = bytes(ch for ch, _ in run)
            options.append(frozenset({(text.lower() if ci else text, ci)}))
            run.clear()

    for op, av in nodes:
        lit = _lit_char(op, av, flags)
        if lit is not None:
            run.append(lit)
            continue
        if op is _c.AT or op in (_c.ASSERT, _c.ASSERT_NOT):
            continue  # zero-width: the text around it is still contiguous
        flush()
        sub: frozenset[Literal] | None = None
        if op is _c.SUBPATTERN:
            sub = _required(av[3], _subflags(flags, av[1], av[2]))
        elif op is _ATOMIC:
            sub = _required(av, flags)
        elif op in _REPEATS and av[0] >= 1:
            sub = _required(av[2], flags)
        elif op is _c.BRANCH:
            branches = [_required(b, flags) for b in av[1]]
            if all(branches):
                sub = frozenset().union(*branches)  # type: ignore[arg-type]
        elif op in (_c.GROUPREF, _c.GROUPREF_EXISTS):
            raise Unsupported(f"{op}")
        if sub:
            options.append(sub)
    flush()
    if not options:
        return None
    return max(options, key=lambda o: (min(len(t) for t, _ in o), -len(o)))


def _covers(a: Literal, b: Literal) -> bool:
    """Every line holding B also holds A (so searching A finds B's lines too)."""
    return a != b and (a[1] or not b[1]) and a[0] in (b[0].lower() if a[1] else b[0])


def _minimal(req: frozenset[Literal]) -> frozenset[Literal]:
    """Drop literals that contain another one of the set (finding the shorter one is enough)."""
    return frozenset(b for b in req if not any(_covers(a, b) for a in req))


def _merge_covered(literals: dict[Literal, list[int]]) -> dict[Literal, list[int]]:
    """Search each literal once: one that contains another hands its patterns to the shorter one."""
    out: dict[Literal, list[int]] = {}
    for b, idxs in literals.items():
        a = min((a for a in literals if _covers(a, b)), key=lambda x: len(x[0]), default=b)
        out.setdefault(a, []).extend(idxs)
    return {k: sorted(set(v)) for k, v in out.items()}


# -- the matcher ----------------------------------------------------------------------------------
class LineMatcher:
    """Candidate lines of a block for a fixed list of Python regexes (confirmed by the caller)."""

    def __init__(self, patterns: Sequence[re.Pattern], engine: str | None = None) -> None:
        self.patterns = list(patterns)
        self._engine = engine  # "hyperscan", "literals" or None (pick by input size)
        self._literals: dict[Literal, list[int]] = {}
        self.every_line: list[int] = []  # patterns with no prefilter: every line is a candidate
        self.fold_lines: list[int] = []  # literal-filtered patterns that non-ASCII lines may match
        for i, p in enumerate(self.patterns):
            req = required_literals(p.pattern)
            if req is None:
                self.every_line.append(i)
                continue
            for lit in req:
                self._literals.setdefault(lit, []).append(i)
            if any(ci and FOLD_PARTNERS.intersection(text) for text, ci in req):
                self.fold_lines.append(i)
        self._literals = _merge_covered(self._literals)
        self._any_ci = any(ci for _, ci in self._literals)
        self._hs_db: Any = None
        self._hs_ids: list[int] = []  # pattern indices the hyperscan database covers
        self._hs_tried = False
        self._bytes = 0  # input seen so far

    def engine_for(self, size: int) -> str:
        """The engine for an input of SIZE bytes: hyperscan once this matcher has seen enough bytes."""
        if self._engine:
            return self._engine
        self._bytes += size
        big = size >= HYPERSCAN_MIN_BYTES or self._bytes >= HYPERSCAN_MIN_BYTES or self._hs_db is not None
        return "hyperscan" if _hs is not None and big else "literals"

    # hyperscan ------------------------------------------------------------------------------------
    def _database(self) -> Any:
        if self._hs_tried:
            return self._hs_db
        self._hs_tried = True
        if _hs is None:
            return None
        exprs: list[tuple[int, bytes]] = []
        for i, p in enumerate(self.patterns):
            try:
                exprs.append((i, hyperscan_expression(p.pattern).encode("latin-1")))
            except (Unsupported, re.error, RecursionError, UnicodeEncodeError):
                continue
        db, ok = _hyperscan_db(tuple(e for _, e in exprs))
        if db is None:
            return None
        self._hs_db, self._hs_ids = db, [exprs[k][0] for k in ok]
        return db

    def _hyperscan(self, block: bytes, out: dict[int, set[int]]) -> set[int]:
        """Scan BLOCK; add candidates to OUT; return the pattern indices hyperscan decided."""
        db = self._database()
        if db is None:
            return set()
        ends: list[tuple[int, int]] = []

        def on_match(hid: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            ends.append((hid, to))

        db.scan(block, match_event_handler=on_match)
        ids = self._hs_ids
        n = len(block)
        for hid, to in ends:
            # the line holding the last matched byte, and the next one in case the match was empty
            start = block.rfind(b"\n", 0, max(to - 1, 0)) + 1
            out.setdefault(start, set()).add(ids[hid])
            if to < n and block[to - 1 : to] == b"\n":
                out.setdefault(to, set()).add(ids[hid])
        return set(ids)

    # literals -------------------------------------------------------------------------------------
    def _literal_scan(self, block: bytes, out: dict[int, set[int]], skip: set[int]) -> None:
        lowered = block.lower() if self._any_ci else block
        for (text, ci), idxs in self._literals.items():
            idxs = [i for i in idxs if i not in skip]
            if not idxs:
                continue
            hay = lowered if ci else block
            find, rfind = hay.find, hay.rfind
            pos = find(text)
            while pos >= 0:
                start = rfind(b"\n", 0, pos) + 1
                end = find(b"\n", pos)
                out.setdefault(start, set()).update(idxs)
                if end < 0:
                    break
                pos = find(text, end + 1)

    # --------------------------------------------------------------------------------------------
    def candidates(self, block: bytes, engine: str = "literals") -> dict[int, set[int]]:
        """Start offsets of lines in BLOCK (a whole number of lines) that may match, with the indices
        of the patterns to confirm (ALL in the set: every pattern)."""
        out: dict[int, set[int]] = {}
        decided = self._hyperscan(block, out) if engine == "hyperscan" else set()
        if len(decided) < len(self.patterns):
            self._literal_scan(block, out, decided)
        every = [i for i in self.every_line if i not in decided]
        if every:
            for start in line_starts(block):
                out.setdefault(start, set()).update(every)
        folded = [i for i in self.fold_lines if i not in decided]
        if folded and not block.isascii():
            for start in non_ascii_lines(block):
                out.setdefault(start, set()).update(folded)
        return out


@lru_cache(maxsize=64)
def _hyperscan_db(exprs: tuple[bytes, ...]) -> tuple[Any, tuple[int, ...]]:
    """A database of EXPRS (those that compile) and the positions of the expressions it holds."""
    flags = _hs.HS_FLAG_MULTILINE | _hs.HS_FLAG_PREFILTER

    def build(keep: list[int]) -> Any:
        db = _hs.Database()
        db.compile(
            expressions=[exprs[k] for k in keep],
            ids=list(range(len(keep))),
            elements=len(keep),
            flags=[flags] * len(keep),
        )
        return db

    keep = list(range(len(exprs)))
    try:
        return (build(keep), tuple(keep)) if keep else (None, ())
    except Exception:  # hyperscan.error: one matches the empty line, is too large or unsupported
        pass
    good = []
    for k in keep:
        try:
            build([k])
            good.append(k)
        except Exception:  # each one decides for itself
            continue
    return (build(good), tuple(good)) if good else (None, ())


def line_starts(block: bytes) -> Iterator[int]:
    """Start offset of every line of BLOCK (none for an empty block)."""
    pos, n = 0, len(block)
    while pos < n:
        yield pos
        nl = block.find(b"\n", pos)
        if nl < 0:
            return
        pos = nl + 1


def non_ascii_lines(block: bytes, piece: int = 1 << 16) -> Iterator[int]:
    """Start offsets of the lines of BLOCK holding a byte >= 0x80, found piece by piece."""
    last = -1
    for lo in range(0, len(block), piece):
        if block[lo : lo + piece].isascii():
            continue
        start = block.rfind(b"\n", 0, lo) + 1
        stop = block.find(b"\n", lo + piece)
        stop = len(block) if stop < 0 else stop
        while start < stop:
            end = block.find(b"\n", start)
            end = len(block) if end < 0 else end
            if start > last and not block[start:end].isascii():
                last = start
                yield start
            start = end + 1


def iter_blocks(stream: Any, size: int = BLOCK_BYTES, max_line: int = MAX_LINE_BYTES) -> Iterator[bytes]:
    """Blocks of whole lines (each ends with a newline, but possibly the last), read SIZE at a time.

    A line longer than MAX_LINE (never less than SIZE) keeps only its first MAX_LINE bytes, so memory stays
    bounded whatever the input (a 3 GiB log without a newline); `sources.iter_lines` cuts lines the same way.
    """
    max_line = max(max_line, size)  # a line inside one read is at most SIZE long and is never cut
    rest = b""
    dropping = False  # inside the cut-off tail of an over-long line
    seekable = _seekable(stream)
    while True:
        data = stream.read(size)
        if not data:
            break
        if dropping:
            nl = data.find(b"\n")
            if nl < 0:
                continue
            data, dropping = data[nl:], False
        cut = data.rfind(b"\n")
        if cut < 0:
            rest += data
            if len(rest) > max_line:
                rest, dropping = rest[:max_line], True
            continue
        if rest:
            first = data.find(b"\n")
            data, rest = (rest + data[:first])[:max_line] + data[first:], b""
            cut = data.rfind(b"\n")
        if cut == len(data) - 1:
            yield data
        elif seekable:
            stream.seek(cut + 1 - len(data), 1)  # re-read the partial line with the next block
            yield data[: cut + 1]
        else:
            rest = data[cut + 1 :]
            yield data[: cut + 1]
    if rest:
        yield rest


def _seekable(stream: Any) -> bool:
    """A plain file (seeking back a little is free); not an archive member, where it may re-inflate."""
    return isinstance(stream, io.BufferedReader) and isinstance(getattr(stream, "raw", None), io.FileIO)
