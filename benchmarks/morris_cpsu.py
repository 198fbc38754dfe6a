"""Benchmark (issue 20): a Morris screening of every assumed ``cpsu`` parameter at 1:10,000.

The same analysis as::

    allegiance sensitivity cpsu --assumed --method morris --trajectories 8 --scale 1e-4 \\
        --workers 2 --out calibration/morris_cpsu

i.e. all parameters of cpsu.toml's ``[ranges]`` (D of them), ``trajectories * (D + 1)`` runs of
1917-1991, on a process pool of ``--workers`` (worker start-up and the analysis included).
The target is <= 15 minutes on 2 cores. The result directory (runs, design, indices, figure;
no time series) is what ``scripts/assumptions_table.py`` reads for docs/VALIDATION.md::

    PYTHONPATH=src python benchmarks/morris_cpsu.py --trajectories 8 --workers 2 \\
        --out calibration/morris_cpsu --json benchmarks/results/morris_cpsu.json

With ``--max-runs N`` only the first N runs are timed and the whole design extrapolated from
their rate (for a machine where the full screening does not fit).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trajectories", type=int, default=8)
    ap.add_argument("--scale", type=float, default=1e-4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--max-runs", type=int, default=None,
                    help="time only the first N runs and extrapolate")
    ap.add_argument("--out", type=Path, default=None, help="keep the results here")
    ap.add_argument("--json", type=Path, default=None, help="write the report here")
    a = ap.parse_args(argv)

    from allegiance.experiments.assumed import assumed_spec
    from allegiance.experiments.executors import PoolExecutor
    from allegiance.experiments.sensitivity import ranking, sensitivity
    from allegiance.experiments.store import RunStore, run_tasks
    from allegiance.experiments.sweep import Plan

    spec = assumed_spec("cpsu", method="morris", samples=a.trajectories, scale=a.scale,
                        name="morris_cpsu")
    plan = Plan(spec, None, "morris_cpsu")
    work = Path(tempfile.mkdtemp(prefix="morris_cpsu-"))
    out = a.out or work / "out"
    report = {"parameters": len(spec.parameters), "trajectories": a.trajectories,
              "design_runs": len(plan.tasks), "scale": a.scale, "workers": a.workers,
              "cpu_count": os.cpu_count(), "target_minutes": 15}
    t0 = time.perf_counter()
    try:
        if a.max_runs is None:
            _, table = sensitivity(spec, PoolExecutor(a.workers), out=out, force=True,
                                   quiet=False)
            n = len(plan.tasks)
            report["top_by_outcome"] = {o: ranking(table, o)[:5] for o in spec.outcomes}
            if a.out is not None:  # the summaries are in runs.parquet; the index is not kept
                (out / "index.jsonl").unlink(missing_ok=True)
                shutil.rmtree(out / "timeseries", ignore_errors=True)
        else:
            tasks = plan.tasks[: a.max_runs]
            store = RunStore(out, plan.meta("sensitivity"), force=True)
            run_tasks(store, tasks, PoolExecutor(a.workers), outcomes=spec.outcomes,
                      title=f"{a.workers} worker(s)")
            n = len(tasks)
        wall = time.perf_counter() - t0
    finally:
        if a.out is None:
            shutil.rmtree(work, ignore_errors=True)
    rate = n / wall
    report.update(runs_timed=n, wall_seconds=round(wall, 1), runs_per_second=round(rate, 3),
                  minutes_for_design=round(len(plan.tasks) / rate / 60, 1),
                  extrapolated=a.max_runs is not None,
                  load_average_1min_after=round(os.getloadavg()[0], 2))
    print(json.dumps(report, indent=1))
    if a.json is not None:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from _timing import about

        a.json.write_text(json.dumps({**about(sys.argv if argv is None else
                                              ["benchmarks/morris_cpsu.py", *argv]),
                                      **report}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
