"""Helpers for the parser tests: sample files, the shared case bundles, a throwaway network namespace."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"
CASES = Path(__file__).resolve().parents[2] / ".." / "shared" / "cases"

_counter = itertools.count()


def data(name: str) -> str:
    """A sample copied from the shared cases into tests/parse/data."""
    return (DATA / name).read_text()


def data_dir(name: str) -> dict[str, str]:
    """A copied cni-net.d directory as relative path -> contents."""
    base = DATA / name
    return {str(p.relative_to(base)): p.read_text() for p in sorted(base.rglob("*")) if p.is_file()}


def case_path(case: str, node: str, name: str) -> Path:
    """A node file of a shared case; skips the test when the shared cases are not there."""
    path = CASES / case / "bundle" / "nodes" / node / name
    if not path.exists():
        pytest.skip(f"shared case file {path} not available")
    return path


def case_file(case: str, node: str, name: str) -> str:
    return case_path(case, node, name).read_text()


def all_case_files(name: str) -> list[Path]:
    """Every node file called NAME across the shared cases (empty when they are absent)."""
    if not CASES.is_dir():
        return []
    return sorted(CASES.glob(f"*/bundle/nodes/*/{name}"))


needs_netns = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("ip") is None,
    reason="needs root and the ip command",
)


class Netns:
    def __init__(self, name: str) -> None:
        self.name = name

    def run(self, *cmd: str, check: bool = True) -> str:
        """Run CMD inside the namespace and return its stdout."""
        proc = subprocess.run(["ip", "netns", "exec", self.name, *cmd], capture_output=True, text=True, timeout=30)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def setup(self, *cmd: str) -> None:
        """Run a setup command; skip the test if the kernel or container does not allow it."""
        proc = subprocess.run(["ip", "netns", "exec", self.name, *cmd], capture_output=True, text=True, timeout=30)
        if proc.returncode != 0:
            pytest.skip(f"cannot run {' '.join(cmd)} here: {proc.stderr.strip()}")


@contextmanager
def netns() -> Iterator[Netns]:
    """A fresh network namespace named cnid-parse-<pid>-<n>, always deleted afterwards."""
    name = f"cnid-parse-{os.getpid()}-{next(_counter)}"
    proc = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        pytest.skip(f"cannot create a network namespace: {proc.stderr.strip()}")
    try:
        yield Netns(name)
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)
