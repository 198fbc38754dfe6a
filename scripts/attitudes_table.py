"""The attitudes table of docs/VALIDATION.md: spread of belief and trust across adults and the
survey answers, at dated months of a cpsu run (issue 15, item 3).

    PYTHONPATH=src python scripts/attitudes_table.py            # print the table (Markdown)
    PYTHONPATH=src python scripts/attitudes_table.py --write    # put it into VALIDATION.md
    PYTHONPATH=src python scripts/attitudes_table.py --check    # exit 1 if VALIDATION.md differs

One run: ``cpsu``, seed 1917, scale 1:1,000, one thread (bit-identical on any machine).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

DATES = ("1925-01", "1937-01", "1950-01", "1957-01", "1970-01", "1985-01", "1989-01",
         "1990-06", "1991-07")
COMMAND = "PYTHONPATH=src python scripts/attitudes_table.py --write"


def table() -> str:
    import allegiance

    r = allegiance.run("cpsu", scale=1e-3, seed=1917, threads=1)
    ts = r.timeseries.set_index("date")
    lines = ["| 1st of | sd belief | sd trust | adults: firm / partial / against (private) | "
             "adults: firm / against (expressed) | members: firm / partial / against "
             "(private) |", "|---|---:|---:|---|---|---|"]
    for d in DATES:
        x = ts.loc[d]

        def pct(col: str, x=x) -> str:
            return f"{100 * x[col]:.1f}"

        a, m = "survey_adults_private", "survey_members_private"
        lines.append(
            f"| {d} | {x['sd_belief_adults']:.3f} | {x['sd_trust_adults']:.3f} | "
            f"{pct(a + '_firm')} / {pct(a + '_partial')} / {pct(a + '_against')} | "
            f"{pct('survey_adults_expressed_firm')} / {pct('survey_adults_expressed_against')} | "
            f"{pct(m + '_firm')} / {pct(m + '_partial')} / {pct(m + '_against')} |")
    return (f"`{COMMAND}` (cpsu, seed 1917, 1:1,000, allegiance "
            f"{r.manifest['allegiance_version']}); shares in %.\n\n" + "\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    from allegiance import odd

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--path", type=Path, default=ROOT / "docs" / "VALIDATION.md")
    a = ap.parse_args(argv)
    blocks = {"attitudes": table()}
    if not (a.write or a.check):
        print(blocks["attitudes"])
        return 0
    return odd.write_blocks(a.path, blocks, a.check, COMMAND)


if __name__ == "__main__":
    sys.exit(main())
