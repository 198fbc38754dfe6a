"""M10 — The crisis: defend, stay passive, or side with the challenger.

Essay §4: in August 1991 "there was not a single real man among them, no one came forward to
resist". At a ``crisis`` event every adult has a disposition

    d = w_belief · (belief − ½) + w_trust · (trust − ½) + w_stake · stake · [in office]
        − w_converted · [converted official]

and leans to the party (``d > margin``), to the challenger (``d < −margin``) or to neither.
Whether one *acts* on one's leaning is a threshold decision (Granovetter 1978): an agent acts
for its side when the share of others it sees acting for that side reaches its personal
threshold, lowered by conviction:

    act  ⇔  θ_i · (1 − min(1, conviction · |d|)) + risk ≤ local · s_cell + (1 − local) · o · s_all

``θ_i`` is a fixed personal trait (Kumaraswamy(a, b), drawn from the agent's uid), ``s_cell``
and ``s_all`` the acting shares of the agent's workplace and of the country, ``o`` openness
(M7: whether people learn what others do). The cascade starts from the event's seeds (the
initial news: the committee's announcement, the resistance at the White House) and is iterated
to its fixed point. Everyone not acting is passive.

Switched off, a crisis event is recorded but nobody acts.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from pydantic import Field

from ..rng import uniform
from ._common import ADULT_MONTHS, CADRE, MechanismParams, positive, unit

#: the mechanism's id in the brief
ID = "M10"
#: the flows it counts (columns of ``timeseries.parquet``, persons per month)
FLOWS: tuple[str, ...] = ()
STATE: list = []

PASSIVE, DEFEND, OPPOSE = 0, 1, 2


class Params(MechanismParams):
    """Dispositions and thresholds at the crisis."""

    w_belief: float = positive(1.0, "weight of belief in the ideal")
    w_trust: float = positive(1.0, "weight of trust in the party")
    w_stake: float = positive(0.5, "weight of an office-holder's stake")
    w_converted: float = positive(0.5, "pull of converted officials away from the party")
    margin: float = positive(0.1, "disposition needed to lean to a side")
    conviction: float = positive(1.0, "how much a strong disposition lowers one's threshold")
    threshold_a: float = positive(1.0, "Kumaraswamy a of the personal thresholds")
    threshold_b: float = positive(4.0, "Kumaraswamy b of the personal thresholds")
    local: float = unit(0.6, "weight of one's workplace in what one sees")
    max_iterations: int = Field(200, ge=1, le=100_000,
                                description="cap on the rounds of the cascade")


#: working codes of the cascade (``choice`` holds them until the end): leaning but passive
LEAN_DEFEND, LEAN_OPPOSE = 3, 4


@njit(cache=True, inline="always")
def disposition(belief, trust, stake, status, converted, uid, w_b, w_t, w_s, w_c, conviction,
                ta, tb, key_thr):
    """An adult's disposition ``d``, threshold draw ``u`` and effective threshold."""
    office = 1.0 if status >= CADRE else 0.0
    d = (w_b * (belief - 0.5) + w_t * (trust - 0.5) + w_s * stake * office
         - (w_c if converted else 0.0))
    u = uniform(key_thr, uid)
    theta = (1.0 - (1.0 - u) ** (1.0 / tb)) ** (1.0 / ta)
    return d, u, theta * (1.0 - min(1.0, conviction * abs(d)))


@njit(cache=True)
def cascade(alive, birth, status, belief, trust, stake, converted, cell, uid, month,
            w_b, w_t, w_s, w_c, margin, conviction, ta, tb, local, openness,
            seed_def, seed_opp, risk_def, risk_opp, key_thr, n_cells, max_iter, choice, low):
    """Run the threshold cascade to its fixed point; writes PASSIVE/DEFEND/OPPOSE to choice.

    Sequential on purpose: each round reads the previous round's shares, so the result does
    not depend on agent order or thread count.

    Memory: 5 bytes per slot (``choice`` int8 and ``low`` float32). ``low`` holds each
    leaning agent's effective threshold rounded to float32; a round tests a lower bound from it
    first and recomputes the exact float64 threshold (``disposition``) only when the bound
    says the agent may act, so decisions are those of the exact thresholds.
    """
    n = alive.shape[0]
    adults_cell = np.zeros(n_cells, dtype=np.int64)
    adults = 0
    for i in range(n):
        choice[i] = PASSIVE
        if not alive[i] or month - birth[i] < ADULT_MONTHS:
            continue
        adults += 1
        adults_cell[cell[i]] += 1
        d, u, eff = disposition(belief[i], trust[i], stake[i], status[i], converted[i], uid[i],
                                w_b, w_t, w_s, w_c, conviction, ta, tb, key_thr)
        if d > margin:
            # instigators: the seed share of each side acts whatever others do
            choice[i] = DEFEND if u < seed_def else LEAN_DEFEND
        elif d < -margin:
            choice[i] = OPPOSE if u < seed_opp else LEAN_OPPOSE
        else:
            continue
        low[i] = np.float32(eff)
    if adults == 0:
        return 0
    act_def = np.zeros(n_cells, dtype=np.int64)
    act_opp = np.zeros(n_cells, dtype=np.int64)
    for i in range(n):
        if choice[i] == DEFEND:
            act_def[cell[i]] += 1
        elif choice[i] == OPPOSE:
            act_opp[cell[i]] += 1
    s_def = act_def.sum() / adults
    s_opp = act_opp.sum() / adults
    rounds = 0
    for _ in range(max_iter):
        rounds += 1
        changed = 0
        new_def = act_def.copy()
        new_opp = act_opp.copy()
        for i in range(n):
            ch = choice[i]
            if ch != LEAN_DEFEND and ch != LEAN_OPPOSE:  # noqa: PLR1714 (numba: plain compares)
                continue
            k = adults_cell[cell[i]]
            if ch == LEAN_DEFEND:
                seen = local * (act_def[cell[i]] / k) + (1.0 - local) * openness * s_def
                risk = risk_def
            else:
                seen = local * (act_opp[cell[i]] / k) + (1.0 - local) * openness * s_opp
                risk = risk_opp
            # eff is in [0, 1], so float32 rounding moved it by at most 2**-25: the exact
            # threshold is at least low - 2**-24 (computed exactly in float64)
            if (np.float64(low[i]) - 2.0**-24) + risk > seen:
                continue
            eff = disposition(belief[i], trust[i], stake[i], status[i], converted[i], uid[i],
                              w_b, w_t, w_s, w_c, conviction, ta, tb, key_thr)[2]
            if eff + risk <= seen:
                changed += 1
                if ch == LEAN_DEFEND:
                    choice[i] = DEFEND
                    new_def[cell[i]] += 1
                else:
                    choice[i] = OPPOSE
                    new_opp[cell[i]] += 1
        act_def = new_def
        act_opp = new_opp
        s_def = act_def.sum() / adults
        s_opp = act_opp.sum() / adults
        if changed == 0:
            break
    for i in range(n):
        if choice[i] >= LEAN_DEFEND:
            choice[i] = PASSIVE
    # rounds run; reported as 1 also when max_iter <= 0 (the count has always done this)
    return max(rounds, 1)


@njit(cache=True)
def tally(alive, birth, status, choice, month, out):
    """Counts by tier and choice.

    Tiers: 0 non-member adults, 1 candidates, 2 rank-and-file, 3 cadres, 4 elite.
    """
    out[:] = 0
    for i in range(alive.shape[0]):
        if alive[i] and month - birth[i] >= ADULT_MONTHS:
            out[status[i], choice[i]] += 1


def apply(ctx, st, ev, n_cells: int) -> tuple[np.ndarray, int]:
    """Run the cascade of a ``crisis`` event over the state ``st`` (``n_cells`` workplaces).

    Returns the adults by tier (rows: status 0..4) and choice (columns: passive, defend,
    oppose), and the cascade's iterations."""
    p = ctx.params.crisis
    choice = np.zeros(st.n, dtype=np.int8)
    low = np.empty(st.n, dtype=np.float32)
    iters = 0
    if p.enabled:
        iters = cascade(st.view("alive"), st.view("birth"), st.view("status"), st.view("belief"),
                        st.view("trust"), st.view("stake"), st.view("converted"),
                        st.view("cell"), st.view("uid"), ctx.month, p.w_belief, p.w_trust,
                        p.w_stake, p.w_converted, p.margin, p.conviction, p.threshold_a,
                        p.threshold_b, p.local, ctx.openness, ev.defender_seed,
                        ev.challenger_seed, ev.risk_defend, ev.risk_oppose,
                        ctx.key("crisis.threshold", 0), n_cells, p.max_iterations, choice,
                        low)
        del low
    out = np.zeros((5, 3), dtype=np.int64)
    tally(st.view("alive"), st.view("birth"), st.view("status"), choice, ctx.month, out)
    return out, int(iters)


def breakdown(out: np.ndarray, iterations: int, scale: float, date: str, ev) -> dict:
    """The crisis outputs in persons (``out``, ``iterations``: what :func:`apply` returned)."""
    k = 1.0 / scale
    tiers = ["nonmembers", "candidates", "rank_and_file", "cadres", "elite"]
    by_tier = {t: {"passive": out[j, PASSIVE] * k, "defenders": out[j, DEFEND] * k,
                   "opponents": out[j, OPPOSE] * k} for j, t in enumerate(tiers)}
    party = out[1:].sum(axis=0) * k
    return {
        "event": ev,
        "date": date,
        "iterations": int(iterations),
        "by_tier": by_tier,
        "defenders_members": float(party[DEFEND]),
        "passive_members": float(party[PASSIVE]),
        "opponents_members": float(party[OPPOSE]),
        "defenders_nonmembers": float(out[0, DEFEND] * k),
        "passive_nonmembers": float(out[0, PASSIVE] * k),
        "opponents_nonmembers": float(out[0, OPPOSE] * k),
    }
