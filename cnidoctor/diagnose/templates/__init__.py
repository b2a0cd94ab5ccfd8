"""Matcher templates: the small, tested set of ways a check.yaml can say what it looks for."""

from __future__ import annotations

from cnidoctor.catalog.schema import Check
from cnidoctor.diagnose.templates.base import MatchResult, Template
from cnidoctor.diagnose.templates.event import EventTemplate
from cnidoctor.diagnose.templates.log import LogTemplate
from cnidoctor.diagnose.templates.node_file import NodeFileTemplate
from cnidoctor.diagnose.templates.objects import ObjectsTemplate
from cnidoctor.diagnose.templates.pod_status import PodStatusTemplate
from cnidoctor.diagnose.templates.python_hook import load_evaluate
from cnidoctor.errors import CatalogError

TEMPLATES: dict[str, Template] = {
    t.name: t for t in (LogTemplate(), EventTemplate(), ObjectsTemplate(), NodeFileTemplate(), PodStatusTemplate())
}

_compiled: dict[tuple[str, str, int], object] = {}


def compiled_params(check: Check, group: str, index: int) -> object:
    """The validated, compiled parameters of one matcher of CHECK (compiled once)."""
    key = (check.id, group, index)
    if key not in _compiled:
        spec = (check.match if group == "match" else check.unless)[index]
        template = TEMPLATES.get(spec.template)
        where = f"{check.folder}/check.yaml {group}[{index}]"
        if template is None:
            raise CatalogError(f"{where}: unknown template {spec.template!r} (known: {sorted(TEMPLATES)})")
        _compiled[key] = template.validate(dict(spec.params), where)
    return _compiled[key]


def validate_check(check: Check) -> None:
    """Validate every matcher's parameters at catalog load time.

    A check's Python module is imported when the check first runs (only applicable checks pay for it);
    an import error then is the same CatalogError, and tests import every module of the catalog.
    """
    for group, specs in (("match", check.match), ("unless", check.unless)):
        for i in range(len(specs)):
            compiled_params(check, group, i)


__all__ = ["TEMPLATES", "MatchResult", "compiled_params", "load_evaluate", "validate_check"]
