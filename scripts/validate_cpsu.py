"""Print the CPSU validation tables (Markdown) for docs/VALIDATION.md.

Usage:
    PYTHONPATH=src python scripts/validate_cpsu.py            # print them
    PYTHONPATH=src python scripts/validate_cpsu.py --write    # put them into VALIDATION.md
    PYTHONPATH=src python scripts/validate_cpsu.py --check    # exit 1 if VALIDATION.md differs

Runs the bundled ``cpsu`` scenario once per seed and reports, across seeds (mean and range):
the in-sample fit to the membership series (<= 1988), overall, before 1941 and from 1941;
party share of adults, the 1983 seniority structure, purge sizes, and the out-of-sample
1989-1991 forecast.

Then the *fewer eras* fit: the admission quotas held to the eras of
``calibrate_cpsu.FEWER_ERAS`` (every other admission event switched off) are fitted with the
same calibration machinery (at ``--fewer-scale``, the scenario's seed), and the scenario with
those quotas is run at ``--scale`` over the same seeds, so the two fits compare like with
like: how much of the shape the quotas carry. ``--fewer-scale 0`` skips it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics as stat
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import allegiance  # noqa: E402
from allegiance import calibrate_cpsu  # noqa: E402
from allegiance.calendar import month_label  # noqa: E402


def fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3f}"


def rng(vals) -> str:
    vals = [v for v in vals if v is not None]
    if not vals:
        return "n/a"
    if len(vals) == 1:
        return fmt(vals[0])
    return f"{fmt(stat.mean(vals))} ({fmt(min(vals))} – {fmt(max(vals))})"


def main(argv: list[str] | None = None) -> int:
    from allegiance import odd

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1e-3)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--fewer-scale", type=float, default=5e-4,
                    help="scale of the fewer-eras calibration (0: skip it)")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        tables(args.scale, args.seeds, args.fewer_scale, args.write or args.check)
    if not (args.write or args.check):
        print(buf.getvalue(), end="")
        return 0
    return odd.write_blocks(ROOT / "docs" / "VALIDATION.md", {"cpsu-validation": buf.getvalue()},
                            args.check, "PYTHONPATH=src python scripts/validate_cpsu.py --write")


def tables(scale: float, seeds: list[int], fewer_scale: float, written: bool) -> None:
    """Print the tables: one cpsu run per seed at ``scale``; then the fewer-eras fit."""
    runs = [allegiance.run("cpsu", scale=scale, seed=s) for s in seeds]
    fits = [r.summary["fit"] for r in runs]
    print(f"Command: `PYTHONPATH=src python scripts/validate_cpsu.py --scale {scale:g} --seeds "
          f"{' '.join(map(str, seeds))} --fewer-scale {fewer_scale:g}"
          f"{' --write' if written else ''}` "
          f"(allegiance {runs[0].manifest['allegiance_version']})\n")
    print(f"**In-sample fit** (rmse of log(model/data), members + candidates, "
          f"{fits[0]['n_points']} dated rows up to 1988-12): {rng([f['value'] for f in fits])}; "
          f"before 1941 ({fits[0]['n_points_before_1941']} rows): "
          f"{rng([f['value_before_1941'] for f in fits])}; from 1941 "
          f"({fits[0]['n_points_from_1941']} rows): {rng([f['value_from_1941'] for f in fits])}\n")
    print("| date | data | model (mean, range over seeds) | log error (mean) | code |")
    print("|---|---:|---:|---:|---|")
    for i, p in enumerate(fits[0]["points"]):
        models = [f["points"][i]["model"] for f in fits]
        errs = [f["points"][i]["log_error"] for f in fits]
        print(f"| {p['date']} | {p['data']:,.0f} | {rng(models)} | {stat.mean(errs):+.3f} | "
              f"{p['verification']} |")
    b = [f["boundary_check_1989_01_01"] for f in fits]
    if b[0]:
        print(f"\n**Boundary check, 1 Jan 1989 (not fitted):** data {b[0]['data']:,.0f}, model "
              f"{rng([x['model'] for x in b])}\n")
    print("**Party share of adults (check, not fitted)**\n")
    print("| date | data % | model % |")
    print("|---|---:|---:|")
    for i, s in enumerate(fits[0]["share_of_adults"]):
        print(f"| {s['date']} | {s['data_percent']} | "
              f"{rng([f['share_of_adults'][i]['model_percent'] for f in fits])} |")
    print("\n**Seniority of full members on 1 Jan 1983 (check, not fitted)**\n")
    print("| joined | data share | model share |")
    print("|---|---:|---:|")
    for k, v in fits[0]["seniority_1983"]["bins"].items():
        print(f"| {k} | {v['data_share']:.4f} | "
              f"{rng([f['seniority_1983']['bins'][k]['model_share'] for f in fits])} |")
    print("\n**Purge sizes (purge shares are inputs from the record; sizes are a check)**\n")
    print("| purge | record (persons) | model expelled |")
    print("|---|---:|---:|")
    for i, p in enumerate(fits[0]["purges"]):
        rec = f"{p['low']:,}" if p["low"] == p["high"] else f"{p['low']:,}–{p['high']:,}"
        print(f"| {p['purge']} ({p['first']}..{p['last']}) | {rec} | "
              f"{rng([f['purges'][i]['model'] for f in fits])} |")
    fc = [r.summary["forecast"] for r in runs]
    print("\n**Out-of-sample forecast 1989–1991** (reported as it came out)\n")
    print("| quantity | model (mean, range over seeds) |")
    print("|---|---:|")
    for k in ("members_1990_01_01", "members_1991_01_01", "members_1991_07_01", "exits_1990",
              "disengaged_1990", "lapsed_members_1991_07_01", "members_active_1991_07_01",
              "expelled_1990", "joins_1990", "committed_members_1991_07_01"):
        print(f"| {k} | {rng([f[k] for f in fc])} |")
    for k in ("defenders_members", "passive_members", "opponents_members",
              "defenders_nonmembers", "passive_nonmembers", "opponents_nonmembers"):
        print(f"| crisis.{k} | {rng([f['crisis'][k] for f in fc])} |")
    if fewer_scale > 0:
        fewer_eras(scale, seeds, fewer_scale, fits)


def fewer_eras(scale: float, seeds: list[int], fewer_scale: float, fits) -> None:
    """The quotas held to a few eras, fitted with the same machinery; its fit beside the
    full one."""
    overrides = calibrate_cpsu.fewer_eras_overrides("cpsu")
    cal = calibrate_cpsu.fit_admissions("cpsu", scale=fewer_scale, overrides=overrides)
    fitted = [f"events.{e['id']}.value={e['value']}" if e["id"] != calibrate_cpsu.INITIAL
              else f"{e['id']}={e['value']}" for e in cal["eras"] if e["fitted"]]
    runs = [allegiance.run("cpsu", scale=scale, seed=s, overrides=overrides + fitted)
            for s in seeds]
    few = [r.summary["fit"] for r in runs]
    every = calibrate_cpsu.eras(allegiance.load_scenario("cpsu"))
    print("\n**Fewer eras: how much the quotas carry** (the quota held to "
          f"{len(cal['eras'])} eras, {sum(e['fitted'] for e in cal['eras'])} of them fitted, "
          f"instead of {len(every)} eras, {sum(not e['fixed'] for e in every)} fitted: "
          f"{', '.join(e['id'] for e in cal['eras'])}; fitted by the same calibration at scale "
          f"{fewer_scale:g}, seed {cal['seed']}, {cal['evaluations']} trial runs; "
          f"then run at scale {scale:g} over the seeds above)\n")
    print("| fit | all rows | before 1941 | from 1941 |")
    print("|---|---:|---:|---:|")
    for label, fs in (("every era (the scenario)", fits), ("fewer eras", few)):
        print(f"| {label} | {rng([f['value'] for f in fs])} | "
              f"{rng([f['value_before_1941'] for f in fs])} | "
              f"{rng([f['value_from_1941'] for f in fs])} |")
    print("\n| era | from | fitted quota (share of adults a year) |")
    print("|---|---|---:|")
    for e in cal["eras"]:
        print(f"| {e['id']} | {month_label(e['start'])} | {e['value']:.5f}"
              f"{'' if e['fitted'] else ' (fixed)'} |")


if __name__ == "__main__":
    sys.exit(main())
