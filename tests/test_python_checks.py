"""check.py modules: loaded once per path, family helpers shared by relative import, errors are one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnidoctor.diagnose.templates.python_hook import load_evaluate
from cnidoctor.errors import CatalogError


def _family(root: Path, name: str, answer: int) -> Path:
    fam = root / name
    (fam / "_lib").mkdir(parents=True)
    (fam / "_lib" / "helpers.py").write_text(f"def answer():\n    return {answer}\n")
    check = fam / "GEN998-uses-helpers"
    check.mkdir()
    (check / "check.py").write_text(
        "from .._lib.helpers import answer\n\ndef evaluate(ctx, check):\n    return [answer()]\n"
    )
    return check / "check.py"


def test_relative_import_of_family_helpers_and_no_collision_between_catalogs(tmp_path):
    first = _family(tmp_path / "a", "generic", 1)
    second = _family(tmp_path / "b", "generic", 2)  # same family and check names, another catalog
    assert load_evaluate(first)(None, None) == [1]
    assert load_evaluate(second)(None, None) == [2]
    assert load_evaluate(first) is load_evaluate(first)


def test_broken_check_module_is_a_catalog_error(tmp_path):
    path = tmp_path / "fam" / "GEN997-broken" / "check.py"
    path.parent.mkdir(parents=True)
    path.write_text("import does_not_exist_anywhere\n")
    with pytest.raises(CatalogError, match="check module failed to import"):
        load_evaluate(path)
    path.write_text("x = 1\n")
    other = path.with_name("other.py")
    other.write_text("x = 1\n")
    with pytest.raises(CatalogError, match="must define evaluate"):
        load_evaluate(other)
