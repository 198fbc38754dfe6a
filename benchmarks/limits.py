"""How fast can a 1:1 run be on this machine? A floor from the memory work the model's month
cannot avoid, priced with this machine's measured bandwidth and scattered-access costs.

    PYTHONPATH=src python benchmarks/limits.py --threads 1 2 --out benchmarks/results

Every month the model changes every adult's belief and trust (M4 ritual, M6 legitimacy),
moves every adult's trust towards its workplace's mean (M7), and adds every agent's trust to
its workplace's sum; it also takes the stocks and finds next month's deaths. Since issue 18,
M7 learns from **last month's** workplace means (``run.m7_order = "synchronous"``), so one
pass over the agents does it all, and each agent-month moves at least:

* alive, birth, death, status, cell, uid, disposition, belief, trust read; belief, trust
  written (31 bytes), and one scattered read-modify-write into the table of workplace sums
  (461,500 workplaces at 1:1: last month's sum read and next month's added, which can sit side
  by side in one cache line; 8 bytes each, 3.7 MB per table, more than the L2 cache).

With ``run.m7_order = "sequential"`` (the month before issue 18, kept for one release) the
mean needs the complete sums of this month, so two passes: ``adults`` (the same minus death
and uid: 25 bytes, one scattered add) and ``learning`` (alive, birth, death, cell, belief,
trust read; trust written: 21 bytes, one scattered read).

Measured here, best of ``--repeat`` (a floor takes the machine at its best): a STREAM-style
copy (GB/s), and on ``--agents`` synthetic agents in uniformly random workplaces, a loop that
reads each agent's workplace and reads (``gather``) or adds to (``scatter``, one table per
thread) that workplace's sum, each with and without prefetch hints (the better is used); these
include streaming ``cell``. The floor per agent-month is the bytes other than ``cell`` at the
copy bandwidth plus the scattered accesses: (31 − 4) B + a scatter for the one-pass month,
(46 − 2 × 4) B + a gather + a scatter for the sequential one. Times the agent-months of a 1:1
run (``--agent-months``, from ``cpsu_1to1_*.json``) it is a floor for the run's wall time:
the members' phases, the applications, admissions, demography and the bookkeeping come on
top. Prints a table and writes ``limits.json``; with ``--run``, a run's passes against their
floors (the month of the run's M7 order, known from its phases).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from _timing import call_times

#: agent-months of a 1:1 run (benchmarks/results/cpsu_1to1_0.3.1.json: agent_steps)
AGENT_MONTHS_1TO1 = 1.8385e11
#: workplaces at 1:1 (CpsuModel.n_cells at scale 1)
N_CELLS_1TO1 = 461_500


def kernels():
    from numba import njit, prange

    from allegiance.mechanisms._common import prefetch_read, prefetch_write

    @njit(parallel=True, cache=False)
    def gather(lanes, cell, tab, out, ahead):
        for lane in prange(lanes.shape[0] - 1):
            s = 0
            hi = lanes[lane + 1]
            for i in range(lanes[lane], hi):
                if ahead > 0:
                    prefetch_read(tab, cell[min(i + ahead, hi - 1)])
                s += tab[cell[i]]
            out[lane, 0] = s

    @njit(parallel=True, cache=False)
    def scatter(lanes, cell, tabs, ahead):
        for lane in prange(lanes.shape[0] - 1):
            t = tabs[lane]
            hi = lanes[lane + 1]
            for i in range(lanes[lane], hi):
                if ahead > 0:
                    prefetch_write(t, cell[min(i + ahead, hi - 1)])
                t[cell[i]] += 1

    @njit(parallel=True, cache=False)
    def copy(a, c):
        for i in prange(a.shape[0]):
            c[i] = a[i]

    return gather, scatter, copy


def _best(f, *args, repeat: int) -> float:
    return min(call_times(f, *args, repeat=repeat))


#: per M7 order, per pass of the month: (bytes streamed besides ``cell``, its scattered
#: accesses) — module docstring
MONTHS = {"synchronous": {"adults": (31 - 4, ("scatter",))},
          "sequential": {"adults": (25 - 4, ("scatter",)), "learning": (21 - 4, ("gather",))}}
#: bytes per agent-month the one-pass month must stream besides ``cell``
STREAM_BYTES = sum(nb for nb, _ in MONTHS["synchronous"].values())
#: the passes of the default (one-pass) month
PASSES = MONTHS["synchronous"]


def floor_of(r: dict, passes: dict) -> float:
    """ns per agent-month of ``passes`` with the measurements ``r``."""
    return sum(nb / r["copy_gb_s"] + sum(r[k] for k in kinds) for nb, kinds in passes.values())


def measure(threads: int, n: int, n_cells: int, repeat: int) -> dict:
    """Best-of-``repeat`` copy bandwidth and scattered costs (ns per agent) on ``threads``."""
    import numba

    numba.set_num_threads(threads)
    gather, scatter, copy = kernels()
    rng = np.random.default_rng(0)
    cell = rng.integers(0, n_cells, n).astype(np.int32)
    lanes = np.linspace(0, n, threads + 1).astype(np.int64)
    tabs = np.zeros((threads, n_cells), np.int64)
    out = np.zeros((threads, 1), np.int64)
    res = {}
    for ahead in (0, 128):
        res[f"gather_{ahead}"] = _best(gather, lanes, cell, tabs[0], out, ahead,
                                       repeat=repeat) / n * 1e9
        res[f"scatter_{ahead}"] = _best(scatter, lanes, cell, tabs, ahead,
                                        repeat=repeat) / n * 1e9
    a = np.ones(n // 2)
    c = np.zeros(n // 2)
    res["copy_gb_s"] = 16 * (n // 2) / _best(copy, a, c, repeat=repeat) / 1e9
    res["gather"] = min(res["gather_0"], res["gather_128"])
    res["scatter"] = min(res["scatter_0"], res["scatter_128"])
    res["stream_ns"] = STREAM_BYTES / res["copy_gb_s"]
    res["floor_ns"] = floor_of(res, MONTHS["synchronous"])
    res["floor_sequential_ns"] = floor_of(res, MONTHS["sequential"])
    return res


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--agents", type=int, default=60_000_000)
    ap.add_argument("--cells", type=int, default=N_CELLS_1TO1)
    ap.add_argument("--agent-months", type=float, default=AGENT_MONTHS_1TO1)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    ap.add_argument("--run", type=Path, default=None,
                    help="a 1:1 run's scale_run.py JSON: compare its passes over everyone "
                         "with their floors")
    a = ap.parse_args(argv)
    args = sys.argv[1:] if argv is None else argv
    res = {"command": "PYTHONPATH=src python benchmarks/limits.py " + " ".join(args),
           "agents": a.agents, "cells": a.cells, "agent_months": a.agent_months, "threads": {}}
    lines = [f"| threads | STREAM copy GB/s | {STREAM_BYTES} B streamed | scattered read | "
             "scattered add | floor per agent-month: one pass | floor of a 1:1 run | "
             "sequential M7 (two passes): per agent-month | 1:1 run |",
             "|---|---|---|---|---|---|---|---|---|"]
    for t in a.threads:
        r = measure(t, a.agents, a.cells, a.repeat)
        r["floor_1to1_s"] = r["floor_ns"] * 1e-9 * a.agent_months
        r["floor_sequential_1to1_s"] = r["floor_sequential_ns"] * 1e-9 * a.agent_months
        res["threads"][t] = r
        lines.append(f"| {t} | {r['copy_gb_s']:.1f} | {r['stream_ns']:.2f} ns | "
                     f"{r['gather']:.2f} ns | {r['scatter']:.2f} ns | {r['floor_ns']:.2f} ns | "
                     f"{r['floor_1to1_s']:,.0f} s ({r['floor_1to1_s'] / 60:.1f} min) | "
                     f"{r['floor_sequential_ns']:.2f} ns | "
                     f"{r['floor_sequential_1to1_s'] / 60:.1f} min |")
    md = (f"Best of {a.repeat}; {a.agents:,} agents in {a.cells:,} workplaces; ns per "
          f"agent-month; a 1:1 run = {a.agent_months:.3g} agent-months.\n\n"
          + "\n".join(lines) + "\n")
    if a.run is not None:
        run = json.loads(a.run.read_text())
        t = run["threads"] if run["threads"] in res["threads"] else max(res["threads"])
        r = res["threads"][t]
        res["run"] = {"file": str(a.run), "commit": run.get("git_commit") or run.get("commit"),
                      "threads": t}
        order = "sequential" if "learning" in run["phase_seconds"] else "synchronous"
        res["run"]["m7_order"] = order
        rows = ["", f"{a.run.name} ({run['threads']} threads, M7 {order}; floors on {t}):", "",
                "| pass | ns per agent-step in the run | floor | % of floor |", "|---|---|---|---|"]
        for ph, (nb, kinds) in MONTHS[order].items():
            got = run["phase_seconds"][ph] / run["agent_steps"] * 1e9
            fl = floor_of(r, {ph: (nb, kinds)})
            res["run"][ph] = {"ns": got, "floor_ns": fl}
            rows.append(f"| `{ph}` | {got:.2f} | {fl:.2f} | {100 * fl / got:.0f} % |")
        got = run["wall_seconds"] / run["agent_steps"] * 1e9
        whole = floor_of(r, MONTHS[order])
        rows.append(f"| whole run | {got:.2f} | {whole:.2f} | {100 * whole / got:.0f} % |")
        md += "\n".join(rows) + "\n"
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "limits.json").write_text(json.dumps(res, indent=1))
    print(md)


if __name__ == "__main__":
    main()
