"""Collectors are plugins: a third-party package registers one under `cnidoctor.collectors` (an installed
dist-info, found by importlib.metadata) and it runs beside the built-ins; a broken one is a gap."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from cnidoctor.collect.registry import BUILTIN, load_collectors
from tests.live.conftest import ROOT, fixture_bundle, kubeconfig, served

PLUGIN = textwrap.dedent("""
    from cnidoctor.bundle import layout
    from cnidoctor.collect.base import Access, Phase, Task
    from cnidoctor.kube import resources as R

    class ServicesAgain:
        name = "services-again"
        phase = Phase.CNI

        def access(self):
            return [Access("", "services", ("list",))]

        def plan(self, session):
            def run(client):
                doc = client.list(R.SERVICES)
                session.write_json(layout.cluster_list("plugin-services"), doc)
            return [Task("list services (plugin)", "cluster/plugin-services.json", self.access()[0], run)]
""")


def install_plugin(site) -> None:  # noqa: ANN001
    (site / "acme_collectors.py").write_text(PLUGIN, encoding="utf-8")
    dist = site / "acme_collectors-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-collectors\nVersion: 1.0\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text(
        "[cnidoctor.collectors]\nservices-again = acme_collectors:ServicesAgain\nbroken = acme_missing:Nope\n",
        encoding="utf-8",
    )


def test_builtins_are_complete_without_the_entry_points():
    names = [c.name for c in load_collectors()[0]]
    assert set(BUILTIN) <= set(names)
    assert names.index("discovery") < names.index("nodes") < names.index("cni-resources") < names.index("logs")


def test_third_party_collector_runs_and_a_broken_one_is_a_gap(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    install_plugin(site)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    with served(fixture_bundle("case-FL-02")) as server:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "cnidoctor",
                "collect",
                "-o",
                str(tmp_path / "b"),
                "--quiet",
                "--kubeconfig",
                str(kubeconfig(server, tmp_path)),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert "services-again" in [c["name"] for c in manifest["collectors"]]
    assert json.loads((tmp_path / "b" / "cluster" / "plugin-services.json").read_text())["items"]
    [gap] = [g for g in manifest["gaps"] if g["path"] == "collectors"]
    assert gap["reason"].startswith("collector plugin 'broken' failed to load: ModuleNotFoundError")
