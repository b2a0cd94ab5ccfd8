"""Reports rendered from a fixed diagnosis: exact terminal text at a fixed width, no colour."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from cnidoctor.catalog.schema import parse_check
from cnidoctor.diagnose.engine import CheckResult, Diagnosis
from cnidoctor.diagnose.rank import build_findings
from cnidoctor.model import Evidence, Gap, Hit, Status
from cnidoctor.render import jsonout, markdown, terminal


def _check(folder: Path, cid: str, kind: str, explains: list[str]):
    (folder / f"{cid}-x").mkdir()
    (folder / f"{cid}-x" / "check.py").write_text("def evaluate(ctx, check):\n    return []\n")
    doc = {
        "id": cid,
        "name": f"fault-{cid.lower()}",
        "title": f"Title of {cid}",
        "cni": "flannel",
        "severity": "critical",
        "kind": kind,
        "symptom": "Pods are stuck.",
        "root_cause": "Because of the fault.",
        "remediation": [{"step": "Restart flannel on {node}.", "command": "kubectl -n {namespace} delete pod {pod}"}],
        "references": ["https://example.com/doc"],
        "explains": explains,
        "python": "check.py",
    }
    return parse_check(doc, folder / f"{cid}-x")


def _diagnosis(tmp_path: Path) -> Diagnosis:
    root = _check(tmp_path, "FLN901", "root-cause", ["FLN902"])
    symptom = _check(tmp_path, "FLN902", "symptom", [])
    ev = Evidence(
        "cluster/kube-flannel/kube-flannel-ds-abcde/kube-flannel.log",
        "E1 pod cidr not assigned",
        "kube-flannel/Pod/kube-flannel-ds-abcde",
        "node-3",
        12,
    )
    hit = Hit(
        [ev],
        ["kube-flannel/Pod/kube-flannel-ds-abcde"],
        ["node-3"],
        {"namespace": "kube-flannel", "pod": "kube-flannel-ds-abcde"},
    )
    hit2 = Hit(
        [Evidence("cluster/default/events.json", "Warning FailedCreatePodSandBox", "default/Pod/web-1", "node-3")],
        ["default/Pod/web-1"],
        ["node-3"],
    )
    fired = [(root, Status.FAIL, [hit]), (symptom, Status.FAIL, [hit2])]
    findings = build_findings(fired)
    return Diagnosis(
        "bundle-x",
        ["flannel"],
        [CheckResult(root, Status.FAIL, [hit]), CheckResult(symptom, Status.FAIL, [hit2])],
        findings,
        [Gap("nodes/node-3/sysctl.txt", "malformed")],
        0,
        0.01,
    )


EXPECTED = """\
cnidoctor 0.1.0 · bundle-x
Detected CNIs: flannel
2 checks run · 2 critical · 0 warning · 0 info · 0 checks not evaluated · 1 gap
in the evidence

#1 FLN901 Title of FLN901 ──────────────────────────────────────────────────────
CRITICAL root-cause · flannel · fault-fln901
Affected: 1 pod on node-3
Why: Because of the fault.
Evidence:
  cluster/kube-flannel/kube-flannel-ds-abcde/kube-flannel.log:12
    E1 pod cidr not assigned
Fix:
  1. Restart flannel on node-3.
     $ kubectl -n kube-flannel delete pod kube-flannel-ds-abcde
Explains:
  ↳ FLN902 Title of FLN902 (1 pod on node-3)

Gaps (evidence missing or unreadable; not proof of health)
  nodes/node-3/sysctl.txt: malformed
"""


def test_terminal_exact_text(tmp_path):
    console = Console(width=80, record=True, color_system=None, file=open("/dev/null", "w"))  # noqa: SIM115
    terminal.render(_diagnosis(tmp_path), console)
    assert console.export_text() == EXPECTED.replace("0.1.0", __import__("cnidoctor").__version__)


def test_json_folding_fields(tmp_path):
    doc = json.loads(jsonout.render(_diagnosis(tmp_path)))
    assert [(f["id"], f["explains"], f["explained_by"]) for f in doc["findings"]] == [
        ("FLN901", ["FLN902"], []),
        ("FLN902", [], ["FLN901"]),
    ]
    assert doc["findings"][0]["remediation"][0]["command"] == "kubectl -n kube-flannel delete pod kube-flannel-ds-abcde"
    assert doc["summary"]["top_finding"] == "FLN901"
    assert doc["gaps"] == [{"path": "nodes/node-3/sysctl.txt", "reason": "malformed", "source": "bundle"}]


def test_markdown_lists_folded_symptoms(tmp_path):
    text = markdown.render(_diagnosis(tmp_path))
    assert "### 🔴 FLN901 Title of FLN901" in text
    assert "- FLN902 Title of FLN902 (1 pod on node-3)" in text
    assert "### 🔴 FLN902" not in text
    assert "`nodes/node-3/sysctl.txt`: malformed" in text


def test_long_commands_and_excerpts_are_never_wrapped(tmp_path):
    d = _diagnosis(tmp_path)
    long_cmd = "kubectl -n kube-flannel patch daemonset kube-flannel-ds --type=json -p " + "x" * 120
    d.findings[0].remediation[0] = type(d.findings[0].remediation[0])("Patch it.", long_cmd)
    console = Console(width=60, record=True, color_system=None, file=open("/dev/null", "w"))  # noqa: SIM115
    terminal.render(d, console)
    lines = console.export_text().splitlines()
    assert f"     $ {long_cmd}" in lines
    assert all(line == line.rstrip() for line in lines), "no trailing padding"
