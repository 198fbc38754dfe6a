"""Which assumptions carry the conclusion: the screening and discovery tables of
docs/VALIDATION.md (issue 20), from the committed Morris screening of every assumed cpsu
parameter (``calibration/morris_cpsu``, written by ``benchmarks/morris_cpsu.py``) and a Latin
hypercube over the same ranges (``calibration/lhs_cpsu``, by ``allegiance sweep cpsu
--assumed``).

    PYTHONPATH=src python scripts/assumptions_table.py            # print the blocks
    PYTHONPATH=src python scripts/assumptions_table.py --write    # put them into VALIDATION.md
    PYTHONPATH=src python scripts/assumptions_table.py --check    # exit 1 if VALIDATION.md differs

Nothing is run here: the tables are read from ``calibration/morris_cpsu/sensitivity.parquet``
(Morris mu*, sigma) and, for discovery, PRIM and CART on ``calibration/lhs_cpsu/runs.parquet``
(``allegiance discover calibration/lhs_cpsu --where ...`` gives the same boxes). To redo the
runs themselves (each ~10-25 min on 2 cores at 1:10,000, by the machine's load)::

    PYTHONPATH=src python benchmarks/morris_cpsu.py --trajectories 8 --workers 2 \\
        --out calibration/morris_cpsu --json benchmarks/results/morris_cpsu.json
    allegiance sweep cpsu --assumed --samples 400 --scale 1e-4 --workers 2 \\
        --out calibration/lhs_cpsu     # then remove its index.jsonl and timeseries/
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

RESULTS = ROOT / "calibration" / "morris_cpsu"
COMMAND = "PYTHONPATH=src python scripts/assumptions_table.py --write"
#: headline outcomes and how to name them in the table
OUTCOMES = {
    "forecast.crisis.defenders_members": "defenders among members, Aug 1991",
    "forecast.crisis.opponents_nonmembers": "opponents among non-members, Aug 1991",
    "headline.committed_members_1989_01_01": "committed members, 1 Jan 1989",
    "attitudes.mean_belief_members_1989_01_01": "members' mean belief, 1 Jan 1989",
    "attitudes.mean_trust_adults_1989_01_01": "adults' mean trust, 1 Jan 1989",
    "forecast.exits_1990": "formal exits during 1990",
    "fit.value": "fit to membership <= 1988 (rmse log)",
}
TOP = 5
#: Sobol indices of the parameters the screening ranked first
SOBOL = ROOT / "calibration" / "sobol_cpsu_top4"
SOBOL_COMMAND = ("allegiance sensitivity cpsu --assumed --method sobol --screening "
                 "calibration/morris_cpsu --top 4 --samples 32 --scale 1e-4 --workers 2 "
                 "--out calibration/sobol_cpsu_top4")
#: the sample discovery reads: a Latin hypercube over the same ranges
LHS = ROOT / "calibration" / "lhs_cpsu"
LHS_COMMAND = ("allegiance sweep cpsu --assumed --samples 400 --scale 1e-4 --workers 2 "
               "--out calibration/lhs_cpsu")
#: the discovery questions: (label, where, given)
DEFENDED = "crisis.defenders_members > 1e5"
SOME = "crisis.defenders_members > 2e4"
FIT = "fit.value < 0.1"
QUESTIONS = [
    ("more than 100,000 members defend the party in August 1991", DEFENDED, None),
    ("more than 20,000 members (two agents at this scale) defend it", SOME, None),
    ("the model fits the membership data up to 1988 within 0.1 (rmse of log)", FIT, None),
    ("among the parameter sets that fit history, more than 20,000 members defend it", SOME,
     FIT),
    ("among the parameter sets that fit history, more than 100,000 defend it", DEFENDED, FIT),
]
#: fewer cases than this: no box is reported (PRIM would describe noise)
MIN_CASES = 10
#: a restriction whose quasi-p value is at least this is listed only by count
QP = 0.05
REMEDIES = ("levers.theory_study", "levers.contact", "levers.criticism",
            "levers.history_education")


def _fmt(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 1e4 else f"{v:,.0f}"


def screening_block() -> str:
    import pandas as pd

    from allegiance.experiments.sensitivity import short_name

    info = json.loads((RESULTS / "sensitivity.json").read_text())
    spec = json.loads((RESULTS / "experiment.json").read_text())["spec"]
    seed = spec["seed"]
    crn = ("every point with the same seed (common random numbers)"
           if spec.get("common_random_numbers") else "each run with its own seed")
    t = pd.read_parquet(RESULTS / "sensitivity.parquet")
    lines = [f"Morris screening of all {len(info['parameters'])} ranged (assumed) parameters of "
             f"`cpsu.toml` (`[ranges]`): {info['trajectories']} trajectories on "
             f"{info['levels']} levels, {info['runs']} runs 1917-1991 at scale "
             f"1:{1 / info['scale']:,.0f}, root seed {seed}, {crn}. "
             "mu* = mean absolute elementary effect (in the outcome's units, over the "
             "parameter's whole range), ± its bootstrap interval; sigma = their spread "
             "(sigma well above mu*: the effect depends on the other parameters). At this "
             "scale one agent is 10,000 persons.", "",
             f"| outcome | the {TOP} parameters that move it most: mu* ± interval (sigma) |",
             "|---|---|"]
    for o, label in OUTCOMES.items():
        s = t[t["outcome"] == o]
        if s.empty:
            continue
        top = s.nlargest(TOP, "mu_star")
        cells = "; ".join(f"`{short_name(r.parameter)}` {_fmt(r.mu_star)} ± "
                          f"{_fmt(r.mu_star_conf)} ({_fmt(r.sigma)})" for r in top.itertuples())
        if float(s["mu_star"].max()) == 0:
            cells = "no parameter moves it at this scale (mu* = 0 for all)"
        lines.append(f"| {label} | {cells} |")
    ranks = _overall(t)
    lines += ["", f"Over all these outcomes (each parameter's largest mu*, each outcome's scaled "
              f"by its largest), the {len(ranks)} parameters ranked first: "
              + ", ".join(f"`{p}`" for p in ranks) + ". Those ranked last can be fixed at "
              "their values without changing these outcomes much: "
              + ", ".join(f"`{p}`" for p in _overall(t, last=True)) + "."]
    return "\n".join(lines) + "\n"


def sobol_block() -> str:
    import pandas as pd

    from allegiance.experiments.sensitivity import short_name

    if not (SOBOL / "sensitivity.parquet").is_file():
        return f"No Sobol analysis committed yet (`{SOBOL_COMMAND}`, then `{COMMAND}`).\n"
    info = json.loads((SOBOL / "sensitivity.json").read_text())
    t = pd.read_parquet(SOBOL / "sensitivity.parquet")
    params = list(dict.fromkeys(t["parameter"]))
    lines = [f"Sobol indices of the {len(params)} parameters the screening ranked first over "
             f"all outcomes (`{SOBOL_COMMAND}`): Saltelli's design with "
             f"{info['base_samples']} base samples, {info['runs']} runs, the other "
             "parameters at the scenario's values, common random numbers. S1 = the share of "
             "the outcome's variance a parameter explains alone, ST = with its interactions "
             f"(± the {info['conf_level']:.0%} bootstrap half-width; with {info['base_samples']} "
             "base samples the intervals are wide: a first look).", "",
             "| outcome | across the runs | "
             + " | ".join(f"`{short_name(p)}` S1 / ST" for p in params) + " |",
             "|---|---|" + "---|" * len(params)]
    runs = pd.read_parquet(SOBOL / "runs.parquet")
    for o, name in OUTCOMES.items():
        sub = t[t["outcome"] == o].set_index("parameter")
        if sub.empty:
            continue
        label = f"{name} | {_fmt(runs[o].min())} to {_fmt(runs[o].max())}"
        if sub[["S1", "ST"]].isna().all().all():
            lines.append(f"| {label} | " + " | ".join("no variance" for _ in params) + " |")
            continue
        cells = [f"{sub.loc[p, 'S1']:.2f} ± {sub.loc[p, 'S1_conf']:.2f} / "
                 f"{sub.loc[p, 'ST']:.2f} ± {sub.loc[p, 'ST_conf']:.2f}" for p in params]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _overall(t, n: int = 8, last: bool = False) -> list[str]:
    from allegiance.experiments.sensitivity import ranking

    sub = t[t["outcome"].isin(OUTCOMES)]
    r = ranking(sub)
    return r[-n:] if last else r[:n]


def discovery_block() -> str:
    import numpy as np

    from allegiance.experiments.discover import cart_boxes, load_experiment, parse_where, prim_box

    if not (LHS / "runs.parquet").is_file():
        return (f"No discovery sample committed yet (`{LHS_COMMAND}`, then "
                f"`{COMMAND}`).\n")
    runs, params, ranges, meta = load_experiment(LHS)
    cols = list(runs.columns)
    spec = meta["spec"]
    d = runs["forecast.crisis.defenders_members"].to_numpy(dtype=float)
    f = runs["fit.value"].to_numpy(dtype=float)
    q = np.nanpercentile
    lines = [f"PRIM (the largest box of density >= 0.8, peeling 5 %) and CART (depth 3, leaves "
             f"of >= 5 % of the runs) on the {len(runs)} runs of a Latin hypercube over the "
             f"same {len(params)} ranges (`{LHS_COMMAND}`: scale 1:"
             f"{1 / spec['scale']:,.0f}, root seed {spec['seed']}, each run its own seed); "
             f"`allegiance discover calibration/lhs_cpsu --where ...` gives the same boxes. "
             f"Across these runs, defenders among members in August 1991: median "
             f"{q(d, 50):,.0f}, 90th percentile {q(d, 90):,.0f}, largest {np.nanmax(d):,.0f}; "
             f"fit to membership up to 1988 (rmse of log): median {q(f, 50):.3g}, 10th "
             f"percentile {q(f, 10):.3g}, best {np.nanmin(f):.3g} (the calibrated point at this "
             f"scale: about 0.06). A box that restricts one of the §5.1 remedies says that "
             f"remedy changes whether the condition holds.", ""]
    for label, where, given in QUESTIONS:
        cond = f"`{where}`" + (f" given `{given}`" if given else "")
        sub = runs
        if given:
            keep, _ = parse_where(given, cols, "--given")
            sub = runs[keep(runs)].reset_index(drop=True)
        fn, _ = parse_where(where, cols)
        y = fn(sub)
        n, k = len(sub), int(y.sum())
        head = f"* **{label}** ({cond}): holds in {k} of {n} runs" + (
            f" ({k / n:.0%})" if n else "")
        if k < MIN_CASES or n - k < MIN_CASES:
            lines.append(f"{head}: too few {'cases' if k < MIN_CASES else 'runs without it'} "
                         f"(< {MIN_CASES}) for a box.")
            continue
        pr = prim_box(sub[params], y)["box"]
        ct = cart_boxes(sub[params], y)
        strong = [r for r in pr["restricted"] if r["qp"] < QP]
        dims = "; ".join(f"`{r['parameter']}` {r['low']:.3g} to {r['high']:.3g} (of "
                         f"{ranges[r['parameter']][0]:.3g} to {ranges[r['parameter']][1]:.3g}, "
                         f"qp {r['qp']:.1g})" for r in strong) or "none"
        weak = [r["parameter"] for r in pr["restricted"] if r["qp"] >= QP]
        rem = [f"`{r['parameter']}`" + ("" if r["qp"] < QP else " (qp >= 0.05)")
               for r in pr["restricted"] if r["parameter"] in REMEDIES]
        lines.append(f"{head}. PRIM box: coverage {pr['coverage']:.2f}, density "
                     f"{pr['density']:.2f}, {len(pr['restricted'])} parameters restricted; "
                     f"with quasi-p < {QP:g}: {dims}"
                     + (f"; {len(weak)} more with quasi-p >= {QP:g} (not distinguishable from "
                        "chance at this sample size)" if weak else "")
                     + f". Remedies restricted: {', '.join(rem) or 'none'}.")
        good = [lf for lf in ct["leaves"] if lf["density"] >= 0.5]
        if good:
            lf = good[0]
            lim = ", ".join(f"`{x['parameter']}` {_side(x)}" for x in lf["limits"]) or \
                "everywhere"
            lines.append(f"  CART's best leaf: coverage {lf['coverage']:.2f}, density "
                         f"{lf['density']:.2f}: {lim}.")
        else:
            lines.append("  CART: no leaf where it mostly holds.")
    return "\n".join(lines) + "\n"


def _side(x: dict) -> str:
    import math

    lo, hi = x["low"], x["high"]
    if math.isinf(lo):
        return f"<= {hi:.3g}"
    if math.isinf(hi):
        return f"> {lo:.3g}"
    return f"{lo:.3g} to {hi:.3g}"


def main(argv: list[str] | None = None) -> int:
    from allegiance import odd

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args(argv)
    if not (RESULTS / "sensitivity.parquet").is_file():
        print(f"{RESULTS}: no screening results; run benchmarks/morris_cpsu.py first",
              file=sys.stderr)
        return 1
    blocks = {"assumptions-screening": screening_block(),
              "assumptions-sobol": sobol_block(),
              "assumptions-discovery": discovery_block()}
    if not (a.write or a.check):
        for b in blocks.values():
            print(b + "\n")
        return 0
    return odd.write_blocks(ROOT / "docs" / "VALIDATION.md", blocks, a.check, COMMAND)


if __name__ == "__main__":
    sys.exit(main())
