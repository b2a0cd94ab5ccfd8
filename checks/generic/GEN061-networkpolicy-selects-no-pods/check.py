"""NetworkPolicies whose podSelector matches no pod, where a label close to the selector's exists: a typo."""

from __future__ import annotations

import difflib
import json
from collections import Counter

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence, Hit

CUTOFF = 0.6


def _selects(selector: dict, labels: dict) -> bool:
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if (
            (op == "In" and labels.get(key) not in values)
            or (op == "NotIn" and labels.get(key) in values)
            or (op == "Exists" and key not in labels)
            or (op == "DoesNotExist" and key in labels)
        ):
            return False
    return True


def _suggest(key: str, value: str, pod_labels: list[dict]) -> str | None:
    """The existing label closest to key=value, with how many pods carry it."""
    pairs = Counter((k, v) for labels in pod_labels for k, v in labels.items())
    if any(k == key for k, _ in pairs):
        values = sorted({v for k, v in pairs if k == key})
        close = difflib.get_close_matches(value, values, n=1, cutoff=CUTOFF)
        if close:
            return f"{key}={close[0]} ({pairs[(key, close[0])]} pods)"
    keys = sorted({k for k, v in pairs if v == value})
    close = difflib.get_close_matches(key, keys, n=1, cutoff=CUTOFF)
    if close:
        return f"{close[0]}={value} ({pairs[(close[0], value)]} pods)"
    return None


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    if not ctx.has_resource("networkpolicies"):
        return []  # nothing to compare; not worth a gap for an info-level check
    hits = []
    for pol in ctx.networkpolicies:
        ns = str(meta(pol).get("namespace"))
        selector = (pol.get("spec") or {}).get("podSelector") or {}
        match_labels = selector.get("matchLabels") or {}
        if not match_labels:
            continue
        pods = [p for p in ctx.pods if meta(p).get("namespace") == ns and not (p.get("spec") or {}).get("hostNetwork")]
        labels = [meta(p).get("labels") or {} for p in pods]
        if not labels or any(_selects(selector, lab) for lab in labels):
            continue
        hints = [
            f"{k}={v} matches no pod; closest existing label: {s}"
            for k, v in sorted(match_labels.items())
            if not any(lab.get(k) == v for lab in labels) and (s := _suggest(k, str(v), labels))
        ]
        if not hints:
            continue
        obj = f"{ns}/NetworkPolicy/{obj_name(pol)}"
        sel = json.dumps(selector, separators=(",", ":"), sort_keys=True)
        text = f"{obj}: podSelector {sel} selects none of the {len(pods)} pods in {ns}; " + "; ".join(hints)
        hits.append(
            Hit(
                [Evidence(layout.namespaced_list(ns, "networkpolicies"), text[:400], obj)],
                [obj],
                [],
                {"namespace": ns, "name": obj_name(pol), "hint": hints[0]},
                text,
            )
        )
    return hits
