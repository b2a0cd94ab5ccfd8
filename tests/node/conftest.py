"""Fixtures of the node tests: the flannel lab (namespaces as nodes) is built once and shared."""

from __future__ import annotations

import pytest
from nodelab import Lab, require_lab
from nodescenarios import build_flannel


@pytest.fixture(scope="session")
def flannel_lab(tmp_path_factory):
    """(Lab, tmp): healthy-flannel's three nodes as namespaces, node-2 and node-3 broken (FLANNEL_FAULTS)."""
    require_lab()
    tmp = tmp_path_factory.mktemp("flannel-lab")
    with Lab(tmp, "f") as lab:
        build_flannel(lab)
        yield lab, tmp
