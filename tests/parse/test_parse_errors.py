from __future__ import annotations

import pickle

import pytest

from cnidoctor.parse.errors import ParseError
from cnidoctor.parse.iproute import parse_routes


def test_str_names_file_and_line():
    err = ParseError("expected a JSON list of routes", "ip-route.json", 3)
    assert str(err) == "ip-route.json:3: expected a JSON list of routes"
    assert (err.source, err.line, err.message) == ("ip-route.json", 3, "expected a JSON list of routes")


def test_str_without_line():
    assert str(ParseError("empty input", "uname.txt")) == "uname.txt: empty input"


def test_is_a_value_error_and_pickles():
    err = ParseError("bad", "x.txt", 1)
    assert isinstance(err, ValueError)
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.message, copy.source, copy.line) == ("bad", "x.txt", 1)


def test_default_source():
    with pytest.raises(ParseError) as exc:
        parse_routes("{}")
    assert str(exc.value) == "<input>:1: expected a JSON list of routes"
