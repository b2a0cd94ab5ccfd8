"""Helpers for the live tests: serve a bundle on 127.0.0.1, point a kubeconfig at it, collect from it.

Everything goes over real HTTP with the real `kubernetes` client; nothing of cnidoctor is patched.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
from collections.abc import Iterator
from pathlib import Path

from cnidoctor.apiserver.faults import parse_fault
from cnidoctor.apiserver.rbac import Rule
from cnidoctor.apiserver.server import LocalApiServer
from cnidoctor.bundle.reader import Bundle

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
RBAC = ROOT / "deploy" / "rbac.yaml"


@contextlib.contextmanager
def served(
    *paths: Path,
    rules: list[Rule] | None = None,
    faults: tuple[str, ...] = (),
    page_size_cap: int = 0,
) -> Iterator[LocalApiServer]:
    """A local API server for the bundle at PATHS, stopped on exit."""
    server = LocalApiServer(Bundle.open([Path(p) for p in paths]), rules=rules,
                            faults=[parse_fault(f) for f in faults], page_size_cap=page_size_cap)
    with server:
        yield server


def kubeconfig(server: LocalApiServer, folder: Path, name: str = "kubeconfig") -> Path:
    path = folder / name
    path.write_text(server.kubeconfig(), encoding="utf-8")
    return path


def fixture_bundle(name: str) -> Path:
    return FIXTURES / name / "bundle"


def node_bundle(bundle: Path, folder: Path) -> list[str]:
    """The fixture's `nodes/` as a separate node bundle (the API never serves node state)."""
    if not (bundle / "nodes").is_dir():
        return []
    out = folder / "node-bundle"
    shutil.copytree(bundle / "nodes", out / "nodes")
    return [str(out)]


@functools.cache
def catalog_scopes() -> list:
    from cnidoctor.cli.scan import catalog_log_scopes
    from tests.conftest import catalog

    return catalog_log_scopes(catalog())


def gets_only(server: LocalApiServer) -> bool:
    return all(r.method == "GET" and r.verb != "watch" for r in server.requests)
