"""Shared parts of parsed JSON (cnidoctor/bundle/compact.py): equal values, less memory, never modified."""

from __future__ import annotations

import json

import pytest

from cnidoctor.bundle.compact import Sharer
from cnidoctor.bundle.reader import Bundle
from cnidoctor.bundle.sources import DirSource
from cnidoctor.diagnose.engine import diagnose
from tests.conftest import catalog, fixture_bundle_path, fixture_names


def _pod(name: str, ip: str) -> dict:
    return {
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "nodeName": "node-1",
            "containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 8080}]}],
            "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"}],
        },
        "status": {"podIP": ip, "phase": "Running"},
    }


def test_repeated_parts_are_kept_once_and_objects_are_not() -> None:
    doc = json.loads(json.dumps({"kind": "PodList", "items": [_pod("a", "10.0.0.1"), _pod("b", "10.0.0.2")]}))
    expect = json.loads(json.dumps(doc))
    a, b = Sharer().share(doc)["items"]
    assert doc == expect
    assert a["spec"]["containers"] is b["spec"]["containers"]
    assert a["spec"]["tolerations"] is b["spec"]["tolerations"]
    assert a["metadata"]["labels"] is b["metadata"]["labels"]
    assert a["status"]["phase"] is b["status"]["phase"]
    assert a is not b and a["metadata"] is not b["metadata"] and a["status"] is not b["status"]


def test_values_of_other_types_are_never_confused() -> None:
    doc = json.loads('[{"v": true}, {"v": 1}, {"v": 1.0}, {"v": "1"}, {"v": null}, [true], [1], ["1"], [[1]], [1, 1]]')
    shared = Sharer().share(json.loads(json.dumps(doc)))
    assert shared == doc
    assert [type(d["v"]) for d in shared[:5]] == [bool, int, float, str, type(None)]
    assert [type(x[0]) for x in shared[5:8]] == [bool, int, str]
    assert len({id(x) for x in shared}) == len(shared)


def test_long_lists_are_walked_not_shared() -> None:
    sharer = Sharer()
    one, two = sharer.share([["x"]] * 300 + [1]), sharer.share([["x"]] * 300 + [1])
    assert one is not two and one[0] is two[0]


def test_deep_nesting_is_left_as_it_is() -> None:
    deep: list = []
    for _ in range(50_000):
        deep = [deep]
    assert Sharer().share(deep) is deep


@pytest.mark.parametrize("name", fixture_names())
def test_checks_never_modify_bundle_objects(name: str) -> None:
    """Every check of the catalog runs on the fixture; every parsed file still equals a fresh parse."""
    path = fixture_bundle_path(name)
    bundle = Bundle([DirSource(path)])
    diagnose(bundle, catalog())
    read = [p for p, v in bundle._json_cache.items() if v is not None and not bundle._real(p).endswith(".yaml")]
    assert read, "the analysis read no JSON"
    for rel in read:
        fresh = json.loads(bundle.read_bytes(rel, 1 << 40) or b"")
        assert bundle._json_cache[rel] == fresh, f"{name}: {rel} was modified during the analysis"
