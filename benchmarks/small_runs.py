"""Cheap small runs (issue 18): ensembles of whole small cpsu runs in a warm process.

    PYTHONPATH=src python benchmarks/small_runs.py --runs 100 --scale 1e-4 \
        --out benchmarks/results/small_runs.json
    PYTHONPATH=src python benchmarks/small_runs.py --runs 100 --scale 1e-4 \
        --before /tmp/before/src --out benchmarks/results/small_runs.json

Each tree (this one, and with ``--before`` an older tree's ``src``) runs in a worker process of
its own on one thread: it loads the kernels with one untimed run (seed 1), then runs cpsu
1917-1991 with seeds 2, 3, ... one run at a time as told. With ``--before`` the two workers
take turns run by run (same seeds), so that both see the same load on a shared machine and
their medians can be compared; a run's time is the wall time of the whole
``allegiance.run`` call (setup, the months, the summary). Prints the median per-run wall time
and runs per second per core (1 / median, one thread), and with ``--out`` writes them, with
the command, version and machine, to a JSON file (from which ``scripts/perf_tables.py``
writes docs/PERFORMANCE.md's numbers). ``--scale`` may be given several times.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"


def worker() -> int:
    """Run the runs asked for on stdin (``scale seed`` per line), answering each run's wall
    seconds and the engine's (``manifest.wall_seconds``) on stdout."""
    import allegiance

    allegiance.run("cpsu", scale=1e-4, seed=1, threads=1)  # load the kernels
    print("ready", flush=True)
    for line in sys.stdin:
        scale, seed = line.split()
        t = time.perf_counter()
        r = allegiance.run("cpsu", scale=float(scale), seed=int(seed), threads=1)
        wall = time.perf_counter() - t
        print(json.dumps([wall, r.manifest["wall_seconds"]]), flush=True)
    return 0


class Worker:
    """A warm worker process for the tree at ``src``."""

    def __init__(self, src: Path):
        env = {**os.environ, "PYTHONPATH": str(src), "NUMBA_NUM_THREADS": "1"}
        self.p = subprocess.Popen([sys.executable, __file__, "--worker"], env=env, text=True,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        if self.p.stdout.readline().strip() != "ready":
            raise RuntimeError(f"worker for {src} did not start")

    def run(self, scale: float, seed: int) -> tuple[float, float]:
        self.p.stdin.write(f"{scale!r} {seed}\n")
        self.p.stdin.flush()
        wall, engine = json.loads(self.p.stdout.readline())
        return wall, engine

    def close(self) -> None:
        self.p.stdin.close()
        self.p.wait()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100, help="runs per scale (an ensemble)")
    ap.add_argument("--scale", type=float, action="append", default=None,
                    help="agents per person (default 1e-4; may be given several times)")
    ap.add_argument("--before", default=None,
                    help="an older tree's src folder, timed in turn with this one")
    ap.add_argument("--before-label", default=None,
                    help="what the older tree is, in words (e.g. its commit), for the result")
    ap.add_argument("--out", default=None, help="also write the times and medians to this file")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        return worker()
    scales = a.scale or [1e-4]
    trees = {"this": SRC}
    if a.before:
        trees["before"] = Path(a.before).resolve()
    workers = {name: Worker(src) for name, src in trees.items()}
    res: dict[str, dict[str, dict]] = {}
    try:
        for scale in scales:
            per = {name: {"wall_seconds": [], "engine_seconds": []} for name in trees}
            for k in range(a.runs):
                order = list(trees) if k % 2 == 0 else list(reversed(trees))
                for name in order:
                    wall, engine = workers[name].run(scale, 2 + k)
                    per[name]["wall_seconds"].append(round(wall, 4))
                    per[name]["engine_seconds"].append(engine)
            for d in per.values():
                d["median_s"] = statistics.median(d["wall_seconds"])
                d["runs_per_second_per_core"] = 1.0 / d["median_s"]
            res[repr(scale)] = per
    finally:
        for w in workers.values():
            w.close()
    for scale, per in res.items():
        line = f"cpsu 1:{round(1 / float(scale)):,}, {a.runs} runs on one thread: "
        line += "; ".join(f"{name} median {d['median_s']:.3f} s "
                          f"({d['runs_per_second_per_core']:.2f} runs/s/core)"
                          for name, d in per.items())
        if "before" in per:
            line += f"; before/this = {per['before']['median_s'] / per['this']['median_s']:.2f}"
        print(line)
    if a.out:
        sys.path.insert(0, str(HERE))
        from _timing import about

        rec = {**about([sys.argv[0], *(sys.argv[1:] if argv is None else argv)]),
               "threads": 1, "runs": a.runs, "seeds": [2, 1 + a.runs],
               "before": a.before_label or a.before, "scales": res}
        with open(a.out, "w") as fh:
            json.dump(rec, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
