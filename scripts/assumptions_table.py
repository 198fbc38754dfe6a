"""Which assumptions carry the conclusion: the screening and discovery tables of
docs/VALIDATION.md (issue 20), from the committed Morris screening of every assumed cpsu
parameter (``calibration/morris_cpsu``, written by ``benchmarks/morris_cpsu.py``).

    PYTHONPATH=src python scripts/assumptions_table.py            # print the blocks
    PYTHONPATH=src python scripts/assumptions_table.py --write    # put them into VALIDATION.md
    PYTHONPATH=src python scripts/assumptions_table.py --check    # exit 1 if VALIDATION.md differs

Nothing is run here: the tables are read from ``calibration/morris_cpsu/sensitivity.parquet``
(Morris mu*, sigma) and, for discovery, PRIM and CART on that directory's ``runs.parquet``
(``allegiance discover calibration/morris_cpsu --where ...`` gives the same boxes). To redo the
screening itself (~15 min on 2 cores at 1:10,000)::

    PYTHONPATH=src python benchmarks/morris_cpsu.py --trajectories 8 --workers 2 \\
        --out calibration/morris_cpsu --json benchmarks/results/morris_cpsu.json
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
#: the discovery questions: (label, where, given)
FIT = "fit.value < 0.1"
QUESTIONS = [
    ("the party is defended: more than 100,000 members defend it in August 1991",
     "crisis.defenders_members > 1e5", None),
    ("the model fits the membership data up to 1988 within 0.1 (rmse of log)", FIT, None),
    ("among the parameter sets that fit history, the party is defended",
     "crisis.defenders_members > 1e5", FIT),
]


def _fmt(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 1e4 else f"{v:,.0f}"


def screening_block() -> str:
    import pandas as pd

    from allegiance.experiments.sensitivity import short_name

    info = json.loads((RESULTS / "sensitivity.json").read_text())
    seed = json.loads((RESULTS / "experiment.json").read_text())["spec"]["seed"]
    t = pd.read_parquet(RESULTS / "sensitivity.parquet")
    lines = [f"Morris screening of all {len(info['parameters'])} ranged (assumed) parameters of "
             f"`cpsu.toml` (`[ranges]`): {info['trajectories']} trajectories on "
             f"{info['levels']} levels, {info['runs']} runs 1917-1991 at scale "
             f"1:{1 / info['scale']:,.0f}, root seed {seed}. "
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
    return "\n".join(lines)


def _overall(t, n: int = 8, last: bool = False) -> list[str]:
    from allegiance.experiments.sensitivity import ranking

    sub = t[t["outcome"].isin(OUTCOMES)]
    r = ranking(sub)
    return r[-n:] if last else r[:n]


def discovery_block() -> str:
    from allegiance.errors import AllegianceError
    from allegiance.experiments.discover import cart_boxes, load_experiment, parse_where, prim_box

    runs, params, ranges, _ = load_experiment(RESULTS)
    cols = list(runs.columns)
    lines = [f"PRIM (density >= 0.8, peeling 5 %) and CART (depth 3) on the {len(runs)} runs "
             "of the screening above (`allegiance discover calibration/morris_cpsu --where "
             "...`). A Morris design is made of one-at-a-time steps on a 4-level grid, not a "
             "space-filling sample: these boxes are a first look; an `lhs` sweep over the same "
             "ranges is the better sample for discovery.", ""]
    for label, where, given in QUESTIONS:
        cond = f"`{where}`" + (f" given `{given}`" if given else "")
        sub = runs
        if given:
            keep, _ = parse_where(given, cols, "--given")
            sub = runs[keep(runs)].reset_index(drop=True)
        try:
            fn, _ = parse_where(where, cols)
        except AllegianceError as exc:
            lines.append(f"* **{label}** ({cond}): {exc}")
            continue
        y = fn(sub)
        n, k = len(sub), int(y.sum())
        head = f"* **{label}** ({cond}): holds in {k} of {n} runs ({k / n:.0%})" if n else \
            f"* **{label}** ({cond}): no run left"
        if n < 10 or k in (0, n):
            lines.append(head + ": no boundary to discover." if n else head + ".")
            continue
        pr = prim_box(sub[params], y)["box"]
        ct = cart_boxes(sub[params], y)
        dims = "; ".join(f"`{r['parameter']}` {r['low']:.3g} to {r['high']:.3g} (of "
                         f"{ranges[r['parameter']][0]:.3g} to {ranges[r['parameter']][1]:.3g}, "
                         f"qp {r['qp']:.1g})" for r in pr["restricted"]) or "none"
        lines.append(f"{head}. PRIM box: coverage {pr['coverage']:.2f}, density "
                     f"{pr['density']:.2f}, {len(pr['restricted'])} restricted: {dims}.")
        good = [lf for lf in ct["leaves"] if lf["density"] >= 0.5]
        if good:
            lf = good[0]
            lim = ", ".join(f"`{x['parameter']}` {_side(x)}" for x in lf["limits"]) or \
                "everywhere"
            lines.append(f"  CART's best leaf: coverage {lf['coverage']:.2f}, density "
                         f"{lf['density']:.2f}: {lim}.")
        else:
            lines.append("  CART: no leaf where it mostly holds.")
    return "\n".join(lines)


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
              "assumptions-discovery": discovery_block()}
    if not (a.write or a.check):
        for b in blocks.values():
            print(b + "\n")
        return 0
    return odd.write_blocks(ROOT / "docs" / "VALIDATION.md", blocks, a.check, COMMAND)


if __name__ == "__main__":
    sys.exit(main())
