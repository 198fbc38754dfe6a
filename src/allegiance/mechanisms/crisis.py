"""M10 — The crisis: defend, stay passive, or side with the challenger; obey or refuse.

Essay §4: in August 1991 "there was not a single real man among them, no one came forward to
resist". Here that is an *output*: the same code gives no defenders, a few or many, depending on
the attitudes it is handed (``benchmarks/crisis_map.py`` maps where). At a ``crisis`` event:

**Dispositions.** Every adult has a disposition (positive: for the regime)

    d = w_belief · (belief − ½) + w_trust · (trust − ½) + w_stake · stake · [in office]
        − w_converted · [converted official] + spread · z

``z`` a standard normal drawn from the agent's uid: what belief and trust do not carry
(nationality, region, family memory of repression). A civilian is ready to act for the regime
if ``d > margin + c``, for the challenger if ``d < −(margin + c)``, and for neither otherwise;
``c`` is its personal cost of acting at all (time, family, fear), exponential with mean
``reluctance`` and drawn from its uid. So how many *could* act grows smoothly with the strength
of attitudes, and a cascade fills that pool, not the whole country.

**Security forces** (Svolik's coercive agents): an adult younger than ``service_age_max``
belongs to the army, KGB or militia if ``u_sec < security_share`` (``u_sec`` drawn from its uid,
so nothing else in the run changes). Units are ordered out; a unit obeys while

    discipline + d  ≥  crowd_pressure · (s_opp − s_def) / crowd_mass + peer_refusal · r_sec

``s_opp``, ``s_def`` the shares of adults in the street for each side, ``crowd_mass`` the size
of crowd at which the pressure is full (Chenoweth's 3.5 %), ``r_sec`` the share of units that
already refused. The hard core (``u_sec < security_share · security_core``) obeys whatever.
A refusal is final.

**Instigators**, on each side whatever anyone leans to: the event's ``defender_seed`` share of
the elite tier (officials who have not converted to private wealth, M8) and the security core
for the regime; the event's ``challenger_seed`` share of the other adults (an organised
opposition, members or not, drawn by uid) for the challenger.

**The cascade** (Granovetter 1978). A civilian ready to act for a side goes into the street when

    θ_i · (1 − min(1, conviction · |d|)) + risk  ≤  local · s_cell + (1 − local) · o · s_all

``θ_i`` a personal threshold (Kumaraswamy(a, b), drawn from the uid), ``s_cell`` and ``s_all``
the shares of the workplace's and of the country's adults in the street for that side, ``o``
openness (M7: whether one learns what the country does). The risks are the event's dangers,
realised through the forces: ``risk = risk_oppose · k`` for the challenger (repression by the
share ``k`` of units that obey) and ``risk = risk_defend · (1 − k)`` for the regime (defending
a regime whose forces left it). Rounds are synchronous (each reads the last round's shares)
and every step is final (in the street one stays; a refusal is not revoked), so the cascade
reaches its fixed point in finitely many rounds, the same whatever the agents' order.

**What is counted** (see ``docs/ODD.md``, "M10 outputs"): *defenders* and *opponents* are the
civilians in the street for each side (instigators included), *passive* the civilians who are
not; the forces are counted apart, as units that obeyed or refused.

Switched off, a crisis event is recorded but nobody acts.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from pydantic import Field

from ..rng import normal, uniform
from ._common import ADULT_MONTHS, CADRE, ELITE, LAPSED, MechanismParams, positive, unit

#: the mechanism's id in the brief
ID = "M10"
#: the flows it counts (columns of ``timeseries.parquet``, persons per month)
FLOWS: tuple[str, ...] = ()
STATE: list = []

#: final choices (columns of :func:`tally`)
PASSIVE, DEFEND, OPPOSE, OBEY, REFUSE = 0, 1, 2, 3, 4
CHOICES = ("passive", "defenders", "opponents", "security_obeyed", "security_refused")
#: row of :func:`tally`'s table holding the lapsed members (M9), a subset of rows 1–4
LAPSED_ROW = 5
#: working codes of the cascade (``choice`` holds them until the end): leaning but passive,
#: and the security core (obeys whatever)
LEAN_DEFEND, LEAN_OPPOSE, OBEY_CORE = 5, 6, 7
#: ``stats`` of :func:`cascade`: rounds, elite instigators, security core, challenger
#: instigators, security forces, rounds until the last unit refused
N_STATS = 6


class Params(MechanismParams):
    """Dispositions, thresholds and the security forces at the crisis."""

    w_belief: float = positive(1.0, "weight of belief in the ideal")
    w_trust: float = positive(1.0, "weight of trust in the party")
    w_stake: float = positive(0.5, "weight of an office-holder's stake")
    w_converted: float = positive(0.5, "pull of converted officials away from the party")
    spread: float = Field(0.15, ge=0.0, le=0.5,
                          description="standard deviation of the part of a disposition that "
                                      "belief and trust do not carry (region, nationality, "
                                      "family memory); plausible 0-0.3")
    margin: float = positive(0.1, "disposition needed to lean to a side")
    reluctance: float = Field(1.0, ge=0.0, le=5.0,
                              description="mean personal cost of acting at all (exponential "
                                          "across adults, in units of disposition): one acts "
                                          "only if |d| > margin + cost; plausible 0.3-2")
    conviction: float = positive(1.0, "how much a strong disposition lowers one's threshold")
    threshold_a: float = Field(2.0, gt=0.0, le=10.0,
                               description="Kumaraswamy a of the personal thresholds (a > 1: "
                                           "few thresholds near zero); plausible 1-4")
    threshold_b: float = Field(4.0, gt=0.0, le=20.0,
                               description="Kumaraswamy b of the personal thresholds; "
                                           "plausible 2-8")
    local: float = unit(0.6, "weight of one's workplace in what one sees")
    security_share: float = Field(0.03, ge=0.0, le=0.2,
                                  description="share of adults of service age in the army, "
                                              "KGB and MVD troops and militia; plausible "
                                              "0.02-0.06")
    service_age_max: float = Field(55.0, ge=18.0, le=80.0,
                                   description="age (years) below which an adult may serve; "
                                               "plausible 45-60")
    security_core: float = unit(0.05, "share of the forces that obey whatever (the regime's "
                                      "instigators in uniform); plausible 0-0.2")
    discipline: float = Field(0.5, ge=0.0, le=2.0,
                              description="how far discipline moves a unit towards obeying "
                                          "(in units of disposition); plausible 0.2-1")
    crowd_mass: float = Field(0.035, gt=0.0, le=0.5,
                              description="share of adults in the street at which a crowd's "
                                          "pressure on the forces is full; plausible "
                                          "0.01-0.1")
    crowd_pressure: float = Field(1.0, ge=0.0, le=5.0,
                                  description="pressure on the forces (in units of disposition) "
                                              "of a net crowd of crowd_mass; plausible 0.5-2")
    peer_refusal: float = Field(0.5, ge=0.0, le=5.0,
                                description="pull (in units of disposition) towards refusing "
                                            "when every other unit refused; plausible 0-1")
    max_iterations: int = Field(200, ge=1, le=100_000,
                                description="cap on the rounds of the cascade")


@njit(cache=True, inline="always")
def disposition(belief, trust, stake, status, converted, uid, w_b, w_t, w_s, w_c, spread,
                key_temper):
    """An adult's disposition ``d`` (positive: for the regime)."""
    office = 1.0 if status >= CADRE else 0.0
    return (w_b * (belief - 0.5) + w_t * (trust - 0.5) + w_s * stake * office
            - (w_c if converted else 0.0) + spread * normal(key_temper, uid))


@njit(cache=True, inline="always")
def threshold(d, uid, conviction, ta, tb, key_thr):
    """An adult's effective threshold: its Kumaraswamy draw lowered by conviction."""
    u = uniform(key_thr, uid)
    theta = (1.0 - (1.0 - u) ** (1.0 / tb)) ** (1.0 / ta)
    return theta * (1.0 - min(1.0, conviction * abs(d)))


@njit(cache=True)
def cascade(alive, birth, status, belief, trust, stake, converted, cell, uid, month, pr,
            ev, openness, keys, n_cells, choice, low, stats):
    """Run the crisis to its fixed point; writes PASSIVE/DEFEND/OPPOSE/OBEY/REFUSE to choice.

    ``pr`` holds the parameters (:func:`param_vector`), ``ev`` the event's (defender_seed,
    challenger_seed, risk_defend, risk_oppose), ``keys`` the streams (threshold, temper,
    security, instigator, cost). Sequential on purpose: each round reads the previous round's
    shares, so the result does not depend on agent order or thread count.

    Memory: 5 bytes per slot (``choice`` int8 and ``low`` float32). ``low`` holds each leaning
    civilian's effective threshold rounded to float32; a round tests a lower bound from it and
    recomputes the exact float64 threshold only when the bound says the agent may act, so
    decisions are those of the exact thresholds. Units' loyalty is recomputed each round.
    """
    (w_b, w_t, w_s, w_c, spread, margin, reluct, conviction, ta, tb, local, sec_share,
     age_max, core, discipline, mass, pressure, peer, max_iter) = (
        pr[0], pr[1], pr[2], pr[3], pr[4], pr[5], pr[6], pr[7], pr[8], pr[9], pr[10],
        pr[11], pr[12], pr[13], pr[14], pr[15], pr[16], pr[17], int(pr[18]))
    seed_def, seed_opp, risk_def, risk_opp = ev[0], ev[1], ev[2], ev[3]
    k_thr, k_temper, k_sec, k_inst, k_cost = keys[0], keys[1], keys[2], keys[3], keys[4]
    n = alive.shape[0]
    stats[:] = 0
    adults_cell = np.zeros(n_cells, dtype=np.int64)
    act_def = np.zeros(n_cells, dtype=np.int64)
    act_opp = np.zeros(n_cells, dtype=np.int64)
    adults = 0
    n_sec = 0
    for i in range(n):
        choice[i] = PASSIVE
        age = month - birth[i]
        if not alive[i] or age < ADULT_MONTHS:
            continue
        adults += 1
        c = cell[i]
        adults_cell[c] += 1
        if age < age_max * 12.0:
            u = uniform(k_sec, uid[i])
            if u < sec_share:
                n_sec += 1
                if u < sec_share * core:
                    choice[i] = OBEY_CORE
                    stats[2] += 1
                else:
                    choice[i] = OBEY  # ordered out; decides in the rounds
                continue
        u = uniform(k_inst, uid[i])
        if status[i] == ELITE and not converted[i] and u < seed_def:
            choice[i] = DEFEND
            act_def[c] += 1
            stats[1] += 1
            continue
        if u >= 1.0 - seed_opp:
            choice[i] = OPPOSE
            act_opp[c] += 1
            stats[3] += 1
            continue
        d = disposition(belief[i], trust[i], stake[i], status[i], converted[i], uid[i],
                        w_b, w_t, w_s, w_c, spread, k_temper)
        # the personal cost of acting at all (exponential; a stream of its own, so it is
        # independent of the threshold θ)
        cost = -reluct * np.log1p(-uniform(k_cost, uid[i]))
        if d > margin + cost:
            choice[i] = LEAN_DEFEND
        elif d < -(margin + cost):
            choice[i] = LEAN_OPPOSE
        else:
            continue
        low[i] = np.float32(threshold(d, uid[i], conviction, ta, tb, k_thr))
    stats[4] = n_sec
    if adults == 0:
        stats[0] = 1
        return
    refused = 0
    rounds = 0
    for _ in range(max_iter):
        rounds += 1
        s_def = act_def.sum() / adults
        s_opp = act_opp.sum() / adults
        obey_share = (n_sec - refused) / n_sec if n_sec > 0 else 0.0
        r_sec = refused / n_sec if n_sec > 0 else 0.0
        push = pressure * (s_opp - s_def) / mass + peer * r_sec
        r_d = risk_def * (1.0 - obey_share)
        r_o = risk_opp * obey_share
        changed = 0
        new_def = act_def.copy()
        new_opp = act_opp.copy()
        for i in range(n):
            ch = choice[i]
            if ch == OBEY:
                d = disposition(belief[i], trust[i], stake[i], status[i], converted[i], uid[i],
                                w_b, w_t, w_s, w_c, spread, k_temper)
                if discipline + d < push:
                    choice[i] = REFUSE
                    refused += 1
                    changed += 1
                continue
            if ch < LEAN_DEFEND or ch > LEAN_OPPOSE:  # not leaning (LEAN_DEFEND, LEAN_OPPOSE)
                continue
            c = cell[i]
            k = adults_cell[c]
            if ch == LEAN_DEFEND:
                seen = local * (act_def[c] / k) + (1.0 - local) * openness * s_def
                risk = r_d
            else:
                seen = local * (act_opp[c] / k) + (1.0 - local) * openness * s_opp
                risk = r_o
            # float32 rounding moved eff by at most 2**-24 of itself: the exact threshold is at
            # least low · (1 − 2**-23) (computed exactly in float64)
            if np.float64(low[i]) * (1.0 - 2.0**-23) + risk > seen:
                continue
            d = disposition(belief[i], trust[i], stake[i], status[i], converted[i], uid[i],
                            w_b, w_t, w_s, w_c, spread, k_temper)
            if threshold(d, uid[i], conviction, ta, tb, k_thr) + risk <= seen:
                changed += 1
                if ch == LEAN_DEFEND:
                    choice[i] = DEFEND
                    new_def[c] += 1
                else:
                    choice[i] = OPPOSE
                    new_opp[c] += 1
        act_def = new_def
        act_opp = new_opp
        if changed == 0:
            break
    for i in range(n):
        ch = choice[i]
        if ch >= LEAN_DEFEND and ch <= LEAN_OPPOSE:  # leaning, not acting
            choice[i] = PASSIVE
        elif ch == OBEY_CORE:
            choice[i] = OBEY
    stats[0] = rounds


def param_vector(p) -> np.ndarray:
    """The parameters of :func:`cascade`, in its order, from M10's ``Params``."""
    return np.array([p.w_belief, p.w_trust, p.w_stake, p.w_converted, p.spread, p.margin,
                     p.reluctance, p.conviction, p.threshold_a, p.threshold_b, p.local,
                     p.security_share, p.service_age_max, p.security_core, p.discipline,
                     p.crowd_mass, p.crowd_pressure, p.peer_refusal, p.max_iterations],
                    dtype=np.float64)


def event_vector(ev) -> np.ndarray:
    """The event's inputs of :func:`cascade`: instigator shares and risks."""
    return np.array([ev.defender_seed, ev.challenger_seed, ev.risk_defend, ev.risk_oppose],
                    dtype=np.float64)


#: the random streams of the cascade, in the order of :func:`cascade`'s ``keys``
STREAMS = ("crisis.threshold", "crisis.temper", "crisis.security", "crisis.instigator",
           "crisis.cost")


def stream_keys(ctx) -> np.ndarray:
    """The keys of :data:`STREAMS` (traits an agent keeps for life: step 0)."""
    return np.array([ctx.key(s, 0) for s in STREAMS], dtype=np.uint64)


@njit(cache=True)
def tally(alive, birth, status, left, choice, month, out):
    """Adults by tier (rows: 0 non-members, 1 candidates, 2 rank-and-file, 3 cadres, 4 elite)
    and final choice (columns: :data:`CHOICES`); row 5: the lapsed members among rows 1–4
    (M9: on the register, no longer paying dues or attending)."""
    out[:] = 0
    for i in range(alive.shape[0]):
        if alive[i] and month - birth[i] >= ADULT_MONTHS:
            out[status[i], choice[i]] += 1
            if status[i] > 0 and left[i] == LAPSED:
                out[LAPSED_ROW, choice[i]] += 1


def run_arrays(arrays, month: int, p, ev_vec, openness: float, keys, n_cells: int):
    """The cascade over agent arrays (a mapping with alive, birth, status, belief, trust, stake,
    converted, cell, uid); returns (adults by tier and choice, stats)."""
    a = arrays
    n = a["alive"].shape[0]
    choice = np.zeros(n, dtype=np.int8)
    stats = np.zeros(N_STATS, dtype=np.int64)
    if p.enabled:
        low = np.empty(n, dtype=np.float32)
        cascade(a["alive"], a["birth"], a["status"], a["belief"], a["trust"], a["stake"],
                a["converted"], a["cell"], a["uid"], month, param_vector(p), ev_vec,
                float(openness), keys, n_cells, choice, low, stats)
        del low
    out = np.zeros((LAPSED_ROW + 1, len(CHOICES)), dtype=np.int64)
    left = a.get("left")
    if left is None:  # a population without it (crisis_map.synthetic): nobody lapsed
        left = np.zeros(n, dtype=np.int8)
    tally(a["alive"], a["birth"], a["status"], left, choice, month, out)
    return out, stats

_ARRAYS = ("alive", "birth", "status", "belief", "trust", "stake", "converted", "cell", "uid",
           "left")


def apply(ctx, st, ev, n_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Run the crisis of a ``crisis`` event over the state ``st`` (``n_cells`` workplaces).

    Returns the adults by tier (rows: status 0..4; row 5 the lapsed members among them) and
    choice (columns: :data:`CHOICES`), and the cascade's stats (see :data:`N_STATS`)."""
    return run_arrays({k: st.view(k) for k in _ARRAYS}, ctx.month, ctx.params.crisis,
                      event_vector(ev), ctx.openness, stream_keys(ctx), n_cells)


def breakdown(out: np.ndarray, stats: np.ndarray, scale: float, date: str, ev) -> dict:
    """The crisis outputs in persons (``out``, ``stats``: what :func:`apply` returned)."""
    k = 1.0 / scale
    tiers = ["nonmembers", "candidates", "rank_and_file", "cadres", "elite"]
    by_tier = {t: {name: float(out[j, c] * k) for c, name in enumerate(CHOICES)}
               for j, t in enumerate(tiers)}
    party = out[1:LAPSED_ROW].sum(axis=0) * k
    every = out[:LAPSED_ROW].sum(axis=0) * k
    forces = float(stats[4] * k)
    obeyed = float(every[OBEY])
    defenders = float(every[DEFEND])
    opponents = float(every[OPPOSE])
    return {
        "event": ev,
        "date": date,
        "iterations": int(stats[0]),
        "by_tier": by_tier,
        # members on the register who had stopped paying dues and attending (M9), civilians;
        # they are also counted in their tier and in the *_members totals
        "defenders_lapsed": float(out[LAPSED_ROW, DEFEND] * k),
        "passive_lapsed": float(out[LAPSED_ROW, PASSIVE] * k),
        "opponents_lapsed": float(out[LAPSED_ROW, OPPOSE] * k),
        "defenders_members": float(party[DEFEND]),
        "passive_members": float(party[PASSIVE]),
        "opponents_members": float(party[OPPOSE]),
        "defenders_nonmembers": float(out[0, DEFEND] * k),
        "passive_nonmembers": float(out[0, PASSIVE] * k),
        "opponents_nonmembers": float(out[0, OPPOSE] * k),
        "security_forces": forces,
        "security_obeyed": obeyed,
        "security_refused": float(every[REFUSE]),
        "security_obey_share": obeyed / forces if forces else None,
        "instigators_regime": float((stats[1] + stats[2]) * k),
        "instigators_regime_elite": float(stats[1] * k),
        "instigators_regime_security": float(stats[2] * k),
        "instigators_challenger": float(stats[3] * k),
        "regime_side": defenders + obeyed,
        "challenger_side": opponents,
    }
