"""Epstein (2002) civil violence: allegiance vs Mesa 3.5's example, same parameters and rule.

Run through ``run.sh`` (it builds the Mesa environment). Two parts:

* ``equivalence``: N seeds of each at 40x40; per run the mean and peak number of actives, the
  number of outbursts and the jailed at the end; the two samples side by side with two-sample
  Kolmogorov-Smirnov and Mann-Whitney U tests.
* ``speed``: agent-steps per second of each at 40x40, 200x200 and 400x400 (same densities),
  medians of several runs in this session, and the ratio (*warm process*: each side already
  imported and, for allegiance, its kernels loaded); then the *fresh-process* ratio: each side
  runs the same ticks in a new interpreter, timed from outside, imports, numba cache loading
  (or compiling, if the cache is cold) and setup included.

Settings (grid, densities, vision, legitimacy, Jmax, ticks) come from ``compare_params``'s
defaults (Run 2), a TOML file (``--settings benchmarks/vs_mesa/settings_example.toml``) and
flags (``--cop-density 0.074 --legitimacy 0.8 --grid 40 --steps 200 --sizes 40,200``); the
settings used are written into the results JSON.

Mesa's example: ``mesa.examples.advanced.epstein_civil_violence`` (Mesa 3.5.1). Settings shared
by both sides (defaults): citizen density 0.7, cop density 0.04, L = 0.82, Jmax = 30, k = 2.3,
T = 0.1, vision 7 von Neumann (Mesa's OrthogonalVonNeumannGrid neighbourhood of radius 7: 112
cells),
arrest rule round(C/A) (Python's round), jailed citizens keep their cell, movement on, all
agents activated in a fresh random order each tick, each cell independently a citizen, a cop
or empty (Bernoulli placement).

An outburst (same definition as ``allegiance.models.classic.epstein.count_outbursts``) starts
when the actives reach 5 % of the citizens and ends when they fall under 2.5 %.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent / "results"
sys.path.insert(0, str(HERE))
from compare_params import PARAMS, add_flags, settings  # noqa: E402


def count_outbursts(active, n_citizens, hi=0.05, lo=0.025):
    """Outbursts: up-crossings of ``hi`` x citizens, ended by falling under ``lo`` x citizens."""
    inside, count = False, 0
    for v in active:
        if not inside and v >= hi * n_citizens:
            inside, count = True, count + 1
        elif inside and v < lo * n_citizens:
            inside = False
    return count


GRID = [40]  # equivalence lattice side (set from --grid)


def mesa_model(size: int, seed: int):
    from mesa.examples.advanced.epstein_civil_violence.model import (
        EpsteinCivilViolence,
        EpsteinScenario,
    )

    p = PARAMS
    sc = EpsteinScenario(citizen_density=p["citizen_density"], cop_density=p["cop_density"],
                         citizen_vision=p["vision"], cop_vision=p["vision"],
                         legitimacy=p["legitimacy"], max_jail_term=p["max_jail_term"],
                         active_threshold=0.1, arrest_prob_constant=2.3, movement=True,
                         max_iters=10**9, activation_order="Random", grid_type="Von Neumann",
                         rng=seed)
    return EpsteinCivilViolence(width=size, height=size, scenario=sc)


def mesa_equivalence_run(seed: int, steps: int) -> dict:
    from mesa.examples.advanced.epstein_civil_violence.agents import Citizen

    m = mesa_model(GRID[0], seed)
    active, jailed = [m.ACTIVE], [m.ARRESTED]
    for _ in range(steps):
        m.step()
        active.append(m.ACTIVE)
        jailed.append(m.ARRESTED)
    return {"seed": seed, "citizens": len(m.agents_by_type[Citizen]), "active": active,
            "jailed": jailed}


def metrics(run: dict) -> dict:
    a = np.asarray(run["active"], dtype=float)
    return {"mean_active": float(a.mean()), "peak_active": float(a.max()),
            "outbursts": count_outbursts(a, run["citizens"]),
            "jailed_at_end": float(run["jailed"][-1])}


def allegiance_side(py: str, job: dict) -> dict:
    p = subprocess.run([py, str(HERE / "allegiance_side.py"), json.dumps(job)],
                       capture_output=True, text=True, check=False)
    if p.returncode != 0:
        sys.exit(f"allegiance side failed:\n{p.stderr}")
    return json.loads(p.stdout)


def equivalence(args) -> dict:
    seeds = list(range(1, args.seeds + 1))
    t = time.perf_counter()
    mesa_runs = [mesa_equivalence_run(s, args.steps) for s in seeds]
    mesa_s = time.perf_counter() - t
    al = allegiance_side(args.allegiance_python, {"what": "equivalence", "seeds": seeds,
                                                  "steps": args.steps, "params": PARAMS,
                                                  "grid": args.grid})
    rows = []
    mm = [metrics(r) for r in mesa_runs]
    aa = [metrics(r) for r in al["runs"]]
    print(f"## Equivalence: {args.seeds} seeds x {args.steps} ticks, {args.grid}x{args.grid}, "
          f"{PARAMS}")
    print("| metric | Mesa 3.5.1 mean (sd) | allegiance mean (sd) | KS p | Mann-Whitney p |")
    print("|---|---|---|---|---|")
    for k in mm[0]:
        x = np.array([d[k] for d in mm])
        y = np.array([d[k] for d in aa])
        ks = stats.ks_2samp(x, y).pvalue
        mw = stats.mannwhitneyu(x, y, alternative="two-sided").pvalue
        rows.append({"metric": k, "mesa_mean": x.mean(), "mesa_sd": x.std(ddof=1),
                     "allegiance_mean": y.mean(), "allegiance_sd": y.std(ddof=1),
                     "ks_p": ks, "mannwhitney_p": mw})
        print(f"| {k} | {x.mean():.2f} ({x.std(ddof=1):.2f}) | {y.mean():.2f} "
              f"({y.std(ddof=1):.2f}) | {ks:.3f} | {mw:.3f} |")
    print(f"wall: Mesa {mesa_s:.0f} s, allegiance {al['wall_seconds']:.1f} s")
    return {"params": PARAMS, "seeds": args.seeds, "steps": args.steps, "table": rows,
            "mesa_wall_s": mesa_s, "allegiance_wall_s": al["wall_seconds"],
            "mesa_metrics": mm, "allegiance_metrics": aa}


def speed(args) -> dict:
    sizes = [int(s) for s in args.sizes.split(",")]
    mesa_steps = dict(zip(sizes, [int(s) for s in args.mesa_steps.split(",")], strict=True))
    al_steps = dict(zip(sizes, [int(s) for s in args.allegiance_steps.split(",")], strict=True))
    reps = dict(zip(sizes, [int(s) for s in args.reps.split(",")], strict=True))
    mesa_rows = []
    for size in sizes:
        for rep in range(reps[size]):
            m = mesa_model(size, rep + 1)
            m.step()  # warm-up: Mesa caches each cell's neighbourhood on first use
            t = time.perf_counter()
            for _ in range(mesa_steps[size]):
                m.step()
            secs = time.perf_counter() - t
            n = len(m.agents)
            mesa_rows.append({"size": size, "rep": rep, "steps": mesa_steps[size], "agents": n,
                              "seconds": secs, "agent_steps_per_s": n * mesa_steps[size] / secs})
            print(f"mesa {size}x{size} rep {rep}: {mesa_rows[-1]['agent_steps_per_s']:,.0f} "
                  "agent-steps/s", file=sys.stderr, flush=True)
    al = allegiance_side(args.allegiance_python, {
        "what": "speed", "sizes": [[s, al_steps[s]] for s in sizes], "reps": max(reps.values()),
        "params": PARAMS})
    print(f"## Speed: agent-steps per second, medians of runs (Mesa runs per size {reps}, "
          f"allegiance {max(reps.values())}), {PARAMS}")
    print("| lattice | agents | Mesa 3.5.1 | allegiance (1 thread) | ratio |")
    print("|---|---|---|---|---|")
    table = []
    for size in sizes:
        ms = statistics.median(r["agent_steps_per_s"] for r in mesa_rows if r["size"] == size)
        a = statistics.median(r["agent_steps_per_s"] for r in al["rows"] if r["size"] == size)
        n = statistics.median(r["agents"] for r in al["rows"] if r["size"] == size)
        table.append({"size": size, "agents": n, "mesa": ms, "allegiance": a, "ratio": a / ms})
        print(f"| {size}x{size} | {n:,.0f} | {ms:,.0f} | {a:,.0f} | {a / ms:,.0f}x |")
    fresh = fresh_process(args, sizes, mesa_steps)
    return {"params": PARAMS, "reps": reps, "mesa_steps": mesa_steps,
            "allegiance_steps": al_steps, "table": table, "mesa_rows": mesa_rows,
            "allegiance_rows": al["rows"], "fresh_process": fresh}


def _timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, check=False)
    secs = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"{cmd[:2]} failed:\n{p.stderr}")
    return secs


def fresh_process(args, sizes, steps) -> list[dict]:
    """Wall seconds of one run of each side in a new interpreter, the same ticks on both."""
    print("## Fresh process: one run of the same ticks in a new interpreter, wall seconds "
          "timed from outside (imports, kernel loading and setup included)")
    print("| lattice | ticks | Mesa 3.5.1 s | allegiance s | ratio |")
    print("|---|---|---|---|---|")
    rows = []
    for size in sizes:
        job = {"size": size, "steps": steps[size], "seed": 1, "params": PARAMS}
        ms = _timed([sys.executable, str(HERE / "mesa_fresh.py"), json.dumps(job)])
        al = _timed([args.allegiance_python, str(HERE / "allegiance_side.py"),
                     json.dumps({**job, "what": "fresh"})])
        rows.append({"size": size, "steps": steps[size], "mesa_s": ms, "allegiance_s": al,
                     "ratio": ms / al})
        print(f"| {size}x{size} | {steps[size]} | {ms:.2f} | {al:.2f} | {ms / al:,.1f}x |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["equivalence", "speed", "all"])
    ap.add_argument("--allegiance-python", default="python3")
    ap.add_argument("--seeds", type=int, default=30)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--sizes", default="40,200,400")
    ap.add_argument("--mesa-steps", default="20,3,2")
    ap.add_argument("--allegiance-steps", default="500,100,50")
    ap.add_argument("--reps", default="3,3,1",
                    help="Mesa runs per size (allegiance does the largest number at each size)")
    ap.add_argument("--grid", type=int, default=40, help="lattice side of the equivalence runs")
    ap.add_argument("--results", type=Path, default=RESULTS,
                    help="directory of the JSON results (default benchmarks/results)")
    add_flags(ap)
    args = ap.parse_args()
    PARAMS.clear()
    PARAMS.update(settings(args))
    GRID[0] = args.grid
    import mesa

    args.results.mkdir(parents=True, exist_ok=True)
    for part in (["equivalence", "speed"] if args.what == "all" else [args.what]):
        res = {"equivalence": equivalence, "speed": speed}[part](args)
        res["mesa_version"] = mesa.__version__
        res["settings"] = dict(PARAMS)
        res["command"] = " ".join(sys.argv)
        (args.results / f"epstein_vs_mesa_{part}.json").write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
