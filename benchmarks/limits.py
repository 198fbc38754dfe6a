"""How fast can a 1:1 run be on this machine? A floor from the memory work the model's month
cannot avoid, priced with this machine's measured bandwidth and scattered-access costs.

    PYTHONPATH=src python benchmarks/limits.py --threads 1 2 --out benchmarks/results

Every month the model changes every adult's belief and trust (M4 ritual, M6 legitimacy), adds
every adult's trust to its workplace's sum, and, once all sums are complete, moves every
adult's trust towards its workplace's mean (M7); it also takes the stocks and finds next
month's deaths. The mean needs the complete sums, so any implementation passes over the
adults at least twice a month, and each agent-month moves at least:

* pass 1 (``adults``): alive, birth, status, cell, belief, trust read; belief, trust written
  (24 bytes), and one scattered read-modify-write of its workplace's sum (461,500 workplaces
  at 1:1, 8 bytes each: 3.7 MB, more than the L2 cache);
* pass 2 (``learning``): alive, birth, death, cell, belief, trust read; trust written (21
  bytes), and one scattered read of its workplace's sum.

Measured here, best of ``--repeat`` (a floor takes the machine at its best): a STREAM-style
copy (GB/s), and on ``--agents`` synthetic agents in uniformly random workplaces, a loop that
reads each agent's workplace and reads (``gather``) or adds to (``scatter``, one table per
thread) that workplace's sum, each with and without prefetch hints (the better is used); these
include streaming ``cell``. The floor per agent-month is (45 − 2 × 4 bytes of ``cell``) / copy
bandwidth + gather + scatter; times the agent-months of a 1:1 run (``--agent-months``, from
``cpsu_1to1_*.json``) it is a floor for the run's wall time: the members' phases, the
applications, admissions, demography and the bookkeeping come on top. Prints a table and
writes ``limits.json``.
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


#: bytes per agent-month the two passes must stream besides ``cell`` (module docstring)
STREAM_BYTES = 45 - 2 * 4
#: per pass: (bytes streamed besides ``cell``, its scattered access)
PASSES = {"adults": (24 - 4, "scatter"), "learning": (21 - 4, "gather")}


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
    res["floor_ns"] = res["stream_ns"] + res["gather"] + res["scatter"]
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
                    help="a 1:1 run's scale_run.py JSON: compare its adults and learning "
                         "passes with their floors")
    a = ap.parse_args(argv)
    args = sys.argv[1:] if argv is None else argv
    res = {"command": "PYTHONPATH=src python benchmarks/limits.py " + " ".join(args),
           "agents": a.agents, "cells": a.cells, "agent_months": a.agent_months, "threads": {}}
    lines = ["| threads | STREAM copy GB/s | 37 B streamed | scattered read | scattered add "
             "| floor per agent-month | floor of a 1:1 run |", "|---|---|---|---|---|---|---|"]
    for t in a.threads:
        r = measure(t, a.agents, a.cells, a.repeat)
        r["floor_1to1_s"] = r["floor_ns"] * 1e-9 * a.agent_months
        res["threads"][t] = r
        lines.append(f"| {t} | {r['copy_gb_s']:.1f} | {r['stream_ns']:.2f} ns | "
                     f"{r['gather']:.2f} ns | {r['scatter']:.2f} ns | {r['floor_ns']:.2f} ns | "
                     f"{r['floor_1to1_s']:,.0f} s ({r['floor_1to1_s'] / 60:.1f} min) |")
    md = (f"Best of {a.repeat}; {a.agents:,} agents in {a.cells:,} workplaces; ns per "
          f"agent-month; a 1:1 run = {a.agent_months:.3g} agent-months.\n\n"
          + "\n".join(lines) + "\n")
    if a.run is not None:
        run = json.loads(a.run.read_text())
        t = run["threads"] if run["threads"] in res["threads"] else max(res["threads"])
        r = res["threads"][t]
        res["run"] = {"file": str(a.run), "commit": run.get("commit"), "threads": t}
        rows = ["", f"{a.run.name} ({run['threads']} threads; floors on {t}):", "",
                "| pass | ns per agent-step in the run | floor | % of floor |", "|---|---|---|---|"]
        for ph, (nb, kind) in PASSES.items():
            got = run["phase_seconds"][ph] / run["agent_steps"] * 1e9
            fl = nb / r["copy_gb_s"] + r[kind]
            res["run"][ph] = {"ns": got, "floor_ns": fl}
            rows.append(f"| `{ph}` | {got:.2f} | {fl:.2f} | {100 * fl / got:.0f} % |")
        got = run["wall_seconds"] / run["agent_steps"] * 1e9
        rows.append(f"| whole run | {got:.2f} | {r['floor_ns']:.2f} | "
                    f"{100 * r['floor_ns'] / got:.0f} % |")
        md += "\n".join(rows) + "\n"
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "limits.json").write_text(json.dumps(res, indent=1))
    print(md)


if __name__ == "__main__":
    main()
