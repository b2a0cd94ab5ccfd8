"""Property tests of the readers a stranger's bundle reaches, beyond the node-output parsers
(tests/parse/test_parse_fuzz.py): list files, log blocks, the stdout dump form, check.yaml loading and
redaction. Any input gives a typed result or the reader's own error (BundleError, CatalogError, a gap),
never another exception. Fixed budget: derandomized, a set number of examples, no deadline.
"""

from __future__ import annotations

import copy
import io
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cnidoctor.bundle import layout
from cnidoctor.bundle.linematch import iter_blocks
from cnidoctor.bundle.reader import Bundle
from cnidoctor.bundle.redact import MASK, Redactor
from cnidoctor.bundle.sources import DumpFileSource, Source, iter_lines
from cnidoctor.catalog.loader import load_dir
from cnidoctor.catalog.schema import Check
from cnidoctor.diagnose import templates
from cnidoctor.errors import BundleError, CatalogError
from tests.conftest import ROOT

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


class MemorySource(Source):
    """Bundle paths to bytes, in memory."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.name, self.gaps, self.files = "memory", [], files

    def paths(self) -> list[str]:
        return list(self.files)

    def size(self, path: str) -> int:
        return len(self.files[path])

    def open(self, path: str) -> io.BufferedIOBase:
        return io.BytesIO(self.files[path])


scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12)
json_values = st.recursive(
    scalars,
    lambda kids: (
        st.lists(kids, max_size=4)
        | st.dictionaries(
            st.sampled_from(["kind", "items", "metadata", "name", "namespace", "spec", "x"]), kids, max_size=5
        )
    ),
    max_leaves=20,
)


# -- list files -------------------------------------------------------------------------------------


@FUZZ
@given(
    doc=json_values,
    form=st.sampled_from(["json", "yaml", "bytes"]),
    junk=st.binary(max_size=40),
)
def test_list_files_give_objects_or_a_gap(doc: Any, form: str, junk: bytes) -> None:
    path = "cluster/default/pods.json" if form != "yaml" else "cluster/default/pods.yaml"
    if form == "json":
        data = json.dumps(doc).encode()
    elif form == "yaml":
        data = yaml.safe_dump(doc).encode()
    else:
        data = junk
    bundle = Bundle([MemorySource({path: data, "cluster/nodes.json": b'{"items": []}'})])
    items = bundle.namespaced_items("pods")
    assert all(isinstance(i, dict) and isinstance(i.get("metadata", {}), dict) for i in items)
    if form == "json" and not (isinstance(doc, list) or isinstance(doc, dict) and isinstance(doc.get("items"), list)):
        assert bundle.gaps, data  # not a List: said so


# -- log blocks -------------------------------------------------------------------------------------

containers = st.sampled_from(["agent", "init", "side", "[/]", "a\x1bb", "x" * 300])
log_lines = st.one_of(
    st.text(alphabet=st.characters(blacklist_characters="\n"), max_size=30),
    st.builds(lambda c: f"==== START logs for container {c} of pod ns/p ====", containers),
    st.builds(lambda c: f"==== END logs for container {c} of pod ns/p ====", containers),
    st.just("==== START logs for container"),
    st.just("\r"),
    st.just("\x00\xff"),
)


def model_logs_txt(text: str, own: set[str]) -> list[tuple[str, int, str]]:
    """What stream_log must yield for a logs.txt: lines inside START/END blocks of containers without own logs."""
    out, container, inside = [], "?", False
    for n, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if line.startswith("==== "):
            m = layout.LOG_BLOCK_START.match(line)
            if m:
                container, inside = m.group(1), m.group(1) not in own
                continue
            if layout.LOG_BLOCK_END.match(line):
                inside = False
                continue
        if inside:
            out.append((container, n, line))
    if text.endswith("\n") and out and out[-1][1] == text.count("\n") + 1:
        out.pop()
    return out


@FUZZ
@given(lines=st.lists(log_lines, max_size=30), newline_end=st.booleans(), own=st.booleans())
def test_log_blocks_are_attributed_like_the_model(lines: list[str], newline_end: bool, own: bool) -> None:
    text = "\n".join(lines) + ("\n" if newline_end else "")
    files = {"cluster/ns/p/logs.txt": text.encode("utf-8", "surrogatepass")}
    if own:
        files["cluster/ns/p/agent.log"] = b"own line\n"
    bundle = Bundle([MemorySource(files)])
    ref = next(r for r in bundle.logs if r.container is None)
    got = [(ln.container, ln.lineno, ln.text) for ln in bundle.stream_log(ref)]
    assert got == model_logs_txt(text, {"agent"} if own else set())
    every = re.compile(r"(?s).*")
    assert [(ln.container, ln.lineno, ln.text) for ln in bundle.grep_log(ref, every)] == got


@FUZZ
@given(
    parts=st.lists(st.integers(0, 40), max_size=12),
    chunk=st.integers(1, 9),
    size=st.integers(1, 16),
    max_line=st.integers(1, 32),
    end=st.booleans(),
)
def test_over_long_lines_are_cut_alike_by_both_readers(
    parts: list[int], chunk: int, size: int, max_line: int, end: bool
) -> None:
    """iter_lines and iter_blocks keep at most MAX_LINE bytes of a line and agree on every line."""
    data = b"\n".join(b"x" * n for n in parts) + (b"\n" if end else b"")
    cap = max(max_line, size)
    expected = [line[:cap] for line in data.split(b"\n")]
    if data.endswith(b"\n") or not data:
        expected.pop()
    assert list(iter_lines(io.BytesIO(data), chunk=chunk, max_line=cap)) == expected
    with tempfile.TemporaryFile() as f:  # a plain file takes the seek-back path, a BytesIO the other
        f.write(data)
        f.flush()
        for stream in (io.BytesIO(data), open(f.fileno(), "rb", closefd=False)):  # noqa: SIM115
            stream.seek(0)
            blocks = list(iter_blocks(stream, size, max_line))
            assert all(len(b) <= 2 * cap + size + 1 for b in blocks)  # memory stays bounded
            joined = b"".join(blocks).split(b"\n")
            if data.endswith(b"\n") or not data:
                joined.pop()
            assert joined == expected


# -- the stdout dump form ---------------------------------------------------------------------------

pods_lists = st.builds(
    lambda items: json.dumps({"kind": "PodList", "items": items}),
    st.lists(
        st.builds(
            lambda name, ns: {"metadata": {"name": name, "namespace": ns}},
            st.text(max_size=8),
            st.one_of(st.text(max_size=8), st.none(), st.integers(), st.just("../x"), st.just("a/b")),
        )
        | json_values,
        max_size=4,
    ),
)
fragments = st.one_of(
    st.just(json.dumps({"kind": "NodeList", "items": [{"metadata": {"name": "n1"}}]})),
    pods_lists,
    json_values.map(json.dumps),
    st.just('{"kind": "PodList", "items": ['),
    st.just("[" * 3000),
    st.builds(lambda c: f"==== START logs for container {c} of pod ns/p ====", containers),
    st.just("==== END logs for container c of pod ns/p ===="),
    st.text(max_size=30),
)


@FUZZ
@given(parts=st.lists(fragments, max_size=10))
def test_dump_form_is_a_bundle_or_one_error(parts: list[str]) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "dump.txt"
        path.write_text("\n".join(parts), encoding="utf-8", errors="surrogatepass")
        try:
            source = DumpFileSource(path)
        except BundleError as exc:
            assert exc.message.startswith(str(path))
            return
    for p in source.paths():
        assert p.startswith("cluster/") and ".." not in p.split("/"), p
        with source.open(p) as f:
            f.read()
    bundle = Bundle([source])
    assert isinstance(bundle.cluster_items("nodes"), list)
    bundle.namespaced_items("pods")
    for ref in bundle.logs:
        list(bundle.stream_log(ref))


# -- check.yaml loading -----------------------------------------------------------------------------

REAL = yaml.safe_load((ROOT / "checks/flannel/FLN002-flannel-subnet-env-missing/check.yaml").read_text())


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _replace(doc: Any, path: tuple, new: Any) -> Any:
    doc = copy.deepcopy(doc)
    if not path:
        return new
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return doc


@FUZZ
@given(
    where=st.sampled_from(_paths(REAL)),
    new=json_values | st.sampled_from(["(unclosed", "x" * 500, "FLN999", "{node}", "[", "generic"]),
    raw=st.none() | st.text(max_size=60),
)
def test_check_yaml_loads_or_is_one_catalog_error(where: tuple, new: Any, raw: str | None) -> None:
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d) / "flannel" / "FLN002-flannel-subnet-env-missing"
        folder.mkdir(parents=True)
        text = raw if raw is not None else yaml.safe_dump(_replace(REAL, where, new))
        (folder / "check.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            checks = load_dir(Path(d))
            for check in checks:
                templates.validate_check(check)
        except CatalogError as exc:
            assert "check.yaml" in exc.message
            return
        finally:
            for key in [k for k in templates._compiled if k[0] == "FLN002"]:
                del templates._compiled[key]
    assert all(isinstance(c, Check) for c in checks)


# -- redaction --------------------------------------------------------------------------------------

token = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", min_size=12, max_size=30)
b64_43 = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", min_size=43, max_size=43)
hexkey = st.text(alphabet="0123456789abcdef", min_size=32, max_size=64)
# (how the secret appears in text, the secret): each shape a redaction rule promises to catch
planted = st.one_of(
    token.map(lambda t: (f"Authorization: Bearer S3{t}", f"S3{t}")),
    token.map(lambda t: (f"https://user:S3{t}@10.0.0.1:6443/api", f"S3{t}")),
    token.map(lambda t: (f'password "S3{t}";', f"S3{t}")),
    token.map(lambda t: (f"password=S3{t}", f"S3{t}")),
    token.map(lambda t: (f'"client-key-data": "S3{t}"', f"S3{t}")),
    token.map(lambda t: (f"token: S3{t}", f"S3{t}")),
    b64_43.map(lambda k: (f"PrivateKey = {k}=", f"{k}=")),
    hexkey.map(lambda k: (f"rfc4106(gcm(aes)) 0x{k} 128", k)),
    token.map(lambda t: (f"-----BEGIN RSA PRIVATE KEY-----\nMII{t}\n-----END RSA PRIVATE KEY-----", f"MII{t}")),
    token.map(lambda t: (f"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzYSJ9.S3{t}", f"S3{t}")),
)
prose = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40)


@FUZZ
@given(before=prose, secret=planted, after=prose)
def test_planted_secret_is_masked_wherever_it_sits(before: str, secret: tuple[str, str], after: str) -> None:
    shown, core = secret
    assume(core not in before and core not in after)
    r = Redactor()
    out = r.text(f"{before}\n{shown}\n{after}", "f")
    assert core not in out, out
    assert r.total >= 1


@FUZZ
@given(text=prose | st.lists(prose | planted.map(lambda p: p[0]), max_size=5).map(" ".join))
def test_text_redaction_is_stable(text: str) -> None:
    """Never raises; redacting again changes nothing (a mask is never re-masked or half-kept)."""
    once = Redactor().text(text, "f")
    assert Redactor().text(once, "f") == once


@FUZZ
@given(
    doc=json_values,
    env_name=st.sampled_from(["DB_PASSWORD", "apiToken", "AWS_SECRET_ACCESS_KEY", "clientSecret", "TOKEN"]),
    value=token,
)
def test_object_redaction_masks_secret_env_and_is_stable(doc: Any, env_name: str, value: str) -> None:
    assume(value not in json.dumps(doc))
    obj = {"kind": "Pod", "spec": {"containers": [{"env": [{"name": env_name, "value": value}]}]}, "x": doc}
    r = Redactor()
    out = r.obj(obj, "cluster/ns/pods.json")
    assert value not in json.dumps(out)
    assert out["spec"]["containers"][0]["env"][0]["value"] == MASK.format(rule="secret-env")
    assert Redactor().obj(out, "f") == out


@pytest.mark.parametrize(
    "kept",
    [
        "calico_backend: bird",
        "ipsec-key-file: /etc/ipsec/keys",
        "veth_mtu: 1440",
        "enable-wireguard: true",
        "projectcalico.org/WireguardPublicKey: PUBLICkeyIsFineToKeepAAAAAAAAAAAAAAAAAAAAAA=",
        "dial tcp 10.96.0.1:443: i/o timeout",
    ],
)
def test_evidence_is_not_masked(kept: str) -> None:
    assert Redactor().text(kept, "f") == kept
