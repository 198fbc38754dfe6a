"""The Epstein tables of the docs: in docs/CLASSIC.md Model II (targets E6-E9, group
composition) and Run 2's outburst statistics by arrest rule and outburst definition; in
docs/VALIDATION.md ("Epstein (2002)") Model I's Runs 1-5 against the published patterns and the
replication in data/classic_model_targets.csv (rows E1, E3, E4, E5).

    PYTHONPATH=src python benchmarks/epstein_tables.py TABLE [--seeds N] [--steps T]
    PYTHONPATH=src python benchmarks/epstein_tables.py --check docs/CLASSIC.md [--only T ...]
    PYTHONPATH=src python benchmarks/epstein_tables.py --check docs/VALIDATION.md --write

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


def _actives(name, seed, steps, **over):
    ts = allegiance.run(name, seed=seed, overrides={"run.steps": steps, **over}).timeseries
    return ts


def _seeds(seeds) -> str:
    return f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"


def _span(v, fmt="{:.0f}"):
    lo, hi = min(v), max(v)
    return fmt.format(lo) if lo == hi else f"{fmt.format(lo)}-{fmt.format(hi)}"


def run1(seeds, steps):
    """Run 1: actives over t = 100..steps; how often aggrieved citizens act, with and without a
    cop in sight; and the same runs without movement."""
    out = [f"| seed | actives t=100-{steps} mean (min-max) | active share of aggrieved citizens "
           "seeing a cop | ... seeing none |", "|---|---|---|---|"]
    cop, none, means, lo, hi = [], [], [], [], []
    for s in seeds:
        r = allegiance.run("epstein_run1", seed=s, overrides={"run.steps": steps})
        a = r.timeseries["active"].to_numpy()[100:]
        h = r.summary["headline"]
        cop.append(h["active_share_aggrieved_seeing_cops"])
        none.append(h["active_share_aggrieved_seeing_no_cops"])
        means.append(a.mean())
        lo.append(a.min())
        hi.append(a.max())
        out.append(f"| {s} | {a.mean():.1f} ({a.min()}-{a.max()}) | {cop[-1]:.3f} | "
                   f"{none[-1]:.3f} |")
    frozen = []
    for s in list(seeds)[:3]:
        a = _actives("epstein_run1", s, steps, **{"params.movement": False})["active"]
        frozen.append(_span(a.to_numpy()[100:]))
    seen = ("always active" if min(none) == 1 else
            f"active {_span([100 * x for x in none])} % of the time")
    out += ["", f"Aggrieved citizens with a cop in sight are quiet "
            f"{_span([100 * (1 - x) for x in cop])} % of the time; with none in sight they are "
            f"{seen}. Over t = 100-{steps} the seeds' actives range over {min(lo)}-{max(hi)} "
            f"(mean of the seeds' means {sum(means) / len(means):.1f}). Without movement "
            f"(`--set params.movement=false`, {_seeds(seeds[:3])}) the actives "
            f"from t = 100 on are {', '.join(frozen)}."]
    return out


def run2_rules(seeds, steps):
    """Run 2 by arrest rule: outbursts (hysteresis rule), median and peak actives."""
    out = [f"| rule | outbursts per run ({_seeds(seeds)}) | median actives | "
           "peak actives (mean) |", "|---|---|---|---|"]
    for rule in ("rounded", "printed", "floored"):
        res = [allegiance.run("epstein_run2", seed=s, overrides={
            "run.steps": steps, "params.arrest_rule": rule}) for s in seeds]
        n = [r.summary["headline"]["outbursts"] for r in res]
        med = np.mean([np.median(r.timeseries["active"]) for r in res])
        peak = np.mean([r.summary["headline"]["peak_active"] for r in res])
        out.append(f"| {rule} | {n} | {med:.1f} | {peak:.0f} |")
    return out


def run2_von_neumann(seeds, steps):
    """Run 2 with Mesa's cop density 0.074 and von Neumann vision: outbursts and peaks."""
    parts, total = [], 0
    for rule in ("rounded", "printed", "floored"):
        hs = [allegiance.run("epstein_run2", seed=s, overrides={
            "run.steps": steps, "params.arrest_rule": rule, "world.cop_density": 0.074,
            "params.neighbourhood": "von_neumann"}).summary["headline"] for s in seeds]
        total += sum(h["outbursts"] for h in hs)
        parts.append(f"{', '.join(str(h['peak_active']) for h in hs)} {rule}")
    runs = 3 * len(seeds)
    said = "no run has an outburst under any rule" if total == 0 else (
        f"the {runs} runs have {total} outbursts in all")
    return [f"With cop density 0.074 and the von Neumann vision (Mesa's default grid) {said} "
            f"({_seeds(seeds)}, {steps} ticks; peak actives {'; '.join(parts)}):"]


def salami_jump(seeds, steps):
    """Runs 3-4: peak actives and jailed at the end, the salami decline against the jump."""
    rows = []
    for s in seeds:
        a = allegiance.run("epstein_salami", seed=s, overrides={"run.steps": steps})
        b = allegiance.run("epstein_jump", seed=s, overrides={"run.steps": steps})
        a, b = a.summary["headline"], b.summary["headline"]
        rows.append((a["peak_active"], b["peak_active"], a["final_jailed"], b["final_jailed"]))
    sp, jp, sj, jj = (np.array(c) for c in zip(*rows, strict=True))
    n = len(seeds)
    return ["| | salami | jump |", "|---|---|---|",
            f"| peak actives, mean (min-max) | {sp.mean():.1f} ({sp.min()}-{sp.max()}) | "
            f"{jp.mean():.1f} ({jp.min()}-{jp.max()}) |",
            f"| runs with peak > 50 | {(sp > 50).sum()}/{n} | {(jp > 50).sum()}/{n} |",
            f"| jailed at the end, mean | {sj.mean():.0f} | {jj.mean():.0f} |", "",
            f"The jump gives the higher peak in {(jp > sp).sum()}/{n} seeds; the jump run ends "
            f"with more jailed than the salami run in {(jj > sj).sum()}/{n} seeds and with fewer "
            f"in {(jj < sj).sum()}/{n}."]


def cops(seeds, steps):
    """Run 5: the peak of actives as the cops are withdrawn."""
    peaks, at, left, before = [], [], [], []
    for s in seeds:
        ts = _actives("epstein_cops", s, steps)
        i = int(ts["active"].idxmax())
        peaks.append(int(ts["active"][i]))
        at.append(int(ts["step"][i]))
        left.append(int(ts["cops"][i]))
        before.append(int(ts.loc[ts["step"] < 50, "active"].max()))
    return [f"{steps} ticks, {_seeds(seeds)}: peak actives {min(peaks)}-{max(peaks)} "
            f"(mean {np.mean(peaks):.0f}) at mean tick {np.mean(at):.0f} ({min(at)}-{max(at)}) "
            f"with {min(left)}-{max(left)} of 118 cops left; at most {max(before)} actives "
            f"before the withdrawal starts; peak above 150 in "
            f"{sum(p > 150 for p in peaks)}/{len(seeds)} seeds."]


TABLES = {"model2": (model2, 10, 600), "peacekeeping": (peacekeeping, 10, 1500),
          "composition": (composition, 10, 300), "run2": (run2, 5, 800),
          # docs/VALIDATION.md, "Epstein (2002)": Model I's Runs 1-5
          "run1": (run1, 5, 700), "run2_rules": (run2_rules, 5, 800),
          "run2_von_neumann": (run2_von_neumann, 2, 400), "salami_jump": (salami_jump, 20, 300),
          "cops": (cops, 20, 400)}


def make(name: str, argv: list[str]) -> str:
    fn, seeds, steps = TABLES[name]
    ap = argparse.ArgumentParser(prog=name)
    ap.add_argument("--seeds", type=int, default=seeds)
    ap.add_argument("--steps", type=int, default=steps)
    a = ap.parse_args(argv)
    return "\n".join(fn(list(range(1, a.seeds + 1)), a.steps))


BLOCK = re.compile(r"(<!-- epstein_tables (\S+)(.*?) -->\n)(.*?)(<!-- /epstein_tables -->)",
                   re.S)


def check(path: Path, only: list[str] | None, write: bool, exact: bool = False) -> int:
    """Rerun the doc's blocks (those named in ``only``: by name or by name and arguments, or with
    ``exact`` by name and arguments as written only); print a diff of each that differs; with
    ``write`` put the fresh ones into the doc. Returns 1 if any differs (0 with ``write``)."""
    text = path.read_text()
    bad = 0

    def redo(mt):
        nonlocal bad
        name, args = mt.group(2), shlex.split(mt.group(3))
        whole = f"{name}{mt.group(3)}"
        if only and whole not in only and (exact or name not in only):
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
