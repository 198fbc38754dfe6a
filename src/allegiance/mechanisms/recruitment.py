"""M1 — Self-selection at recruitment, the admission quota, candidacy, and purges.

Essay §1.1–1.3: in 1917 joining meant prison and exile, so those who joined were believers;
once membership brought privileges ("a ticket to power, status and material privileges"),
careerists applied. The party vets applicants with some selectivity and admits up to a quota.

Each month every eligible adult (never a member before) applies with probability

    p_apply = apply_rate · logistic((ideal + career + conformity − danger·danger_weight − θ) / s)
    ideal = w_ideal · belief,   career = w_career · privilege · ambition,
    conformity = w_conformity · mobilization

where ``ambition`` is a fixed personal trait (uniform in [0, 1]). The motive at joining is the
largest of the three terms. (It is drawn as a trial at ``apply_rate`` per agent and month,
the successes found by skipping from one to the next, then ``logistic(·)`` for the agents
whose trial succeeded: the same probability, one draw per success.) The party admits
applicant ``i`` with probability ``min(1, Q · w_i / Σ w)`` where ``Q = admission_rate/12 ·
adults`` is the quota and ``w_i = exp(selectivity · k · (belief_i − ½))`` favours believers.
Admission stops when the applicants run out: the quota is a ceiling, not a target. Candidates
become full members after ``candidacy_months``; a share ``candidate_drop`` is dropped, and
``stop_drop`` while the party admits nobody (``admission_rate`` = 0: the candidates of a mass
intake caught by an admission stop were demoted or lapsed).

Purges (events, ``data/cpsu_purges.csv``) expel members over some months — a share of the
members, a share of the persons checked, or a number of persons — each member with a chance
in proportion to its weight for a target group (low belief, careerists, the old guard, the
elite, or at random).

State: ``status``, ``join`` (month joined as candidate), ``motive``, ``left``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit
from numba.extending import register_jitable
from pydantic import Field

from ..rng import uniform
from ._common import (
    ADULT_MONTHS,
    CANDIDATE,
    CAREER,
    CONFORMIST,
    ELITE,
    IDEAL,
    NEVER,
    NONMEMBER,
    MechanismParams,
    logistic,
    positive,
    unit,
)

#: the mechanism's id in the brief
ID = "M1"
#: the flows it counts (columns of ``timeseries.parquet``, persons per month)
FLOWS: tuple[str, ...] = ("applicants", "joins", "joins_ideal", "joins_career",
                          "joins_conformist", "confirmed", "dropped_candidates", "expelled")
STATE = [("status", np.int8, 0), ("join", np.int16, -1), ("motive", np.int8, 0),
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
    stop_drop: float | None = Field(None, ge=0, le=1, description=(
        "share of candidates not confirmed while admission_rate is 0 (an admission stop); "
        "default: candidate_drop"))
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


@njit(cache=True, inline="always")
def eligible(alive, status, left, age, min_age, max_age):
    """Whether an agent may apply: alive, never a member, of applying age."""
    return alive and status == NONMEMBER and left == NEVER and min_age <= age <= max_age


@njit(cache=True, inline="always")
def apply_motive(belief, uid, privilege, mobilization, danger, w_i, w_c, w_m, w_d, theta, slope,
                 key_apply, key_amb):
    """Motive of an eligible agent who applies this month, or ``NO_MOTIVE`` (0), given that
    its trial at ``apply_rate`` succeeded: it then applies with probability
    ``logistic((propensity − θ) / s)``, so with ``apply_rate · logistic(·)`` in all.

    The trials at ``apply_rate`` are drawn by skipping from success to success
    (:func:`allegiance.rng.next_success`): one draw per success, not per eligible agent (a
    success befalls ~2 % of them a month), each agent still independent of the others."""
    amb = uniform(key_amb, uid)
    prop, mot = _propensity(belief, amb, privilege, mobilization, danger, w_i, w_c, w_m, w_d)
    if uniform(key_apply, uid) < logistic((prop - theta) / slope):
        return mot
    return 0


@njit(cache=True, inline="always")
def admit_weight(belief, selectivity_k):
    """Vetting weight of an applicant (favours believers)."""
    return np.exp(selectivity_k * (belief - 0.5))


@njit(cache=True, inline="always")
def admit_probability(quota, weight, total):
    """Chance that an applicant of vetting ``weight`` is admitted: the month's ``quota``
    (admissions expected) shared among the applicants in proportion to their weights
    (``total``: the sum of all applicants' weights, > 0)."""
    return quota * weight / total


class RecruitmentTerms(NamedTuple):
    """This month's constants of :func:`eligible`, :func:`apply_motive`, :func:`admit_weight`
    and :func:`admit_probability`."""

    min_age: int  #: youngest applicant, months
    max_age: int  #: oldest applicant, months
    privilege: float  #: levers as applicants see them
    mobilization: float
    danger: float
    selectivity_k: float  #: vetting strength (selectivity lever · gain)
    quota: float  #: admissions expected this month (agents)
    apply_rate: float  #: monthly rate of the trial that precedes a decision to apply
    w_ideal: float
    w_career: float
    w_conformity: float
    danger_weight: float
    threshold: float
    slope: float
    key_apply: np.uint64
    key_ambition: np.uint64  #: an agent's ambition, drawn once for life
    key_admit: np.uint64
    key_trial: np.uint64


#: the interface's name for it (the class names differ between mechanisms: numba's parallel
#: loops tell records apart by class name)
Terms = RecruitmentTerms
#: the terms passed to compiled code when nobody is admitted (never read then)
OFF = Terms(0, 0, *(0.0,) * 12, *(np.uint64(0),) * 4)


@njit(cache=True, inline="always")
def decide(alive, status, left, age, belief, uid, t):
    """An agent whose monthly trial succeeded: its motive if it is :func:`eligible` and
    applies (:func:`apply_motive`, with this month's :class:`Terms` ``t``), else 0."""
    if not eligible(alive, status, left, age, t.min_age, t.max_age):
        return 0
    return apply_motive(belief, uid, t.privilege, t.mobilization, t.danger, t.w_ideal,
                        t.w_career, t.w_conformity, t.danger_weight, t.threshold, t.slope,
                        t.key_apply, t.key_ambition)


@register_jitable
def terms(ctx) -> Terms | None:
    """This month's application and admission :class:`Terms`, or ``None`` when nobody is
    admitted."""
    p = ctx.params.recruitment
    if not p.enabled:
        return None
    quota = ctx.lever("admission_rate") / 12.0 * ctx.stocks["adults"]
    if quota <= 0:
        return None
    return Terms(ADULT_MONTHS, p.max_age * 12, ctx.lever("privilege"), ctx.lever("mobilization"),
                 ctx.lever("danger"), ctx.lever("selectivity") * p.selectivity_gain, quota,
                 p.apply_rate, p.w_ideal, p.w_career, p.w_conformity, p.danger_weight,
                 p.apply_threshold, p.apply_slope, ctx.key("recruitment.apply"),
                 ctx.key("recruitment.ambition", 0), ctx.key("recruitment.admit"),
                 ctx.key("recruitment.trial"))


@njit(cache=True, inline="always")
def confirm_one(st, join, uid, month, candidacy, drop, key):
    """A candidate past its candidacy: 1 confirmed as a full member, 2 dropped, 0 neither."""
    if st == CANDIDATE and month - join >= candidacy:
        return 2 if uniform(key, uid) < drop else 1
    return 0


class ConfirmTerms(NamedTuple):
    """This month's constants of :func:`confirm_one`."""

    candidacy: int  #: months of candidacy
    drop: float  #: share of candidates not confirmed
    key: np.uint64


@register_jitable
def confirm_terms(ctx) -> ConfirmTerms:
    """This month's :class:`ConfirmTerms` — candidates are confirmed even when M1 is off."""
    p = ctx.params.recruitment
    drop = p.candidate_drop
    if p.stop_drop is not None and ctx.lever("admission_rate") <= 0:
        drop = p.stop_drop
    return ConfirmTerms(int(round(ctx.lever("candidacy_months"))),  # noqa: RUF046 (np.float)
                        drop, ctx.key("recruitment.confirm"))


@njit(cache=True, inline="always")
def purge_weight(target, belief, motive, status, seniority_y):
    """Relative chance of being expelled in a purge aimed at ``target`` (PURGE_TARGETS index)."""
    if target == 1:
        return np.exp(3.0 * (0.5 - belief))
    if target == 2:
        return 3.0 if motive == CAREER else 1.0
    if target == 3:
        return np.exp(seniority_y / 10.0)
    if target == 4:
        return 4.0 if status >= ELITE - 1 else 1.0
    return 1.0
