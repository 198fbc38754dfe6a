"""The Epstein tables of docs/CLASSIC.md: Model II (targets E6-E9, group composition) and Run 2's
outburst statistics by arrest rule and outburst definition.

    PYTHONPATH=src python benchmarks/epstein_tables.py TABLE [--seeds N] [--steps T]
    PYTHONPATH=src python benchmarks/epstein_tables.py --check docs/CLASSIC.md [--only T ...]

Each table in the doc sits between ``<!-- epstein_tables TABLE ARGS -->`` and
``<!-- /epstein_tables -->``; ``--check`` reruns every such block (or those named by ``--only``)
with its recorded arguments (``--only model2`` or ``--only "model2 --seeds 2"``: by name, or
by name and arguments as written) and prints a diff, exit status 1 if any differs; ``--write`` puts
the fresh tables into the file instead.
"""

from __future__ import annotations

import argparse
import difflib
import re
import shlex
import sys
from pathlib import Path

import numpy as np

import allegiance


def _runs(name, seeds, steps, **over):
    o = {"run.steps": steps, **over}
    return [allegiance.run(name, seed=s, overrides=o).summary["headline"] for s in seeds]


def _genocide_cells(hs, steps):
    t = [h["ticks_to_genocide"] for h in hs if h["genocide"]]
    surv = [h["survivor"] for h in hs if h["genocide"]]
    span = f"{np.mean(t):.0f} ({min(t)}-{max(t)})" if t else "-"
    return (f"{len(t)}/{len(hs)}", span, f"{surv.count('blue')} / {surv.count('green')}",
            f"{np.mean([h['kills'] for h in hs]):.0f}")


def model2(seeds, steps):
    """Model II's bundled runs: genocide, its timing, the victor, the killing."""
    rows = [("epstein2_coexist", {}), ("epstein2_genocide", {}), ("epstein2_nasty", {}),
            ("epstein2_withdrawal", {"events.withdrawal.enabled": False}),
            ("epstein2_withdrawal", {})]
    out = [f"| scenario ({steps} ticks) | genocide | tick of genocide, mean (min-max) | "
           "survivor Blue / Green | kills per run (mean) |", "|---|---|---|---|---|"]
    for name, over in rows:
        label = name + (" (cops kept)" if over else "")
        out.append(f"| `{label}` | " + " | ".join(_genocide_cells(
            _runs(name, seeds, steps, **over), steps)) + " |")
    return out


def peacekeeping(seeds, steps):
    """E9: ticks to genocide by cop density (runs without genocide count as ``steps``)."""
    out = [f"| cop density | genocide by tick {steps} | ticks to genocide, mean | s.d. |",
           "|---|---|---|---|"]
    for c in (0.0, 0.02, 0.04, 0.06, 0.08, 0.1):
        hs = _runs("epstein2_nasty", seeds, steps, **{"world.cop_density": c})
        t = [h["ticks_to_genocide"] for h in hs]
        out.append(f"| {c:g} | {sum(h['genocide'] for h in hs)}/{len(hs)} | "
                   f"{np.mean(t):.1f} | {np.std(t, ddof=1):.1f} |")
    return out


def composition(seeds, steps):
    """Group composition: the Blue share of citizens at L = 0.8, no cops."""
    out = ["| Blue share | genocide | tick of genocide, mean (min-max) | survivor Blue / Green "
           "| kills per run (mean) |", "|---|---|---|---|---|"]
    for b in (0.5, 0.6, 0.7, 0.8):
        out.append(f"| {b:g} | " + " | ".join(_genocide_cells(
            _runs("epstein2_genocide", seeds, steps, **{"world.blue_share": b}), steps)) + " |")
    return out


def run2(seeds, steps):
    """Run 2's outbursts by arrest rule, under both definitions (means over seeds' outbursts)."""
    out = ["| rule | definition | outbursts per run | waiting time (end to next start) | "
           "inter-arrival (start to start) | duration | total activation per outburst | peak |",
           "|---|---|---|---|---|---|---|---|"]

    def m(x):
        return f"{np.mean(x):.1f}" if len(x) else "-"

    for rule in ("printed", "rounded", "floored"):
        res = [allegiance.run("epstein_run2", seed=s, overrides={
            "run.steps": steps, "params.arrest_rule": rule}).summary["outburst_stats"]
            for s in seeds]
        for d in ("hysteresis", "threshold"):
            st = [r[d] for r in res]
            recs = [x for s in st for x in s["records"]]
            done = [x for x in recs if not x["censored"]]
            out.append(
                f"| {rule} | {d} | {m([s['count'] for s in st])} | "
                f"{m([w for s in st for w in s['waiting_times']])} | "
                f"{m([w for s in st for w in s['interarrival_times']])} | "
                f"{m([x['duration'] for x in done])} | "
                f"{m([x['total_activation'] for x in done])} | {m([x['peak'] for x in recs])} |")
    return out


TABLES = {"model2": (model2, 10, 600), "peacekeeping": (peacekeeping, 10, 1500),
          "composition": (composition, 10, 300), "run2": (run2, 5, 800)}


def make(name: str, argv: list[str]) -> str:
    fn, seeds, steps = TABLES[name]
    ap = argparse.ArgumentParser(prog=name)
    ap.add_argument("--seeds", type=int, default=seeds)
    ap.add_argument("--steps", type=int, default=steps)
    a = ap.parse_args(argv)
    return "\n".join(fn(range(1, a.seeds + 1), a.steps))


BLOCK = re.compile(r"(<!-- epstein_tables (\S+)(.*?) -->\n)(.*?)(<!-- /epstein_tables -->)",
                   re.S)


def check(path: Path, only: list[str] | None, write: bool) -> int:
    text = path.read_text()
    bad = 0

    def redo(mt):
        nonlocal bad
        name, args = mt.group(2), shlex.split(mt.group(3))
        if only and name not in only and f"{name}{mt.group(3)}" not in only:
            return mt.group(0)
        fresh = make(name, args) + "\n"
        if fresh != mt.group(4):
            bad += 1
            sys.stdout.writelines(difflib.unified_diff(
                mt.group(4).splitlines(True), fresh.splitlines(True), f"{path}:{name}",
                f"fresh:{name}"))
        return mt.group(1) + fresh + mt.group(5)

    new = BLOCK.sub(redo, text)
    if write:
        path.write_text(new)
    return 1 if bad and not write else 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("table", nargs="?", choices=sorted(TABLES))
    ap.add_argument("--check", type=Path)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--only", nargs="*")
    a, rest = ap.parse_known_args()
    if a.check:
        sys.exit(check(a.check, a.only, a.write))
    print(make(a.table, rest))
