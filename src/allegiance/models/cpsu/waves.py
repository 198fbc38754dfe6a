"""Survey waves: what the émigré surveys asked, put to the model's population at their dates.

The two surveys of Soviet citizens before 1989 (``data/attitudes_pre1989.csv``) report
*directions* between groups, not shares that could be fitted: in the Harvard Project
(fieldwork 1950–51, refugees describing life before they left in 1941–45) the youngest were
the most satisfied with the system and the oldest the least; in the Soviet Interview Project
(fieldwork 1979–82, emigrants describing their "last normal period" in the USSR, mostly the
late 1970s) the young were the most dissatisfied — a reversal across generations; and members
were somewhat more supportive than non-members (an L row, uncertain).

At each wave's reference date the model's adults are tabulated by age band and by
membership (mean belief, mean trust, and the answers to the survey question of M12 on private
trust), before that month's deaths, as on the 1st of the month. ``summary.json`` →
``fit.attitude_waves`` holds the tables and, for each direction in the data, whether the
model reproduces it. These are pattern checks (pattern-oriented modelling): nothing is fitted
to them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...calendar import parse_month
from ...mechanisms._common import ADULT_MONTHS

#: the waves: reference month -> (survey, what the date stands for); dates are L
#: (Inkeles & Bauer 1959, *The Soviet Citizen*: life before the war; Millar ed. 1987,
#: *Politics, Work and Daily Life in the USSR*: the "last normal period", mostly 1977–79)
WAVES: dict[str, tuple[str, str]] = {
    "1940-01": ("Harvard Project on the Soviet Social System",
                "life before the war (fieldwork 1950-51, refugees who left in 1941-45)"),
    "1978-01": ("Soviet Interview Project",
                "the last normal period before emigration (fieldwork 1979-82)"),
}
#: age bands of adults, in years: [lo, hi)
AGE_BANDS: tuple[tuple[str, int, int], ...] = (("18-34", 18, 35), ("35-54", 35, 55),
                                               ("55+", 55, 200))
#: the directions the surveys report (data/attitudes_pre1989.csv): (wave, group A, group B,
#: the sign of mean trust A − B in the data, verification code, what the row says)
PATTERNS: tuple[tuple[str, str, str, int, str, str], ...] = (
    ("1940-01", "18-34", "55+", +1, "V",
     "Harvard Project: the youngest most satisfied, the oldest least"),
    ("1978-01", "18-34", "55+", -1, "V",
     "SIP: the young much more likely to be dissatisfied than the older"),
    ("1978-01", "members", "nonmembers", +1, "L",
     "SIP: members somewhat more supportive than non-members (recalled, uncertain)"),
)


def months() -> dict[int, str]:
    """Month number -> wave date."""
    return {parse_month(d): d for d in WAVES}


def tabulate(month: int, alive, birth, status, belief, trust, cuts, scale: float
             ) -> dict[str, dict[str, float]]:
    """Adults by age band and by membership: persons, mean belief, mean trust and the shares
    answering firm / partial / against on private trust (``cuts`` = [firm, against])."""
    age = month - birth.astype(np.int64)
    adult = alive & (age >= ADULT_MONTHS)
    age_y = age // 12
    member = status > 0
    groups = {name: adult & (age_y >= lo) & (age_y < hi) for name, lo, hi in AGE_BANDS}
    groups["members"] = adult & member
    groups["nonmembers"] = adult & ~member
    groups["adults"] = adult
    out: dict[str, dict[str, float]] = {}
    for name, sel in groups.items():
        n = int(sel.sum())
        if n == 0:
            out[name] = {"persons": 0.0}
            continue
        t = trust[sel].astype(np.float64)
        firm = float(np.count_nonzero(t >= cuts[0])) / n
        against = float(np.count_nonzero(t < cuts[1])) / n
        out[name] = {"persons": n / scale,
                     "belief": float(belief[sel].astype(np.float64).mean()),
                     "trust": float(t.mean()),
                     "firm": firm, "partial": 1.0 - firm - against, "against": against}
    return out


def check(tables: dict[str, dict[str, dict[str, float]]]) -> dict[str, Any]:
    """The waves' tables and, for each direction in the data, whether the model has it."""
    patterns = []
    for wave, a, b, sign, code, what in PATTERNS:
        t = tables.get(wave)
        if t is None or "trust" not in t.get(a, {}) or "trust" not in t.get(b, {}):
            continue
        diff = t[a]["trust"] - t[b]["trust"]
        patterns.append({"wave": wave, "survey": WAVES[wave][0], "groups": [a, b],
                         "data_direction": "higher" if sign > 0 else "lower",
                         "verification": code, "data": what, "model_trust_difference": diff,
                         "reproduced": bool(diff * sign > 0)})
    return {"note": "émigré-survey directions (data/attitudes_pre1989.csv) as pattern checks, "
                    "not fitted; trust = mean private trust of the group's adults",
            "waves": {w: {"survey": WAVES[w][0], "reference": WAVES[w][1], "groups": t}
                      for w, t in tables.items()},
            "patterns": patterns}
