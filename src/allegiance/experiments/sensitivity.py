"""Global sensitivity analysis: Sobol indices with SALib, on any scalar outcome.

``allegiance sensitivity SENS.toml`` reads a sweep file whose design is ``sobol`` (the default
here), runs Saltelli's design through the same executors and resumable store as any sweep, and
analyses each outcome with ``SALib.analyze.sobol``: first-order (S1) and total (ST) indices
with bootstrap confidence intervals. With several replicates per point the outcome of a point
is the mean over its replicates (noise averaged out before the analysis).

Outputs (besides the sweep's): ``sensitivity.parquet`` (outcome, parameter, S1, S1_conf, ST,
ST_conf), ``sensitivity.json`` and ``figures/sobol_indices.{png,svg}``.

The pipeline is checked end to end on the Ishigami function (bundled scenario ``ishigami``),
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


def load_sensitivity_spec(path: str | Path) -> tuple[SweepSpec, Path]:
    """Read a sensitivity file: a sweep file whose design defaults to (and must be) Sobol."""
    from ..scenario import read_toml

    p = Path(path)
    if p.is_file():
        raw = read_toml(p)
        design = raw.get("design")
        if isinstance(design, dict) and design.get("method", "sobol") != "sobol":
            raise AllegianceError(f"{p.name}: design.method = {design['method']!r}: "
                                  "sensitivity analysis needs 'sobol'")
        if design is None or isinstance(design, dict):
            raw["design"] = {"method": "sobol", **(design or {})}
        raw.setdefault("name", slugify(p.stem))
        return parse_spec(raw, p.name), p.parent
    return load_spec(p)


def analyze(spec: SweepSpec, runs) -> Any:
    """Sobol indices of every outcome from a finished sweep's runs table."""
    import numpy as np
    import pandas as pd
    from SALib.analyze import sobol

    if not spec.outcomes:
        raise AllegianceError("outcomes: name at least one outcome to analyse "
                              "(e.g. outcomes = [\"forecast.exits_1990\"])")
    problem = salib_problem(dict(spec.parameters))
    opts = spec.sensitivity or SensitivityOptions()
    n_points = int(runs["point"].max()) + 1 if len(runs) else 0
    rows = []
    for outcome in spec.outcomes:
        ok = runs[runs["status"] == "ok"]
        y = ok.groupby("point")[outcome].mean().reindex(range(n_points))
        missing = int(y.isna().sum())
        if missing:
            raise AllegianceError(
                f"outcome '{outcome}': {missing} of {n_points} design points have no value "
                "(failed runs or NaN outcomes); Sobol indices need every point")
        res = sobol.analyze(problem, y.to_numpy(dtype=np.float64),
                            calc_second_order=spec.design.second_order,
                            num_resamples=opts.resamples, conf_level=opts.conf_level,
                            seed=spec.seed)
        for j, name in enumerate(problem["names"]):
            rows.append({"outcome": outcome, "parameter": name,
                         "S1": float(res["S1"][j]), "S1_conf": float(res["S1_conf"][j]),
                         "ST": float(res["ST"][j]), "ST_conf": float(res["ST_conf"][j])})
    return pd.DataFrame(rows)


def sensitivity(spec: SweepSpec | str | Path, executor: Executor, *,
                out: str | Path | None = None, resume: bool = False, force: bool = False,
                retry_failed: bool = False, quiet: bool = True, figures: bool = True,
                shard: Shard | str | None = None) -> tuple[Path, Any]:
    """Run a Sobol sensitivity analysis; returns ``(output directory, indices table)``.

    With ``shard`` (``"I/N"``), only that shard's runs and no analysis (``allegiance merge``
    makes it): returns ``(the shard's directory, None)``.
    """
    shard = parse_shard(shard) if isinstance(shard, str) else shard
    base_dir = None
    source = "sensitivity"
    if not isinstance(spec, SweepSpec):
        source = Path(spec).name
        spec, base_dir = load_sensitivity_spec(spec)
    if spec.design.method != "sobol":
        raise AllegianceError(f"design.method = '{spec.design.method}': sensitivity analysis "
                              "needs 'sobol'")
    plan = Plan(spec, base_dir, source)
    outdir = default_out(spec, out)
    with claim_experiment(outdir, shard, resume=resume, force=force):
        store, runs = run_plan(plan, outdir, executor, kind="sensitivity", resume=resume,
                               force=force, retry_failed=retry_failed, quiet=quiet, shard=shard)
        if shard is not None:
            return store.dir, None
        return outdir, write_indices(plan, runs, outdir, figures=figures)


def write_indices(plan: Plan, runs, outdir: Path, *, figures: bool = True) -> Any:
    """The Sobol indices of a finished analysis: ``sensitivity.parquet``, ``.json``, figure."""
    spec = plan.spec
    table = analyze(spec, runs)
    write_parquet(table, outdir / "sensitivity.parquet")
    dump_json({"name": spec.name, "scenario": spec.scenario, "base_samples": spec.design.samples,
               "runs": len(plan.tasks), "replicates": spec.replicates,
               "conf_level": (spec.sensitivity.conf_level if spec.sensitivity else 0.95),
               "indices": table.to_dict(orient="records")}, outdir / "sensitivity.json")
    if figures:
        draw_indices(table, outdir / "figures", spec, len(plan.tasks))
    return table


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
