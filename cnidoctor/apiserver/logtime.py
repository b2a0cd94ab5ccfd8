"""Timestamps of log lines, so the local server can honour `sinceSeconds` on a frozen snapshot.

A bundle's clock stopped when it was collected: "now" is the snapshot time, and a line's time is the
first timestamp found on it (ISO 8601, klog `I1120 10:45:28`, `ts=`/`time=` fields), or the time of the
line before it. Lines before the first timestamp are kept.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

_ISO = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?\s*(Z|[+-]\d\d:?\d\d)?")
_KLOG = re.compile(r"^[IWEF](\d\d)(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?")


def parse_time(text: str, year: int) -> float | None:
    """Epoch seconds of the first timestamp in TEXT (looked for in the first 200 characters)."""
    head = text[:200]
    m = _KLOG.match(head)
    if m:
        mo, d, h, mi, s, _ = m.groups()
        try:
            return datetime(year, int(mo), int(d), int(h), int(mi), int(s), tzinfo=timezone.utc).timestamp()
        except ValueError:
            return None
    m = _ISO.search(head)
    if not m:
        return None
    y, mo, d, h, mi, s, _frac, tz = m.groups()
    try:
        dt = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=timezone.utc)
    except ValueError:
        return None
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        dt = dt.replace(tzinfo=timezone.utc)
        return dt.timestamp() - sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return dt.timestamp()


def parse_rfc3339(value: object) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    return parse_time(value, 1970)


def since_filter(data: bytes, since: float, year: int) -> bytes:
    """The lines of DATA whose time is at or after SINCE (epoch seconds)."""
    out: list[bytes] = []
    current: float | None = None
    for line in data.splitlines(keepends=True):
        t = parse_time(line[:200].decode("utf-8", "replace"), year)
        if t is not None:
            current = t
        if current is None or current >= since:
            out.append(line)
    return b"".join(out)
