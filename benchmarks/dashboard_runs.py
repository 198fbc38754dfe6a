"""The run times docs/DASHBOARD.md quotes: why the dashboard runs small populations on one
thread, and why its tests run cpsu at 1:100,000.

    PYTHONPATH=src python benchmarks/dashboard_runs.py --out benchmarks/results/dashboard_runs.json

In one warm process (each measurement is the second of two identical runs, so the kernels are
loaded): cpsu 1917-1935 at 1:10,000 (seed 7) with one thread and with every core, and the whole
cpsu run 1917-1991 (seed 7, one thread) at 1:100,000 and 1:10,000. Wall seconds of
``allegiance.run``; ``scripts/perf_tables.py`` writes the doc's sentences from the file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def _second(**kw) -> float:
    import allegiance

    allegiance.run("cpsu", **kw)
    t = time.perf_counter()
    allegiance.run("cpsu", **kw)
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None, help="write the times to this JSON file")
    a = ap.parse_args(argv)
    import numba
    from _timing import about

    short = {"seed": 7, "scale": 1e-4, "overrides": {"run.end": "1935-12"}}
    res = {"threads_1935": {str(t): _second(threads=t, **short)
                            for t in (1, numba.config.NUMBA_NUM_THREADS)},
           "whole_run_one_thread": {str(s): _second(seed=7, scale=s, threads=1)
                                    for s in (1e-5, 1e-4)}}
    rec = {**about([sys.argv[0], *(sys.argv[1:] if argv is None else argv)]), **res}
    print(json.dumps(rec, indent=1))
    if a.out:
        with open(a.out, "w") as fh:
            json.dump(rec, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
