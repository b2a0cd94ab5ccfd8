"""Counters shared by the fault tests and the summary hook in conftest.py (one module object for both)."""

from __future__ import annotations

import threading
from collections import Counter

TOTALS: Counter[str] = Counter()
LOCK = threading.Lock()
