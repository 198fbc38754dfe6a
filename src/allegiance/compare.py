"""Compare two scenarios run with common random numbers (``allegiance compare A B``).

Both scenarios run with the same seed and scale. The engine's random draws are keyed by
(seed, stream, step, agent uid), so as long as the two timelines agree the two runs are
bit-identical; every difference after the first diverging event is caused by that event (and
by what follows from it), not by sampling noise. The output directory holds both results, a
``comparison.parquet`` with the key series of A, B and B − A by month, ``comparison.json`` with
the differences of the summary outcomes, and a figure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .errors import AllegianceError

#: series compared month by month (those a model does not record are skipped)
SERIES = ("members", "committed_members", "exits", "expelled", "joins", "mean_belief_adults",
          "mean_trust_members", "mean_trust_citizens", "expressed_trust_citizens")

#: crisis numbers compared side by side (summary["forecast"]["crisis"])
CRISIS_KEYS = ("defenders_members", "passive_members", "opponents_members",
               "defenders_nonmembers", "opponents_nonmembers", "security_obeyed",
               "security_refused")


Overrides = Iterable[str] | Mapping[str, Any]


def _side(spec, overrides: Overrides, own: Overrides, flag: str):
    """Scenario ``spec`` with the shared overrides, then its own (which win on the same key)."""
    from .errors import ScenarioError
    from .scenario import load_scenario

    sc = load_scenario(spec, overrides)
    own = dict(own) if isinstance(own, Mapping) else list(own)
    if not own:
        return sc
    try:
        return load_scenario(sc, own)
    except ScenarioError as exc:
        # load_scenario words its messages for --set: name the option that was used
        raise ScenarioError([
            m.replace("--set", flag, 1) if m.startswith(("--set ", "after --set:"))
            else f"{flag}: {m}" for m in exc.messages]) from None


def _run_side(task: dict[str, Any]):
    """One side of a comparison (top-level, so a worker process can run it)."""
    from .api import run

    return run(task["scenario"], seed=task["seed"], scale=task["scale"],
               threads=task["threads"], snapshots=task.get("snapshots", ()))


def shared_prefix(sa, sb, seed: int, scale: float, snapshots: Iterable[str] = ()
                  ) -> str | None:
    """The last step up to which A and B are the same run, if after the first: the latest
    step label at which their :meth:`~allegiance.engine.Model.branch_key` agree (for ``cpsu``:
    the month of the first event or hold in which they differ). ``None`` when they differ
    from the start, or the model cannot checkpoint.

    With ``snapshots`` (dates at whose start both runs keep their agents, checked against
    both runs here, before either starts), no later than the first of them: B takes its own
    snapshots."""
    from .api import _snapshot_steps
    from .checkpoint import common_prefix
    from .registry import model_class
    from .scenario import load_scenario

    cls = model_class(sa.model)
    if cls.checkpoint_derived is None or sa.model != sb.model:
        return None
    fixed = {"run.seed": seed, "run.scale": scale}  # as run() records them
    a, b = load_scenario(sa, fixed), load_scenario(sb, fixed)
    ma, mb = cls(a, seed=seed, scale=scale), cls(b, seed=seed, scale=scale)
    # the shorter run's steps (a branch may run longer); runs starting on different steps
    # differ in run.start, which branch_key keeps
    m = ma if ma.n_steps() <= mb.n_steps() else mb
    k = common_prefix(cls, m, [a.to_dict(), b.to_dict()])
    snapshots = list(snapshots)
    if snapshots:
        _snapshot_steps(ma, snapshots, 0)
        k = min(k, *(step for step, _ in _snapshot_steps(mb, snapshots, 0)))
    return m.step_label(k) if k else None


def run_pair(a, b, *, seed: int | None = None, scale: float | None = None,
             overrides: Overrides = (), overrides_a: Overrides = (), overrides_b: Overrides = (),
             threads: int | None = None, progress=None, executor=None,
             branch: bool = True, snapshots: Iterable[str] = ()):
    """Run scenarios ``a`` and ``b`` with the same seed and scale (common random numbers).

    Args:
        a, b: bundled names, TOML paths, tables or validated scenarios.
        seed: root seed of both runs (default: A's ``run.seed``; B's own seed is ignored).
        scale: agents per person of both runs (default: A's ``run.scale``).
        overrides: ``--set`` items applied to both scenarios.
        overrides_a, overrides_b: ``--set-a`` / ``--set-b`` items applied to one side only,
            after ``overrides`` (so ``compare cpsu cpsu --set-b levers.criticism=0.5`` asks
            what that one change does).
        threads: numba threads (results do not depend on it).
        progress: ``progress(which, done, total, label)`` with which in {"A", "B"}.
        executor: run A and B at once on an experiments executor (one thread each; progress
            is then reported per finished run); default: one after another in this process.
        branch: when A and B run one after another and are the same run up to some step (they
            differ only in events dated later: :func:`shared_prefix`), run B from A's state
            at that step (kept in memory) instead of from the start. The results are the same
            byte for byte (:mod:`allegiance.checkpoint`); B's manifest says where it branched.
        snapshots: months at whose start both runs keep their agents (``Result.snapshots``;
            see :func:`allegiance.api.run`); B then branches no later than the first.

    Returns:
        (result A, result B).
    """
    from .api import run

    overrides = dict(overrides) if isinstance(overrides, Mapping) else list(overrides)
    sa = _side(a, overrides, overrides_a, "--set-a")
    sb = _side(b, overrides, overrides_b, "--set-b")
    if sa.model != sb.model:
        raise AllegianceError(f"compare: A runs model '{sa.model}' and B runs '{sb.model}'; "
                              "only scenarios of the same model can be compared")
    from .limits import check_seed, check_threads

    seed = check_seed(sa.run.seed if seed is None else seed)
    threads = check_threads(threads)
    scale = float(sa.run.scale if scale is None else scale)

    def _prog(which):
        return None if progress is None else (lambda d, t, lab: progress(which, d, t, lab))

    snapshots = [str(d) for d in snapshots]
    if executor is None:
        at = shared_prefix(sa, sb, seed, scale, snapshots) if branch else None
        if at is None:
            ra = run(sa, seed=seed, scale=scale, threads=threads, progress=_prog("A"),
                     snapshots=snapshots)
            rb = run(sb, seed=seed, scale=scale, threads=threads, progress=_prog("B"),
                     snapshots=snapshots)
            return ra, rb
        held: list[Any] = []
        ra = run(sa, seed=seed, scale=scale, threads=threads, progress=_prog("A"),
                 checkpoint_at=at, checkpoint_path=held.append, snapshots=snapshots)
        rb = run(sb, seed=seed, scale=scale, threads=threads, progress=_prog("B"),
                 resume_from=held.pop(), snapshots=snapshots)
        return ra, rb
    tasks = [{"scenario": s.to_dict(), "seed": seed, "scale": scale, "threads": 1,
              "snapshots": snapshots} for s in (sa, sb)]
    out: dict[int, Any] = {}
    with executor as ex:
        for i, r in ex.imap_unordered(_run_side, tasks):
            out[i] = r
            if progress is not None:
                progress("AB"[i], 1, 1, "done")
    return out[0], out[1]


def comparison_table(ra, rb):
    """Key series of A and B by date, with B − A (outer join on date: horizons may differ)."""
    import pandas as pd

    cols = [c for c in SERIES if c in ra.timeseries and c in rb.timeseries]
    ta = ra.timeseries[["date", *cols]].rename(columns={c: f"{c}_a" for c in cols})
    tb = rb.timeseries[["date", *cols]].rename(columns={c: f"{c}_b" for c in cols})
    t = pd.merge(ta, tb, on="date", how="outer").sort_values("date", ignore_index=True)
    for c in cols:
        t[f"{c}_diff"] = t[f"{c}_b"] - t[f"{c}_a"]
    order = ["date"] + [f"{c}_{s}" for c in cols for s in ("a", "b", "diff")]
    return t[order]


def _get(d: Any, path: str) -> float | None:
    for part in path.split("."):
        if not isinstance(d, Mapping) or part not in d or d[part] is None:
            return None
        d = d[part]
    return float(d) if isinstance(d, int | float) else None


def summary_differences(ra, rb) -> list[dict[str, Any]]:
    """Rows (outcome, a, b, diff) for the headline outcomes and the crisis numbers."""
    # headline crisis numbers are repeated in the full crisis block below: shown once
    heads = [k for k in (*(ra.summary.get("headline") or {}), *(rb.summary.get("headline") or {}))
             if not k.startswith("crisis_")]
    keys = [f"headline.{k}" for k in dict.fromkeys(heads)]
    keys += [f"forecast.crisis.{k}" for k in CRISIS_KEYS]
    keys += ["peak_members"]
    rows = []
    for k in keys:
        a, b = _get(ra.summary, k), _get(rb.summary, k)
        if a is None and b is None:
            continue
        diff = None if a is None or b is None else b - a
        label = (k.removeprefix("headline.") if k.startswith("headline.")
                 else k.replace("forecast.crisis.", "crisis: "))
        rows.append({"outcome": label, "a": a, "b": b, "diff": diff})
    return rows


def first_divergence(table) -> str | None:
    """First date at which any compared series differs between A and B (None if never)."""
    import numpy as np

    diff_cols = [c for c in table.columns if c.endswith("_diff")]
    d = table[diff_cols].to_numpy(dtype=float)
    differs = np.any(np.where(np.isnan(d), False, d != 0), axis=1)
    idx = np.flatnonzero(differs)
    return None if idx.size == 0 else str(table["date"].iloc[idx[0]])


def compare_figure(ra, rb, table, outdir: Path, name_a: str, name_b: str) -> list[Path]:
    """Members, committed members, exits, trust (A vs B), B − A, and the crisis side by side."""
    from .plotting import PALETTE, SIDES, crisis_bars, save, time_axis, title
    from .plotting import plt as _plt
    from .plotting import years as _years
    from .registry import model_class

    plt = _plt()
    x = _years(table)
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.6))
    ca, cb = PALETTE["a"], PALETTE["b"]
    cls = model_class(ra.manifest["model"])
    names: dict = {}  # axes -> title, set once the event labels above each axes are placed

    def pair(ax, col, title, scale=1e6, unit="millions", rolling=0):
        for suffix, color, lab, ls in (("a", ca, f"A: {name_a}", "-"),
                                       ("b", cb, f"B: {name_b}", "--")):
            if f"{col}_{suffix}" not in table:
                return
            y = table[f"{col}_{suffix}"].astype(float)
            if rolling:
                y = y.rolling(rolling, min_periods=rolling).sum()
            ax.plot(x, y / scale, color=color, lw=1.4, ls=ls, label=lab)
        names[ax] = title
        ax.set_ylabel(unit)

    pair(axes[0, 0], "members", "members + candidates")
    pair(axes[0, 1], "committed_members", "committed members (belief ≥ threshold)")
    pair(axes[0, 2], "exits", "voluntary exits, 12-month sum", scale=1e3, unit="thousands a year",
         rolling=12)
    ax = axes[1, 0]
    for col, lab in (("mean_trust_members", "members"), ("mean_trust_citizens", "non-members")):
        if f"{col}_a" in table:
            ax.plot(x, table[f"{col}_a"], color=ca, lw=1.3,
                    ls="-" if lab == "members" else ":", label=f"A, {lab}")
            ax.plot(x, table[f"{col}_b"], color=cb, lw=1.3,
                    ls="--" if lab == "members" else "-.", label=f"B, {lab}")
    names[ax] = "mean trust in the party"
    ax.set_ylim(0, 1)
    ax.legend(fontsize=6.5, frameon=False, loc="lower left", ncol=2)
    ax = axes[1, 1]
    for col, lab in (("members", "members + candidates"),
                     ("committed_members", "committed members")):
        if f"{col}_diff" in table:
            ax.plot(x, table[f"{col}_diff"] / 1e6, color=PALETTE[col], lw=1.4, label=lab)
    ax.axhline(0, color="black", lw=0.6)
    div = first_divergence(table)
    if div is not None:
        xd = int(div[:4]) + (int(div[5:7]) - 1) / 12
        ax.axvline(xd, color="0.3", lw=0.9, ls=":", label=f"first difference {div}")
    names[ax] = "difference B − A"
    ax.set_ylabel("millions")
    ax.legend(fontsize=6.5, frameon=False, loc="upper left")
    for a in (*axes[0], axes[1, 0], axes[1, 1]):
        a.set_xlabel("year")
        time_axis(a, float(x[0]), float(x[-1]) + 1 / 12, cls.markers(), cls.forecast_from)
        title(a, names.get(a, ""), fontsize=9)
    axes[0, 0].legend(fontsize=7, frameon=False, loc="upper left")
    # the crisis side by side: shares of each group, counts beside (linear)
    ax = axes[1, 2]
    ca_ = (ra.summary.get("forecast") or {}).get("crisis")
    cb_ = (rb.summary.get("forecast") or {}).get("crisis")
    if ca_ or cb_:
        rows = [(f"{who}, {side}", {s: (c or {}).get(f"{s}_{key}", 0.0) or 0.0 for s in SIDES})
                for key, who in (("members", "members"), ("nonmembers", "non-members"))
                for side, c in (("A", ca_), ("B", cb_))]
        date = (ca_ or cb_)["date"]
        crisis_bars(ax, rows, date, title_text=f"at the crisis ({date})")
        ax.title.set_fontsize(9)
    else:
        ax.axis("off")
        ax.text(0.5, 0.5, "no crisis event in these runs", ha="center", va="center")
    fig.suptitle(f"A = {name_a}   vs   B = {name_b}   (same seed: common random numbers)",
                 fontsize=10)
    fig.tight_layout()
    m = ra.manifest
    cap = (f"Model: allegiance {m['model']}; seed {m['seed']}, scale 1:{1 / m['scale']:,.0f}, "
           f"both runs. Grey band: out-of-sample forecast (1989–). First difference: "
           f"{div or 'none'}.")
    return save(fig, outdir, "comparison", cap)


def _dirname(prefix: str, name: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
    return f"{prefix}_{safe}"


def compare(a, b, out: str | Path, *, seed: int | None = None, scale: float | None = None,
            overrides: Overrides = (), overrides_a: Overrides = (), overrides_b: Overrides = (),
            threads: int | None = None, force: bool = False, figures: bool = True,
            progress=None, executor=None, branch: bool = True,
            snapshots: Iterable[str] = ()) -> dict[str, Any]:
    """Run A and B with common random numbers and write the comparison directory atomically.

    ``overrides`` apply to both scenarios, ``overrides_a`` / ``overrides_b`` to one side only
    (see :func:`run_pair`).

    Returns:
        dict with ``path``, ``a``/``b`` (results), ``table`` (DataFrame), ``differences``
        (rows of :func:`summary_differences`) and ``first_difference`` (date or None).
    """
    from .outdir import claim_output

    out = Path(out)
    with claim_output(out, force=force):  # checked and locked before the runs
        return _compare(a, b, out, seed=seed, scale=scale, overrides=overrides,
                        overrides_a=overrides_a, overrides_b=overrides_b, threads=threads,
                        force=force, figures=figures, progress=progress, executor=executor,
                        branch=branch, snapshots=snapshots)


def _compare(a, b, out: Path, *, seed, scale, overrides, overrides_a, overrides_b, threads,
             force, figures, progress, executor, branch, snapshots) -> dict[str, Any]:
    from .results import atomic_directory, dump_json, write_parquet

    ra, rb = run_pair(a, b, seed=seed, scale=scale, overrides=overrides,
                      overrides_a=overrides_a, overrides_b=overrides_b, threads=threads,
                      progress=progress, executor=executor, branch=branch,
                      snapshots=snapshots)
    table = comparison_table(ra, rb)
    diffs = summary_differences(ra, rb)
    div = first_divergence(table)
    name_a, name_b = ra.manifest["scenario_name"], rb.manifest["scenario_name"]
    with atomic_directory(out, force=force) as tmp:
        ra.save(tmp / _dirname("a", name_a), figures=figures)
        rb.save(tmp / _dirname("b", name_b), figures=figures)
        write_parquet(table, tmp / "comparison.parquet")
        compare_figure(ra, rb, table, tmp, name_a, name_b)
        dump_json({"a": name_a, "b": name_b, "seed": ra.manifest["seed"],
                   "scale": ra.manifest["scale"], "first_difference": div,
                   "differences": diffs}, tmp / "comparison.json")
    ra.path = out / _dirname("a", name_a)
    rb.path = out / _dirname("b", name_b)
    return {"path": out, "a": ra, "b": rb, "table": table, "differences": diffs,
            "first_difference": div}
