"""Shared test helpers: the catalog, fixtures, and a cached analysis of each fixture."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import yaml

from cnidoctor.bundle.reader import Bundle
from cnidoctor.bundle.sources import DirSource
from cnidoctor.catalog.loader import load_catalog
from cnidoctor.diagnose.engine import Diagnosis, diagnose

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CASES = ROOT.parent / "shared" / "cases"


@functools.cache
def catalog():
    return load_catalog()


def fixture_names() -> list[str]:
    return sorted(p.name for p in FIXTURES.iterdir() if (p / "bundle").is_dir())


def expected(name: str) -> dict:
    path = FIXTURES / name / "expected.yaml"
    return yaml.safe_load(path.read_text()) if path.is_file() else {}


def healthy_fixtures() -> list[str]:
    return [n for n in fixture_names() if expected(n).get("healthy") is True]


def fixture_bundle_path(name: str, base: Path | None = None) -> Path:
    """A fixture name (folder under fixtures/) or a path relative to BASE (a check folder)."""
    if base is not None and (base / name).is_dir():
        p = base / name
        return p / "bundle" if (p / "bundle").is_dir() else p
    return FIXTURES / name / "bundle"


@functools.cache
def analyze_path(path: Path, overlay: Path | None = None) -> Diagnosis:
    sources = [DirSource(path)] + ([DirSource(overlay)] if overlay else [])
    return diagnose(Bundle(sources), catalog())


def analyze_fixture(name: str) -> Diagnosis:
    return analyze_path(fixture_bundle_path(name))


@pytest.fixture
def run_cli(capsys):
    """Run the real console entry point in-process; returns (exit code, stdout, stderr)."""
    from cnidoctor.cli.app import main

    def run(*args: str) -> tuple[int, str, str]:
        import sys

        old = sys.argv
        sys.argv = ["cnidoctor", *args]
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        finally:
            sys.argv = old
        out, err = capsys.readouterr()
        return code, out, err

    return run
