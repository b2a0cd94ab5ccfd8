"""The fast log paths find exactly what a line-by-line `pattern.search` finds, on tricky input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnidoctor.bundle import linematch
from cnidoctor.bundle.linematch import LineMatcher, hyperscan_available, hyperscan_expression, required_literals
from cnidoctor.bundle.reader import Bundle
from cnidoctor.diagnose.logscan import LogScanner
from cnidoctor.diagnose.templates import TEMPLATES, compiled_params
from tests.conftest import FIXTURES, catalog

ENGINES = [
    "literals",
    pytest.param("hyperscan", marks=pytest.mark.skipif(not hyperscan_available(), reason="hyperscan is not installed")),
]

TRICKY_PATTERNS = [
    r"foo$",
    r"^bar",
    r"(?i)kelvin",
    r"(?i)\bstate\b",
    r"a[^x]b",
    r"x\sy",
    r"\Bend",
    r"(?i)ſtop",
    r"(a)(?(1)b|c)",
    r"(?=.*needle)hay",
    r"^$",
    r"\d{3,}\s*ms$",
    r"(?i)(failed|unable) to (?P<what>\w+)",
    r"dial tcp (?P<addr>[0-9.]+:\d+): i/o timeout(?!.*retrying)",
    r"é+t",
    r"\[:",
    r"(?s)one.two",
    r"\x1c",
]

LINES = [
    "foo",
    "foo\r",
    "foo\r\r",
    "xfoo \r",
    "bar baz",
    " bar",
    "KELVIN and the \u212aelvin sign",
    "the state is ok",
    "the statement",
    "a\u00e9b then axb",
    "x y",
    "x\ty",
    "x\x1cy",
    "backend",
    "end",
    "\u017ftop here",
    "STOP",
    "ab",
    "c",
    "haystack with needle",
    "hay alone",
    "",
    "\r",
    "took 1234 ms",
    "took 1234ms\r",
    "Failed to sync",
    "UNABLE TO parse",
    "dial tcp 10.96.0.1:443: i/o timeout",
    "dial tcp 10.96.0.1:443: i/o timeout, retrying",
    "caf\u00e9\u00e9t",
    "[:",
    "one\ttwo",
    "==== not a marker",
    "  ==== START logs for container x of pod ns/p ====",
]


def _bundle(tmp: Path, files: dict[str, bytes]) -> Bundle:
    (tmp / "cluster").mkdir(parents=True, exist_ok=True)
    (tmp / "cluster" / "nodes.json").write_text(json.dumps({"kind": "NodeList", "items": []}))
    for rel, data in files.items():
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return Bundle.open([tmp])


def _reference(bundle: Bundle, patterns: list[re.Pattern]) -> list[tuple]:
    out = []
    for ref in bundle.logs:
        for line in bundle.stream_log(ref):
            hit = [i for i, p in enumerate(patterns) if p.search(line.text)]
            if hit:
                out.append((ref.path, line.lineno, line.container, line.previous, line.text, hit))
    return out


def _fast(bundle: Bundle, patterns: list[re.Pattern], engine: str) -> list[tuple]:
    matcher = LineMatcher(patterns, engine=engine)
    out = []
    for ref in bundle.logs:
        for line, found in bundle.scan_log(ref, matcher):
            out.append((ref.path, line.lineno, line.container, line.previous, line.text, [i for i, _ in found]))
    return out


def _files(lines: list[str], extra: bytes = b"") -> dict[str, bytes]:
    text = "\n".join(lines).encode() + extra
    kubectl = (
        b"==== START logs for container agent of pod ns/multi ====\n"
        + text
        + b"\n==== END logs for container agent of pod ns/multi ====\n"
        + b"==== START logs for container own of pod ns/multi ====\nfoo in own (has its own file)\n"
        + b"==== END logs for container own of pod ns/multi ====\n"
        + b"==== START logs for container side of pod ns/multi ====\n"
        + text
        + b"\nno newline at the end: foo"
    )
    return {
        "cluster/ns/pod-a/agent.log": text + b"\n",
        "cluster/ns/pod-a/agent.previous.log": text,  # no final newline
        "cluster/ns/multi/logs.txt": kubectl,
        "cluster/ns/multi/own.log": b"foo\n",
        "cluster/ns/bad/agent.log": b"foo \xff\xfe broken utf-8\nbar\n" + text,
    }


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("block", [7, 64, 1 << 20])
def test_scan_log_equals_line_by_line(tmp_path, monkeypatch, engine, block):
    monkeypatch.setattr(linematch, "BLOCK_BYTES", block)
    patterns = [re.compile(p) for p in TRICKY_PATTERNS]
    bundle = _bundle(tmp_path, _files(LINES * 3))
    expected = _reference(bundle, patterns)
    assert expected  # the input does exercise the patterns
    assert _fast(bundle, patterns, engine) == expected
    fresh = Bundle.open([tmp_path])
    list(_fast(fresh, patterns, engine))
    assert sorted(g.reason for g in fresh.gaps) == sorted(g.reason for g in bundle.gaps)
    assert any("UTF-8" in g.reason for g in fresh.gaps)


@pytest.mark.parametrize("engine", ENGINES)
def test_second_pass_reuses_line_counts(tmp_path, monkeypatch, engine):
    monkeypatch.setattr(linematch, "BLOCK_BYTES", 50)
    bundle = _bundle(tmp_path, _files(LINES * 5))
    patterns = [re.compile(p) for p in TRICKY_PATTERNS]
    first = _fast(bundle, patterns, engine)
    again = _fast(bundle, patterns[::-1], engine)
    assert sorted(r[:5] for r in again) == sorted(r[:5] for r in first)
    assert _fast(bundle, patterns, engine) == first


def test_grep_log_equals_stream_log(tmp_path):
    bundle = _bundle(tmp_path, _files(LINES))
    rx = re.compile(r"(?i)foo|state")
    for ref in bundle.logs:
        want = [ln for ln in bundle.stream_log(ref) if rx.search(ln.text)]
        assert list(bundle.grep_log(ref, rx)) == want


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(
        st.text(alphabet='abxyfoSTKik \t\r="é\u212a\u017f\u0131\u0130\u00b5\u00a0\u0663-0123', max_size=12),
        max_size=40,
    ),
    block=st.integers(min_value=1, max_value=40),
)
def test_random_lines(tmp_path_factory, lines, block):
    tmp = tmp_path_factory.mktemp("rand")
    linematch_block = linematch.BLOCK_BYTES
    linematch.BLOCK_BYTES = block
    try:
        extra = [
            r"(?i)k\b",
            r"s\s*t",
            r"o{2,}$",
            r"[^a]=\"",
            r"\bx\w+y",
            r"a\W+b",
            r"\d\d",
            r"(?i)[h-l]x",
            r"-\b",
            r"\Bx",
        ]
        patterns = [re.compile(p) for p in TRICKY_PATTERNS + extra]
        bundle = _bundle(tmp, {"cluster/ns/p/c.log": "\n".join(lines).encode()})
        expected = _reference(bundle, patterns)
        for engine in ["literals"] + (["hyperscan"] if hyperscan_available() else []):
            assert _fast(bundle, patterns, engine) == expected
    finally:
        linematch.BLOCK_BYTES = linematch_block


def _catalog_scanner() -> LogScanner:
    scanner = LogScanner()
    for check in catalog():
        for group, specs in (("match", check.match), ("unless", check.unless)):
            for i, spec in enumerate(specs):
                TEMPLATES[spec.template].prepare(compiled_params(check, group, i), scanner)
    return scanner


@pytest.mark.parametrize("engine", ENGINES)
def test_catalog_patterns_on_every_fixture(monkeypatch, engine):
    """The catalog's own log patterns over the fixtures' logs: same lines as the line-by-line scan."""
    monkeypatch.setattr(LineMatcher, "engine_for", lambda self, size: engine)
    patterns = [re.compile(p) for p in sorted(set(_catalog_scanner().patterns))]
    for fx in sorted(p for p in FIXTURES.iterdir() if (p / "bundle").is_dir()):
        bundle = Bundle.open([fx / "bundle"])
        assert _fast(bundle, patterns, engine) == _reference(bundle, patterns), fx.name


def test_required_literals():
    assert required_literals(r"NACK received") == {(b"NACK received", False)}
    assert required_literals(r"(?i)unable to contact k8s api-?server") == {(b"unable to contact k8s api", True)}
    assert required_literals(r"(?i)(policymap|cilium_policy).*(map is full|E2BIG)") == {
        (b"policymap", True),
        (b"cilium_policy", True),
    }
    assert required_literals(r"a|b.*") is not None
    assert required_literals(r"\d+") is None
    assert required_literals(r"(a)(?(1)b|c)") is None


@pytest.mark.skipif(not hyperscan_available(), reason="hyperscan is not installed")
def test_hyperscan_expression_shapes():
    expr = hyperscan_expression(r"(?i)ab$(?!x)")
    assert expr == r"[\x41\x61\x80-\xff][\x42\x62\x80-\xff]\r*$" or expr.endswith(r"\r*$")
    assert "(?" not in hyperscan_expression(r"(?=x)y").replace("(?:", "")


def test_nodes_said_ascii_only_match_no_other_character():
    """`may_match_non_ascii` is False only where no character above U+007F matches (checked exhaustively)."""
    import re._parser as sre_parse

    from cnidoctor.bundle.linematch import may_match_non_ascii

    checked = 0
    for pattern in [r"a", r"(?i)a", r"(?i)[a-h]", r"[0-9a-f]", r"(?i)[x-z_]", r"[\x00-\x7f]", r"(?i)[!-/]"]:
        tree = sre_parse.parse(pattern)
        (op, av), flags = list(tree)[0], tree.state.flags
        if may_match_non_ascii(op, av, flags):
            continue
        rx = re.compile(pattern)
        assert not any(rx.fullmatch(chr(c)) for c in range(0x80, 0x110000) if not 0xD800 <= c < 0xE000), pattern
        checked += 1
    assert checked >= 5


@pytest.mark.parametrize("engine", ENGINES)
def test_scan_log_from_a_tar_archive(tmp_path, monkeypatch, engine):
    """Archive members are read without seeking back; same lines as the directory form."""
    import tarfile

    monkeypatch.setattr(linematch, "BLOCK_BYTES", 64)
    src = tmp_path / "dir"
    files = _files(LINES * 4)
    files["cluster/ns/big/agent.log"] = ("x" * 3000 + "\n").encode() * 400 + b"foo\n"  # over the 1 MiB in-memory cut
    bundle = _bundle(src, files)
    archive = tmp_path / "b.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src, arcname="bundle")
    patterns = [re.compile(p) for p in TRICKY_PATTERNS]
    packed = Bundle.open([archive])
    assert _fast(packed, patterns, engine) == _reference(bundle, patterns)
