"""The "M7 synchronous updating" table of docs/VALIDATION.md (issue 18): fit and forecast with
M7 learning from last month's workplace means (synchronous, the default) and from this
month's (sequential, the order before), seed by seed.

    PYTHONPATH=src python scripts/m7_order_table.py            # print the table (Markdown)
    PYTHONPATH=src python scripts/m7_order_table.py --write    # put it into VALIDATION.md
    PYTHONPATH=src python scripts/m7_order_table.py --check    # exit 1 if VALIDATION.md differs

``cpsu`` at 1:1,000, seeds 1, 2, 3 (as ``scripts/validate_cpsu.py``), one thread, each seed
with both orders (common random numbers: the same seed draws the same numbers). A quantity
*moved within the seed-to-seed spread* when the difference of the two orders' means is no
larger than the spread (max − min over the seeds) of the sequential runs.
"""

from __future__ import annotations

import statistics as stat
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

SEEDS = (1, 2, 3)
SCALE = 1e-3
ORDERS = ("synchronous", "sequential")
COMMAND = "PYTHONPATH=src python scripts/m7_order_table.py --write"

def _trust(date: str):
    """Mean trust of adults on the 1st of ``date`` (what M7 moves directly)."""
    return lambda r: float(r.timeseries.set_index("date").loc[date, "mean_trust_adults"])


#: (label, how to read it from a summary, unit divisor, decimals)
ROWS = (
    ("in-sample fit: RMSE of log(model/data), ≤ 1988", lambda s: s["fit"]["value"], 1, 4),
    ("members 1 Jan 1989 (boundary check), M",
     lambda s: s["fit"]["boundary_check_1989_01_01"]["model"], 1e6, 3),
    ("members 1 Jan 1990, M", lambda s: s["forecast"]["members_1990_01_01"], 1e6, 3),
    ("members 1 Jan 1991, M", lambda s: s["forecast"]["members_1991_01_01"], 1e6, 3),
    ("members 1 Jul 1991, M", lambda s: s["forecast"]["members_1991_07_01"], 1e6, 3),
    ("exits in 1990, M", lambda s: s["forecast"]["exits_1990"], 1e6, 3),
    ("joins in 1990, M", lambda s: s["forecast"]["joins_1990"], 1e6, 3),
    ("committed members 1 Jul 1991, k",
     lambda s: s["forecast"]["committed_members_1991_07_01"], 1e3, 1),
    ("crisis Aug 1991: members defending, k",
     lambda s: s["forecast"]["crisis"]["defenders_members"], 1e3, 1),
    ("crisis Aug 1991: opponents (members and others), M",
     lambda s: s["forecast"]["crisis"]["opponents_members"]
     + s["forecast"]["crisis"]["opponents_nonmembers"], 1e6, 2),
)
#: rows read from the timeseries (label, how to read it from a result, decimals)
TRUST_ROWS = (
    ("mean trust of adults, 1 Jan 1970", _trust("1970-01"), 4),
    ("mean trust of adults, 1 Jan 1989", _trust("1989-01"), 4),
    ("mean trust of adults, 1 Jul 1991", _trust("1991-07"), 4),
)


def _run(seed: int, order: str):
    import allegiance

    return allegiance.run("cpsu", scale=SCALE, seed=seed, threads=1,
                          overrides={"run.m7_order": order})


def table(runs: dict[str, list]) -> str:
    """The Markdown block from ``runs[order]`` (one result per seed, in :data:`SEEDS` order)."""
    version = runs["synchronous"][0].manifest["allegiance_version"]
    head = ("| quantity | synchronous: mean (seeds " + ", ".join(map(str, SEEDS))
            + ") | sequential: mean (seeds) | synchronous − sequential, mean (per seed) "
            "| seed spread (sequential, max − min) | moved within the spread |")
    lines = [head, "|---|---|---|---|---:|---|"]
    within = 0
    rows = [(label, lambda r, get=get: get(r.summary), div, nd) for label, get, div, nd in ROWS]
    rows += [(label, get, 1, nd) for label, get, nd in TRUST_ROWS]
    for label, get, div, nd in rows:
        v = {o: [get(r) / div for r in runs[o]] for o in ORDERS}
        mean = {o: stat.mean(v[o]) for o in ORDERS}
        diff = [a - b for a, b in zip(v["synchronous"], v["sequential"], strict=True)]
        spread = max(v["sequential"]) - min(v["sequential"])
        move = mean["synchronous"] - mean["sequential"]
        ok = abs(move) <= spread
        within += ok

        def f(x, nd=nd):
            return f"{x:,.{nd}f}"

        cells = [f"{f(mean[o])} ({', '.join(f(x) for x in v[o])})" for o in ORDERS]
        lines.append(f"| {label} | {cells[0]} | {cells[1]} | {move:+,.{nd}f} "
                     f"({', '.join(f'{d:+,.{nd}f}' for d in diff)}) | {f(spread)} | "
                     f"{'yes' if ok else '**no**'} |")
    return (f"`{COMMAND}` (cpsu, 1:1,000, seeds {', '.join(map(str, SEEDS))}, one thread, "
            f"allegiance {version}); {within} of {len(rows)} quantities moved within the "
            "seed spread.\n\n" + "\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    from allegiance import odd

    ap = odd.blocks_parser(__doc__.splitlines()[0], ROOT / "docs" / "VALIDATION.md")
    a = ap.parse_args(argv)
    runs = {o: [_run(s, o) for s in SEEDS] for o in ORDERS}
    blocks = {"m7-order": table(runs)}
    return odd.emit_blocks(a, blocks, COMMAND)


if __name__ == "__main__":
    sys.exit(main())
