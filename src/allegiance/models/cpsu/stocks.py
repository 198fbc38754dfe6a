"""The month's stocks: every count and sum of the state on the 1st of the month.

:func:`stocks_pass` takes them in one pass over every slot (with the month's natural deaths
and the members' sums of the ``members`` phase). Usually less is needed: the last pass over
everyone of the month before (``one_pass``; ``learning_pass`` with sequential M7) summed the
whole population's columns (:data:`NEXT`) and listed the month's natural deaths, so
:func:`member_stocks` counts only the members and :func:`kill_listed` kills the listed agents;
:func:`combine_stocks` puts the two together (exact integers).

Sums of values in [0, 1] are fixed-point integers, so they do not depend on the order of
addition; :data:`AGG_SCALE` turns a column back into agents or sums.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from numba.extending import register_jitable

from ...mechanisms import openness as m7
from ...mechanisms._common import (
    ADULT_MONTHS,
    CADRE,
    CAREER,
    CONFORMIST,
    FIXED_ONE,
    IDEAL,
    LAPSED,
    NONMEMBER,
    PREFETCH,
    prefetch_write,
    to_fixed,
    to_fixed_simd,
)
from .members import _member_sums
from .options import KERNEL

#: columns of the stocks (``part[c]`` of :func:`stocks_pass`), in this order
AGG = ("alive", "adults", "candidates", "full_members", "cadres", "elites", "committed",
       "sum_belief_members", "sum_trust_members", "nonmember_adults", "sum_trust_nonmembers",
       "sum_expressed_nonmembers", "sum_belief_adults", "sum_trust_adults", "sum_stake_office",
       "converted", "motive_ideal", "motive_career", "motive_conformist",
       "cohort_pre1900", "cohort_1900_1919", "cohort_1920_1939", "cohort_1940_1959",
       "cohort_1960plus",
       "belief_t0", "belief_t1", "belief_t2", "belief_t3", "belief_t4",
       "trust_t0", "trust_t1", "trust_t2", "trust_t3", "trust_t4",
       "sum_expressed_members", "sum_belief_nonmembers", "committed_adults",
       "sumsq_belief_adults", "sumsq_trust_adults",
       "survey_firm_adults", "survey_notagainst_adults", "survey_firm_ex_adults",
       "survey_notagainst_ex_adults",
       "survey_firm_members", "survey_notagainst_members", "survey_firm_ex_members",
       "survey_notagainst_ex_members", "lapsed_members")
#: factor from a column of :func:`stocks_pass` to agents (counts) or sums (fixed point)
AGG_SCALE = np.array([1.0 / FIXED_ONE if k.startswith(("sum_", "sumsq_", "belief_t", "trust_t"))
                      else 1.0 for k in AGG])
#: columns of :data:`AGG` by name, for the kernels (numba reads them as constants); the
#: tiered columns are ``C_... + status`` (0 non-member adults, 1 candidates, ..., 4 elites)
C_ALIVE = AGG.index("alive")
C_ADULTS = AGG.index("adults")
C_TIER_COUNT = AGG.index("candidates") - 1  # + status (1..4): candidates .. elites
C_COMMITTED_MEMBERS = AGG.index("committed")
C_BELIEF_MEMBERS = AGG.index("sum_belief_members")
C_TRUST_MEMBERS = AGG.index("sum_trust_members")
C_NONMEMBER_ADULTS = AGG.index("nonmember_adults")
C_TRUST_NONMEMBERS = AGG.index("sum_trust_nonmembers")
C_EXPRESSED_NONMEMBERS = AGG.index("sum_expressed_nonmembers")
C_BELIEF_ADULTS = AGG.index("sum_belief_adults")
C_TRUST_ADULTS = AGG.index("sum_trust_adults")
C_STAKE_OFFICE = AGG.index("sum_stake_office")
C_CONVERTED = AGG.index("converted")
C_MOTIVE_IDEAL = AGG.index("motive_ideal")
C_MOTIVE_CAREER = AGG.index("motive_career")
C_MOTIVE_CONFORMIST = AGG.index("motive_conformist")
C_COHORT = AGG.index("cohort_pre1900")  # + the cohort (0..4)
C_BELIEF_TIER = AGG.index("belief_t0")  # + status (0..4)
C_TRUST_TIER = AGG.index("trust_t0")  # + status (0..4)
C_EXPRESSED_MEMBERS = AGG.index("sum_expressed_members")
C_BELIEF_NONMEMBERS = AGG.index("sum_belief_nonmembers")
C_COMMITTED_ADULTS = AGG.index("committed_adults")
C_SUMSQ_BELIEF = AGG.index("sumsq_belief_adults")  # fixed-point sums of squares (spread)
C_SUMSQ_TRUST = AGG.index("sumsq_trust_adults")
C_SURVEY_ADULTS = AGG.index("survey_firm_adults")  # + 0..3: firm, not against, same expressed
C_SURVEY_MEMBERS = AGG.index("survey_firm_members")  # + 0..3
C_LAPSED = AGG.index("lapsed_members")  # members on the register who stopped paying (M9)

#: members' birth cohorts: born before each edge (month numbers)
COHORT_EDGES = np.array([1900 * 12, 1920 * 12, 1940 * 12, 1960 * 12], dtype=np.int64)

@njit(cache=True, inline="always")
def _fixed(b, t, openness, norm, falsify):
    """An adult's fixed-point belief, trust and expressed trust (:func:`_expressed` with
    ``falsify``, else its trust)."""
    ft = to_fixed(t)
    fex = ft
    if falsify:
        fex = to_fixed(m7.expressed(t, openness, norm))
    return to_fixed(b), ft, fex


@njit(cache=True, inline="always")
def _survey(t, openness, norm, falsify, cuts):
    """An adult's answers to the survey question (M12: trust at or above ``cuts[0]`` is firm
    support, below ``cuts[1]`` against, partial between), privately and as expressed (M7):
    (firm, not against, firm expressed, not against expressed), each 0 or 1."""
    t64 = np.float64(t)
    ex = m7.expressed(t64, openness, norm) if falsify else t64
    return (np.int64(t64 >= cuts[0]), np.int64(t64 >= cuts[1]), np.int64(ex >= cuts[0]),
            np.int64(ex >= cuts[1]))


@njit(cache=True, inline="always")
def _squares(b, t):
    """Fixed-point squares of an adult's belief and trust (their sums give the spread)."""
    b64 = np.float64(b)
    t64 = np.float64(t)
    return to_fixed(b64 * b64), to_fixed(t64 * t64)


@njit(cache=True, inline="always")
def _count_adult(row, b, t, survey):
    """An adult's spread and survey columns (every adult, member or not; ``survey``: its
    :func:`_survey` answers)."""
    sb, stt = _squares(b, t)
    row[C_SUMSQ_BELIEF] += sb
    row[C_SUMSQ_TRUST] += stt
    f, na, fe, nae = survey
    row[C_SURVEY_ADULTS] += f
    row[C_SURVEY_ADULTS + 1] += na
    row[C_SURVEY_ADULTS + 2] += fe
    row[C_SURVEY_ADULTS + 3] += nae


@njit(cache=True, inline="always")
def _count_member(row, i, st, b, fb, ft, fex, birth, motive, stake, converted, left,
                  commit_thr, edges, survey):
    """A living adult member's columns of the stocks (``st`` > 0; ``b`` its belief, ``fb``,
    ``ft``, ``fex`` its fixed-point belief, trust and expressed trust, ``survey`` its
    :func:`_survey` answers)."""
    f, na, fe, nae = survey
    row[C_SURVEY_MEMBERS] += f
    row[C_SURVEY_MEMBERS + 1] += na
    row[C_SURVEY_MEMBERS + 2] += fe
    row[C_SURVEY_MEMBERS + 3] += nae
    row[C_BELIEF_TIER + st] += fb
    row[C_TRUST_TIER + st] += ft
    row[C_TIER_COUNT + st] += 1  # candidates, full members, cadres, elites
    if st >= CADRE:
        row[C_STAKE_OFFICE] += to_fixed(stake[i])
        if converted[i]:
            row[C_CONVERTED] += 1
    if left[i] == LAPSED:
        row[C_LAPSED] += 1
    if b >= commit_thr:
        row[C_COMMITTED_MEMBERS] += 1
    row[C_BELIEF_MEMBERS] += fb
    row[C_TRUST_MEMBERS] += ft
    row[C_EXPRESSED_MEMBERS] += fex
    mo = motive[i]
    if mo == IDEAL:
        row[C_MOTIVE_IDEAL] += 1
    elif mo == CAREER:
        row[C_MOTIVE_CAREER] += 1
    elif mo == CONFORMIST:
        row[C_MOTIVE_CONFORMIST] += 1
    k = 0
    while k < edges.shape[0] and birth[i] >= edges[k]:
        k += 1
    row[C_COHORT + k] += 1


@njit(**KERNEL)
def stocks_pass(bounds, lanes, alive, birth, death, status, motive, belief, trust, stake,
                converted, left, cell, join, month, commit_thr, norm, openness, falsify,
                edges, cuts,
                part,
                deaths_on, deaths, sums_on, ritual_on, promote_on, career_bias, seniority_bias,
                table, msum, wsum, far):
    """The month's stocks (``cpsu.AGG`` columns, per chunk), its natural deaths, and — with
    ``sums_on`` — the members' sums of the ``members`` phase (:func:`members_sums`).

    Sums of values in [0, 1] (belief, trust, stake) are fixed-point integers (``to_fixed``):
    exact, so their total does not depend on the order of addition. With ``deaths_on`` the
    agents whose month of ``death`` has come die, after they are counted (the stocks are those
    of the 1st of the month); ``deaths[c]`` = [deaths, deaths of members]. With ``sums_on``,
    each member who does not die adds its belief to M4's workplace sums (per lane) and its
    M5 promotion weight to ``wsum[c]`` (in slot order): what :func:`members_sums` would find
    after the deaths, without another pass over the members (``tests/test_kernels.py``).
    ``far``: the workplace sums do not fit in cache; the workplace of the slot ``PREFETCH``
    ahead is prefetched when that slot holds a member.
    """
    ahead = np.uint64(PREFETCH)
    for lane in prange(lanes.shape[0] - 1):
        ms = msum[lane]
        if sums_on and ritual_on:
            ms[:] = 0
        scatter = sums_on and ritual_on and far
        last = bounds[lanes[lane + 1]] - np.uint64(1)
        for c in range(lanes[lane], lanes[lane + 1]):
            row = part[c]
            # the non-members (most agents) are summed in registers; written to row at the end
            n_alive = 0
            n_adults = 0
            s_b = 0
            s_t = 0
            n_comm = 0
            n_non = 0
            s_t_non = 0
            s_ex_non = 0
            s_b_non = 0
            d = 0
            dm = 0
            s_m = 0.0
            s_c = 0.0
            for i in range(bounds[c], bounds[c + 1]):
                if scatter:
                    a = min(i + ahead, last)
                    if status[a] > 0:
                        prefetch_write(ms, cell[a])
                if not alive[i]:
                    continue
                n_alive += 1
                age = month - birth[i]
                st = status[i]
                dying = deaths_on and death[i] <= month
                if dying:
                    alive[i] = False
                    d += 1
                    if st > 0:
                        dm += 1
                elif sums_on and st > 0:
                    wm, wc = _member_sums(i, st, ms, cell, belief, motive, join, month,
                                          ritual_on, promote_on, career_bias, seniority_bias,
                                          table)
                    s_m += wm
                    s_c += wc
                if age < ADULT_MONTHS:
                    continue
                n_adults += 1
                b = belief[i]
                fb, ft, fex = _fixed(b, trust[i], openness, norm, falsify)
                survey = _survey(trust[i], openness, norm, falsify, cuts)
                _count_adult(row, b, trust[i], survey)
                s_b += fb
                s_t += ft
                if b >= commit_thr:
                    n_comm += 1
                if st == NONMEMBER:
                    n_non += 1
                    s_t_non += ft
                    s_ex_non += fex
                    s_b_non += fb
                    continue
                _count_member(row, i, st, b, fb, ft, fex, birth, motive, stake, converted,
                              left, commit_thr, edges, survey)
            row[C_ALIVE] = n_alive
            row[C_ADULTS] = n_adults
            row[C_BELIEF_ADULTS] = s_b
            row[C_TRUST_ADULTS] = s_t
            row[C_COMMITTED_ADULTS] = n_comm
            row[C_NONMEMBER_ADULTS] = n_non
            row[C_TRUST_NONMEMBERS] = s_t_non
            row[C_EXPRESSED_NONMEMBERS] = s_ex_non
            row[C_BELIEF_NONMEMBERS] = s_b_non
            row[C_BELIEF_TIER] = s_b_non  # tier 0 = non-member adults
            row[C_TRUST_TIER] = s_t_non
            deaths[c, 0] = d
            deaths[c, 1] = dm
            wsum[c, 0] = s_m
            wsum[c, 1] = s_c


@njit(**KERNEL)
def member_stocks(idx, ib, lanes, alive, birth, death, status, motive, belief, trust, stake,
                  converted, left, cell, join, month, commit_thr, norm, openness, falsify,
                edges, cuts,
                  part,
                  deaths_on, sums_on, ritual_on, promote_on, career_bias, seniority_bias, table,
                  msum, wsum, far):
    """The members' columns of :func:`stocks_pass`, from the member index (the rest of the
    month's stocks came from ``one_pass`` or ``learning_pass`` of the month before), and with
    ``sums_on`` the members' sums of the ``members`` phase over the members who do not die
    this month (``deaths_on``: those whose month of ``death`` has come die after the stocks)."""
    one = np.uint64(1)
    ahead = np.uint64(PREFETCH)
    for lane in prange(lanes.shape[0] - 1):
        ms = msum[lane]
        if sums_on and ritual_on:
            ms[:] = 0
        scatter = sums_on and ritual_on and far
        j_last = ib[lanes[lane + 1]] - one
        for c in range(lanes[lane], lanes[lane + 1]):
            row = part[c]
            s_m = 0.0
            s_c = 0.0
            for j in range(ib[c], ib[c + 1]):
                i = idx[j]
                if scatter:
                    prefetch_write(ms, cell[idx[min(j + ahead, j_last)]])
                st = status[i]
                if not alive[i] or st <= 0:
                    continue
                if sums_on and not (deaths_on and death[i] <= month):
                    wm, wc = _member_sums(i, st, ms, cell, belief, motive, join, month,
                                          ritual_on, promote_on, career_bias, seniority_bias,
                                          table)
                    s_m += wm
                    s_c += wc
                if month - birth[i] < ADULT_MONTHS:
                    continue
                b = belief[i]
                fb, ft, fex = _fixed(b, trust[i], openness, norm, falsify)
                _count_member(row, i, st, b, fb, ft, fex, birth, motive, stake, converted,
                              left, commit_thr, edges,
                              _survey(trust[i], openness, norm, falsify, cuts))
            wsum[c, 0] = s_m
            wsum[c, 1] = s_c


@register_jitable
def with_means(v: dict[str, float]) -> dict[str, float]:
    """The stocks ``v`` (columns :data:`AGG` in agents) with their totals and means added."""
    members = v["candidates"] + v["full_members"] + v["cadres"] + v["elites"]
    adults = max(v["adults"], 1.0)
    office = v["cadres"] + v["elites"]

    def mean(s: float, n: float) -> float:
        return s / n if n > 0 else math.nan

    v["members"] = members
    v["belief_adults"] = mean(v["sum_belief_adults"], adults)
    v["trust_adults"] = mean(v["sum_trust_adults"], adults)
    v["corruption"] = mean(v["sum_stake_office"], office) if office else 0.0
    v["mean_belief_members"] = mean(v["sum_belief_members"], members)
    v["mean_trust_members"] = mean(v["sum_trust_members"], members)
    v["members_active"] = members - v["lapsed_members"]  # M9: on the register and paying
    return v


@njit(cache=True)
def combine_stocks(members, whole):
    """The stocks of :func:`stocks_pass` (summed over chunks) from the members' columns
    (:func:`member_stocks`) and the whole population's (:data:`NEXT`, ``one_pass``):
    the non-members' are the whole's minus the members' (integers: exact). Compiled: it
    runs every month, and as numpy calls on a few dozen numbers it cost more than the
    kernel that counts the members at small scale."""
    tot = members.copy()
    n_adults = whole[1]
    s_belief = whole[2]
    s_trust = whole[3]
    tot[C_SUMSQ_BELIEF] = whole[6]
    tot[C_SUMSQ_TRUST] = whole[7]
    for k in range(4):
        tot[C_SURVEY_ADULTS + k] = whole[8 + k]
    tot[C_ALIVE] = whole[0]
    tot[C_ADULTS] = n_adults
    tot[C_BELIEF_ADULTS] = s_belief
    tot[C_TRUST_ADULTS] = s_trust
    tot[C_COMMITTED_ADULTS] = whole[4]
    member_adults = tot[C_TIER_COUNT + 1: C_TIER_COUNT + 5].sum()
    tot[C_NONMEMBER_ADULTS] = n_adults - member_adults
    # the non-members' sums of trust (also tier 0's), of belief, and of expressed trust
    nt = s_trust - tot[C_TRUST_MEMBERS]
    tot[C_TRUST_NONMEMBERS] = nt
    tot[C_TRUST_TIER] = nt
    nb = s_belief - tot[C_BELIEF_MEMBERS]
    tot[C_BELIEF_NONMEMBERS] = nb
    tot[C_BELIEF_TIER] = nb
    tot[C_EXPRESSED_NONMEMBERS] = whole[5] - tot[C_EXPRESSED_MEMBERS]
    return tot


@njit(**KERNEL)
def kill_listed(dying, ndying, alive, status, out):
    """The natural deaths listed by ``one_pass`` (or ``learning_pass``): per lane, [deaths,
    of members]."""
    for lane in prange(ndying.shape[0]):
        d = 0
        dm = 0
        for q in range(ndying[lane]):
            i = dying[lane, q]
            if alive[i]:
                alive[i] = False
                d += 1
                if status[i] > 0:
                    dm += 1
        out[lane, 0] = d
        out[lane, 1] = dm


#: columns of the whole population's stocks that ``one_pass`` takes for the next month
#: (``NEXT``): living agents, adults, and over adults fixed-point sums of belief and trust,
#: committed adults, fixed-point sum of expressed trust, sums of squares of belief and trust,
#: and the survey answers (firm, not against; private and expressed)
NEXT = ("alive", "adults", "belief", "trust", "committed", "expressed", "sumsq_belief",
        "sumsq_trust", "firm", "notagainst", "firm_ex", "notagainst_ex")

#: share of a lane's slots that its list of next month's natural deaths can hold (more
#: deaths than that: the stocks pass draws them instead; ~0.1 % die in a month)
DEATH_LIST_SHARE = 1.0 / 128
#: and at least this many
DEATH_LIST_MIN = 64

@njit(cache=True, inline="always")
def _next_terms(a, birth_i, b, t, month1, commit_thr, norm, openness, falsify, cuts):
    """One agent's terms of the :data:`NEXT` stocks (``a``: alive, 0 or 1): adult, and over
    adults the fixed-point belief and trust, committed, fixed-point expressed trust, the
    squares of belief and trust and the survey answers (what :func:`stocks_pass` adds,
    branch-free)."""
    ad = a & np.int64(month1 - np.int64(birth_i) >= ADULT_MONTHS)
    b64 = np.float64(b)
    t64 = np.float64(t)
    ft = to_fixed_simd(t64)
    ex = t64
    if falsify:
        ex = m7.expressed(t64, openness, norm)
    fex = to_fixed_simd(ex)
    return (ad, to_fixed_simd(b64) * ad, ft * ad, ad & np.int64(b64 >= commit_thr), fex * ad,
            to_fixed_simd(b64 * b64) * ad, to_fixed_simd(t64 * t64) * ad,
            ad & np.int64(t64 >= cuts[0]), ad & np.int64(t64 >= cuts[1]),
            ad & np.int64(ex >= cuts[0]), ad & np.int64(ex >= cuts[1]))


#: the month whose members are counted by year of joining (``seniority_1983``): 1983-01
SENIORITY_MONTH = 1983 * 12


@njit(cache=True)
def seniority_kernel(alive, status, join, out_edges, counts):
    """Full members (status >= 2) by month of joining, binned at ``out_edges``."""
    counts[:] = 0
    for i in range(alive.shape[0]):
        if alive[i] and status[i] >= 2:
            k = 0
            while k < out_edges.shape[0] and join[i] >= out_edges[k]:
                k += 1
            counts[k] += 1
