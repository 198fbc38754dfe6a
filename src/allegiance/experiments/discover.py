"""Scenario discovery: where in parameter space does a condition on the outcomes hold?

``allegiance discover RESULTS --where "crisis.defenders_members > 1e5"`` reads an experiment's
``runs.parquet`` (a sweep, an ``--assumed`` sensitivity analysis: any design; a Latin hypercube
covers the space best), marks the runs where the condition holds (the *cases of interest*) and
finds the boxes of parameter space that hold them:

* **PRIM** (Friedman & Fisher 1999, as in Bryant & Lempert 2010's scenario discovery): peel
  the box, a small share of the runs at a time, from the side that most raises the share of
  cases inside (*density*), then paste back what raises it again; the *peeling trajectory*
  trades *coverage* (the share of all cases inside the box) against density. The box reported
  is the one of highest coverage whose density reaches ``--density`` (default 0.8); its
  *restricted dimensions* are the parameters that matter for the condition, each with a
  quasi-p value (a one-sided binomial test of dropping that restriction).
  The implementation is the ``prim`` package (Project Platypus: the EMA workbench's PRIM
  module made a small package of its own, with peeling, pasting and quasi-p values), not the
  EMA workbench itself, which brings a simulation-model framework, an optimizer and a dozen
  heavy dependencies with it (docs/DEPENDENCIES.md).
* **CART** (scikit-learn's ``DecisionTreeClassifier``, shallow): a second opinion; each leaf
  where the condition mostly holds is a box of its own, with its coverage and density.

``--given`` restricts the runs first: ``--where "crisis.defenders_members > 1e5" --given
"fit.value < 0.1"`` asks, among the parameter sets that fit the membership data up to 1988,
where the party is defended.

Conditions are boolean expressions over the runs table's columns (outcomes and parameters),
read by a small parser (:func:`parse_where`): numbers, column names (dotted; a unique suffix
such as ``crisis.defenders_members`` names ``forecast.crisis.defenders_members``), arithmetic
``+ - * /``, comparisons (chained too), ``and``/``or``/``not`` (or ``&``/``|``/``~``) and
parentheses. Nothing else is evaluated.

Outputs (in ``RESULTS/discover/<slug>`` or ``--out``, written atomically): ``discover.json``
(the condition, counts, the PRIM box and the CART leaves), ``trajectory.parquet`` (the peeling
and pasting trajectory) and ``figures/prim_trajectory`` and ``figures/prim_box``.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import AllegianceError
from ..scenario import suggest

_CMP = {ast.Lt: "__lt__", ast.LtE: "__le__", ast.Gt: "__gt__", ast.GtE: "__ge__",
        ast.Eq: "__eq__", ast.NotEq: "__ne__"}
_BIN = {ast.Add: "__add__", ast.Sub: "__sub__", ast.Mult: "__mul__", ast.Div: "__truediv__"}


def _dotted(node: ast.AST) -> str | None:
    """``a.b.c`` of a Name/Attribute chain, else ``None``."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def resolve_column(name: str, columns: list[str]) -> str | None:
    """The column a name means: itself, or the one column ending in ``.name``."""
    if name in columns:
        return name
    hits = [c for c in columns if c.endswith("." + name)]
    if len(hits) > 1:
        raise AllegianceError(f"--where: '{name}' is ambiguous ({', '.join(hits)}); write "
                              "the whole name")
    return hits[0] if hits else None


def parse_where(expr: str, columns: list[str], option: str = "--where") -> tuple[
        Callable[[Any], Any], list[str]]:
    """A boolean condition over a table's columns, parsed without evaluating any code.

    Returns:
        ``(fn, names)``: ``fn(table)`` gives a boolean array (NaN compares false); ``names``
        the columns it reads.

    Raises:
        AllegianceError: a syntax error, something not allowed, or unknown columns (one line,
            naming them).
    """
    import numpy as np

    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as exc:
        raise AllegianceError(f"{option} {expr!r}: not an expression ({exc.msg}); e.g. "
                              "\"crisis.defenders_members > 1e5 and fit.value < 0.1\"") from None
    used: list[str] = []
    unknown: list[str] = []

    def check(node: ast.AST) -> None:
        name = _dotted(node)
        if name is not None:
            col = resolve_column(name, columns)
            if col is None:
                unknown.append(name)
            else:
                used.append(col)
            return
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                raise AllegianceError(f"{option} {expr!r}: {node.value!r}: allowed: numbers")
            return
        allowed = (ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
                   ast.Invert, ast.Compare, ast.BinOp, ast.BitAnd, ast.BitOr, *_CMP, *_BIN)
        if not isinstance(node, allowed):
            raise AllegianceError(
                f"{option} {expr!r}: {type(node).__name__.lower()} not allowed (allowed: "
                "numbers, column names, + - * /, comparisons, and/or/not, parentheses)")
        for child in ast.iter_child_nodes(node):
            check(child)

    check(tree.body)
    if unknown:
        hint = suggest(unknown[0], columns)
        raise AllegianceError(f"{option}: unknown column(s) {', '.join(map(repr, unknown))} "
                              f"({hint}columns: {', '.join(columns)})")

    def ev(node: ast.AST, t) -> Any:  # noqa: PLR0911 (one return per kind of node)
        name = _dotted(node)
        if name is not None:
            return t[resolve_column(name, columns)].to_numpy(dtype=np.float64)
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.BoolOp):
            vals = [np.asarray(ev(v, t), dtype=bool) for v in node.values]
            out = vals[0]
            for v in vals[1:]:
                out = (out & v) if isinstance(node.op, ast.And) else (out | v)
            return out
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand, t)
            if isinstance(node.op, ast.Not | ast.Invert):
                return ~np.asarray(v, dtype=bool)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp):
            a, b = ev(node.left, t), ev(node.right, t)
            if isinstance(node.op, ast.BitAnd | ast.BitOr):
                a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
                return (a & b) if isinstance(node.op, ast.BitAnd) else (a | b)
            with np.errstate(divide="ignore", invalid="ignore"):
                return getattr(np.asarray(a, dtype=np.float64), _BIN[type(node.op)])(b)
        if isinstance(node, ast.Compare):
            left = ev(node.left, t)
            out = np.ones(len(t), dtype=bool)
            for op, right in zip(node.ops, node.comparators, strict=True):
                r = ev(right, t)
                with np.errstate(invalid="ignore"):
                    out &= np.asarray(getattr(np.asarray(left, dtype=np.float64),
                                              _CMP[type(op)])(r), dtype=bool)
                left = r
            return out
        raise AllegianceError(f"{option} {expr!r}: cannot evaluate")  # pragma: no cover

    def fn(t) -> Any:
        v = ev(tree.body, t)
        if np.ndim(v) == 0 or np.asarray(v).dtype != bool:
            raise AllegianceError(f"{option} {expr!r}: not a condition (compare something, "
                                  "e.g. '> 1e5')")
        return np.asarray(v, dtype=bool)

    return fn, list(dict.fromkeys(used))


# ---------------------------------------------------------------------------------------------
# PRIM and CART


def prim_box(x, y, *, density: float = 0.8, peel_alpha: float = 0.05,
             paste_alpha: float = 0.05, mass_min: float = 0.05) -> dict[str, Any]:
    """The first PRIM box of cases ``y`` (booleans) in ``x`` (a DataFrame of parameters).

    Returns:
        ``trajectory`` (a DataFrame: step, coverage, density, mass, res_dim, chosen) and
        ``box``: the chosen step's coverage, density, mass and restricted dimensions
        (``[{"parameter", "low", "high", "qp"}]``, by quasi-p value).
    """
    import logging

    import numpy as np
    import pandas as pd
    import prim

    logging.getLogger("prim").setLevel(logging.WARNING)
    names = list(x.columns)
    xx = pd.DataFrame({f"p{i}": x[n].to_numpy(dtype=np.float64) for i, n in enumerate(names)})
    p = prim.Prim(xx, np.asarray(y, dtype=bool), peel_alpha=peel_alpha,
                  paste_alpha=paste_alpha, mass_min=mass_min)
    box = p.find_box()
    traj = box.peeling_trajectory.reset_index(drop=True).rename(columns={"res dim": "res_dim"})
    traj = traj.astype(float)
    traj.insert(0, "step", np.arange(len(traj)))
    ok = traj.index[traj["density"] >= density - 1e-12]
    best = (int(traj.loc[ok, "coverage"].idxmax()) if len(ok)
            else int(traj["density"].idxmax()))
    # among equal coverage, the densest (the later step)
    same = traj.index[(traj["coverage"] == traj.loc[best, "coverage"])
                      & (traj["density"] >= traj.loc[best, "density"])]
    best = int(same.max())
    traj["chosen"] = traj["step"] == best
    box.select(best)
    lims = box.limits
    restricted = []
    for col, r in lims.iterrows():
        j = int(str(col)[1:])
        restricted.append({"parameter": names[j], "low": float(r["min"]),
                           "high": float(r["max"]), "qp": float(r["qp values"])})
    row = traj.loc[best]
    return {"trajectory": traj,
            "box": {"step": best, "coverage": float(row["coverage"]),
                    "density": float(row["density"]), "mass": float(row["mass"]),
                    "restricted": restricted}}


def cart_boxes(x, y, *, max_depth: int = 3, min_leaf: float = 0.05, seed: int = 0
               ) -> dict[str, Any]:
    """A shallow classification tree of ``y`` on ``x``: its leaves as boxes (limits on the
    parameters split on), each with its coverage and density; leaves where the condition
    mostly holds first, by coverage."""
    import numpy as np
    from sklearn.tree import DecisionTreeClassifier, export_text

    names = list(x.columns)
    xv = x.to_numpy(dtype=np.float64)
    yv = np.asarray(y, dtype=bool)
    leaf = max(2, int(np.ceil(min_leaf * len(yv))))
    tree = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=leaf, random_state=seed)
    tree.fit(xv, yv)
    t = tree.tree_
    total = int(yv.sum())
    leaves: list[dict[str, Any]] = []

    def walk(node: int, limits: dict[str, list[float]]) -> None:
        if t.children_left[node] == -1:
            inside = _in_limits(xv, names, limits)
            n_in, cases = int(inside.sum()), int(yv[inside].sum())
            leaves.append({"limits": [{"parameter": k, "low": v[0], "high": v[1]}
                                      for k, v in limits.items()],
                           "runs": n_in, "cases": cases,
                           "coverage": cases / total if total else float("nan"),
                           "density": cases / n_in if n_in else float("nan")})
            return
        name, thr = names[t.feature[node]], float(t.threshold[node])
        lo, hi = limits.get(name, [-np.inf, np.inf])
        walk(t.children_left[node], {**limits, name: [lo, min(hi, thr)]})
        walk(t.children_right[node], {**limits, name: [max(lo, thr), hi]})

    walk(0, {})
    leaves.sort(key=lambda r: (-(r["density"] >= 0.5), -r["coverage"]))
    return {"max_depth": max_depth, "min_samples_leaf": leaf,
            "accuracy": float(tree.score(xv, yv)),
            "rules": export_text(tree, feature_names=names, show_weights=True),
            "leaves": leaves}


def _in_limits(xv, names: list[str], limits: dict[str, list[float]]):
    import numpy as np

    inside = np.ones(len(xv), dtype=bool)
    for k, (lo, hi) in limits.items():
        j = names.index(k)
        inside &= (xv[:, j] > lo) & (xv[:, j] <= hi)
    return inside


# ---------------------------------------------------------------------------------------------
# The command


def load_experiment(results: str | Path) -> tuple[Any, list[str], dict[str, tuple[float, float]],
                                                  dict[str, Any]]:
    """An experiment's ok runs, its varied parameters, their ranges and ``experiment.json``."""
    import pandas as pd

    d = Path(results)
    if not (d / "runs.parquet").is_file() or not (d / "experiment.json").is_file():
        raise AllegianceError(f"'{d}' is not a finished experiment (no runs.parquet and "
                              "experiment.json: run `allegiance sweep` or `sensitivity` first)")
    meta = json.loads((d / "experiment.json").read_text())
    runs = pd.read_parquet(d / "runs.parquet")
    runs = runs[runs["status"] == "ok"].reset_index(drop=True)
    params = [p for p in meta.get("parameters") or [] if p in runs]
    if not params:
        raise AllegianceError(f"'{d}': the experiment varies no parameter; nothing to discover")
    spec_params = (meta.get("spec") or {}).get("parameters") or {}
    ranges = {}
    for p in params:
        v = spec_params.get(p)
        if isinstance(v, dict) and "low" in v:
            ranges[p] = (float(v["low"]), float(v["high"]))
        else:
            ranges[p] = (float(runs[p].min()), float(runs[p].max()))
    return runs, params, ranges, meta


def slug(text: str) -> str:
    """A directory name for a condition."""
    s = re.sub(r"[^A-Za-z0-9.]+", "_", text).strip("_")
    return s[:80] or "condition"


def discover(results: str | Path, where: str, *, given: str | None = None,
             out: str | Path | None = None, force: bool = False, density: float = 0.8,
             peel_alpha: float = 0.05, mass_min: float = 0.05, cart_depth: int = 3,
             figures: bool = True) -> tuple[Path, dict[str, Any]]:
    """Find the boxes of parameter space where ``where`` holds (among runs where ``given``
    holds); returns ``(output directory, report)``."""
    from ..results import atomic_directory, dump_json, write_parquet

    runs, params, ranges, meta = load_experiment(results)
    columns = list(runs.columns)
    cond, used = parse_where(where, columns)
    n_all = len(runs)
    if given:
        keep, _ = parse_where(given, columns, "--given")
        runs = runs[keep(runs)].reset_index(drop=True)
    y = cond(runs)
    n, cases = len(runs), int(y.sum())
    if n < 10:
        raise AllegianceError(f"--given {given!r}: {n} runs left; discovery needs at least 10"
                              if given else f"{n} ok runs; discovery needs at least 10")
    if cases in (0, n):
        raise AllegianceError(f"--where {where!r}: holds in {'no' if cases == 0 else 'every'} "
                              f"run of {n}{' (given ' + given + ')' if given else ''}; there is "
                              "no boundary to discover")
    x = runs[params]
    pr = prim_box(x, y, density=density, peel_alpha=peel_alpha, mass_min=mass_min)
    ct = cart_boxes(x, y, max_depth=cart_depth)
    for r in pr["box"]["restricted"]:
        r["range"] = list(ranges[r["parameter"]])
    report = {"results": str(results), "experiment": meta.get("name"),
              "scenario": (meta.get("spec") or {}).get("scenario"), "where": where,
              "given": given, "columns_used": used, "runs": n_all, "runs_given": n,
              "cases": cases, "base_density": cases / n, "parameters": params,
              "density_target": density, "prim": pr["box"], "cart": ct}
    outdir = Path(out) if out is not None else Path(results) / "discover" / slug(
        where + (f"_given_{given}" if given else ""))
    with atomic_directory(outdir, force=force) as tmp:
        write_parquet(pr["trajectory"], tmp / "trajectory.parquet")
        dump_json(report, tmp / "discover.json")
        if figures:
            draw(pr, ranges, report, tmp / "figures")
    return outdir, report


def draw(pr: dict[str, Any], ranges: dict[str, tuple[float, float]], report: dict[str, Any],
         outdir: Path) -> list[Path]:
    """The peeling trajectory (coverage against density) and the chosen box."""
    import numpy as np

    from ..plotting import plt as _plt
    from ..plotting import save

    plt = _plt()
    traj, box = pr["trajectory"], pr["box"]
    cond = report["where"] + (f"  (given {report['given']})" if report["given"] else "")
    fig, ax = plt.subplots(figsize=(6, 4.2))
    sc = ax.scatter(traj["coverage"], traj["density"], c=traj["res_dim"], cmap="viridis", s=14)
    ax.plot(traj["coverage"], traj["density"], color="#bbb", lw=0.6, zorder=0)
    ax.scatter([box["coverage"]], [box["density"]], s=90, facecolors="none",
               edgecolors="#b2182b", lw=1.5, label=f"chosen box (step {box['step']})")
    from matplotlib.ticker import MaxNLocator

    fig.colorbar(sc, ax=ax, label="restricted dimensions", ticks=MaxNLocator(integer=True))
    ax.set_xlabel("coverage (share of the cases inside the box)")
    ax.set_ylabel("density (share of the box's runs that are cases)")
    ax.set_title(cond, fontsize=8)
    ax.legend(fontsize=7, frameon=False)
    cap = (f"allegiance discover: PRIM peeling and pasting trajectory over {report['runs_given']} "
           f"runs of {report['experiment']}, {report['cases']} cases; the chosen box is the "
           f"largest with density >= {report['density_target']:g} (the densest if none "
           "reaches it).")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    paths = save(fig, outdir, "prim_trajectory", cap)

    res = box["restricted"]
    fig, ax = plt.subplots(figsize=(6.5, 0.5 + 0.42 * max(1, len(res))))
    for i, r in enumerate(res):
        lo, hi = ranges[r["parameter"]]
        span = (hi - lo) or 1.0
        a, b = (max(r["low"], lo) - lo) / span, (min(r["high"], hi) - lo) / span
        ax.barh(i, 1.0, left=0.0, color="#eee", height=0.6)
        ax.barh(i, b - a, left=a, color="#2166ac", height=0.6)
        ax.text(1.01, i, f"{r['low']:.3g} .. {r['high']:.3g}  (qp {r['qp']:.1g})",
                va="center", fontsize=6)
    ax.set_yticks(np.arange(len(res)), [r["parameter"] for r in res], fontsize=7)
    ax.set_xlim(0, 1.45)
    ax.set_xticks([0, 0.5, 1], ["low", "middle", "high"])
    ax.invert_yaxis()
    ax.set_title(f"{cond}: coverage {box['coverage']:.2f}, density {box['density']:.2f}",
                 fontsize=8)
    cap = ("allegiance discover: the PRIM box, each restricted parameter's limits within its "
           "range (grey), with quasi-p values.")
    fig.tight_layout(rect=(0, 0.12 if len(res) < 4 else 0.05, 1, 1))
    return paths + save(fig, outdir, "prim_box", cap)
