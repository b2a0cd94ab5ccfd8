"""`kubectl get` asks for server-side Tables; give it the usual columns for the common kinds."""

from __future__ import annotations

from cnidoctor.apiserver.logtime import parse_rfc3339


def age(created: object, now: float) -> str:
    t = parse_rfc3339(created)
    if t is None:
        return "<unknown>"
    s = max(0, int(now - t))
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 2 * 86400:
        return f"{s // 3600}h{(s % 3600) // 60}m" if s < 36000 else f"{s // 3600}h"
    return f"{s // 86400}d"


def _pod_row(obj: dict) -> list:
    status = obj.get("status") or {}
    statuses = [c for c in status.get("containerStatuses") or [] if isinstance(c, dict)]
    total = len((obj.get("spec") or {}).get("containers") or []) or len(statuses)
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(int(c.get("restartCount") or 0) for c in statuses)
    reason = status.get("reason") or status.get("phase") or "Unknown"
    for c in statuses:
        state = c.get("state") or {}
        waiting = state.get("waiting") or {}
        terminated = state.get("terminated") or {}
        if waiting.get("reason"):
            reason = waiting["reason"]
        elif terminated.get("reason") and reason == status.get("phase"):
            reason = terminated["reason"]
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Terminating"
    return [f"{ready}/{total}", reason, restarts]


def _node_row(obj: dict) -> list:
    conds = {
        c.get("type"): c.get("status") for c in (obj.get("status") or {}).get("conditions") or [] if isinstance(c, dict)
    }
    ready = {"True": "Ready", "False": "NotReady"}.get(str(conds.get("Ready")), "Unknown")
    if (obj.get("spec") or {}).get("unschedulable"):
        ready += ",SchedulingDisabled"
    labels = (obj.get("metadata") or {}).get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/")) or ["<none>"]
    version = ((obj.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", "")
    return [ready, ",".join(roles), version]


_COLUMNS = {
    "pods": (["Ready", "Status", "Restarts"], ["string", "string", "integer"], _pod_row),
    "nodes": (["Status", "Roles", "Version"], ["string", "string", "string"], _node_row),
}


def table(plural: str, objects: list[dict], now: float, meta: dict) -> dict:
    """A meta.k8s.io/v1 Table: Name, kind-specific columns, Age; rows carry the object metadata."""
    names, types, row = _COLUMNS.get(plural, ([], [], lambda o: []))
    cols = [("Name", "string")] + list(zip(names, types, strict=True)) + [("Age", "string")]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": [
            {"name": n, "type": t, "format": "name" if n == "Name" else "", "description": "", "priority": 0}
            for n, t in cols
        ],
        "rows": [
            {
                "cells": [
                    (o.get("metadata") or {}).get("name", ""),
                    *row(o),
                    age((o.get("metadata") or {}).get("creationTimestamp"), now),
                ],
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": o.get("metadata") or {},
                },
            }
            for o in objects
        ],
    }
