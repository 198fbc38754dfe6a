"""The August 1991 crisis tables of docs/VALIDATION.md (issue 15): the crisis by seed, and under
the bundled counterfactuals and ablations.

    PYTHONPATH=src python scripts/crisis_tables.py --write   # rerun and put into VALIDATION.md
    PYTHONPATH=src python scripts/crisis_tables.py --check   # exit 1 if VALIDATION.md differs
    PYTHONPATH=src python scripts/crisis_tables.py           # print them

cpsu at 1:1,000: seeds 1917 (the scenario's), 1, 2, 3, 4 for the first table; seeds 1917, 1, 2
for each variant of the second. Runs go to a local process pool (``--workers``); every run is
bit-identical whatever ran it. About 40 runs: a few minutes on two cores.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

SEEDS = (1917, 1, 2, 3, 4)
VARIANT_SEEDS = (1917, 1, 2)
VARIANTS = (("cpsu", "cpsu", ()), ("cpsu_remedies", "cpsu_remedies", ()),
            ("cpsu_no_glasnost", "cpsu_no_glasnost", ()),
            ("cpsu_no_secret_speech", "cpsu_no_secret_speech", ()),
            ("cpsu_selective", "cpsu_selective", ()), ("cpsu_criticism", "cpsu_criticism", ()),
            ("M4 ritual off", "cpsu", ("mechanisms.ritual.enabled=false",)),
            ("M3 shocks off", "cpsu", ("mechanisms.shocks.enabled=false",)),
            ("M5 privilege off", "cpsu", ("mechanisms.privilege.enabled=false",)),
            ("M7 openness off", "cpsu", ("mechanisms.openness.enabled=false",)),
            ("M8 elite off", "cpsu", ("mechanisms.elite.enabled=false",)))
SCALE = 1e-3
COMMAND = "PYTHONPATH=src python scripts/crisis_tables.py --write"


def one(task):
    """One run's crisis numbers (top-level: runs in a worker process)."""
    import allegiance

    scenario, seed, sets = task
    r = allegiance.run(scenario, scale=SCALE, seed=seed, threads=1, overrides=list(sets))
    c = r.summary["forecast"]["crisis"]
    c = {k: v for k, v in c.items() if k != "by_tier"}
    c["members_1991_07"] = r.summary["forecast"]["members_1991_07_01"]
    c["lapsed_1991_07"] = r.summary["forecast"]["lapsed_members_1991_07_01"]
    c["fit"] = r.summary["fit"]["value"]
    c["version"] = r.manifest["allegiance_version"]
    return c


def _m(x: float) -> str:
    return f"{x / 1e6:.2f} M" if x >= 1e6 else (f"{x / 1e3:.0f} k" if x >= 1e3 else f"{x:.0f}")


def tables(workers: int | None) -> dict[str, str]:
    from allegiance.experiments.executors import PoolExecutor

    tasks = [("cpsu", s, ()) for s in SEEDS]
    tasks += [(sc, s, sets) for _, sc, sets in VARIANTS for s in VARIANT_SEEDS]
    out: dict[int, dict] = {}
    with PoolExecutor(workers=workers) as ex:
        for i, c in ex.imap_unordered(one, tasks):
            out[i] = c
    version = out[0]["version"]
    lines = [f"`{COMMAND}` (allegiance {version}; persons; civilians = adults not in the "
             "forces)", "", "| seed | defenders (members / non-members) | opponents (members / "
             "non-members) | forces obeyed / refused | iterations |", "|---|---:|---:|---:|---:|"]
    for k, s in enumerate(SEEDS):
        c = out[k]
        lines.append(f"| {s} | {c['defenders_members']:,.0f} / {c['defenders_nonmembers']:,.0f}"
                     f" | {c['opponents_members']:,.0f} / {c['opponents_nonmembers']:,.0f} | "
                     f"{c['security_obeyed']:,.0f} / {c['security_refused']:,.0f} | "
                     f"{c['iterations']} |")
    by_seed = "\n".join(lines) + "\n"
    lines = [f"`{COMMAND}` (allegiance {version}; seeds {' / '.join(map(str, VARIANT_SEEDS))})",
             "", "| run | fit ≤ 1988 (mean rmse) | members 1 Jul 1991 (of them lapsed) | "
             "defenders (civilians), by seed | opponents (civilians), by seed | forces obeyed / "
             "refused (mean) | obey share |", "|---|---:|---:|---:|---:|---:|---:|"]
    k = len(SEEDS)
    for label, _, _ in VARIANTS:
        cs = [out[k + j] for j in range(len(VARIANT_SEEDS))]
        k += len(VARIANT_SEEDS)
        mean = sum(c["members_1991_07"] for c in cs) / len(cs)
        lapsed = sum(c["lapsed_1991_07"] for c in cs) / len(cs)
        fit = sum(c["fit"] for c in cs) / len(cs)
        dfn = " / ".join(_m(c["defenders_members"] + c["defenders_nonmembers"]) for c in cs)
        opp = " / ".join(_m(c["opponents_members"] + c["opponents_nonmembers"]) for c in cs)
        ob = sum(c["security_obeyed"] for c in cs) / len(cs)
        rf = sum(c["security_refused"] for c in cs) / len(cs)
        shares = [c["security_obey_share"] for c in cs]
        sh = (f"{min(shares):.2f}" if round(min(shares), 2) == round(max(shares), 2)
              else f"{min(shares):.2f}–{max(shares):.2f}")
        lines.append(f"| {label} | {fit:.3f} | {_m(mean)} ({_m(lapsed)}) | {dfn} | {opp} | "
                     f"{_m(ob)} / {_m(rf)} | {sh} |")
    return {"crisis-seeds": by_seed, "crisis-variants": "\n".join(lines) + "\n"}


def main(argv: list[str] | None = None) -> int:
    from allegiance import odd

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--path", type=Path, default=ROOT / "docs" / "VALIDATION.md")
    a = ap.parse_args(argv)
    blocks = tables(a.workers)
    if not (a.write or a.check):
        for name, text in blocks.items():
            print(f"## {name}\n\n{text}")
        return 0
    return odd.write_blocks(a.path, blocks, a.check, COMMAND)


if __name__ == "__main__":
    sys.exit(main())
