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
from numba import njit

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
#: numpy's block size in its pairwise summation (``PW_BLOCKSIZE`` in numpy's loops_utils.h)
PW_BLOCKSIZE = 128
_NO_AGE_LIMIT = 1_000
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
    answering firm / partial / against on private trust (``cuts`` = [firm, against]).

    Compiled passes over the columns as they are, with no whole-population temporary (at 1:1
    masks and float64 copies of ~290 million slots would cost several GB at the survey
    dates): one pass counts every group, then one pass per group sums belief and trust. The
    means are numpy's own: the selected values in slot order, added by numpy's pairwise
    summation (:func:`_pairwise`), so they are bit-identical to ``x[sel].astype(float64)
    .mean()`` (``tests/test_attitudes.py``).
    """
    cuts = np.asarray(cuts, dtype=np.float64)
    counts = _count(month, alive, birth, status, trust, cuts[0], cuts[1], _GROUP_COLUMNS)
    buf = np.empty((2, PW_BLOCKSIZE))
    out: dict[str, dict[str, float]] = {}
    for g, (name, lo, hi, member) in enumerate(_GROUPS):
        n, firm, against = (int(c) for c in counts[g])
        if n == 0:
            out[name] = {"persons": 0.0}
            continue
        sb, st = _pairwise(n, np.zeros(1, np.int64), month, alive, birth, status, belief,
                           trust, lo, hi, member, buf[0], buf[1])
        f, a = float(firm) / n, float(against) / n
        out[name] = {"persons": n / scale, "belief": sb / n, "trust": st / n,
                     "firm": f, "partial": 1.0 - f - a, "against": a}
    return out


#: the groups tabulated, in this order: (name, lowest age in years, age it stops below,
#: membership: 1 members, 0 non-members, -1 either)
_GROUPS: tuple[tuple[str, int, int, int], ...] = (
    *((name, lo, hi, -1) for name, lo, hi in AGE_BANDS),
    ("members", 0, _NO_AGE_LIMIT, 1), ("nonmembers", 0, _NO_AGE_LIMIT, 0),
    ("adults", 0, _NO_AGE_LIMIT, -1))
#: :data:`_GROUPS` as columns for the compiled passes: lowest age, age it stops below, membership
_GROUP_COLUMNS = np.array([g[1:] for g in _GROUPS], dtype=np.int64)


@njit(cache=True, inline="always")
def _adult_years(i, month, alive, birth):
    """Slot ``i``'s age in whole years if it is a living adult, else -1."""
    if not alive[i]:
        return -1
    age = month - np.int64(birth[i])
    return age // 12 if age >= ADULT_MONTHS else -1


@njit(cache=True, inline="always")
def _in_group(years, is_member, lo, hi, member):
    """Is an adult of that age and membership in the group (ages [lo, hi) in years;
    ``member`` 1 members, 0 non-members, -1 either)?"""
    return lo <= years < hi and (member < 0 or is_member == (member == 1))


@njit(cache=True)
def _count(month, alive, birth, status, trust, firm_cut, against_cut, groups):
    """Per group (rows of ``groups``: :data:`_GROUP_COLUMNS`): adults, those at or above the
    firm cut, those below the against cut (one pass)."""
    out = np.zeros((groups.shape[0], 3), dtype=np.int64)
    for i in range(alive.shape[0]):
        years = _adult_years(i, month, alive, birth)
        if years < 0:
            continue
        is_member = status[i] > 0
        t = np.float64(trust[i])
        for g in range(groups.shape[0]):
            if _in_group(years, is_member, groups[g, 0], groups[g, 1], groups[g, 2]):
                out[g, 0] += 1
                out[g, 1] += t >= firm_cut
                out[g, 2] += t < against_cut
    return out


@njit(cache=True)
def _selected(i, month, alive, birth, status, lo, hi, member):
    """Is slot ``i`` an adult of the group (:func:`_in_group`)?"""
    years = _adult_years(i, month, alive, birth)
    return years >= 0 and _in_group(years, status[i] > 0, lo, hi, member)


@njit(cache=True)
def _fill(n, cursor, month, alive, birth, status, belief, trust, lo, hi, member, ba, bb):
    """The group's next ``n`` values of belief and trust from slot ``cursor[0]`` on, as
    float64, into ``ba`` and ``bb``; the cursor moves past the last one taken."""
    i = cursor[0]
    k = 0
    while k < n:
        if _selected(i, month, alive, birth, status, lo, hi, member):
            ba[k] = np.float64(belief[i])
            bb[k] = np.float64(trust[i])
            k += 1
        i += 1
    cursor[0] = i


@njit(cache=True)
def _block(n, v):
    """numpy's sum of a block of at most :data:`PW_BLOCKSIZE` values: eight accumulators,
    combined pairwise, then the rest one by one (numpy's ``pairwise_sum``)."""
    if n < 8:
        res = -0.0
        for i in range(n):
            res += v[i]
        return res
    r0, r1, r2, r3 = v[0], v[1], v[2], v[3]
    r4, r5, r6, r7 = v[4], v[5], v[6], v[7]
    m = n - (n % 8)
    i = 8
    while i < m:
        r0 += v[i]
        r1 += v[i + 1]
        r2 += v[i + 2]
        r3 += v[i + 3]
        r4 += v[i + 4]
        r5 += v[i + 5]
        r6 += v[i + 6]
        r7 += v[i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += v[i]
        i += 1
    return res


@njit(cache=True)
def _pairwise(n, cursor, month, alive, birth, status, belief, trust, lo, hi, member, ba, bb):
    """The sums of belief and of trust over the group's next ``n`` adults in slot order, in
    numpy's pairwise order: halves (the first a multiple of 8) until a block fits
    :data:`PW_BLOCKSIZE`. Blocks are read left to right, so one cursor walks the slots once."""
    if n <= PW_BLOCKSIZE:
        _fill(n, cursor, month, alive, birth, status, belief, trust, lo, hi, member, ba, bb)
        return _block(n, ba), _block(n, bb)
    n2 = n // 2
    n2 -= n2 % 8
    a1, b1 = _pairwise(n2, cursor, month, alive, birth, status, belief, trust, lo, hi,
                       member, ba, bb)
    a2, b2 = _pairwise(n - n2, cursor, month, alive, birth, status, belief, trust, lo, hi,
                       member, ba, bb)
    return a1 + a2, b1 + b2


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
