"""Global sensitivity analysis with SALib, on any scalar outcome: Morris screening and Sobol
indices.

``allegiance sensitivity SENS.toml`` reads a sweep file whose design is ``sobol`` (the default
here) or ``morris``, runs the design through the same executors and resumable store as any
sweep, and analyses each outcome:

* ``sobol`` (``SALib.analyze.sobol``): first-order (S1) and total (ST) indices with bootstrap
  confidence intervals;
* ``morris`` (``SALib.analyze.morris``): the elementary effects' mean (mu), mean absolute
  value (mu_star, with a bootstrap interval) and standard deviation (sigma): a cheap screening
  of many parameters (``samples`` trajectories of D + 1 runs) that ranks them, before Sobol on
  the few that matter.

``allegiance sensitivity SCENARIO --assumed`` builds the file itself from the scenario's
``[ranges]`` (:func:`allegiance.experiments.assumed.assumed_spec`).

With several replicates per point the outcome of a point is the mean over its replicates
(noise averaged out before the analysis).

Outputs (besides the sweep's): ``sensitivity.parquet`` (Sobol: outcome, parameter, S1,
S1_conf, ST, ST_conf; Morris: outcome, parameter, mu, mu_star, mu_star_conf, sigma),
``sensitivity.json`` and ``figures/sobol_indices.{png,svg}`` or
``figures/morris_screening.{png,svg}`` (mu_star against sigma).

The Sobol pipeline is checked end to end on the Ishigami function (bundled scenario ``ishigami``),
whose indices are known exactly (:func:`allegiance.models.ishigami.analytic_indices`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import AllegianceError
from ..outdir import slugify
from ..results import dump_json, write_parquet
from .design import salib_problem
from .executors import Executor
from .shards import Shard, parse_shard
from .sweep import (
    Plan,
    SensitivityOptions,
    SweepSpec,
    claim_experiment,
    default_out,
    load_spec,
    parse_spec,
    run_plan,
)

METHODS = ("sobol", "morris")


def load_sensitivity_spec(path: str | Path) -> tuple[SweepSpec, Path]:
    """Read a sensitivity file: a sweep file whose design is Sobol (the default) or Morris."""
    from ..scenario import read_toml

    p = Path(path)
    if p.is_file():
        raw = read_toml(p)
        design = raw.get("design")
        if isinstance(design, dict) and design.get("method", "sobol") not in METHODS:
            raise AllegianceError(f"{p.name}: design.method = {design['method']!r}: "
                                  "sensitivity analysis needs 'sobol' or 'morris'")
        if design is None or isinstance(design, dict):
            raw["design"] = {"method": "sobol", **(design or {})}
        raw.setdefault("name", slugify(p.stem))
        return parse_spec(raw, p.name), p.parent
    return load_spec(p)


def _point_means(spec: SweepSpec, runs, outcome: str, n_points: int, what: str):
    """An outcome's value at each design point (the mean over its replicates)."""
    import numpy as np

    ok = runs[runs["status"] == "ok"]
    y = ok.groupby("point")[outcome].mean().reindex(range(n_points))
    missing = int(y.isna().sum())
    if missing:
        raise AllegianceError(
            f"outcome '{outcome}': {missing} of {n_points} design points have no value "
            f"(failed runs or NaN outcomes); {what} need every point")
    return y.to_numpy(dtype=np.float64)


def analyze(spec: SweepSpec, runs, points: list[dict[str, Any]] | None = None) -> Any:
    """The indices of every outcome from a finished sweep's runs table (Sobol or Morris, by
    the design; Morris needs the design's ``points``)."""
    import pandas as pd
    from SALib.analyze import sobol

    if not spec.outcomes:
        raise AllegianceError("outcomes: name at least one outcome to analyse "
                              "(e.g. outcomes = [\"forecast.exits_1990\"])")
    if spec.design.method == "morris":
        return analyze_morris(spec, runs, points)
    problem = salib_problem(dict(spec.parameters))
    opts = spec.sensitivity or SensitivityOptions()
    n_points = int(runs["point"].max()) + 1 if len(runs) else 0
    rows = []
    for outcome in spec.outcomes:
        y = _point_means(spec, runs, outcome, n_points, "Sobol indices")
        res = sobol.analyze(problem, y, calc_second_order=spec.design.second_order,
                            num_resamples=opts.resamples, conf_level=opts.conf_level,
                            seed=spec.seed)
        for j, name in enumerate(problem["names"]):
            rows.append({"outcome": outcome, "parameter": name,
                         "S1": float(res["S1"][j]), "S1_conf": float(res["S1_conf"][j]),
                         "ST": float(res["ST"][j]), "ST_conf": float(res["ST_conf"][j])})
    return pd.DataFrame(rows)


def analyze_morris(spec: SweepSpec, runs, points: list[dict[str, Any]] | None) -> Any:
    """Morris elementary effects of every outcome: mu, mu_star (with its bootstrap interval)
    and sigma per parameter."""
    import numpy as np
    import pandas as pd
    from SALib.analyze import morris

    params = dict(spec.parameters)
    problem = salib_problem(params)
    opts = spec.sensitivity or SensitivityOptions()
    if points is None:
        raise AllegianceError("Morris analysis needs the design's points")
    x = np.array([[float(pt[n]) for n in problem["names"]] for pt in points])
    rows = []
    for outcome in spec.outcomes:
        y = _point_means(spec, runs, outcome, len(points), "Morris elementary effects")
        res = morris.analyze(problem, x, y, num_resamples=opts.resamples,
                             conf_level=opts.conf_level, num_levels=spec.design.levels,
                             seed=spec.seed % 2**32)
        for j, name in enumerate(problem["names"]):
            rows.append({"outcome": outcome, "parameter": name,
                         "mu": float(res["mu"][j]), "mu_star": float(res["mu_star"][j]),
                         "mu_star_conf": float(res["mu_star_conf"][j]),
                         "sigma": float(res["sigma"][j])})
    return pd.DataFrame(rows)


def sensitivity(spec: SweepSpec | str | Path, executor: Executor, *,
                out: str | Path | None = None, resume: bool = False, force: bool = False,
                retry_failed: bool = False, quiet: bool = True, figures: bool = True,
                shard: Shard | str | None = None, branch: bool = True) -> tuple[Path, Any]:
    """Run a sensitivity analysis (Sobol or Morris); returns ``(output directory, indices
    table)``. ``branch``: as :func:`~allegiance.experiments.sweep.run_plan`.

    With ``shard`` (``"I/N"``), only that shard's runs and no analysis (``allegiance merge``
    makes it): returns ``(the shard's directory, None)``.
    """
    shard = parse_shard(shard) if isinstance(shard, str) else shard
    base_dir = None
    source = "sensitivity"
    if not isinstance(spec, SweepSpec):
        source = Path(spec).name
        spec, base_dir = load_sensitivity_spec(spec)
    if spec.design.method not in METHODS:
        raise AllegianceError(f"design.method = '{spec.design.method}': sensitivity analysis "
                              "needs 'sobol' or 'morris'")
    plan = Plan(spec, base_dir, source)
    outdir = default_out(spec, out)
    with claim_experiment(outdir, shard, resume=resume, force=force):
        store, runs = run_plan(plan, outdir, executor, kind="sensitivity", resume=resume,
                               force=force, retry_failed=retry_failed, quiet=quiet, shard=shard,
                               branch=branch)
        if shard is not None:
            return store.dir, None
        return outdir, write_indices(plan, runs, outdir, figures=figures)


def write_indices(plan: Plan, runs, outdir: Path, *, figures: bool = True) -> Any:
    """The indices of a finished analysis: ``sensitivity.parquet``, ``.json``, figure (each
    written to a temporary name and renamed into place)."""
    import os
    import uuid

    spec = plan.spec
    method = spec.design.method
    table = analyze(spec, runs, plan.points)
    tmp = outdir / f".sensitivity.parquet.{uuid.uuid4().hex[:8]}"
    write_parquet(table, tmp)
    os.replace(tmp, outdir / "sensitivity.parquet")
    info = {"name": spec.name, "scenario": spec.scenario, "method": method,
            "runs": len(plan.tasks), "replicates": spec.replicates, "scale": spec.scale,
            "seed": spec.seed,
            "set": spec.set, "parameters": list(spec.parameters),
            "conf_level": (spec.sensitivity.conf_level if spec.sensitivity else 0.95)}
    if method == "morris":
        info.update(trajectories=spec.design.samples, levels=spec.design.levels)
    else:
        info.update(base_samples=spec.design.samples)
    tmp = outdir / f".sensitivity.json.{uuid.uuid4().hex[:8]}"
    dump_json({**info, "indices": table.to_dict(orient="records")}, tmp)
    os.replace(tmp, outdir / "sensitivity.json")
    if figures:
        if method == "morris":
            draw_morris(table, outdir / "figures", spec, len(plan.tasks))
        else:
            draw_indices(table, outdir / "figures", spec, len(plan.tasks))
    return table


def ranking(table, outcome: str | None = None) -> list[str]:
    """Parameters by importance: Morris mu_star or Sobol ST, the largest first (for one outcome,
    or the largest over all outcomes, each outcome's index scaled by its largest)."""
    key = "mu_star" if "mu_star" in table else "ST"
    t = table if outcome is None else table[table["outcome"] == outcome]
    scaled = t.assign(_v=t[key] / t.groupby("outcome")[key].transform("max").where(
        lambda m: m > 0, 1.0))
    order = scaled.groupby("parameter")["_v"].max().sort_values(ascending=False, kind="stable")
    return list(order.index)


def short_name(key: str) -> str:
    """``crisis.spread`` of ``mechanisms.crisis.spread`` (the last two parts of a key)."""
    return ".".join(key.split(".")[-2:])


def draw_morris(table, outdir: Path, spec: SweepSpec, n_runs: int,
                label_top: int = 8) -> list[Path]:
    """mu_star against sigma, one panel per outcome; the most influential parameters named.

    A parameter far right matters; high sigma relative to mu_star means its effect depends on
    the others (interactions or non-linearity); near the origin it can be fixed."""
    import numpy as np

    from ..plotting import plt as _plt
    from ..plotting import save

    plt = _plt()
    outcomes = list(dict.fromkeys(table["outcome"]))
    cols = min(2, len(outcomes))
    rows = -(-len(outcomes) // cols)
    fig, axs = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.0 * rows), squeeze=False)
    for ax, o in zip(axs.flat, outcomes, strict=False):
        t = table[table["outcome"] == o]
        ax.errorbar(t["mu_star"], t["sigma"], xerr=t["mu_star_conf"], fmt="o", ms=4,
                    color="#2166ac", ecolor="#9ecae1", elinewidth=1, capsize=0)
        top = t.nlargest(label_top, "mu_star")
        for r in top.itertuples():
            ax.annotate(short_name(r.parameter), (r.mu_star, r.sigma), fontsize=6,
                        xytext=(3, 2), textcoords="offset points")
        hi = float(np.nanmax(np.r_[t["mu_star"], t["sigma"], 1e-12]))
        ax.plot([0, hi], [0, hi], color="#999", lw=0.6, ls=":")  # sigma = mu_star
        ax.set_xlabel("μ* (mean |elementary effect|)")
        ax.set_ylabel("σ (sd of elementary effects)")
        ax.set_title(o, fontsize=9)
    for ax in list(axs.flat)[len(outcomes):]:
        ax.axis("off")
    cap = (f"allegiance sensitivity: {spec.scenario}, Morris screening, "
           f"{spec.design.samples} trajectories on {spec.design.levels} levels "
           f"({n_runs} runs, {len(spec.parameters)} parameters), root seed {spec.seed}; "
           "bars: bootstrap interval of μ*; dotted: σ = μ*.")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return save(fig, outdir, "morris_screening", cap)


def draw_indices(table, outdir: Path, spec: SweepSpec, n_runs: int) -> list[Path]:
    """Bar chart of S1 and ST with their confidence intervals, one panel per outcome."""
    import numpy as np

    from ..plotting import plt as _plt
    from ..plotting import save

    plt = _plt()
    outcomes = list(dict.fromkeys(table["outcome"]))
    fig, axs = plt.subplots(len(outcomes), 1, figsize=(7, 2.6 * len(outcomes)), squeeze=False)
    for ax, o in zip(axs[:, 0], outcomes, strict=True):
        t = table[table["outcome"] == o]
        x = np.arange(len(t))
        ax.bar(x - 0.2, t["S1"], 0.4, yerr=t["S1_conf"], color="#2166ac", label="first order S1")
        ax.bar(x + 0.2, t["ST"], 0.4, yerr=t["ST_conf"], color="#b2182b", label="total ST")
        ax.set_xticks(x, t["parameter"], rotation=20, ha="right", fontsize=7)
        ax.set_ylabel("Sobol index")
        ax.set_title(o, fontsize=9)
        ax.legend(fontsize=7, frameon=False)
    cap = (f"allegiance sensitivity: {spec.scenario}, Saltelli design with "
           f"{spec.design.samples} base samples ({n_runs} runs), root seed {spec.seed}; "
           "bars: SALib Sobol indices with bootstrap confidence intervals.")
    fig.tight_layout(rect=(0, 0.08, 1, 1))  # room for the caption under the axes
    return save(fig, outdir, "sobol_indices", cap)
