"""Share equal parts of a bundle's parsed JSON: the same string, list or dict is kept once.

Pods of one Deployment or DaemonSet differ in a few fields (name, uid, IPs, times); everything else —
images, volumes, tolerations, probes, condition types — repeats thousands of times. `json.loads` makes a
new object for every occurrence (a 3 KB pod becomes ~15 KB of objects); sharing them cuts the memory of a
5,000-node bundle by more than half. Shared objects are equal in value to the ones they replace, so
nothing a check reads changes; the rule that comes with it is that checks never modify bundle objects
(tests/test_bundle_sharing.py holds every check to it).

Kubernetes objects themselves (dicts with `metadata`) and long lists are walked but never shared: they are
unique, and the reader may fill in an item's missing `kind`.
"""

from __future__ import annotations

from typing import Any

LONG_LIST = 256  # lists longer than this are walked, not shared (the `items` of a List, big node outputs)


class Sharer:
    """One per bundle: `share(value)` returns VALUE with its repeated parts replaced by shared copies."""

    def __init__(self) -> None:
        self._strings: dict[str, str] = {}
        # Key of a container: its parts, each string as itself, each child container by the id of its
        # shared copy (kept alive by this dict, so ids are never reused), each other scalar as (type, value)
        # so that True, 1 and 1.0 stay apart. The parts decode uniquely: a str, an int id or a type first.
        self._containers: dict[tuple, Any] = {}

    def share(self, value: Any) -> Any:
        try:
            return self._share(value)
        except RecursionError:
            return value  # deeply nested input: what was shared so far is equal in value; keep the rest

    def _share(self, o: Any) -> Any:
        string = self._strings.setdefault
        t = type(o)
        if t is dict:
            key: list = ["d"]
            add = key.append
            for k, v in o.items():
                tv = type(v)
                if tv is str:
                    v = o[k] = string(v, v)
                    add(k)
                    add(v)
                elif tv is dict or tv is list:
                    v = o[k] = self._share(v)
                    add(k)
                    add(id(v))
                else:
                    add(k)
                    add(tv)
                    add(v)
            if "metadata" in o:
                return o
            return self._containers.setdefault(tuple(key), o)
        if t is list:
            key = ["l"]
            add = key.append
            for i, v in enumerate(o):
                tv = type(v)
                if tv is str:
                    v = o[i] = string(v, v)
                    add(v)
                elif tv is dict or tv is list:
                    v = o[i] = self._share(v)
                    add(id(v))
                else:
                    add(tv)
                    add(v)
            if len(o) > LONG_LIST:
                return o
            return self._containers.setdefault(tuple(key), o)
        if t is str:
            return string(o, o)
        return o
