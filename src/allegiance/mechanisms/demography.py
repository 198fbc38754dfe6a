"""M2 — Generational replacement: births, ageing, deaths, and socialization of each cohort.

Essay §1.1–1.2: the party of 1917 was made of people formed by prison and exile; later
cohorts grew up under other conditions. Each agent is socialized once, at age 16, under the
conditions of its youth: its belief in the ideal starts near the *climate* of that month, a
mix of the adults' mean belief and the regime's message (weakened by ritualization, M4), and
its trust in the party near the adults' mean trust.

Population follows the census series (``data/ussr_population.csv``, log-linear interpolation):
natural deaths follow a Gompertz hazard (each agent's month of death is drawn once, when it
enters the model, from that hazard: the same distribution as a draw every month); births close
the gap to the series, between a minimum and a maximum crude birth rate; what the series still
falls short of is removed by excess deaths (war, famine, terror), and what it still exceeds
arrives as people of all ages (the 1939–40 annexations).

State: ``birth`` (month number), ``death`` (month of natural death, drawn on entry), ``cell``
(workplace / primary organization).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange
from numba.extending import register_jitable
from pydantic import Field

from ..rng import log_q, next_success, normal, uniform
from ._common import MechanismParams, clip01, positive, unit

#: ``death``: the month of the agent's natural death (drawn once, when it enters the model);
#: ``NEVER_DIES`` when it would fall after the last month an int16 holds
NEVER_DIES = np.iinfo(np.int16).max
#: the mechanism's id in the brief
ID = "M2"
#: the flows it counts (columns of ``timeseries.parquet``, persons per month)
FLOWS: tuple[str, ...] = ("births", "arrivals", "deaths", "deaths_members")
STATE = [("birth", np.int16, 0), ("death", np.int16, NEVER_DIES), ("cell", np.int32, 0)]

SOCIALIZATION_MONTHS = 16 * 12


class Params(MechanismParams):
    """Demography and socialization. Switching it off freezes the population (no births,
    deaths or ageing into adulthood beyond the initial state)."""

    gompertz_a: float = positive(0.0001, "annual death hazard at age 0 of the Gompertz part")
    gompertz_b: float = positive(0.085, "Gompertz slope per year of age")
    infant_mortality: float = unit(0.15, "death probability in the first year of life")
    max_birth_rate: float = unit(0.045, "maximum crude birth rate per year")
    min_birth_rate: float = unit(0.015, "minimum crude birth rate per year (war, famine)")
    initial_age_decay: float = positive(0.03, "per-year decay of the initial age pyramid")
    adults_per_cell: float = Field(440.0, gt=0, le=10_000,
                                   description="adults per workplace; with ~10% party share "
                                               "this gives ~44 members per primary "
                                               "organization (at most 10,000: workplace sums "
                                               "are packed, see _common.COUNT_BITS)")
    climate_weight: float = unit(0.5, "weight of the adults' mean belief in a cohort's climate "
                                      "(rest: the regime's message)")
    message_strength: float = unit(0.8, "belief the regime's message instils when not ritualized")
    socialization_sd: float = positive(0.25, "spread of belief around the climate at age 16")
    initial_belief_mean: float = unit(0.35, "mean belief in the ideal among adults in 1917")
    initial_belief_sd: float = positive(0.2, "spread of belief in 1917")
    initial_trust_mean: float = unit(0.4, "mean trust in the party among adults in 1917")


@njit(cache=True, inline="always")
def _hazard(age_months, a, b, infant):
    age_y = age_months / 12.0
    h = a * np.exp(b * age_y) / 12.0
    if age_y < 1.0:
        h += infant / 12.0
    return h


#: ages (months) covered by the survival table: nobody lives longer (at 150 the monthly
#: Gompertz hazard exceeds 1 at the default parameters)
HAZARD_TABLE_MONTHS = 150 * 12


@njit(cache=True)
def log_survival(a, b, infant, out):
    """``out[k]``: log of the chance to survive the monthly draws at ages 0 … k−1 months
    (``out[0] = 0``; ``-inf`` once the hazard reaches 1)."""
    out[0] = 0.0
    for k in range(out.shape[0] - 1):
        h = _hazard(k, a, b, infant)
        out[k + 1] = out[k] + (np.log1p(-h) if h < 1.0 else -np.inf)


@njit(cache=True, inline="always")
def death_month(birth, first_age, uid, key, log_s):
    """Month of natural death of an agent born in ``birth`` whose first monthly draw is at
    ``first_age`` months: the first age ``K >= first_age`` at which the Gompertz hazard kills
    it, drawn at once by inverting the survival curve (one keyed draw per life, the same
    distribution as one draw a month). Beyond the table (150 years) it dies at 150."""
    last = log_s.shape[0] - 1
    if first_age >= last or log_s[first_age] == -np.inf:  # past the table, or certain death
        return min(birth + first_age, NEVER_DIES)
    # dies at age K when log S(K+1)/S(first) < log U <= log S(K)/S(first), U in (0, 1]
    thr = log_s[first_age] + np.log(1.0 - uniform(key, uid))
    lo = first_age  # the draw at age lo is reached: log_s[lo] >= thr
    hi = last  # death at 150 at the latest
    while lo < hi:
        mid = (lo + hi) // 2
        if log_s[mid + 1] < thr:
            hi = mid
        else:
            lo = mid + 1
    return min(birth + lo, NEVER_DIES)


@njit(cache=True, parallel=True)
def lifespans(lo, hi, birth, first_age, uid, death, key, log_s):
    """``death`` of the agents in slots ``[lo, hi)`` (``first_age``: per agent, from ``lo``)."""
    for i in prange(lo, hi):
        death[i] = death_month(np.int64(birth[i]), np.int64(first_age[i - lo]), uid[i], key,
                               log_s)


@njit(cache=True, parallel=True)
def natural_deaths(alive, death, status, month, bounds, part):
    """Agents whose month of death has come die; deaths and deaths of members per chunk."""
    for c in prange(bounds.shape[0] - 1):
        d = 0
        dm = 0
        for i in range(bounds[c], bounds[c + 1]):
            if alive[i] and death[i] <= month:
                alive[i] = False
                d += 1
                if status[i] > 0:
                    dm += 1
        part[c, 0] = d
        part[c, 1] = dm


def log_survival_table(p: Params) -> np.ndarray:
    """The survival table (:func:`log_survival`) of the parameters ``p`` (built once a run)."""
    t = np.empty(HAZARD_TABLE_MONTHS + 1, dtype=np.float64)
    log_survival(p.gompertz_a, p.gompertz_b, p.infant_mortality, t)
    return t


def draw_lifespans(st, s: slice, first_age: np.ndarray, key: np.uint64,
                   table: np.ndarray) -> None:
    """Months of death of the agents in slots ``s`` of the state ``st`` (their first draw at
    ``first_age``; ``key``: the stream ``demography.lifespan``, ``table``:
    :func:`log_survival_table`)."""
    lifespans(s.start, s.stop, st.birth, first_age.astype(np.int64, copy=False), st.uid,
              st.death, key, table)


@njit(cache=True, parallel=True)
def excess_deaths(alive, status, uid, key, prob, bounds, span, part):
    """Kill each living agent with probability ``prob`` (war, famine: the census gap).

    ``prob`` is mostly tiny (a few deaths per million a month), so the deaths are drawn by
    skipping from one to the next over each chunk's ``span`` uids (:func:`rng.next_success`):
    one draw per death instead of one per agent, each agent still dying independently with
    ``prob``."""
    if prob <= 0.0:
        return
    lq = log_q(prob)
    for c in prange(bounds.shape[0] - 1):
        d = 0
        dm = 0
        s = bounds[c]
        hi = bounds[c + 1]
        j = 0
        pos = 0.0
        while True:
            j, pos, s, hit = next_success(uid, key, c, j, pos, s, hi, span, lq)
            if hit and alive[s]:
                alive[s] = False
                d += 1
                if status[s] > 0:
                    dm += 1
            if pos >= span:
                break
        part[c, 0] = d
        part[c, 1] = dm


@njit(cache=True, parallel=True)
def init_newcomers(lo, hi, uid, birth, cell, belief, trust, month, ages, n_cells,
                   climate, trust_mean, sd, key_cell, key_b, key_t):
    """Give new agents (births, arrivals) their birth month, workplace, belief and trust."""
    for i in prange(lo, hi):
        birth[i] = month - ages[i - lo]
        cell[i] = int(uniform(key_cell, uid[i]) * n_cells)
        belief[i] = clip01(climate + sd * normal(key_b, uid[i]))
        trust[i] = clip01(trust_mean + sd * normal(key_t, uid[i]))


@njit(cache=True, inline="always")
def socialized(climate, trust_mean, sd, uid, key_b, key_t):
    """Belief and trust of an agent turning 16 this month, from the climate of its youth."""
    return (clip01(climate + sd * normal(key_b, uid)),
            clip01(trust_mean + sd * normal(key_t, uid)))


@register_jitable
def climate(ctx) -> float:
    """Belief a cohort coming of age this month is socialized towards: a mix of the adults'
    mean belief and the regime's message, weakened by ritualization (M4)."""
    p = ctx.params.demography
    message = p.message_strength * (1.0 - ctx.lever("ritualization"))
    return (p.climate_weight * ctx.stocks.get("belief_adults", 0.5)
            + (1 - p.climate_weight) * message)


class DemographyTerms(NamedTuple):
    """This month's constants of :func:`socialized` (and of :func:`init_newcomers`)."""

    climate: float  #: :func:`climate`
    trust_mean: float  #: the adults' mean trust on the 1st of the month
    sd: float  #: spread of belief and trust around them
    key_belief: np.uint64
    key_trust: np.uint64


#: the interface's name for it (the class names differ between mechanisms: numba's parallel
#: loops tell records apart by class name)
Terms = DemographyTerms
#: the terms a kernel is given when the mechanism does nothing this month
OFF = Terms(0.0, 0.0, 0.0, np.uint64(0), np.uint64(0))


@register_jitable
def terms(ctx) -> Terms | None:
    """This month's socialization :class:`Terms` of the cohort turning 16 (and of newcomers),
    or ``None`` when M2 is off."""
    p = ctx.params.demography
    if not p.enabled:
        return None
    return Terms(climate(ctx), ctx.stocks["trust_adults"], p.socialization_sd,
                 ctx.key("demography.socialize_b"), ctx.key("demography.socialize_t"))


@njit(cache=True)
def nth_alive(alive, ks):
    """Slots of the ``ks[j]``-th living agents (``ks`` sorted ascending), in one pass and
    without an index of all living agents."""
    out = np.empty(ks.shape[0], dtype=np.int64)
    j = 0
    seen = 0
    for i in range(alive.shape[0]):
        if j == ks.shape[0]:
            break
        if alive[i]:
            while j < ks.shape[0] and ks[j] == seen:
                out[j] = i
                j += 1
            seen += 1
    return out


@register_jitable
def round_random(x: float, u: float) -> int:
    """Integer with expectation ``x`` (floor plus a Bernoulli on the fraction)."""
    base = int(np.floor(x))
    return base + (1 if u < x - base else 0)


@register_jitable
def census_flows(p: Params, n_alive: int, target: float,
                 u: np.ndarray) -> tuple[int, int, float | None]:
    """This month's births, arrivals and probability of excess death that bring ``n_alive``
    agents (after natural deaths) to the census ``target`` of next month (``u``: two
    uniforms that round the expected numbers).

    Births never fall below the floor rate (even in war and famine); any remaining excess
    over the census series is removed by excess deaths among the living (probability ``None``:
    no excess).
    """
    gap = target - n_alive
    floor = p.min_birth_rate / 12.0 * n_alive
    births = round_random(max(floor, min(gap, p.max_birth_rate / 12.0 * n_alive)), u[0])
    arrivals = max(0, round_random(gap, u[1]) - births)
    excess = (n_alive + births) - target
    prob = min(1.0, excess / max(n_alive, 1)) if excess > 0 else None
    return births, arrivals, prob
