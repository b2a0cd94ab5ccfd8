"""Generated documentation is current: docs/checks.md is what `checks list --format markdown` prints."""

from __future__ import annotations

from cnidoctor.catalog.docs import markdown_catalog
from tests.conftest import ROOT, catalog


def test_checks_md_is_current():
    current = (ROOT / "docs" / "checks.md").read_text(encoding="utf-8")
    assert current == markdown_catalog(catalog()) + "\n" or current == markdown_catalog(catalog()), (
        "docs/checks.md is stale: run `cnidoctor checks list --format markdown > docs/checks.md`"
    )


def test_catalog_breadth():
    checks = catalog()
    roots = [c for c in checks if c.kind.value == "root-cause"]
    assert len(roots) >= 50
    for family in ("calico", "cilium", "flannel", "multus", "generic"):
        fam = [c for c in checks if c.cni == family]
        assert any(c.kind.value == "root-cause" for c in fam), family
        assert any(c.kind.value == "symptom" for c in fam) or family == "generic", family
