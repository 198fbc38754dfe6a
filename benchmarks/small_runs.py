"""Cheap small runs (issue 18): wall time of whole 1:10,000 cpsu runs in a warm process.

    PYTHONPATH=src python benchmarks/small_runs.py --runs 10 --scale 1e-4 \
        --out benchmarks/results/small_runs.json

Runs ``cpsu`` once to load the kernels, then ``--runs`` times (seeds 2, 3, ...) on one thread,
and prints the median engine wall time (``manifest.wall_seconds``) and runs per second per
core; ``--out`` also writes them, with the command, version and machine, to a JSON file (from
which ``scripts/perf_tables.py`` writes docs/PERFORMANCE.md's numbers). To compare two trees,
run it with each tree's ``PYTHONPATH`` in alternation.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--scale", type=float, default=1e-4)
    ap.add_argument("--json", action="store_true", help="print the times as JSON only")
    ap.add_argument("--out", default=None, help="also write the times and median to this file")
    a = ap.parse_args(argv)
    import allegiance

    allegiance.run("cpsu", scale=a.scale, seed=1, threads=1)  # load the kernels
    times = [allegiance.run("cpsu", scale=a.scale, seed=2 + k, threads=1).manifest["wall_seconds"]
             for k in range(a.runs)]
    if a.json:
        print(json.dumps(times))
        return 0
    med = statistics.median(times)
    if a.out:
        from _timing import about

        rec = {**about([sys.argv[0], *(sys.argv[1:] if argv is None else argv)]),
               "scale": a.scale, "threads": 1, "seeds": [2 + k for k in range(a.runs)],
               "wall_seconds": times, "median_s": med}
        with open(a.out, "w") as fh:
            json.dump(rec, fh, indent=1)
    print(f"cpsu 1:{round(1 / a.scale):,}, {a.runs} runs on one thread: median {med:.3f} s "
          f"({1 / med:.2f} runs per second per core; min {min(times):.3f}, max {max(times):.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
