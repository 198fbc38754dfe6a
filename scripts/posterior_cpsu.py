"""The CPSU posterior: parameter bands from the ABC-SMC calibration, and the fit and forecast
of runs drawn from it (issue 15, item 6).

    allegiance calibrate calibration/cpsu_abc.toml --out calibration/cpsu_abc   # the posterior
    PYTHONPATH=src python scripts/posterior_cpsu.py                # print the tables
    PYTHONPATH=src python scripts/posterior_cpsu.py --write        # put them into VALIDATION.md
    PYTHONPATH=src python scripts/posterior_cpsu.py --check        # exit 1 if VALIDATION differs

The parameter table is read from ``calibration/cpsu_abc/calibration.json`` (committed). The
predictive table reruns the whole period (1917–1991) for ``--draws`` particles drawn by their
ABC weights (a generator seeded by ``--seed``), each with its own seed, at ``--scale``; the
draws are independent of the thread count, so the table is the same on any machine.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

CAL = ROOT / "calibration" / "cpsu_abc"
COMMAND = "PYTHONPATH=src python scripts/posterior_cpsu.py --write"
#: the forecast quantities reported (summary.json names), and the fit's
FORECAST = ("members_1990_01_01", "members_1991_07_01", "exits_1990", "disengaged_1990",
            "lapsed_members_1991_07_01", "committed_members_1991_07_01")


def _q(xs, q):
    import numpy as np

    return float(np.quantile(np.asarray(xs, dtype=float), q))


def _band(xs, digits: int = 3, millions: bool = False) -> str:
    k = 1e6 if millions else 1.0
    lo, mid, hi = (_q(xs, q) / k for q in (0.05, 0.5, 0.95))
    return f"{mid:.{digits}f} ({lo:.{digits}f} – {hi:.{digits}f})"


def load() -> tuple[dict, dict]:
    """(the calibration report with its uniform priors as ``prior``, the calibration spec)."""
    cal = json.loads((CAL / "calibration.json").read_text())
    spec = json.loads((CAL / "experiment.json").read_text())["spec"]
    cal["prior"] = {n: (r["low"], r["high"]) for n, r in spec["parameters"].items()}
    return cal, spec


def parameters(cal: dict) -> str:
    """The posterior of each calibrated parameter, and how the sampler went."""
    spec_prior = cal["prior"]
    lines = ["| parameter | prior (uniform) | posterior median (5 % – 95 %) | best fit |",
             "|---|---|---|---:|"]
    for name, p in cal["posterior"].items():
        lo, hi = spec_prior[name]
        lines.append(f"| `{name}` | [{lo:g}, {hi:g}] | {p['q50']:.4g} ({p['q05']:.4g} – "
                     f"{p['q95']:.4g}) | {cal['best_fit']['parameters'][name]:.4g} |")
    gens = cal["generations"]
    hist = ", ".join(f"{g['tolerance']:.3f} ({g['acceptance']:.2f})" for g in gens)
    return (f"ABC-SMC (Lenormand et al. 2013) with {cal['runs']} runs in {len(gens)} "
            f"generations, {cal['particles_kept']} particles kept; distance: "
            f"{cal['distance']} (the rmse over the points inside the run); final tolerance "
            f"{gens[-1]['tolerance']:.3f}, best {cal['best_fit']['distance']:.3f}. Tolerance "
            f"(acceptance) by generation: {hist}.\n\n" + "\n".join(lines) + "\n")


def predictive(spec: dict, draws: int, scale: float, seed: int) -> str:
    """Fit and forecast of ``draws`` runs with parameters drawn from the posterior."""
    import numpy as np
    import pandas as pd

    import allegiance

    parts = pd.read_parquet(CAL / "particles.parquet")
    names = [c for c in parts.columns if c not in ("run_id", "distance", "weight")]
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(parts), size=draws, p=parts["weight"] / parts["weight"].sum())
    # the calibration's own overrides (the fewer eras), but the whole period, not its end
    fixed = {k: v for k, v in spec["set"].items() if k != "run.end"}
    rows = []
    for k, j in enumerate(pick):
        over = {**fixed, **{n: float(parts.iloc[j][n]) for n in names}}
        r = allegiance.run("cpsu", scale=scale, seed=seed * 1000 + k, threads=1, overrides=over)
        fit = r.summary["fit"]
        crisis = r.summary["forecast"].get("crisis") or {}
        rows.append({"fit": fit["value"], "fit_pre1941": fit.get("value_before_1941"),
                     "fit_from1941": fit.get("value_from_1941"),
                     **{q: r.summary["forecast"][q] for q in FORECAST},
                     "defenders": (crisis.get("defenders_members") or 0.0)
                     + (crisis.get("defenders_nonmembers") or 0.0),
                     "opponents": (crisis.get("opponents_members") or 0.0)
                     + (crisis.get("opponents_nonmembers") or 0.0)})
    df = pd.DataFrame(rows)
    lines = ["| quantity | median (5 % – 95 %) over the draws |", "|---|---:|",
             f"| fit: rmse log members to 1988 | {_band(df['fit'])} |"]
    for col, label in (("fit_pre1941", "fit before 1941"), ("fit_from1941", "fit from 1941")):
        if df[col].notna().all():
            lines.append(f"| {label} | {_band(df[col])} |")
    for q in FORECAST:
        lines.append(f"| {q} (millions) | {_band(df[q], 2, millions=True)} |")
    lines.append(f"| crisis: defenders, all (millions) | {_band(df['defenders'], 3, True)} |")
    lines.append(f"| crisis: opponents, all (millions) | {_band(df['opponents'], 2, True)} |")
    return (f"`{COMMAND}` ({draws} draws from the posterior by weight, seeds "
            f"{seed * 1000}–{seed * 1000 + draws - 1}, 1:{1 / scale:,.0f}, 1917–1991).\n\n"
            + "\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    from allegiance import odd

    ap = odd.blocks_parser(__doc__.splitlines()[0], ROOT / "docs" / "VALIDATION.md")
    ap.add_argument("--draws", type=int, default=20)
    ap.add_argument("--scale", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args(argv)
    cal, spec = load()
    blocks = {"posterior-parameters": parameters(cal),
              "posterior-predictive": predictive(spec, a.draws, a.scale, a.seed)}
    return odd.emit_blocks(a, blocks, COMMAND)


if __name__ == "__main__":
    sys.exit(main())
