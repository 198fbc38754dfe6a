"""M1 — Self-selection at recruitment, the admission quota, candidacy, and purges.

Essay §1.1–1.3: in 1917 joining meant prison and exile, so those who joined were believers;
once membership brought privileges ("a ticket to power, status and material privileges"),
careerists applied. The party vets applicants with some selectivity and admits up to a quota.

Each month every eligible adult (never a member before) applies with probability

    p_apply = apply_rate · logistic((ideal + career + conformity − danger·danger_weight − θ) / s)
    ideal = w_ideal · belief,   career = w_career · privilege · ambition,
    conformity = w_conformity · mobilization

where ``ambition`` is a fixed personal trait (uniform in [0, 1]). The motive at joining is the
largest of the three terms. The party admits applicant ``i`` with probability
``min(1, Q · w_i / Σ w)`` where ``Q = admission_rate/12 · adults`` is the quota and
``w_i = exp(selectivity · k · (belief_i − ½))`` favours believers. Admission stops when the
applicants run out: the quota is a ceiling, not a target. Candidates become full members after
``candidacy_months``; a share is dropped.

Purges (events, ``data/cpsu_purges.csv``) expel a share of members over some months, weighted
towards a target group (low belief, careerists, the old guard, the elite, or at random).

State: ``status``, ``join`` (month joined as candidate), ``motive``, ``left``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from pydantic import Field

from ..rng import uniform
from ._common import (
    ADULT_MONTHS,
    CANDIDATE,
    CAREER,
    CONFORMIST,
    ELITE,
    EXPELLED,
    IDEAL,
    MEMBER,
    NEVER,
    NONMEMBER,
    MechanismParams,
    logistic,
    positive,
    unit,
)

STATE = [("status", np.int8, 0), ("join", np.int32, -1), ("motive", np.int8, 0),
         ("left", np.int8, 0)]

PURGE_TARGETS = ("random", "low_belief", "career", "old_guard", "elite")


class Params(MechanismParams):
    """Who applies and whom the party admits. Switched off: nobody joins after 1917."""

    apply_rate: float = unit(0.02, "monthly probability of applying at full propensity")
    w_ideal: float = positive(1.0, "weight of belief in the ideal in the decision to apply")
    w_career: float = positive(1.2, "weight of privilege × ambition in the decision to apply")
    w_conformity: float = positive(0.6, "weight of mobilization drives (war, enrolments)")
    danger_weight: float = positive(1.2, "how much the danger of membership deters applicants")
    apply_threshold: float = Field(0.6, ge=-5, le=5, description="propensity at which half apply")
    apply_slope: float = Field(0.12, gt=0, le=5, description="spread of the apply decision")
    selectivity_gain: float = positive(4.0, "strength of belief-based vetting at selectivity 1")
    candidate_drop: float = unit(0.08, "share of candidates not confirmed as full members")
    max_age: int = Field(60, ge=18, le=100, description="oldest age at which people apply")


@njit(cache=True, inline="always")
def _propensity(belief, ambition, privilege, mobilization, danger, w_i, w_c, w_m, w_d):
    ideal = w_i * belief
    career = w_c * privilege * ambition
    conf = w_m * mobilization
    motive = IDEAL
    best = ideal
    if career > best:
        best = career
        motive = CAREER
    if conf > best:
        motive = CONFORMIST
    return ideal + career + conf - w_d * danger, motive


@njit(cache=True, parallel=True)
def recruit(alive, birth, status, left, join, motive, uid, belief, month, min_age, max_age,
            privilege, mobilization, danger, selectivity_k, quota,
            apply_rate, w_i, w_c, w_m, w_d, theta, slope, key_apply, key_amb, key_admit,
            bounds, wsum, counts, applied):
    """Applications and admissions of one month. Returns through ``counts`` per chunk:
    [applicants, admitted, admitted_ideal, admitted_career, admitted_conformist].

    ``applied`` (int8 scratch, one per slot) carries each applicant's motive from the first
    pass to the second, so the decision to apply is computed once per agent."""
    nchunk = bounds.shape[0] - 1
    for c in prange(nchunk):
        s = 0.0
        napp = 0
        for i in range(bounds[c], bounds[c + 1]):
            applied[i] = 0
            if not alive[i] or status[i] != NONMEMBER or left[i] != NEVER:
                continue
            age = month - birth[i]
            if age < min_age or age > max_age:
                continue
            amb = uniform(key_amb, uid[i])
            prop, mot = _propensity(belief[i], amb, privilege, mobilization, danger,
                                    w_i, w_c, w_m, w_d)
            if uniform(key_apply, uid[i]) < apply_rate * logistic((prop - theta) / slope):
                napp += 1
                s += np.exp(selectivity_k * (belief[i] - 0.5))
                applied[i] = mot
        wsum[c] = s
        counts[c, 0] = napp
    total = 0.0
    for c in range(nchunk):
        total += wsum[c]
    if total <= 0.0:
        return
    for c in prange(nchunk):
        adm = 0
        by = np.zeros(4, dtype=np.int64)
        for i in range(bounds[c], bounds[c + 1]):
            mot = applied[i]
            if mot == 0:
                continue
            pa = quota * np.exp(selectivity_k * (belief[i] - 0.5)) / total
            if uniform(key_admit, uid[i]) < pa:
                status[i] = CANDIDATE
                join[i] = month
                motive[i] = mot
                adm += 1
                by[mot] += 1
        counts[c, 1] = adm
        counts[c, 2] = by[IDEAL]
        counts[c, 3] = by[CAREER]
        counts[c, 4] = by[CONFORMIST]


@njit(cache=True, parallel=True)
def confirm_candidates(alive, status, join, left, uid, month, candidacy, drop, key, bounds, part):
    """Candidates past their candidacy become full members; a share is dropped."""
    for c in prange(bounds.shape[0] - 1):
        ok = 0
        dropped = 0
        for i in range(bounds[c], bounds[c + 1]):
            if alive[i] and status[i] == CANDIDATE and month - join[i] >= candidacy:
                if uniform(key, uid[i]) < drop:
                    status[i] = NONMEMBER
                    left[i] = EXPELLED
                    dropped += 1
                else:
                    status[i] = MEMBER
                    ok += 1
        part[c, 0] = ok
        part[c, 1] = dropped


@njit(cache=True, inline="always")
def _purge_weight(target, belief, motive, status, seniority_y):
    if target == 1:
        return np.exp(3.0 * (0.5 - belief))
    if target == 2:
        return 3.0 if motive == CAREER else 1.0
    if target == 3:
        return np.exp(seniority_y / 10.0)
    if target == 4:
        return 4.0 if status >= ELITE - 1 else 1.0
    return 1.0


@njit(cache=True, parallel=True)
def purge(alive, status, join, motive, left, uid, belief, month, share, target, key,
          bounds, wsum, part):
    """Expel members with probability ``share · w_i / mean(w)`` (w: the target weighting)."""
    nchunk = bounds.shape[0] - 1
    for c in prange(nchunk):
        s = 0.0
        k = 0
        for i in range(bounds[c], bounds[c + 1]):
            if alive[i] and status[i] >= CANDIDATE:
                s += _purge_weight(target, belief[i], motive[i], status[i],
                                   (month - join[i]) / 12.0)
                k += 1
        wsum[c] = s
        part[c, 1] = k
    tot = 0.0
    nm = 0
    for c in range(nchunk):
        tot += wsum[c]
        nm += part[c, 1]
    if nm == 0:
        return
    mean_w = tot / nm
    for c in prange(nchunk):
        e = 0
        for i in range(bounds[c], bounds[c + 1]):
            if alive[i] and status[i] >= CANDIDATE:
                w = _purge_weight(target, belief[i], motive[i], status[i],
                                  (month - join[i]) / 12.0)
                if uniform(key, uid[i]) < share * w / mean_w:
                    status[i] = NONMEMBER
                    left[i] = EXPELLED
                    e += 1
        part[c, 0] = e


def step(m, step: int) -> None:
    """Phase ``recruitment``: candidates confirmed, then applications and admissions."""
    p = m.params.recruitment
    st = m.state
    month = m.month(step)
    bounds = m.bounds()
    nchunk = bounds.shape[0] - 1
    part = np.zeros((nchunk, 2), dtype=np.int64)
    confirm_candidates(st.view("alive"), st.view("status"), st.view("join"), st.view("left"),
                       st.view("uid"), month,
                       int(round(m.lever("candidacy_months"))),  # noqa: RUF046 (may be np.float)
                       p.candidate_drop, m.rng.key("recruitment.confirm", step), bounds, part)
    m.flows["confirmed"] += int(part[:, 0].sum())
    m.flows["dropped_candidates"] += int(part[:, 1].sum())
    if not p.enabled:
        return
    quota = m.lever("admission_rate") / 12.0 * m.agg["adults"]
    if quota <= 0:
        return
    wsum = np.zeros(nchunk)
    counts = np.zeros((nchunk, 5), dtype=np.int64)
    recruit(st.view("alive"), st.view("birth"), st.view("status"), st.view("left"),
            st.view("join"), st.view("motive"), st.view("uid"), st.view("belief"), month,
            ADULT_MONTHS, p.max_age * 12, m.lever("privilege"), m.lever("mobilization"),
            m.lever("danger"), m.lever("selectivity") * p.selectivity_gain, quota,
            p.apply_rate, p.w_ideal, p.w_career, p.w_conformity, p.danger_weight,
            p.apply_threshold, p.apply_slope, m.rng.key("recruitment.apply", step),
            m.rng.key("recruitment.ambition", 0), m.rng.key("recruitment.admit", step),
            bounds, wsum, counts, st.scratch("applied", np.int8))
    tot = counts.sum(axis=0)
    m.flows["applicants"] += int(tot[0])
    m.flows["joins"] += int(tot[1])
    m.flows["joins_ideal"] += int(tot[2])
    m.flows["joins_career"] += int(tot[3])
    m.flows["joins_conformist"] += int(tot[4])


def apply_purge(m, step: int, share: float, target: str) -> int:
    """Expel ``share`` of members this month, weighted towards ``target``.

    Returns:
        The number of agents expelled.
    """
    st = m.state
    bounds = m.bounds()
    nchunk = bounds.shape[0] - 1
    part = np.zeros((nchunk, 2), dtype=np.int64)
    purge(st.view("alive"), st.view("status"), st.view("join"), st.view("motive"),
          st.view("left"), st.view("uid"), st.view("belief"), m.month(step), share,
          PURGE_TARGETS.index(target), m.rng.key("recruitment.purge", step), bounds,
          np.zeros(nchunk), part)
    n = int(part[:, 0].sum())
    m.flows["expelled"] += n
    return n
