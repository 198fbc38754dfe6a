"""Ensembles: N replicates of one scenario, summarized as per-step bands.

``allegiance ensemble cpsu --runs 100 --scale 1e-4`` runs the scenario with seeds derived from
the root seed and each replicate's index, through the same resumable store as sweeps, then
writes

* ``bands.parquet`` — per step (month) and numeric metric: mean and the 5/50/95 % quantiles
  across runs (long format: step, date, metric, n, mean, q05, q50, q95);
* ``summary.json`` — the same band for every number of the runs' summaries (for ``cpsu`` the
  forecast: ``forecast.exits_1990``, ``forecast.crisis.defenders_members``, ...);
* ``figures/ensemble_bands.{png,svg}`` — members and committed members with bands for ``cpsu``,
  the first metrics otherwise;
* with ``--snapshot DATES``, ``snapshots/run-*.parquet`` — each run's agents at those months
  (:mod:`allegiance.experiments.store`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import AllegianceError
from ..limits import check_runs, check_seed
from ..results import dump_json, write_parquet
from .executors import Executor
from .shards import Shard, parse_shard
from .sweep import Plan, SweepSpec, claim_experiment, run_plan

QUANTILES = (0.05, 0.5, 0.95)
ID_COLUMNS = ("run_id", "point", "replicate", "seed", "step")


def _overrides(items: Iterable[str] | Mapping[str, Any]) -> dict[str, Any]:
    from ..scenario import parse_set

    if isinstance(items, Mapping):
        return dict(items)
    out = {}
    for s in items:
        path, value = parse_set(s)
        out[".".join(path)] = value
    return out


def numeric_leaves(d: Any, prefix: str = "") -> dict[str, float]:
    """Every number of a nested summary as ``{dotted path: value}`` (lists are skipped)."""
    out: dict[str, float] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(numeric_leaves(v, f"{prefix}{k}."))
    elif isinstance(d, bool):
        pass
    elif isinstance(d, int | float) and prefix:
        out[prefix[:-1]] = float(d)
    return out


def band(values: list[float]) -> dict[str, float]:
    """Mean and 5/50/95 % quantiles of finite values (NaN when none)."""
    import numpy as np

    x = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    if x.size == 0:
        return {"n": 0, "mean": math.nan, "q05": math.nan, "q50": math.nan, "q95": math.nan}
    q = np.quantile(x, QUANTILES)
    return {"n": int(x.size), "mean": float(x.mean()), "q05": float(q[0]), "q50": float(q[1]),
            "q95": float(q[2])}


def bands_table(ts):
    """Per-step mean and quantiles of every numeric metric of a long time-series table."""
    import numpy as np
    import pandas as pd

    metrics = [c for c in ts.columns if c not in ID_COLUMNS and c != "date"
               and pd.api.types.is_numeric_dtype(ts[c]) and not pd.api.types.is_bool_dtype(ts[c])]
    steps = np.sort(ts["step"].unique())
    dates = ts.drop_duplicates("step").set_index("step")["date"].reindex(steps).to_numpy()
    runs = np.sort(ts["run_id"].unique())
    pos = {r: i for i, r in enumerate(runs)}
    ri = ts["run_id"].map(pos).to_numpy()
    si = np.searchsorted(steps, ts["step"].to_numpy())
    frames = []
    for m in metrics:
        cube = np.full((runs.size, steps.size), np.nan)
        cube[ri, si] = ts[m].to_numpy(dtype=np.float64)
        n = np.isfinite(cube).sum(axis=0)
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nanmean(cube, axis=0)
                q = np.nanquantile(cube, QUANTILES, axis=0)
        frames.append(pd.DataFrame({"step": steps, "date": dates, "metric": m, "n": n,
                                    "mean": mean, "q05": q[0], "q50": q[1], "q95": q[2]}))
    return pd.concat(frames, ignore_index=True)


def ensemble(scenario: str | Path, runs: int, executor: Executor, *, scale: float | None = None,
             seed: int | None = None, overrides: Iterable[str] | Mapping[str, Any] = (),
             out: str | Path | None = None, resume: bool = False, force: bool = False,
             quiet: bool = True, figures: bool = True, shard: Shard | str | None = None,
             snapshots: Iterable[str] | str = ()) -> Path:
    """Run an ensemble and write its bands; returns the output directory.

    With ``shard`` (``"I/N"``), only that shard's runs, and no bands (``allegiance merge``
    writes them); the directory returned is the shard's. With ``snapshots`` (months, or one
    comma-separated string), each run also keeps the agents' attributes at the start of those
    months, in ``snapshots/run-*.parquet``.
    """
    from ..api import snapshot_dates
    from ..scenario import load_scenario

    shard = parse_shard(shard) if isinstance(shard, str) else shard
    sets = _overrides(overrides)
    sc = load_scenario(scenario, sets)
    root = check_seed(sc.run.seed if seed is None else seed)
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise AllegianceError(f"runs = {runs!r}: allowed: 1 or more")
    check_runs(runs, "ensemble")
    dates = snapshot_dates(sc, snapshots, scale=scale)  # the CLI's line, before any run
    spec = SweepSpec(name=f"{sc.name}-ensemble", scenario=str(scenario), scale=scale, seed=root,
                     replicates=int(runs), set=sets, snapshots=dates)
    plan = Plan(spec, None, "ensemble", scenario=sc)  # the file is read once (it may be a pipe)
    outdir = Path(out or Path("runs") / f"{sc.name}-ensemble")
    with claim_experiment(outdir, shard, resume=resume, force=force):
        store, table = run_plan(plan, outdir, executor, kind="ensemble", resume=resume,
                                force=force, quiet=quiet, shard=shard)
        if shard is not None:
            return store.dir
        write_bands(plan, store, table, outdir, figures=figures)
    return outdir


def write_bands(plan: Plan, store, table, outdir: Path, *, figures: bool = True) -> None:
    """The ensemble's ``bands.parquet``, ``summary.json`` and figure, from its finished runs."""
    sc = plan.scenario
    spec = plan.spec
    ts = store.read_timeseries()
    ok = table[table["status"] == "ok"] if len(table) else table
    if ts.empty:
        errs = sorted(set(table["error"])) if len(table) else []
        raise AllegianceError(f"ensemble: no run succeeded ({errs[0] if errs else 'no runs'})")
    bands = bands_table(ts)
    write_parquet(bands, outdir / "bands.parquet")
    leaves = [numeric_leaves(store.records[r]["summary"]) for r in ok["run_id"]]
    keys = sorted({k for lv in leaves for k in lv})
    summary = {
        "scenario": sc.name, "model": sc.model, "runs": int(spec.replicates), "ok": len(ok),
        "failed": len(table) - len(ok), "seed": int(spec.seed),
        "scale": float(sc.run.scale if spec.scale is None else spec.scale),
        "quantiles": list(QUANTILES),
        "bands": {k: band([lv.get(k, math.nan) for lv in leaves]) for k in keys},
        "note": "mean and 5/50/95 % quantiles across runs of every number in the run summaries",
    }
    dump_json(summary, outdir / "summary.json")
    if figures:
        draw_bands(bands, sc.model, outdir / "figures", summary)


def draw_bands(bands, model: str, outdir: Path, summary: dict[str, Any]) -> list[Path]:
    """The ensemble figure: median line and 5-95 % band per metric. A model's overview series
    (``Model.overview_series``) share one axis, with its observed values beside them."""
    from ..plotting import color, save, time_axis, title
    from ..plotting import plt as _plt
    from ..plotting import years as _years
    from ..registry import model_class

    cls = model_class(model)
    plt = _plt()
    present = set(bands["metric"])
    together = [m for m in cls.overview_series if m in present]
    wanted = together or list(dict.fromkeys(bands["metric"]))[:4]
    if together:
        fig, ax = plt.subplots(figsize=(7, 4))
        axes = [ax] * len(wanted)
    else:
        fig, axs = plt.subplots(len(wanted) or 1, 1, figsize=(7, 2.2 * max(len(wanted), 1)),
                                squeeze=False)
        axes = list(axs[:, 0])
    scale = 1e6 if cls.in_persons else 1.0
    spare = ["#1b7837", "#762a83", "#b2182b", "#2166ac"]  # metrics without a palette colour
    colors = [color(m, spare[i % len(spare)]) for i, m in enumerate(wanted)]
    for m, ax, col in zip(wanted, axes, colors, strict=False):
        b = bands[bands["metric"] == m].sort_values("step")
        try:
            x = _years(b)
            xlabel = "year"
        except (ValueError, TypeError, KeyError):
            x = b["step"].to_numpy()
            xlabel = "step"
        lo, mid, hi = b["q05"] / scale, b["q50"] / scale, b["q95"] / scale
        if len(b) < 3:  # a band needs a width: draw intervals for one- or two-step models
            ax.errorbar(x, mid, yerr=[mid - lo, hi - mid], fmt="o", color=col, capsize=4,
                        label=f"{m}: median and 5–95 %")
        else:
            ax.fill_between(x, lo, hi, color=col, alpha=0.25, lw=0, label=f"{m}: 5–95 %")
            ax.plot(x, mid, color=col, lw=1.5, label=f"{m}: median")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("persons (millions)" if cls.in_persons else m)
        ax.legend(loc="upper left", fontsize=7, frameon=False)
    cap = (f"allegiance ensemble {summary['scenario']}: {summary['ok']} runs, root seed "
           f"{summary['seed']}, scale 1:{1 / summary['scale']:,.0f}.")
    obs = cls.observed(together[0]) if together else None
    if obs is not None:
        pts, source = obs
        for fitted, face, what in ((True, "black", "fitted"), (False, "white", "not fitted")):
            sel = [p for p in pts if p["fitted"] == fitted]
            if sel:
                axes[0].scatter([p["x"] for p in sel], [p["value"] / scale for p in sel], s=10,
                                facecolor=face, edgecolor="black", zorder=3,
                                label=f"historical {together[0]} ({what})")
        axes[0].set_xlim(float(x[0]) - 1, float(x[-1]) + 1)
        axes[0].legend(loc="upper left", fontsize=7, frameon=False)
        cap = f"{source}. {cap}"
    if xlabel == "year":
        for ax in dict.fromkeys(axes):
            time_axis(ax, float(x[0]) - (1 if obs else 0), float(x[-1]) + 1, cls.markers(),
                      cls.forecast_from)
    if together:
        title(axes[0], f"{', '.join(together)}: ensemble median and 5–95 % band")
    fig.tight_layout(rect=(0, 0.07, 1, 1))  # room for the caption under the axes
    return save(fig, outdir, "ensemble_bands", cap)
