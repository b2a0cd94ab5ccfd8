"""`python`: a check's own `check.py` for what a template can't express (CIDR/MTU math, cross-node).

The module defines `evaluate(ctx: Context, check: Check) -> list[Hit] | None`; None means the evidence
it needs is missing (the check reports GAP), an empty list means the fault is absent.

Each family folder (`checks/calico/`, a `--checks-dir` folder, ...) is loaded as a package, so a check
shares helpers with its siblings by a relative import of a module kept beside the check folders:
`from .._lib.calico import block_size` inside `checks/calico/CAL009-.../check.py`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import types
from collections.abc import Callable
from pathlib import Path

from cnidoctor.errors import CatalogError

ROOT_PACKAGE = "cnidoctor_checks"
_loaded: dict[Path, Callable] = {}


def _identifier(name: str) -> str:
    ident = "".join(ch if ch.isalnum() else "_" for ch in name)
    return ident if ident[:1].isalpha() else f"c_{ident}"


def _package(name: str, path: Path) -> str:
    """Register (once) a package NAME whose modules live in PATH; return its dotted name."""
    if name not in sys.modules:
        pkg = types.ModuleType(name)
        pkg.__path__ = [str(path)]  # type: ignore[attr-defined]
        pkg.__package__ = name
        sys.modules[name] = pkg
    return name


def _family_package(family_dir: Path) -> str:
    """A package per family folder, named after it plus a hash of its path (two catalogs never collide)."""
    _package(ROOT_PACKAGE, family_dir.parent)
    digest = hashlib.sha1(str(family_dir).encode()).hexdigest()[:8]
    family = _package(f"{ROOT_PACKAGE}.{_identifier(family_dir.name)}_{digest}", family_dir)
    return family


def load_evaluate(path: Path) -> Callable:
    path = path.resolve()
    if path in _loaded:
        return _loaded[path]
    family = _family_package(path.parent.parent)
    check_pkg = _package(f"{family}.{_identifier(path.parent.name)}", path.parent)
    modname = f"{check_pkg}.check"
    spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or spec.loader is None:
        raise CatalogError(f"{path}: cannot load check module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # a module calling sys.exit() must not end the analysis silently
        raise CatalogError(f"{path}: check module failed to import: {type(exc).__name__}: {exc}") from None
    fn = getattr(module, "evaluate", None)
    if not callable(fn):
        raise CatalogError(f"{path}: check module must define evaluate(ctx, check)")
    _loaded[path] = fn
    return fn
