"""Ablation (``allegiance ablate cpsu``): does the model still fit with a mechanism switched off?

The essay's thesis is a chain of mechanisms (self-selection, generational replacement,
shocks, ritualization, privilege, ...). Its rivals say one or another link is unnecessary.
The ablation runs the full model and, for every mechanism, the model with that mechanism
switched off (``mechanisms.<name>.enabled = false``), each over the same ensemble of seeds, and
reports per variant:

* the in-sample fit — rmse of log(model / data) of members + candidates up to 1988
  (``summary["fit"]["value"]``), mean and range across seeds;
* whether the variant *still fits*: its mean rmse is at most ``tolerance`` × the full model's
  mean rmse (default 1.5);
* what it forecasts out of sample: members on 1 Jan 1989, exits in 1990, committed members on
  1 Jul 1991, and defenders at the crisis (members and non-members).

A mechanism whose removal leaves the fit intact but changes the forecast is one the data up to
1988 cannot test; one whose removal breaks the fit is one the data support. Measurement-only
mechanisms (``commitment``) are not ablated. Seeds are ``seed, seed+1, ...``; each variant
uses the same seeds (common random numbers across variants).

A variant is run once per seed: one that is the same scenario as another (a mechanism the
scenario or ``--set`` switched off already is the full model) takes that run's row, so the
full model is never computed twice.

Variants share no prefix with the full model, so unlike ``compare`` and sweeps over dated
events and holds (:mod:`allegiance.experiments.branching`) an ablation does not branch: a
mechanism's ``enabled`` switch acts from the first month, and the model has no dated switch
(a lever held from a date, ``hold.<lever>``, changes what a mechanism is fed, not whether it
runs). A question of the form "what if this stopped from 1956" is a ``compare`` or a sweep
over a dated hold, and those branch automatically.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

#: mechanisms that only measure and have nothing to switch off
MEASUREMENT_ONLY = ("commitment",)

#: per-run outcomes: column -> path in summary.json
OUTCOMES = {
    "fit": "fit.value",
    "fit_points": "fit.n_points",
    "members_1989": "headline.members_1989_01_01",
    "exits_1990": "forecast.exits_1990",
    "disengaged_1990": "forecast.disengaged_1990",
    "committed_members_1991_07": "forecast.committed_members_1991_07_01",
    "defenders_members": "forecast.crisis.defenders_members",
    "defenders_nonmembers": "forecast.crisis.defenders_nonmembers",
    "opponents_nonmembers": "forecast.crisis.opponents_nonmembers",
}


def mechanisms_of(scenario) -> list[str]:
    """Names of the switchable mechanisms of a validated scenario, in scenario order."""
    mech = getattr(scenario, "mechanisms", None)
    if mech is None:
        return []
    return [name for name in type(mech).model_fields
            if hasattr(getattr(mech, name), "enabled") and name not in MEASUREMENT_ONLY]


def variants(scenario) -> list[tuple[str, str | None]]:
    """(variant name, mechanism switched off) — the full model first."""
    return [("full", None)] + [(f"no_{m}", m) for m in mechanisms_of(scenario)]


def _get(d: Any, path: str) -> float:
    for part in path.split("."):
        if not isinstance(d, Mapping) or d.get(part) is None:
            return float("nan")
        d = d[part]
    return float(d) if isinstance(d, int | float) else float("nan")


def run_one(task: dict[str, Any]) -> dict[str, Any]:
    """One run of the ensemble (top-level so a spawned worker process can call it)."""
    from .api import run

    over = list(task["overrides"])
    if task["mechanism"] is not None:
        over.append(f"mechanisms.{task['mechanism']}.enabled=false")
    row: dict[str, Any] = {"variant": task["variant"], "mechanism_off": task["mechanism"] or "",
                           "seed": task["seed"]}
    try:
        r = run(task["scenario"], seed=task["seed"], scale=task["scale"], overrides=over,
                threads=task["threads"])
    except Exception as exc:  # a failed run is a result (recorded), not the end of the ensemble
        row.update(dict.fromkeys(OUTCOMES, float("nan")))
        row["wall_seconds"] = float("nan")
        row["error"] = f"{type(exc).__name__}: {exc}"
        return row
    for col, path in OUTCOMES.items():
        row[col] = _get(r.summary, path)
    row["wall_seconds"] = r.manifest["wall_seconds"]
    row["error"] = ""
    return row


def run_ensemble(scenario="cpsu", *, seeds: int = 3, seed: int | None = None,
                 scale: float | None = None, overrides: Iterable[str] = (), executor=None,
                 progress=None):
    """Run every variant over ``seeds`` seeds; returns one row per run (a DataFrame).

    Args:
        scenario: bundled name, TOML path, or a scenario (loaded already).
        seeds: ensemble size per variant.
        seed: root seed (default: the scenario's ``run.seed``); seed ``k`` of every variant is
            :func:`~allegiance.experiments.executors.run_seed` ``(root, k)`` — the seed scheme
            of every experiment — so the variants share their random numbers.
        scale: agents per person (default: the scenario's ``run.scale``).
        overrides: ``--set`` items applied to every run (e.g. ``run.end=1930-12``).
        executor: where the runs execute (an :class:`~allegiance.experiments.executors.
            Executor`; default in this process). Every run uses one numba thread: an ensemble
            is parallel across runs, which scales better than threads.
        progress: called as ``progress(done, total, label)`` after each run.
    """
    import pandas as pd

    from .errors import AllegianceError
    from .experiments.executors import SerialExecutor, run_seed
    from .limits import check_runs, check_seed
    from .scenario import load_scenario

    if seeds < 1:
        raise AllegianceError(f"--seeds {seeds}: must be at least 1")
    overrides = list(overrides)
    sc = load_scenario(scenario, overrides)
    if not mechanisms_of(sc):
        raise AllegianceError(f"scenario '{sc.name}' (model {sc.model}) has no switchable "
                              "mechanisms to ablate")
    root = check_seed(sc.run.seed if seed is None else seed)
    check_runs(seeds * len(variants(sc)), f"--seeds {seeds} x {len(variants(sc))} variants")
    scale = float(sc.run.scale if scale is None else scale)
    raw = sc.to_dict()
    # variants that are the same scenario (a mechanism already off is the full model) run once
    same_as: dict[str, str] = {}
    first: dict[str, str] = {}
    for v, m in variants(sc):
        off = [] if m is None else [f"mechanisms.{m}.enabled=false"]
        same_as[v] = first.setdefault(load_scenario(raw, off).digest(), v)
    tasks = [{"scenario": raw, "overrides": overrides, "seed": run_seed(root, k),
              "scale": scale, "variant": v, "mechanism": m, "threads": 1}
             for v, m in variants(sc) for k in range(seeds) if same_as[v] == v]
    done: dict[tuple[str, int], dict[str, Any]] = {}
    with executor or SerialExecutor() as ex:
        for i, row in ex.imap_unordered(run_one, tasks):
            done[(tasks[i]["variant"], tasks[i]["seed"])] = row
            if progress:
                progress(len(done), len(tasks), f"{tasks[i]['variant']} seed {tasks[i]['seed']}")
    rows = []
    for v, m in variants(sc):
        for k in range(seeds):
            row = dict(done[(same_as[v], run_seed(root, k))])
            rows.append({**row, "variant": v, "mechanism_off": m or ""})
    return pd.DataFrame(rows)


def hypothesis_table(runs, tolerance: float = 1.5):
    """Aggregate the runs by variant: mean and range of every outcome, and ``still_fits``.

    ``still_fits`` is true when the variant's mean fit (rmse) is at most ``tolerance`` times
    the full model's mean fit and every run was scored on as many data points as the full
    model (a party that dies out is scored only on the months it still has members).
    """
    import pandas as pd

    order = list(dict.fromkeys(runs["variant"]))
    full_fit = float(runs.loc[runs["variant"] == "full", "fit"].mean())
    full_points = float(runs.loc[runs["variant"] == "full", "fit_points"].min())
    out = []
    for v in order:
        g = runs[runs["variant"] == v]
        row: dict[str, Any] = {"variant": v, "mechanism_off": g["mechanism_off"].iloc[0],
                               "n_seeds": len(g), "n_failed": int((g["error"] != "").sum())}
        for col in OUTCOMES:
            # an outcome a model (or an older runs table) does not report counts as missing
            s = g[col].astype(float) if col in g else pd.Series([float("nan")] * len(g))
            row[f"{col}_mean"] = float(s.mean()) if s.notna().any() else float("nan")
            row[f"{col}_min"] = float(s.min()) if s.notna().any() else float("nan")
            row[f"{col}_max"] = float(s.max()) if s.notna().any() else float("nan")
        row["fit_ratio_to_full"] = row["fit_mean"] / full_fit if full_fit > 0 else float("nan")
        # a variant whose party dies out is scored on fewer points (the fit skips months with
        # no members), so it must also be scored on as many points as the full model
        row["still_fits"] = bool(row["fit_mean"] <= tolerance * full_fit
                                 and row["fit_points_min"] >= full_points
                                 and row["n_failed"] == 0)
        out.append(row)
    return pd.DataFrame(out)


def _num(v: float, digits: int = 0) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if digits:
        return f"{v:.{digits}f}"
    return f"{v:,.0f}"


def _rng(row, col: str, digits: int = 0) -> str:
    mean, lo, hi = row[f"{col}_mean"], row[f"{col}_min"], row[f"{col}_max"]
    if row["n_seeds"] == 1 or _num(lo, digits) == _num(hi, digits):
        return _num(mean, digits)
    return f"{_num(mean, digits)} [{_num(lo, digits)}, {_num(hi, digits)}]"


def to_markdown(table, *, tolerance: float, command: str, note: str = "") -> str:
    """The hypothesis table as Markdown, with the rule and the command that produced it."""
    lines = [
        f"Command: `{command}`",
        "",
        "Fit = rmse of log(model/data) of members + candidates over the dated points up to "
        "1988-12 (lower is better); values are mean [min, max] across seeds. "
        f"**Still fits** = mean fit ≤ {tolerance:g} × the full model's mean fit, scored on as "
        "many data points as the full model (the fit skips months without members). Forecasts "
        "(persons) are out of sample: members on 1 Jan 1989, formal exits (cards handed in) "
        "and silent disengagement (dues and meetings stopped) during 1990, defenders and "
        "opponents at the August 1991 crisis.",
    ]
    if note:
        lines += ["", note]
    lines += [
        "",
        "| variant | fit (rmse, ≤1988) | points | × full | still fits | members 1989-01 "
        "| exits 1990 | disengaged 1990 | defenders: members | defenders: non-members "
        "| opponents: non-members |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in table.iterrows():
        lines.append(
            f"| {r['variant']} | {_rng(r, 'fit', 3)} | {_num(r['fit_points_min'])} "
            f"| {_num(r['fit_ratio_to_full'], 2)} "
            f"| {'yes' if r['still_fits'] else 'no'}"
            f"{f' ({r.n_failed} runs failed)' if r['n_failed'] else ''} "
            f"| {_rng(r, 'members_1989')} "
            f"| {_rng(r, 'exits_1990')} | {_rng(r, 'disengaged_1990')} "
            f"| {_rng(r, 'defenders_members')} | {_rng(r, 'defenders_nonmembers')} "
            f"| {_rng(r, 'opponents_nonmembers')} |")
    return "\n".join(lines) + "\n"


def write(out, runs, table, *, tolerance: float, command: str, meta: dict[str, Any],
          force: bool = False) -> list:
    """Write ablation.parquet, ablation_runs.parquet, ablation.md and ablation.json into ``out``.

    The directory is written beside the target and renamed into place when complete.
    """
    from pathlib import Path

    from .results import atomic_directory, dump_json, write_parquet

    out = Path(out)
    with atomic_directory(out, force=force) as tmp:
        write_parquet(table, tmp / "ablation.parquet")
        write_parquet(runs, tmp / "ablation_runs.parquet")
        (tmp / "ablation.md").write_text(to_markdown(table, tolerance=tolerance, command=command))
        dump_json({**meta, "tolerance": tolerance, "command": command,
                   "rule": f"still_fits: mean fit <= {tolerance:g} x full model mean fit, "
                           "on as many data points as the full model"},
                  tmp / "ablation.json")
    return [out / n for n in ("ablation.parquet", "ablation_runs.parquet", "ablation.md",
                              "ablation.json")]
