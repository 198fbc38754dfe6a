"""The attitudes table of docs/VALIDATION.md: spread of belief and trust across adults and the
survey answers, at dated months of a cpsu run (issue 15, item 3).

    PYTHONPATH=src python scripts/attitudes_table.py            # print the table (Markdown)
    PYTHONPATH=src python scripts/attitudes_table.py --write    # put it into VALIDATION.md
    PYTHONPATH=src python scripts/attitudes_table.py --check    # exit 1 if VALIDATION.md differs

One run: ``cpsu``, seed 1917, scale 1:1,000, one thread (bit-identical on any machine).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

DATES = ("1925-01", "1937-01", "1950-01", "1957-01", "1970-01", "1985-01", "1989-01",
         "1990-06", "1991-07")
COMMAND = "PYTHONPATH=src python scripts/attitudes_table.py --write"


def _run(**overrides):
    import allegiance

    return allegiance.run("cpsu", scale=1e-3, seed=1917, threads=1, overrides=overrides)


def table(r) -> str:
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


def waves(r) -> str:
    """The émigré surveys' waves (models/cpsu/waves.py) and the pattern checks."""
    w = r.summary["fit"]["attitude_waves"]
    lines = ["| wave | group | persons (M) | mean belief | mean trust | firm / partial / against "
             "(%) |", "|---|---|---:|---:|---:|---|"]
    for date, wave in w["waves"].items():
        for g in ("18-34", "35-54", "55+", "members", "nonmembers"):
            x = wave["groups"][g]
            lines.append(f"| {date} | {g} | {x['persons'] / 1e6:.1f} | {x['belief']:.3f} | "
                         f"{x['trust']:.3f} | {100 * x['firm']:.1f} / {100 * x['partial']:.1f}"
                         f" / {100 * x['against']:.1f} |")
    lines += ["", "| wave | survey says (code) | model: trust A − B | reproduced |",
              "|---|---|---:|---|"]
    for p in w["patterns"]:
        a, b = p["groups"]
        lines.append(f"| {p['wave']} | {p['data']}: {a} {p['data_direction']} than {b} "
                     f"({p['verification']}) | {p['model_trust_difference']:+.3f} | "
                     f"{'yes' if p['reproduced'] else 'no'} |")
    return (f"`{COMMAND}` (the run above; `summary.json` → `fit.attitude_waves`).\n\n"
            + "\n".join(lines) + "\n")


KAPPAS = (0.0, 1.0, 2.0)


def acceptance(runs) -> str:
    """Survey answers in 1990-91 and the crisis for several values of κ (an assumption)."""
    lines = ["| κ (acceptance) | sd trust 1990-06 | adults against 1990-06 (%) | "
             "adults against 1991-07 (%) | members firm / partial / against 1991-07 (%) | "
             "formal exits / disengaged 1990 (M) |", "|---:|---:|---:|---:|---|---:|"]
    for k, r in runs:
        ts = r.timeseries.set_index("date")
        a, b = ts.loc["1990-06"], ts.loc["1991-07"]
        m = "survey_members_private"
        lines.append(
            f"| {k:g} | {a['sd_trust_adults']:.3f} | "
            f"{100 * a['survey_adults_private_against']:.1f} | "
            f"{100 * b['survey_adults_private_against']:.1f} | "
            f"{100 * b[m + '_firm']:.1f} / {100 * b[m + '_partial']:.1f} / "
            f"{100 * b[m + '_against']:.1f} | {r.summary['forecast']['exits_1990'] / 1e6:.2f} / "
            f"{r.summary['forecast']['disengaged_1990'] / 1e6:.2f} |")
    return (f"`{COMMAND}` (cpsu, seed 1917, 1:1,000, `--set mechanisms.legitimacy.acceptance=κ`)."
            "\n\n" + "\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    from allegiance import odd

    ap = odd.blocks_parser(__doc__.splitlines()[0], ROOT / "docs" / "VALIDATION.md")
    a = ap.parse_args(argv)
    base = _run()
    default = base.manifest["scenario"]["mechanisms"]["legitimacy"]["acceptance"]
    runs = [(k, base if k == default else _run(**{"mechanisms.legitimacy.acceptance": k}))
            for k in KAPPAS]
    blocks = {"attitudes": table(base), "attitude-waves": waves(base),
              "acceptance": acceptance(runs)}
    return odd.emit_blocks(a, blocks, COMMAND)


if __name__ == "__main__":
    sys.exit(main())
