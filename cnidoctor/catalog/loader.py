"""Find and load check catalogs: the built-in one, `--checks-dir` folders and installed check packs.

Check packs register a callable returning a folder under the `cnidoctor.checks` entry-point group,
exactly as the built-in catalog does.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import yaml

from cnidoctor.catalog.schema import Check, parse_check
from cnidoctor.errors import CatalogError

ENTRY_POINT_GROUP = "cnidoctor.checks"
_PACKAGE_DIR = Path(__file__).resolve().parent.parent
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: 10x faster


def builtin_checks_dir() -> Path:
    """The shipped catalog: inside the wheel, or `checks/` of a source checkout."""
    for candidate in (_PACKAGE_DIR / "_catalog", _PACKAGE_DIR.parent / "checks"):
        if candidate.is_dir():
            return candidate
    raise CatalogError("the built-in check catalog is missing from this installation")


def catalog_dirs(extra: list[Path] | None = None) -> list[Path]:
    """Built-in catalog first, then installed packs, then --checks-dir folders."""
    dirs = [builtin_checks_dir()]
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.value == "cnidoctor.catalog.loader:builtin_checks_dir":
            continue
        try:
            found = Path(ep.load()())
        except Exception as exc:  # a broken third-party pack must not stop diagnosis
            raise CatalogError(f"check pack {ep.name!r} failed to load: {exc}") from None
        dirs.append(found)
    for d in extra or []:
        if not Path(d).is_dir():
            raise CatalogError(f"--checks-dir {d}: not a directory")
        dirs.append(Path(d))
    return dirs


def load_dir(root: Path) -> list[Check]:
    """All checks under ROOT (any depth), each in its own folder with a check.yaml."""
    checks = []
    for path in sorted(root.rglob("check.yaml")):
        if any(part.startswith((".", "_")) for part in path.relative_to(root).parts[:-1]):
            continue
        try:
            doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise CatalogError(f"{path}: cannot read check definition ({str(exc).splitlines()[0]})") from None
        checks.append(parse_check(doc, path.parent))
    return checks


def load_catalog(extra: list[Path] | None = None) -> list[Check]:
    """Load and validate every catalog; IDs are unique (an `explains` naming an absent check is ignored)."""
    from cnidoctor.diagnose.templates import validate_check  # templates validate their own params

    checks: list[Check] = []
    seen: dict[str, Path] = {}
    for d in catalog_dirs(extra):
        for check in load_dir(d):
            if check.id in seen:
                raise CatalogError(f"duplicate check id {check.id}: {seen[check.id]} and {check.folder}")
            seen[check.id] = check.folder
            validate_check(check)
            checks.append(check)
    return sorted(checks, key=lambda c: c.id)
