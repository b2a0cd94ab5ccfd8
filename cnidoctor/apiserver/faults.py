"""Injectable faults: `KIND:RESOURCE[:key=value,...]`, e.g. `403:pods`, `429:nodes:times=2,retry_after=1`.

| kind    | effect                                                                  | default times |
|---------|-------------------------------------------------------------------------|---------------|
| 403     | Forbidden                                                               | always        |
| 404     | NotFound                                                                | always        |
| 429     | TooManyRequests with `Retry-After` (retry_after=seconds, default 1)     | 1             |
| 500     | InternalError                                                           | 1             |
| slow    | sleep `delay` seconds (default 2) before answering                      | always        |
| reset   | a page after the first of a list: half the body, then a TCP reset       | 1             |
| 410     | a continue token is answered with 410 Expired                           | 1             |

RESOURCE is the plural (`pods`, `pods/log`, `ippools`) or `*`. `times=0` means always.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from cnidoctor.errors import UsageError

KINDS = {"403": 0, "404": 0, "429": 1, "500": 1, "slow": 0, "reset": 1, "410": 1}


@dataclass
class Fault:
    kind: str
    resource: str
    times: int = 0  # 0 = always
    delay: float = 2.0
    retry_after: float = 1.0
    fired: int = field(default=0, compare=False)

    def matches(self, resource: str, has_continue: bool) -> bool:
        if self.resource not in ("*", resource):
            return False
        if self.kind in ("reset", "410") and not has_continue:
            return False
        return self.times == 0 or self.fired < self.times


def parse_fault(spec: str) -> Fault:
    parts = spec.split(":", 2)
    if len(parts) < 2 or parts[0] not in KINDS or not parts[1]:
        raise UsageError(
            f"bad fault {spec!r}", hint="use KIND:RESOURCE[:key=value,...] with KIND one of " + ", ".join(KINDS)
        )
    fault = Fault(parts[0], parts[1], times=KINDS[parts[0]])
    for opt in parts[2].split(",") if len(parts) == 3 and parts[2] else []:
        key, _, value = opt.partition("=")
        try:
            if key == "times":
                fault.times = int(value)
            elif key == "delay":
                fault.delay = float(value)
            elif key == "retry_after":
                fault.retry_after = float(value)
            else:
                raise ValueError(key)
        except ValueError:
            raise UsageError(f"bad fault option {opt!r} in {spec!r}") from None
    return fault


class Faults:
    """The active faults; `take` returns the first that applies and counts it."""

    def __init__(self, faults: list[Fault] | None = None) -> None:
        self.faults = list(faults or [])
        self._lock = threading.Lock()

    def take(self, resource: str, has_continue: bool) -> list[Fault]:
        """Every fault that applies to this request (a slow one and one failure can combine)."""
        out: list[Fault] = []
        with self._lock:
            for f in self.faults:
                if f.matches(resource, has_continue) and (f.kind == "slow" or not any(o.kind != "slow" for o in out)):
                    f.fired += 1
                    out.append(f)
        return out
