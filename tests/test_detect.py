"""CNI detection: deployed CNIs come from API evidence; leftover config files do not count as deployed."""

from __future__ import annotations

import shutil

from cnidoctor.bundle.reader import Bundle
from cnidoctor.diagnose.context import Context
from cnidoctor.diagnose.detect import configured_cnis, detect_cnis
from cnidoctor.diagnose.engine import diagnose
from tests.conftest import FIXTURES, catalog

LEFTOVER = '{"cniVersion": "0.3.1", "name": "cbr0", "plugins": [{"type": "flannel"}]}'


def test_each_healthy_fixture_detects_its_cni():
    expected = {
        "healthy-calico": ["calico"],
        "healthy-cilium": ["cilium"],
        "healthy-flannel": ["flannel"],
        "healthy-multus": ["flannel", "multus"],
        "healthy-multus-calico": ["calico", "multus"],
    }
    for name, cnis in expected.items():
        assert detect_cnis(Context(Bundle.open([FIXTURES / name / "bundle"]))) == cnis, name


def test_leftover_config_is_not_a_deployed_cni(tmp_path):
    overlay = tmp_path / "overlay" / "nodes" / "node-1" / "cni-net.d"
    overlay.mkdir(parents=True)
    (overlay / "10-flannel.conflist").write_text(LEFTOVER)
    bundle = Bundle.open([FIXTURES / "healthy-calico" / "bundle", tmp_path / "overlay"])
    ctx = Context(bundle)
    assert detect_cnis(ctx) == ["calico"]
    assert "flannel" in configured_cnis(ctx)
    d = diagnose(bundle, catalog())
    assert d.detected_cnis == ["calico"]
    assert any(r.check.cni == "flannel" for r in d.results), "checks of the leftover CNI still run"


def test_node_only_bundle_falls_back_to_config_files(tmp_path):
    node = tmp_path / "b" / "nodes" / "node-1"
    shutil.copytree(FIXTURES / "healthy-flannel" / "bundle" / "nodes" / "node-1", node)
    assert detect_cnis(Context(Bundle.open([tmp_path / "b"]))) == ["flannel"]
