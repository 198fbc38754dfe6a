"""A sweep over a dated lever hold, branched from the shared prefix against every run from the
start (issue 18 item 1).

    PYTHONPATH=src python benchmarks/sweep_branch.py --scale 1e-4 --repeat 5 \
        --json benchmarks/results/sweep_branch.json

The sweep: ``cpsu`` with privilege held from ``--from`` (default 1985-01) at 8 values (0.1 to
0.8), one seed for every point (``common_random_numbers``), in this process (``--serial``: the
prefix is run once; on a pool, once per worker). It runs the sweep once to load the kernels,
then ``--repeat`` times each way, alternating (the snapshot cache emptied before each branched
sweep, so each computes its prefix), and reports the median wall time of the whole sweep each
way and their ratio, with the load average before and after. It checks that ``runs.parquet``
and every run's time series are the same bytes either way.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

VALUES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--from", dest="start", default="1985-01",
                    help="month from which privilege is held (default 1985-01)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", help="also write the times to this file")
    a = ap.parse_args(argv)
    from _timing import about, medians_printed

    from allegiance.experiments.branching import branch_points
    from allegiance.experiments.executors import SerialExecutor
    from allegiance.experiments.store import _snapshot_cache
    from allegiance.experiments.sweep import Plan, SweepSpec, sweep

    spec = SweepSpec.model_validate({
        "name": "sweep_branch", "scenario": "cpsu", "scale": a.scale, "seed": a.seed,
        "common_random_numbers": True, "outcomes": ["peak_members"],
        "set": {"hold.privilege.from": a.start, "hold.privilege.value": VALUES[0]},
        "parameters": {"hold.privilege.value": VALUES}})
    at = sorted({label for label, _ in branch_points(Plan(spec).tasks).values()})
    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="sweep-branch-") as tmp:
        def once(branch: bool, i: int) -> tuple[float, dict[str, bytes]]:
            _snapshot_cache().clear()
            out = Path(tmp) / f"{'b' if branch else 'u'}{i}"
            t = time.perf_counter()
            sweep(spec, SerialExecutor(), out=out, branch=branch)
            dt = time.perf_counter() - t
            files = {p.name: p.read_bytes() for p in [out / "runs.parquet",
                                                       *sorted(out.glob("timeseries/*"))]}
            return dt, files

        once(True, -1)  # load the kernels
        times: dict[str, list[float]] = {"from the start": [], "branched": []}
        seen: dict[str, dict[str, bytes]] = {}
        for i in range(a.repeat):
            for name, branch in (("from the start", False), ("branched", True)):
                dt, files = once(branch, i)
                times[name].append(round(dt, 3))
                seen[name] = files
    load_after = [round(x, 2) for x in os.getloadavg()]
    if seen["from the start"] != seen["branched"]:
        print("error: the branched sweep's results differ", file=sys.stderr)
        return 1
    print(f"sweep of {len(VALUES)} values of privilege held from {a.start} at "
          f"1:{round(1 / a.scale):,}, one process; branches at {', '.join(at) or 'nowhere'}")
    med, ratio = medians_printed(times)
    print(f"  speed-up: {ratio:.2f}x (results identical); load average {load_before[0]} before, "
          f"{load_after[0]} after")
    if a.json:
        doc = {**about(sys.argv), "scale": a.scale, "seed": a.seed, "hold_from": a.start,
               "values": VALUES, "runs": len(VALUES), "branch_at": at, "repeat": a.repeat,
               "times": times, "median": med, "speedup": round(ratio, 3),
               "loadavg_before": load_before, "loadavg_after": load_after,
               "identical": True}
        Path(a.json).write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
