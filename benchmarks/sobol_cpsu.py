"""Throughput benchmark: a 10-parameter Sobol analysis of ``cpsu`` at 1:10,000.

The full analysis (``--samples 512``, second-order design: 512 x (2*10 + 2) = 11,264 runs of
1917-1991) is what a user would launch with ``allegiance sensitivity``; it takes hours on a
laptop, so by default this script measures a prefix of the design instead and extrapolates::

    # measured (what docs/PERFORMANCE.md reports): the first 8 runs of a 16-base-sample
    # design, on a process pool of 1 and then 2 workers
    PYTHONPATH=src python benchmarks/sobol_cpsu.py --samples 16 --max-runs 8 --workers 1 2 \
        --json benchmarks/results/sobol_cpsu.json

    # the full analysis (do not run on a shared machine)
    python benchmarks/sobol_cpsu.py --samples 512 --full --workers 16

Each measurement starts a fresh pool (worker start-up included) and a fresh run store, and
reports runs/second; the extrapolation divides the full design's run count by the measured
rate and says so.
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

PARAMETERS = {  # ten mechanism parameters, ranges about +-50 % around the scenario's values
    "mechanisms.recruitment.apply_rate": (0.01, 0.03),
    "mechanisms.recruitment.selectivity_gain": (2.0, 6.0),
    "mechanisms.ritual.decay": (0.01, 0.03),
    "mechanisms.ritual.peer": (0.05, 0.15),
    "mechanisms.privilege.rent": (0.15, 0.35),
    "mechanisms.legitimacy.w_corruption": (0.5, 1.3),
    "mechanisms.openness.learn": (0.25, 0.75),
    "mechanisms.exit.hazard": (0.25, 0.75),
    "mechanisms.exit.threshold": (0.5, 0.7),
    "mechanisms.elite.gain": (1.0, 3.0),
}


def spec_text(samples: int, seed: int) -> str:
    """The sensitivity file of the benchmark."""
    lines = ['name = "sobol_cpsu"', 'scenario = "cpsu"', "scale = 1e-4", f"seed = {seed}",
             'outcomes = ["forecast.exits_1990", "forecast.members_1991_07_01", "fit.value"]',
             "timeseries = false", "[design]", 'method = "sobol"', f"samples = {samples}",
             "second_order = true", "[parameters]"]
    lines += [f'"{k}" = {{ low = {lo}, high = {hi} }}' for k, (lo, hi) in PARAMETERS.items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=16, help="Sobol base samples (power of 2)")
    ap.add_argument("--max-runs", type=int, default=8, help="runs of the design to time")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--full", action="store_true", help="run the whole design and analyse it")
    ap.add_argument("--out", type=Path, default=None, help="keep results here")
    ap.add_argument("--json", type=Path, default=None,
                    help="write the report, with the command, version and machine, here")
    args = ap.parse_args()

    from allegiance.experiments.executors import PoolExecutor
    from allegiance.experiments.sensitivity import load_sensitivity_spec, sensitivity
    from allegiance.experiments.store import RunStore, run_tasks
    from allegiance.experiments.sweep import Plan

    work = Path(tempfile.mkdtemp(prefix="sobol_cpsu-"))
    spec_file = work / "sobol_cpsu.toml"
    spec_file.write_text(spec_text(args.samples, args.seed))
    spec, base = load_sensitivity_spec(spec_file)
    plan = Plan(spec, base, spec_file.name)
    full_runs = 512 * (2 * len(PARAMETERS) + 2)
    report = {"design_runs": len(plan.tasks), "full_design_runs_512": full_runs,
              "measurements": []}
    try:
        for w in args.workers:
            out = (args.out or work) / f"w{w}"
            t0 = time.perf_counter()
            if args.full:
                sensitivity(spec, PoolExecutor(w), out=out, force=True, quiet=False)
                n = len(plan.tasks)
            else:
                tasks = plan.tasks[: args.max_runs]
                store = RunStore(out, plan.meta("sensitivity"), force=True)
                run_tasks(store, tasks, PoolExecutor(w), outcomes=spec.outcomes,
                          title=f"{w} worker(s)")
                n = len(tasks)
                failed = [r for r in store.records.values() if r["status"] != "ok"]
                assert not failed, failed[0]["error"]
            wall = time.perf_counter() - t0
            rate = n / wall
            report["measurements"].append({
                "workers": w, "runs": n, "wall_seconds": round(wall, 2),
                "load_average_1min_after": round(os.getloadavg()[0], 2),
                "cpu_count": os.cpu_count(),
                "runs_per_second": round(rate, 4),
                "extrapolated_hours_for_512_base_samples": round(full_runs / rate / 3600, 2)})
            print(json.dumps(report["measurements"][-1]), flush=True)
    finally:
        if args.out is None:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(report, indent=2))
    if args.json is not None:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from _timing import about

        args.json.write_text(json.dumps({**about(sys.argv), **report}, indent=1))


if __name__ == "__main__":
    main()
