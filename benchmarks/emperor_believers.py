"""Centola, Willer & Macy (2005): does the unpopular norm cascade, by the number of true
believers, on the lattice (believers clustered or scattered) and in a fully connected
population? Prints the table of docs/CLASSIC.md ("Emperor's Dilemma: number of true believers").

    PYTHONPATH=src python benchmarks/emperor_believers.py [--seeds 10]   # print the table
    PYTHONPATH=src python benchmarks/emperor_believers.py --write   # put it into CLASSIC.md
    PYTHONPATH=src python benchmarks/emperor_believers.py --check   # exit 1 if CLASSIC.md differs

40x40 torus (N = 1,600), Moore neighbourhood, random-sequential activation, 100 steps
(the bundled ``emperor`` scenario with ``agents.believers``, ``agents.placement`` and
``network.neighbourhood`` overridden). A run "cascades" if more than 90 % of the agents comply
at the end; "false compliance" is the share of disbelievers complying.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import allegiance

COUNTS = (0, 10, 25, 50, 100, 200, 300, 400, 600, 800)
NETWORKS = (("lattice, clustered", {"network.neighbourhood": "moore", "agents.placement": "block"}),
            ("lattice, scattered", {"network.neighbourhood": "moore",
                                    "agents.placement": "random"}),
            ("fully connected", {"network.neighbourhood": "complete"}))


def table(seeds: range, counts=COUNTS) -> str:
    """The markdown table: per network, runs that cascade and median false compliance."""
    head = "| true believers | " + " | ".join(f"{n}: cascades / median false compliance"
                                              for n, _ in NETWORKS) + " |"
    lines = [head, "|---" * (1 + len(NETWORKS)) + "|"]
    for b in counts:
        cells = []
        for _, over in NETWORKS:
            fc, casc = [], 0
            for s in seeds:
                h = allegiance.run("emperor", seed=s,
                                   overrides={**over, "agents.believers": b}).summary
                casc += h["final_compliance"] > 0.9
                fc.append(h["final"]["false_compliance"])
            cells.append(f"{casc}/{len(seeds)} / {np.median(fc):.3f}")
        lines.append(f"| {b} ({b / 16:.1f} %) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


DOC = Path(__file__).resolve().parents[1] / "docs" / "CLASSIC.md"
COMMAND = "PYTHONPATH=src python benchmarks/emperor_believers.py --write"


def main(argv: list[str] | None = None) -> int:
    from allegiance import odd

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--write", action="store_true", help="put the table into docs/CLASSIC.md")
    ap.add_argument("--check", action="store_true", help="exit 1 if docs/CLASSIC.md differs")
    a = ap.parse_args(argv)
    text = table(range(1, a.seeds + 1))
    if not (a.write or a.check):
        print(text)
        return 0
    return odd.write_blocks(DOC, {"emperor-believers": text + "\n"}, a.check, COMMAND)


if __name__ == "__main__":
    sys.exit(main())
