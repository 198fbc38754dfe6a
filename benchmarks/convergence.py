"""Convergence of the CPSU model's key outputs with the number of agents (scale).

Runs ``cpsu`` at several scales and seeds (each run in its own process, so peak RSS is that
run's), then writes ``convergence.csv`` (one row per run) and a figure: each key output against
scale, one dot per seed, with the seed mean and min-max band.

    PYTHONPATH=src python benchmarks/convergence.py --out benchmarks/results/convergence \\
        --runs 1e-4:5 1e-3:3 1e-2:2 1e-1:1 1:1 --figure docs/figures
    PYTHONPATH=src python benchmarks/convergence.py --out benchmarks/results/convergence \\
        --figure docs/figures --redraw     # only redraw the figure from the kept runs

Each run's line in ``runs.jsonl`` records the allegiance version that ran it; ``about.json``
beside it the command and machine of the last call. The figure's caption (``caption``) says
which runs it shows; ``scripts/perf_tables.py`` puts the same caption and the table of these
runs into docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

KEYS = {
    "members_1989_01_01": ("headline", "members 1 Jan 1989 (millions)", 1e-6),
    "committed_members_1989_01_01": ("headline", "committed members 1 Jan 1989 (millions)", 1e-6),
    "exits_1990": ("forecast", "forecast exits during 1990 (millions)", 1e-6),
    "crisis_defenders_members": ("headline", "members defending at the crisis (thousands)",
                                 1e-3),
}

CHILD = """
import json, sys, time, allegiance
scale, seed = float(sys.argv[1]), int(sys.argv[2])
t = time.perf_counter()
c = time.process_time()
r = allegiance.run("cpsu", scale=scale, seed=seed, threads=%s)
m = r.manifest
out = {"scale": scale, "seed": seed, "allegiance_version": m["allegiance_version"],
       "wall_s": time.perf_counter() - t,
       "engine_s": m["wall_seconds"], "peak_rss_bytes": m["peak_rss_bytes"],
       # the fields of benchmarks/scale_run.py, so bench.py --add-run can take a run
       "wall_seconds": m["wall_seconds"], "wall_total": time.perf_counter() - t,
       "cpu": time.process_time() - c, "setup_seconds": m["setup_seconds"],
       "threads": m["threads"], "phase_seconds": m["phase_seconds"],
       "memory_estimate_bytes": m["memory_estimate_bytes"],
       "agent_steps": float((r.timeseries["population"] * scale).sum())}
for k in %r:
    src = r.summary["headline"] if k in r.summary["headline"] else r.summary["forecast"]
    out[k] = src.get(k)
print("RESULT " + json.dumps(out))
"""


def run_one(scale: float, seed: int, threads: int | None) -> dict:
    """One run in a fresh interpreter; returns its key outputs, wall time and peak RSS."""
    code = CHILD % (threads, list(KEYS))
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, "-c", code, str(scale), str(seed)], env=env,
                          capture_output=True, text=True, check=True)
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def figure(rows: list[dict], outdir: Path, about: dict | None = None) -> list[Path]:
    """Key outputs against agents per person: dots per seed, mean line, min-max band."""
    import numpy as np

    from allegiance.plotting import plt as _plt
    from allegiance.plotting import save

    plt = _plt()
    fig, axes = plt.subplots(2, 2, figsize=(8, 6))
    scales = sorted({r["scale"] for r in rows})
    for ax, (key, (_, label, k)) in zip(axes.flat, KEYS.items(), strict=True):
        means, lo, hi = [], [], []
        for s in scales:
            v = np.array([r[key] * k for r in rows if r["scale"] == s and r[key] is not None])
            ax.scatter(np.full(v.size, s), v, s=10, color="0.3", zorder=3)
            means.append(v.mean() if v.size else np.nan)
            lo.append(v.min() if v.size else np.nan)
            hi.append(v.max() if v.size else np.nan)
        ax.fill_between(scales, lo, hi, color="#92c5de", alpha=0.5, label="seed min-max")
        ax.plot(scales, means, color="#2166ac", lw=1.5, label="seed mean")
        ax.set_xscale("log")
        ax.set_title(label, fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("agents per person (scale)")
    fig.subplots_adjust(hspace=0.35, wspace=0.3)
    axes.flat[0].legend(fontsize=7, frameon=False)
    return save(fig, outdir, "cpsu_convergence", caption(rows, about))


def versions(rows: list[dict], about: dict | None) -> list[str]:
    """The allegiance versions that ran ``rows`` (rows written before 0.3.3 do not record
    theirs: ``about.json``'s ``rows_version`` says it)."""
    old = (about or {}).get("rows_version")
    return sorted({r.get("allegiance_version") or old or "unknown" for r in rows})


def caption(rows: list[dict], about: dict | None) -> str:
    """What the figure shows: which outputs, which runs, which version, from which file."""
    scales = sorted({r["scale"] for r in rows})
    seeds = ", ".join(f"1:{1 / s:,.0f} x{sum(1 for r in rows if r['scale'] == s)}"
                      for s in scales)
    return ("cpsu's members and committed members on 1 January 1989, forecast exits during 1990 "
            "and members defending at the August 1991 crisis against agents per person: one dot "
            f"per seed, the seeds' mean (line) and min-max (band); runs per scale {seeds}; "
            f"allegiance {', '.join(versions(rows, about))}; raw runs: "
            "benchmarks/results/convergence/runs.jsonl (benchmarks/convergence.py).")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", nargs="+", default=["1e-4:5", "1e-3:3", "1e-2:1"],
                    help="SCALE:SEEDS, e.g. 1e-3:3 (seeds 1..SEEDS)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/convergence"))
    ap.add_argument("--figure", type=Path, default=None, help="folder for the figure")
    ap.add_argument("--redraw", action="store_true",
                    help="run nothing: only rewrite the CSV and the figure from runs.jsonl")
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    jl = a.out / "runs.jsonl"
    done = [json.loads(x) for x in jl.read_text().splitlines()] if jl.exists() else []
    have = {(r["scale"], r["seed"]) for r in done}
    if not a.redraw:
        from _timing import about

        ab = a.out / "about.json"
        old = json.loads(ab.read_text()) if ab.exists() else {}
        keep = {k: old[k] for k in ("rows_version",) if k in old}
        ab.write_text(json.dumps({**keep, **about([sys.argv[0], *(sys.argv[1:] if argv is None
                                                                   else argv)])}, indent=1))
    for spec in ([] if a.redraw else a.runs):
        s, n = spec.split(":")
        for seed in range(1, int(n) + 1):
            if (float(s), seed) in have:
                continue  # resumable: finished runs are kept
            r = run_one(float(s), seed, a.threads)
            print(json.dumps(r), flush=True)
            with jl.open("a") as f:
                f.write(json.dumps(r) + "\n")
            done.append(r)
    import pandas as pd

    table = pd.DataFrame(done).drop(columns=["phase_seconds"], errors="ignore")
    table.sort_values(["scale", "seed"]).to_csv(a.out / "convergence.csv", index=False)
    if a.figure is not None:
        ab = a.out / "about.json"
        about_ = json.loads(ab.read_text()) if ab.exists() else None
        for p in figure(done, a.figure, about_):
            print("wrote", p)


if __name__ == "__main__":
    main()
