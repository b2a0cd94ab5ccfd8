"""The redactor's shortcuts (casefolded prefilter, cached masking of short strings, no call per plain
value) change nothing: what they skip could not have been masked, and every mask is still counted."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from cnidoctor.bundle.redact import Redactor, masked, maybe_secret

# The prefilter as first written: Python's own case-insensitive matching.
REFERENCE = re.compile(r"(?i)BEGIN|eyJ|bearer|://|pass|secret|token|key|rfc\d|psk|credential|auth|pwd")

# Letters Python's `(?i)` treats as equal to ASCII ones (Kelvin sign, long s, dotless and dotted i),
# the literals' own letters in both cases, and a little else.
TRICKY = "kKKsSſiIıİbBeEgGnNyYjJaArRpPtTcCdDlLuUwWhHfFoO0123456789:/ -_.\u0307"


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=TRICKY, max_size=14) | st.text(max_size=20))
def test_prefilter_never_misses_what_case_insensitive_matching_finds(text: str) -> None:
    if REFERENCE.search(text):
        assert maybe_secret(text)


def test_prefilter_on_the_odd_letters() -> None:
    for text in ("BEGİN", "begın", "Credentıal", "\u212aey", "ſecret", "PAſS", "eYj", "RFC4106"):
        assert REFERENCE.search(text) and maybe_secret(text), text
    long_text = "x" * 300 + "ſecret"
    assert maybe_secret(long_text)
    assert not maybe_secret("kube-proxy-7f8d9c") and not maybe_secret("Running")


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=TRICKY + "=@\"'", max_size=40))
def test_skipped_text_is_text_no_rule_would_change(text: str) -> None:
    if not maybe_secret(text):
        assert masked(text) == (text, ())


def test_cached_masks_are_counted_for_every_file() -> None:
    r = Redactor()
    secret = "postgres://app:s3cr3t-pw@db:5432/x"  # short: served from the cache the second time
    assert r.text(secret, "a.json") == r.text(secret, "b.json")
    assert "s3cr3t" not in r.text(secret, "a.json")
    assert {(s["rule"], s["file"], s["count"]) for s in r.summary()} == {
        ("url-password", "a.json", 2),
        ("url-password", "b.json", 1),
    }


def test_plain_values_kept_and_secrets_found_deep_in_lists() -> None:
    doc = {
        "kind": "PodList",
        "items": [
            {
                "metadata": {"name": "web", "labels": {"app": "web"}, "generation": 3, "deleted": None},
                "spec": {
                    "containers": [
                        {
                            "args": ["--port=8080", "--db=postgres://u:hunter22@db/x", 7, True],
                            "env": [{"name": "API_TOKEN", "value": "abcdef123456"}, {"name": "MODE", "value": "x"}],
                        }
                    ],
                    "password": "hunter2hunter2",
                    "ratio": 0.5,
                },
            }
        ],
    }
    r = Redactor()
    out = r.obj(doc, "ns/pods.json")
    text = repr(out)
    assert "hunter22" not in text and "hunter2hunter2" not in text and "abcdef123456" not in text
    pod = out["items"][0]
    assert pod["metadata"] == doc["items"][0]["metadata"]
    assert pod["spec"]["ratio"] == 0.5
    args = pod["spec"]["containers"][0]["args"]
    assert args[0] == "--port=8080" and args[2:] == [7, True]
    assert pod["spec"]["containers"][0]["env"][1] == {"name": "MODE", "value": "x"}
    assert {s["rule"] for s in r.summary()} == {"url-password", "secret-env", "secret-field"}
