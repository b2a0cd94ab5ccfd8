"""The check definition: what `checks/<family>/<ID>-<name>/check.yaml` may say, validated on load."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from cnidoctor.errors import CatalogError
from cnidoctor.model import Kind, RemediationStep, Severity

FAMILIES = {
    "CAL": "calico",
    "CIL": "cilium",
    "FLN": "flannel",
    "MUL": "multus",
    "GEN": "generic",
}
CNIS = set(FAMILIES.values())
ID_RE = re.compile(r"^(CAL|CIL|FLN|MUL|GEN)\d{3}$")
NAME_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)+$")
REQUIRED = ("id", "name", "title", "cni", "severity", "kind", "symptom", "root_cause", "remediation", "references")
OPTIONAL = ("explains", "match", "unless", "python", "tests", "applies_when", "priority", "tags")


@dataclass(frozen=True)
class MatcherSpec:
    """One use of a matcher template with its parameters (validated by the template)."""

    template: str
    params: dict


@dataclass(frozen=True)
class FixtureTest:
    """A fixture this check must fire on (with an evidence excerpt) or stay silent on."""

    fixture: str  # a folder under fixtures/, or a path relative to the check folder
    fires: bool = True
    excerpt: str | None = None
    nodes: tuple[str, ...] = ()
    overlay: str | None = None  # a partial bundle in the check folder laid over the fixture


@dataclass(frozen=True)
class Check:
    id: str
    name: str
    title: str
    cni: str
    severity: Severity
    kind: Kind
    symptom: str
    root_cause: str
    remediation: tuple[RemediationStep, ...]
    references: tuple[str, ...]
    folder: Path
    explains: tuple[str, ...] = ()
    match: tuple[MatcherSpec, ...] = ()
    unless: tuple[MatcherSpec, ...] = ()
    python: str | None = None
    tests: tuple[FixtureTest, ...] = ()
    applies_when: tuple[str, ...] = ()  # CNIs that must be detected; default: the check's own cni
    priority: int = 0  # breaks ties between root causes: more specific evidence ranks higher
    tags: tuple[str, ...] = field(default=())

    @property
    def family(self) -> str:
        return FAMILIES[self.id[:3]]


def _text(doc: dict, key: str, where: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{where}: `{key}` must be a non-empty string")
    return value.strip()


def _matchers(raw: object, where: str, key: str) -> tuple[MatcherSpec, ...]:
    if raw is None:
        return ()
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise CatalogError(f"{where}: `{key}` must be a list of matchers")
    out = []
    for i, m in enumerate(raw):
        if not isinstance(m, dict) or not isinstance(m.get("template"), str):
            raise CatalogError(f"{where}: {key}[{i}] needs a `template`")
        params = {k: v for k, v in m.items() if k != "template"}
        out.append(MatcherSpec(m["template"], params))
    return tuple(out)


def parse_check(doc: object, folder: Path) -> Check:
    """Validate one check.yaml document; raise CatalogError naming the file and the problem."""
    where = str(folder / "check.yaml")
    if not isinstance(doc, dict):
        raise CatalogError(f"{where}: not a mapping")
    unknown = set(doc) - set(REQUIRED) - set(OPTIONAL)
    if unknown:
        raise CatalogError(f"{where}: unknown keys {sorted(unknown)}")
    for key in REQUIRED:
        if key not in doc:
            raise CatalogError(f"{where}: missing `{key}`")
    cid = _text(doc, "id", where)
    if not ID_RE.match(cid):
        raise CatalogError(f"{where}: id {cid!r} must be a family prefix ({', '.join(FAMILIES)}) + 3 digits")
    name = _text(doc, "name", where)
    if not NAME_RE.match(name):
        raise CatalogError(f"{where}: name {name!r} must be kebab-case")
    if not folder.name.startswith(f"{cid}-"):
        raise CatalogError(f"{where}: folder must be named {cid}-<name>")
    cni = _text(doc, "cni", where)
    if cni not in CNIS:
        raise CatalogError(f"{where}: cni must be one of {sorted(CNIS)}")
    try:
        severity = Severity(doc["severity"])
        kind = Kind(doc["kind"])
    except ValueError:
        raise CatalogError(f"{where}: severity must be critical|warning|info, kind root-cause|symptom") from None
    steps = doc["remediation"]
    if not isinstance(steps, list) or not steps:
        raise CatalogError(f"{where}: `remediation` must be a non-empty list of steps")
    remediation = []
    for i, s in enumerate(steps):
        if not isinstance(s, dict) or not isinstance(s.get("step"), str) or not s["step"].strip():
            raise CatalogError(f"{where}: remediation[{i}] needs a `step` sentence")
        cmd = s.get("command")
        if cmd is not None and not isinstance(cmd, str):
            raise CatalogError(f"{where}: remediation[{i}].command must be a string")
        remediation.append(RemediationStep(s["step"].strip(), cmd.strip() if cmd else None))
    refs = doc["references"]
    if not isinstance(refs, list) or not refs or not all(isinstance(r, str) and r for r in refs):
        raise CatalogError(f"{where}: `references` must be a non-empty list of strings")
    explains = doc.get("explains") or []
    if not isinstance(explains, list):
        raise CatalogError(f"{where}: `explains` must be a list of check IDs")
    for e in explains:
        if not (isinstance(e, str) and ID_RE.match(e)):
            raise CatalogError(f"{where}: `explains` entry {e!r} is not a check ID (e.g. GEN001)")
    match = _matchers(doc.get("match"), where, "match")
    unless = _matchers(doc.get("unless"), where, "unless")
    python = doc.get("python")
    if python is not None and (not isinstance(python, str) or not (folder / python).is_file()):
        raise CatalogError(f"{where}: `python` must name a file in the check folder")
    if not match and python is None:
        raise CatalogError(f"{where}: a check needs `match` matchers or a `python` file")
    tests = []
    for i, t in enumerate(doc.get("tests") or []):
        if not isinstance(t, dict) or not isinstance(t.get("fixture"), str):
            raise CatalogError(f"{where}: tests[{i}] needs a `fixture`")
        tests.append(
            FixtureTest(
                fixture=t["fixture"],
                fires=bool(t.get("fires", True)),
                excerpt=t.get("excerpt"),
                nodes=tuple(t.get("nodes") or ()),
                overlay=t.get("overlay"),
            )
        )
    applies = doc.get("applies_when") or ([] if cni == "generic" else [cni])
    if not isinstance(applies, list) or not all(isinstance(a, str) for a in applies) or not set(applies) <= CNIS:
        raise CatalogError(f"{where}: `applies_when` must list CNIs from {sorted(CNIS)}")
    priority = doc.get("priority", 0)
    if not isinstance(priority, int):
        raise CatalogError(f"{where}: `priority` must be an integer")
    return Check(
        id=cid,
        name=name,
        title=_text(doc, "title", where),
        cni=cni,
        severity=severity,
        kind=kind,
        symptom=_text(doc, "symptom", where),
        root_cause=_text(doc, "root_cause", where),
        remediation=tuple(remediation),
        references=tuple(refs),
        folder=folder,
        explains=tuple(explains),
        match=match,
        unless=unless,
        python=python,
        tests=tuple(tests),
        applies_when=tuple(a for a in applies if a != "generic"),
        priority=priority,
        tags=tuple(doc.get("tags") or ()),
    )
