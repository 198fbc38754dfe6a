"""Experiment commands: ``ensemble``, ``sweep``, ``sensitivity``, ``calibrate``, ``merge``,
``discover``.

Each runs many runs through one executor: a local process pool by default (all cores;
``--workers N``), in-process with ``--serial``, or Dask with ``--scheduler tcp://HOST:PORT``
(an existing cluster) or ``--dask --workers N`` (a LocalCluster started for the command).
``ensemble``, ``sweep`` and ``sensitivity`` also split over machines with no coordinator:
``--shard I/N`` runs one shard, ``merge`` puts the shards together.
Only typer is imported here; the experiment machinery loads inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .cli_common import (
    Branch,
    Dask,
    Force,
    Out,
    Quiet,
    Resume,
    RetryFailed,
    Scheduler,
    Serial,
    ShardOpt,
    Workers,
    echo,
    executor,
    split_list,
)
from .limits import MAX_RUNS, SEED_MAX

#: ``--snapshot`` of ``ensemble`` and ``sweep`` (``run --snapshot`` for every run)
Snapshot = Annotated[str | None, typer.Option(
    "--snapshot", metavar="DATES",
    help="Keep every run's agents (tier, cohort, motive, belief, trust, stake, workplace, ...) "
         "at the start of these months in snapshots/run-*.parquet: 1956-01,1985-03.")]


def _failures(runs) -> str:
    if not len(runs):
        return "0 runs"
    failed = runs[runs["status"] != "ok"]
    s = f"{len(runs) - len(failed)} ok, {len(failed)} failed"
    if len(failed):
        s += f" (first: run {int(failed['run_id'].iloc[0])}: {failed['error'].iloc[0]})"
    return s


def ensemble(
    scenario: Annotated[str, typer.Argument(help="Bundled scenario name or TOML file.")],
    runs: Annotated[int, typer.Option("--runs", min=1, max=MAX_RUNS,
                                      help="Number of runs.")] = 10,
    scale: Annotated[float | None, typer.Option(help="Agents per person.")] = None,
    seed: Annotated[int | None, typer.Option(
        min=0, max=SEED_MAX,
        help="Root seed (default: the scenario's run.seed); run i gets a seed derived from it.")
    ] = None,
    out: Out = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a scenario key: key.path=value (repeatable).")] = None,
    workers: Workers = None, scheduler: Scheduler = None, dask: Dask = False,
    serial: Serial = False, resume: Resume = False, force: Force = False, quiet: Quiet = False,
    figures: Annotated[bool, typer.Option(help="Draw the bands figure.")] = True,
    shard: ShardOpt = None, snapshot: Snapshot = None,
) -> None:
    """Run N replicates of a scenario; write per-month bands and the band of each forecast."""
    import json

    from .experiments.ensemble import ensemble as run_ensemble
    from .experiments.shards import parse_shard

    part = parse_shard(shard)
    outdir = run_ensemble(scenario, runs, executor(serial, workers, scheduler, dask),
                          scale=scale, seed=seed, overrides=set_ or [], out=out, resume=resume,
                          force=force, quiet=quiet, figures=figures, shard=part,
                          snapshots=snapshot or ())
    if part is not None:
        if not quiet:
            echo(f"ensemble shard {part} -> {outdir}")
        return
    if not quiet:
        s = json.loads((outdir / "summary.json").read_text())
        echo(f"ensemble {s['scenario']}: {s['ok']} ok, {s['failed']} failed -> {outdir}")
        # the headline and forecast bands when the model reports them, else every band
        keys = [k for k in s["bands"] if k.startswith(("forecast.", "headline."))]
        for k in keys or list(s["bands"]):
            if k.startswith("forecast.crisis.by_tier"):
                continue
            b = s["bands"][k]
            echo(f"  {k}: median {b['q50']:.6g} (5-95 %: {b['q05']:.6g} .. {b['q95']:.6g})")


def sweep(
    file: Annotated[str, typer.Argument(
        help="Sweep file (TOML); with --assumed, a scenario (bundled name or TOML file).")],
    assumed: Annotated[bool, typer.Option(
        "--assumed", help="A Latin hypercube over the scenario's [ranges] (every parameter "
                          "marked as an assumption): the sample for `allegiance discover`.")
    ] = False,
    params: Annotated[str | None, typer.Option(
        "--params", help="With --assumed: only these ranged parameters (comma-separated).")
    ] = None,
    samples: Annotated[int | None, typer.Option(
        "--samples", min=1, help="With --assumed: points of the hypercube (default 200).")
    ] = None,
    outputs: Annotated[str | None, typer.Option(
        "--outputs", help="With --assumed: outcomes to extract (comma-separated; default: "
                          "the model's headline outcomes).")] = None,
    scale: Annotated[float | None, typer.Option(help="With --assumed: agents per person.")
                     ] = None,
    seed: Annotated[int | None, typer.Option(
        help="With --assumed: root seed (default: the scenario's run.seed).")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="With --assumed: fix a scenario key for every run (repeatable).")
    ] = None,
    timeseries: Annotated[bool, typer.Option(
        help="With --assumed: keep each run's time series.")] = False,
    crn: Annotated[bool, typer.Option(
        "--crn/--no-crn", help="With --assumed: every point runs with the same seed (common "
                               "random numbers).")] = False,
    out: Out = None, resume: Resume = False, retry_failed: RetryFailed = False,
    force: Force = False, workers: Workers = None, scheduler: Scheduler = None,
    dask: Dask = False, serial: Serial = False, quiet: Quiet = False, shard: ShardOpt = None,
    branch: Branch = True,
    snapshot: Snapshot = None,
) -> None:
    """Run a parameter sweep (factorial, Latin hypercube, Sobol or Morris design) from a TOML
    file, or with --assumed a Latin hypercube over a scenario's plausible ranges."""
    from .errors import AllegianceError
    from .experiments.shards import parse_shard
    from .experiments.sweep import sweep as run_sweep

    part = parse_shard(shard)
    spec: object = Path(file)
    if assumed:
        from .experiments.assumed import assumed_spec

        spec = assumed_spec(file, method="lhs", params=split_list(params), samples=samples,
                            scale=scale, seed=seed, outcomes=split_list(outputs),
                            overrides=set_ or [], timeseries=timeseries,
                            common_random_numbers=crn)
    else:
        given = [o for o, v in (("--params", params), ("--samples", samples),
                                ("--outputs", outputs), ("--scale", scale), ("--seed", seed),
                                ("--set", set_), ("--timeseries", timeseries),
                                ("--crn", crn)) if v]
        if given:
            raise AllegianceError(f"{', '.join(given)}: only with --assumed (a sweep file "
                                  "states its own design)")
    outdir, runs = run_sweep(spec, executor(serial, workers, scheduler, dask), out=out,
                             resume=resume, force=force, retry_failed=retry_failed, quiet=quiet,
                             shard=part, branch=branch, snapshots=snapshot)
    if not quiet:
        what = f" shard {part}" if part is not None else ""
        label = file if assumed else Path(file).name
        echo(f"sweep {label}{what}: {_failures(runs)} -> {outdir}")


def sensitivity(
    file: Annotated[str, typer.Argument(
        help="Sensitivity file (a sweep file, Sobol or Morris design); with --assumed, a "
             "scenario (bundled name or TOML file).")],
    assumed: Annotated[bool, typer.Option(
        "--assumed", help="Build the design from the scenario's [ranges]: every parameter "
                          "marked as an assumption, over its plausible range.")] = False,
    method: Annotated[str, typer.Option(
        help="With --assumed: 'morris' (screening, trajectories x (D+1) runs) or 'sobol'.")
    ] = "morris",
    params: Annotated[str | None, typer.Option(
        "--params", help="With --assumed: only these ranged parameters (comma-separated).")
    ] = None,
    screening: Annotated[Path | None, typer.Option(
        help="With --assumed and --top: a finished screening (sensitivity directory) whose "
             "most influential parameters to vary.")] = None,
    top: Annotated[int | None, typer.Option(
        min=2, help="With --screening: how many of its top-ranked parameters.")] = None,
    samples: Annotated[int | None, typer.Option(
        "--trajectories", "--samples", min=1,
        help="With --assumed: Morris trajectories (default 10) or Sobol base samples, a power "
             "of 2 (default 64).")] = None,
    levels: Annotated[int, typer.Option(help="With --assumed: Morris grid levels (even).")
                      ] = 4,
    outputs: Annotated[str | None, typer.Option(
        "--outputs", help="With --assumed: outcomes to analyse, dotted summary paths "
                          "(comma-separated; default: the model's headline outcomes).")
    ] = None,
    scale: Annotated[float | None, typer.Option(help="With --assumed: agents per person.")
                     ] = None,
    seed: Annotated[int | None, typer.Option(
        help="With --assumed: root seed (default: the scenario's run.seed).")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="With --assumed: fix a scenario key for every run: key.path=value "
                      "(repeatable; e.g. run.end=1991-12).")] = None,
    timeseries: Annotated[bool, typer.Option(
        help="With --assumed: keep each run's time series.")] = False,
    crn: Annotated[bool, typer.Option(
        "--crn/--no-crn", help="With --assumed: every point runs with the same seed (common "
                               "random numbers), so the model's noise does not pass for an "
                               "effect.")] = True,
    out: Out = None, resume: Resume = False, retry_failed: RetryFailed = False,
    force: Force = False, workers: Workers = None, scheduler: Scheduler = None,
    dask: Dask = False, serial: Serial = False, quiet: Quiet = False,
    figures: Annotated[bool, typer.Option(help="Draw the indices figure.")] = True,
    shard: ShardOpt = None, branch: Branch = True,
) -> None:
    """Sobol indices or Morris screening (SALib) of each outcome, with confidence intervals.

    From a sensitivity file, or with --assumed from the scenario's plausible ranges: first
    `--method morris` over all assumed parameters, then `--method sobol --screening DIR --top
    K` on the few that matter.
    """
    from .errors import AllegianceError
    from .experiments.sensitivity import sensitivity as run_sensitivity
    from .experiments.shards import parse_shard

    part = parse_shard(shard)
    spec: object = Path(file)
    if assumed:
        from .experiments.assumed import assumed_spec, screened

        names = split_list(params)
        if screening is not None or top is not None:
            if screening is None or top is None:
                raise AllegianceError("--screening DIR and --top K go together (the K most "
                                      "influential parameters of the screening in DIR)")
            if names is not None:
                raise AllegianceError("--params and --screening: give one of them")
            names = screened(screening, top)
        spec = assumed_spec(file, method=method, params=names, samples=samples, scale=scale,
                            seed=seed, outcomes=split_list(outputs), overrides=set_ or [],
                            levels=levels, timeseries=timeseries, common_random_numbers=crn)
    else:
        given = [o for o, v in (("--params", params), ("--screening", screening),
                                ("--top", top), ("--trajectories/--samples", samples),
                                ("--outputs", outputs), ("--scale", scale), ("--seed", seed),
                                ("--set", set_)) if v]
        if method != "morris" or levels != 4 or timeseries or not crn:
            given.append("--method/--levels/--timeseries/--no-crn")
        if given:
            raise AllegianceError(f"{', '.join(given)}: only with --assumed (a sensitivity "
                                  "file states its own design)")
    outdir, table = run_sensitivity(spec, executor(serial, workers, scheduler, dask), out=out,
                                    resume=resume, force=force, retry_failed=retry_failed,
                                    quiet=quiet, figures=figures, shard=part, branch=branch)
    if not quiet:
        label = file if assumed else Path(file).name
        echo(f"sensitivity {label}{f' shard {part}' if part else ''} -> {outdir}")
        _print_indices(table)


def _print_indices(table, top: int = 8) -> None:
    if table is None:
        return
    if "mu_star" in table:  # Morris: the most influential parameters of each outcome
        for o, t in table.groupby("outcome", sort=False):
            for r in t.nlargest(top, "mu_star").itertuples():
                echo(f"  {o} <- {r.parameter}: mu* {r.mu_star:.4g} ± {r.mu_star_conf:.2g}, "
                     f"sigma {r.sigma:.4g}")
        return
    for r in table.itertuples():
        echo(f"  {r.outcome} <- {r.parameter}: S1 {r.S1:.3f} ± {r.S1_conf:.3f}, "
             f"ST {r.ST:.3f} ± {r.ST_conf:.3f}")


def calibrate(
    file: Annotated[Path, typer.Argument(help="Calibration file (TOML).")],
    out: Out = None, resume: Resume = False, force: Force = False, workers: Workers = None,
    scheduler: Scheduler = None, dask: Dask = False, serial: Serial = False,
    quiet: Quiet = False,
    figures: Annotated[bool, typer.Option(help="Draw the calibration figure.")] = True,
) -> None:
    """Fit parameters to data by ABC-SMC; best fit, posterior and every run are stored."""
    from .experiments.calibrate import calibrate as run_calibrate

    outdir, rep = run_calibrate(file, executor(serial, workers, scheduler, dask), out=out,
                                resume=resume, force=force, quiet=quiet, figures=figures)
    if not quiet:
        echo(f"calibrate {file.name}: {rep['runs']} runs ({rep['failed_runs']} failed), "
              f"distance {rep['distance']} -> {outdir}")
        echo(f"  best fit (distance {rep['best_fit']['distance']:.4g}): "
              + ", ".join(f"{k} = {v:.6g}" for k, v in rep["best_fit"]["parameters"].items()))
        for k, p in rep["posterior"].items():
            echo(f"  {k}: posterior mean {p['mean']:.6g} ± {p['sd']:.3g} "
                  f"(5-95 %: {p['q05']:.6g} .. {p['q95']:.6g})")


def merge(
    dirs: Annotated[list[Path], typer.Argument(
        help="OUT (holding shards/I-of-N) or the shard directories themselves.")],
    out: Annotated[Path | None, typer.Option(
        help="Where to write the merged experiment (default: OUT of OUT/shards/I-of-N).")
    ] = None,
    quiet: Quiet = False,
    figures: Annotated[bool, typer.Option(help="Draw the ensemble's or indices' figure.")
                       ] = True,
) -> None:
    """Put the shards of a sweep, ensemble or sensitivity analysis (--shard I/N) together.

    Refuses, naming them, shards that are missing, unfinished or from another specification;
    the merged files are those the experiment writes when run on one machine.
    """
    from .experiments.merge import merge as run_merge

    outdir, kind, runs = run_merge(dirs, out=out, figures=figures)
    if not quiet:
        echo(f"merge: {kind}, {_failures(runs)} -> {outdir}")
        if kind == "sensitivity":
            import pandas as pd

            _print_indices(pd.read_parquet(outdir / "sensitivity.parquet"))


def discover(
    results: Annotated[Path, typer.Argument(
        help="A finished experiment directory (sweep or sensitivity: runs.parquet).")],
    where: Annotated[str, typer.Option(
        help="The condition on the outcomes (and parameters): a boolean expression, e.g. "
             "\"crisis.defenders_members > 1e5\" or \"fit.value < 0.1\".")],
    given: Annotated[str | None, typer.Option(
        help="Only among the runs where this holds (e.g. those that fit history: "
             "\"fit.value < 0.1\").")] = None,
    density: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="The PRIM box reported: the largest whose density reaches "
                               "this.")] = 0.8,
    peel_alpha: Annotated[float, typer.Option(
        min=0.001, max=0.5, help="Share of the runs peeled at each PRIM step.")] = 0.05,
    mass_min: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="Smallest share of the runs a PRIM box may hold.")] = 0.05,
    cart_depth: Annotated[int, typer.Option(min=1, max=8, help="Depth of the CART tree.")] = 3,
    out: Out = None, force: Force = False, quiet: Quiet = False,
    figures: Annotated[bool, typer.Option(help="Draw the trajectory and box figures.")] = True,
) -> None:
    """Scenario discovery: the boxes of parameter space where a condition on the outcomes
    holds (PRIM, with CART as a second opinion)."""
    from .experiments.discover import discover as run_discover

    outdir, rep = run_discover(results, where, given=given, out=out, force=force,
                               density=density, peel_alpha=peel_alpha, mass_min=mass_min,
                               cart_depth=cart_depth, figures=figures)
    if quiet:
        return
    box = rep["prim"]
    cond = where + (f" given {given}" if given else "")
    echo(f"discover {cond}: {rep['cases']} of {rep['runs_given']} runs "
         f"({rep['base_density']:.0%}) -> {outdir}")
    echo(f"  PRIM box (step {box['step']}): coverage {box['coverage']:.2f}, density "
         f"{box['density']:.2f}, mass {box['mass']:.2f}, {len(box['restricted'])} restricted")
    for r in box["restricted"]:
        echo(f"    {r['parameter']}: {r['low']:.4g} .. {r['high']:.4g} (of {r['range'][0]:.4g} "
             f".. {r['range'][1]:.4g}; qp {r['qp']:.2g})")
    good = [lf for lf in rep["cart"]["leaves"] if lf["density"] >= 0.5]
    echo(f"  CART (depth {rep['cart']['max_depth']}, accuracy {rep['cart']['accuracy']:.2f}): "
         f"{len(good)} leaves where it mostly holds")
    for lf in good[:3]:
        lim = ", ".join(f"{x['low']:.3g} < {x['parameter']} <= {x['high']:.3g}"
                        for x in lf["limits"]) or "everywhere"
        echo(f"    coverage {lf['coverage']:.2f}, density {lf['density']:.2f}: {lim}")


def register(app: typer.Typer) -> None:
    """Add the experiment commands to the ``allegiance`` app."""
    app.command()(ensemble)
    app.command()(sweep)
    app.command()(sensitivity)
    app.command()(calibrate)
    app.command()(merge)
    app.command()(discover)
