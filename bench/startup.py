"""Start-up cost: `cnidoctor --help` and `analyze` of a small fixture, as ratios to `python -c pass`.

Prints a table; asserts nothing (timings belong in benchmarks, not unit tests). Run:
    python bench/startup.py [--runs 7] [--fixture fixtures/case-FL-01]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def median_seconds(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--fixture", default=str(ROOT / "fixtures" / "case-FL-01"))
    args = ap.parse_args()
    py = sys.executable
    base = median_seconds([py, "-c", "pass"], args.runs)
    rows = [
        ("python -c pass", base),
        ("cnidoctor --help", median_seconds([py, "-m", "cnidoctor", "--help"], args.runs)),
        ("cnidoctor analyze (small fixture)", median_seconds([py, "-m", "cnidoctor", "analyze", args.fixture,
                                                              "-f", "json"], args.runs)),
    ]
    imported = subprocess.run(
        [py, "-c", "import sys, runpy; sys.argv=['cnidoctor','analyze',%r,'-f','json'];\n"
         "try:\n runpy.run_module('cnidoctor', run_name='__main__')\nexcept SystemExit: pass\n"
         "print('kubernetes' in sys.modules, file=sys.stderr)" % args.fixture],
        capture_output=True, text=True, check=False,
    ).stderr.strip().splitlines()[-1]
    print(f"{'command':40} {'median s':>9} {'ratio':>7}")
    for name, secs in rows:
        print(f"{name:40} {secs:9.3f} {secs / base:7.1f}")
    print(f"analyze imported the kubernetes client: {imported}")


if __name__ == "__main__":
    main()
