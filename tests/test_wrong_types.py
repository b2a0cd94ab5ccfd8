"""Checks read past API objects and node files of the wrong JSON type: the malformed part is skipped, the rest
is still evaluated.

Each case lays malformed objects next to the well-formed ones of a fixture a check fires on (a pod whose
`spec` is a list, `metadata.annotations` a string, `ownerReferences` a number, an item of `containers` a
string, a node whose `spec.podCIDR` is a list and `status.addresses` an object, an event whose
`involvedObject` is a string, a DaemonSet whose `volumes` is a number, a CNI config file that is a JSON
list, ...). The check must not trip (no gap "check could not be evaluated") and must still fire on the
fixture's faulty objects, on the same nodes and objects.

tests/hostile/ runs a whole bundle of wrong value types through the CLI; this is the per-check view.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cnidoctor.bundle import layout
from cnidoctor.bundle.reader import Bundle
from cnidoctor.bundle.sources import DirSource
from cnidoctor.catalog.schema import Check
from cnidoctor.diagnose.engine import Diagnosis, diagnose
from tests.conftest import catalog, fixture_bundle_path

HARDENED = ["FLN002", "FLN015", "GEN002", "GEN003", "GEN005", "GEN009", "GEN010", "GEN100", "GEN111"]


def _bad_pods(ns: str) -> list[object]:
    return [
        {
            "kind": "Pod",
            "metadata": {"name": "bad-spec", "namespace": ns, "annotations": "x"},
            "spec": ["x"],
            "status": "Running",
        },
        {
            "kind": "Pod",
            "metadata": {"name": "bad-owner", "namespace": ns, "ownerReferences": 5, "labels": []},
            "spec": "x",
            "status": ["Running"],
        },
        {
            "kind": "Pod",
            "metadata": {
                "name": "bad-fields",
                "namespace": ns,
                "ownerReferences": [{"name": 5}, "x"],
                "annotations": {"k8s.v1.cni.cncf.io/networks": 5},
            },
            "spec": {"nodeName": 7, "containers": ["x", 5, None], "initContainers": "x", "hostNetwork": "yes"},
            "status": {
                "phase": "Running",
                "podIP": 5,
                "podIPs": 5,
                "containerStatuses": "x",
                "initContainerStatuses": ["x"],
                "conditions": "Ready",
            },
        },
        {
            "kind": "Pod",
            "metadata": {"name": "bad-items", "namespace": ns},
            "spec": {"nodeName": "node-1", "containers": [{"name": "c", "command": "x", "args": 5}, "y"]},
            "status": {
                "phase": "Running",
                "podIPs": [5, "x", {"ip": 5}],
                "conditions": ["x", {"type": 5}],
                "containerStatuses": [{"name": "c", "state": "x"}, "y"],
            },
        },
    ]


BAD_NODES: list[object] = [
    {
        "kind": "Node",
        "metadata": {"name": "bad-node-1", "annotations": "x", "labels": []},
        "spec": {"podCIDR": ["10.244.9.0/24"], "podCIDRs": "10.244.9.0/24", "taints": "x"},
        "status": {"addresses": {"type": "InternalIP", "address": "10.0.0.9"}, "conditions": "Ready", "nodeInfo": []},
    },
    {
        "kind": "Node",
        "metadata": {"name": "bad-node-2", "annotations": 5},
        "spec": {"podCIDRs": [5, ["x"]], "taints": ["x", {"effect": 5}]},
        "status": {"addresses": ["x", {"type": "InternalIP", "address": 5}], "conditions": [None, "x"]},
    },
    {"kind": "Node", "metadata": {"name": "bad-node-3"}, "spec": "x", "status": ["x"]},
]


def _bad_events(ns: str) -> list[object]:
    return [
        {
            "kind": "Event",
            "metadata": {"name": "bad-1"},
            "involvedObject": "x",
            "reason": "FailedCreatePodSandBox",
            "message": "x",
            "source": "x",
        },
        {
            "kind": "Event",
            "metadata": {"name": "bad-2", "namespace": ns},
            "involvedObject": {"kind": "Pod", "name": 5, "namespace": ["x"]},
            "reason": ["x"],
            "message": 5,
            "count": "3",
            "source": {"host": 5},
        },
    ]


def _bad_daemonsets(ns: str) -> list[object]:
    return [
        {
            "kind": "DaemonSet",
            "metadata": {"name": "bad-ds", "namespace": ns},
            "spec": {
                "template": {
                    "spec": {
                        "containers": ["x", {"name": "c", "image": 5, "command": "x"}],
                        "initContainers": "x",
                        "volumes": 5,
                        "tolerations": [["x"], "y"],
                        "nodeSelector": "x",
                        "affinity": "x",
                    }
                }
            },
            "status": "x",
        },
        {"kind": "DaemonSet", "metadata": {"name": "bad-ds-2", "namespace": ns}, "spec": {"template": "x"}},
        {"kind": "DaemonSet", "metadata": {"name": "bad-ds-3", "namespace": ns}, "spec": "x"},
    ]


def _bad_configmaps(ns: str) -> list[object]:
    return [
        {"kind": "ConfigMap", "metadata": {"name": "bad-cm", "namespace": ns}, "data": 5},
        {"kind": "ConfigMap", "metadata": {"name": "bad-cm-2", "namespace": ns}, "data": {"net-conf.json": 5}},
        {"kind": "ConfigMap", "metadata": {"name": "bad-cm-3", "namespace": ns}, "data": ["x"]},
    ]


BAD_NODE_FILES = {  # beside a node's real configs, sorted after them: the runtime never picks them
    "cni-net.d/99-bad-list.conflist": "[1, 2]",
    "cni-net.d/99-bad-string.conf": '"x"',
    "cni-net.d/99-bad-plugins.conflist": '{"cniVersion": "1.0.0", "name": "x", "plugins": ["x", 5, {"type": 5}]}',
}


def _items(doc: object) -> list:
    return doc["items"] if isinstance(doc, dict) and isinstance(doc.get("items"), list) else []


def _malformed_overlay(bundle: Bundle, dest: Path) -> Path:
    """Every pods/nodes/events/daemonsets/configmaps list of BUNDLE with malformed items added after the real
    ones, and malformed CNI config files beside the real ones of every node that has some."""
    bad = {"pods": _bad_pods, "events": _bad_events, "daemonsets": _bad_daemonsets, "configmaps": _bad_configmaps}
    lists = {layout.cluster_list("nodes"): BAD_NODES}
    for ns in bundle.namespaces:
        for resource, make in bad.items():
            if bundle.has(layout.namespaced_list(ns, resource)):
                lists[layout.namespaced_list(ns, resource)] = make(ns)
    for path, extra in lists.items():
        doc = bundle.json(path)
        items = _items(doc) if isinstance(doc, dict) else []
        out = dest / path
        out.parent.mkdir(parents=True, exist_ok=True)
        kind = doc.get("kind", "List") if isinstance(doc, dict) else "List"
        out.write_text(json.dumps({"kind": kind, "items": items + extra}), encoding="utf-8")
    for node in bundle.node_dirs:
        if not bundle.paths(layout.node_file(node, layout.CNI_NET_D + "/")):
            continue  # a node without a config stays without one (GEN002's fault)
        for name, text in BAD_NODE_FILES.items():
            out = dest / layout.node_file(node, name)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
    return dest


def _counts_masked(text: str) -> str:
    """TEXT without its count of nodes (the malformed nodes are nodes of the list too)."""
    return re.sub(r"\bof \d+ nodes\b", "of N nodes", text)


def _run(check: Check, sources: list[DirSource]) -> Diagnosis:
    return diagnose(Bundle(sources), [check])


CASES = [(c, t) for c in catalog() if c.id in HARDENED for t in c.tests if t.fires]


@pytest.mark.parametrize("check,test", CASES, ids=[f"{c.id}-{t.fixture}-{t.overlay or 'plain'}" for c, t in CASES])
def test_malformed_objects_are_skipped_and_the_fault_still_found(check: Check, test, tmp_path: Path) -> None:  # noqa: ANN001
    base = [DirSource(fixture_bundle_path(test.fixture, check.folder))]
    if test.overlay:
        base.append(DirSource(check.folder / test.overlay))
    clean = _run(check, base)
    [expected] = [f for f in clean.findings if f.check.id == check.id]

    damaged = _run(check, [*base, DirSource(_malformed_overlay(Bundle(base), tmp_path / "malformed"))])

    tripped = [g for g in damaged.gaps if g.source == "check"]
    assert tripped == [], tripped
    [found] = [f for f in damaged.findings if f.check.id == check.id]
    assert found.nodes == expected.nodes
    assert found.objects == expected.objects
    assert [_counts_masked(e.excerpt) for e in found.evidence] == [_counts_masked(e.excerpt) for e in expected.evidence]


EVENT_CASES = [(c, t) for c, t in CASES if any(m.template == "event" for m in c.match)]


@pytest.mark.parametrize("check,test", EVENT_CASES, ids=[f"{c.id}-{t.fixture}" for c, t in EVENT_CASES])
def test_an_event_naming_a_malformed_pod_is_still_evidence(check: Check, test, tmp_path: Path) -> None:  # noqa: ANN001
    """The event is well-formed, the pod it names has a `spec` list: the event counts, on no node."""
    base = [DirSource(fixture_bundle_path(test.fixture, check.folder))]
    [expected] = [f for f in _run(check, base).findings if f.check.id == check.id]
    ns, _, name = next(o for o in expected.objects if "/Pod/" in o).split("/")
    bundle = Bundle(base)
    events_path = layout.namespaced_list(ns, "events")
    events = _items(bundle.json(events_path))
    spec = next(m.params for m in check.match if m.template == "event")
    [event] = [
        e
        for e in events
        if e.get("involvedObject", {}).get("name") == name
        and re.fullmatch(spec["reason"], str(e.get("reason")))
        and re.search(spec["message"], str(e.get("message")))
    ][:1]
    clone = json.loads(json.dumps(event))
    clone["metadata"]["name"] += "-clone"
    clone["involvedObject"]["name"] = "bad-spec"
    overlay = tmp_path / "overlay"
    for path, items in ((events_path, [*events, clone]), (layout.namespaced_list(ns, "pods"), None)):
        items = items if items is not None else [*_items(bundle.json(path)), *_bad_pods(ns)]
        (overlay / path).parent.mkdir(parents=True, exist_ok=True)
        (overlay / path).write_text(json.dumps({"kind": "List", "items": items}), encoding="utf-8")

    damaged = _run(check, [*base, DirSource(overlay)])

    assert [g for g in damaged.gaps if g.source == "check"] == []
    [found] = [f for f in damaged.findings if f.check.id == check.id]
    assert found.nodes == expected.nodes
    assert found.objects == sorted([*expected.objects, f"{ns}/Pod/bad-spec"])


def test_every_hardened_check_is_covered() -> None:
    assert sorted({c.id for c, _ in CASES}) == sorted(HARDENED)
