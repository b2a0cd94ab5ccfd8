"""`python`: a check's own `check.py` for what a template can't express (CIDR/MTU math, cross-node).

The module defines `evaluate(ctx: Context, check: Check) -> list[Hit] | None`; None means the evidence
it needs is missing (the check reports GAP), an empty list means the fault is absent.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

from cnidoctor.errors import CatalogError

_loaded: dict[Path, Callable] = {}


def load_evaluate(path: Path) -> Callable:
    path = path.resolve()
    if path in _loaded:
        return _loaded[path]
    modname = "cnidoctor_check_" + "".join(ch if ch.isalnum() else "_" for ch in path.parent.name)
    spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or spec.loader is None:
        raise CatalogError(f"{path}: cannot load check module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise CatalogError(f"{path}: check module failed to import: {exc}") from None
    fn = getattr(module, "evaluate", None)
    if not callable(fn):
        raise CatalogError(f"{path}: check module must define evaluate(ctx, check)")
    _loaded[path] = fn
    return fn
