"""TigeraStatus resources reporting a component Degraded or not Available (operator-managed installs only)."""

from __future__ import annotations

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, obj_name
from cnidoctor.model import Evidence, Hit

RESOURCE = "tigerastatuses.operator.tigera.io"


def _bad(cond: dict) -> bool:
    return (cond.get("type") == "Degraded" and cond.get("status") == "True") or (
        cond.get("type") == "Available" and cond.get("status") == "False"
    )


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    if not ctx.has_resource(RESOURCE):
        return []  # not installed by the tigera-operator: nothing to read, nothing missing
    hits = []
    for item in ctx.resource(RESOURCE):
        bad = [c for c in (item.get("status") or {}).get("conditions") or [] if isinstance(c, dict) and _bad(c)]
        if not bad:
            continue
        name = obj_name(item)
        text = "; ".join(
            " ".join(str(c.get(k) or "") for k in ("type", "status", "reason", "message")).strip() for c in bad
        )
        hits.append(
            Hit(
                [Evidence(layout.cluster_list(RESOURCE), f"{name}: {text}"[:500], f"TigeraStatus/{name}")],
                [f"TigeraStatus/{name}"],
                [],
                {"name": name},
                f"TigeraStatus {name}: {text[:200]}",
            )
        )
    return hits
