"""Calibrate the cpsu scenario's admission quotas to the membership series (<= 1988).

Usage (writes the fitted values into the bundled scenario and the fit to calibration/):

    python scripts/calibrate_cpsu.py --scale 0.0005 --seed 1917 --write

See ``allegiance.calibrate_cpsu`` for the method. The command line is recorded in the
scenario's provenance entry for ``levers.admission_rate``.

``--fewer-eras`` fits the quotas held to the few eras of ``calibrate_cpsu.FEWER_ERAS`` (every
other admission event switched off) with the same machinery, to show how much of the fit the
quotas carry; it never writes the scenario.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from allegiance import calibrate_cpsu
from allegiance.scenario import bundled_path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--write", action="store_true", help="write the values into cpsu.toml")
    ap.add_argument("--out", default=None,
                    help="where to write the fit (default: calibration/cpsu_admissions.json, "
                         "or calibration/cpsu_admissions_fewer_eras.json with --fewer-eras)")
    ap.add_argument("--fewer-eras", action="store_true",
                    help="hold the quotas to a few eras (calibrate_cpsu.FEWER_ERAS)")
    args = ap.parse_args()
    if args.fewer_eras and args.write:
        ap.error("--fewer-eras is a comparison: it does not write the scenario")
    out = args.out or ("calibration/cpsu_admissions_fewer_eras.json" if args.fewer_eras
                       else "calibration/cpsu_admissions.json")
    overrides = calibrate_cpsu.fewer_eras_overrides("cpsu") if args.fewer_eras else []
    t0 = time.time()

    def progress(k, n, label):
        print(f"[{time.time() - t0:6.0f}s] era {k}/{n} {label}", flush=True)

    fit = calibrate_cpsu.fit_admissions("cpsu", scale=args.scale, seed=args.seed,
                                        overrides=overrides, progress=progress)
    fit["wall_seconds"] = round(time.time() - t0, 1)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    calibrate_cpsu.save(fit, out)
    print(f"rmse log members (<= 1988): {fit['rmse_log_members']:.4f} over {fit['n_points']} "
          f"points (before 1941: {fit['rmse_before_1941']:.4f}, from 1941: "
          f"{fit['rmse_from_1941']:.4f}), {fit['evaluations']} trial runs, "
          f"{fit['wall_seconds']} s")
    for e in fit["eras"]:
        print(f"  {e['id']:<36} {e['value']:.5f} {'fitted' if e['fitted'] else 'fixed'}")
    if args.write:
        cmd = "python scripts/calibrate_cpsu.py " + " ".join(sys.argv[1:])
        calibrate_cpsu.write_to_scenario(fit, bundled_path("cpsu"), cmd)
        print(f"wrote {bundled_path('cpsu')}")


if __name__ == "__main__":
    main()
