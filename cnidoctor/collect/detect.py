"""CNI detection between the inventory and the CNI-specific collectors.

Reuses the engine's detection on the partial bundle written so far (DaemonSets, pods, ConfigMaps, node
annotations), so live and offline agree, and adds the CNI API groups the server serves (CRDs).
"""

from __future__ import annotations

import contextlib

from cnidoctor.bundle.reader import Bundle
from cnidoctor.bundle.sources import DirSource
from cnidoctor.collect.session import Session
from cnidoctor.diagnose.context import Context
from cnidoctor.diagnose.detect import detect_cnis
from cnidoctor.errors import BundleError
from cnidoctor.kube.resources import CNI_GROUPS


def detect(session: Session) -> list[str]:
    found: set[str] = set()
    with contextlib.suppress(BundleError, OSError):  # nothing collected yet
        found |= set(detect_cnis(Context(Bundle([DirSource(session.writer.tmp)]))))
    groups = set(session.api_groups) | {str((c.get("spec") or {}).get("group")) for c in session.crds}
    found |= {CNI_GROUPS[g] for g in groups if g in CNI_GROUPS}
    return sorted(found)
