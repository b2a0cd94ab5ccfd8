"""Multus is denied access to pods or NetworkAttachmentDefinitions by RBAC (Forbidden, not Unauthorized)."""

from __future__ import annotations

import re

from cnidoctor.diagnose.context import Context
from cnidoctor.model import Hit

from .. import _multus as mx

FORBIDDEN = re.compile(
    r'is forbidden: User "(?P<user>[^"]+)" cannot (?P<verb>[a-z]+) resource "(?P<resource>[^"]+)"'
    r'(?: in API group "(?P<group>[^"]*)")?'
)


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    found = []
    for m in mx.find_messages(ctx, FORBIDDEN):
        own = mx.multus_own_error(m.text)
        is_multus = "multus" in m.groups.get("user", "") or re.search(
            r"\bMultus\b|multus-shim|plugin type=\"multus", m.text
        )
        if own is not None and FORBIDDEN.search(own) and is_multus:
            found.append(m)
    if not found:
        return []
    g = found[0].groups
    user = g.get("user", "")
    sa = user.split(":")
    sa_ns, sa_name = (sa[2], sa[3]) if len(sa) == 4 and sa[0] == "system" else ("kube-system", "multus")
    rules = sorted(
        {(m.groups.get("verb", ""), m.groups.get("resource", ""), m.groups.get("group") or "") for m in found}
    )
    evidence = [m.evidence for m in found[:3]]
    nodes = sorted({m.node for m in found if m.node})
    objects = sorted({f"{m.pod[0]}/Pod/{m.pod[1]}" for m in found if m.pod})
    values = {
        "user": user,
        "sa_namespace": sa_ns,
        "sa_name": sa_name,
        "verb": g.get("verb", "get"),
        "resource": g.get("resource", "pods"),
        "group": g.get("group") or "",
        "api_group": f"{g.get('group')}" if g.get("group") else '""',
    }
    missing = "; ".join(f"{v} {r}" + (f".{gr}" if gr else "") for v, r, gr in rules)
    return [Hit(evidence, objects, nodes, values, f"RBAC denies {user} ({missing}); Multus cannot do its work")]
