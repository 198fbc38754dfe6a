"""M9 — Exit: members leave when staying is worth less than leaving, in two ways.

Membership data (``data/cpsu_membership.csv``) end at the 1 January 1989 peak; what members did
afterwards is the model's forecast. Party registers lagged real exit: members first stopped
paying dues and attending ("loss of contact"), and only some handed in their cards (issue 15).
So a member leaves in one of two ways, each with its own hazard:

* **formal exit** — handing in one's card: the member leaves the register (``status`` 0,
  ``left`` = exited) and is counted in ``exits``, the registered exits (expulsions, M1 and
  M11, are the party's side of formal exit and are counted in ``expelled``);
* **silent disengagement** — stopping dues and meetings: the member stays on the register but
  is *lapsed* (``left`` = 4, ``LAPSED``: left in fact, not on paper), counted in
  ``disengaged`` when it happens and in the stock ``lapsed_members`` while it lasts.

A member's value of staying is

    stay = w_belief · belief + w_trust · trust + w_privilege · privilege · tier + w_stake · stake

and the cost of formal exit

    cost = exit_cost · (1 − w_safe · openness) · (1 − cascade · seen_exits)

``exit_cost`` (a lever) is what leaving the ruling party cost at openness 0: careers and the
danger of being seen to break with it; openness (M7) makes leaving safe, removing the share
``w_safe`` of that cost at openness 1; ``seen_exits`` is last month's rate of formal exits
(annualized) as visible through openness: leaving gets cheaper as others leave. Silent
disengagement is hardly seen (only the primary organization knows who stopped paying), so it
costs ``quiet · cost``. Each month a member

* hands in the card with probability ``hazard/12 · logistic((θ − stay − cost) / s)``, times
  ``converted_factor`` for converted officials (M8) and ``lapsed_factor`` for lapsed members
  (who have already broken with the party in private: only the public act is left);
* otherwise, if active and not an office-holder, lapses with probability
  ``lapse_hazard/12 · logistic((θ − stay − quiet · cost) / s)``;
* otherwise, if lapsed, returns (pays again, attends again) with probability
  ``reengage/12 · logistic((stay − θ) / s)``. Between θ − quiet · cost and θ a member neither
  lapses nor returns: lapsing costs something, returning does not.

Office-holders (cadres, elite) do not lapse: office is attendance; a lapsed member promoted to
office (M5) is active again at the end of the month (counted in ``reengaged``).

What moves exit is therefore the mechanisms, not dated exit inputs: shocks (M3), ritual (M4)
and visible corruption (M6) lower belief and trust and so the value of staying; the privilege
lever (M5) carries what membership is worth; openness (M7) makes leaving safe and lets exits be
seen. No parameter of M9 is fitted to anything after 1988.

Design choices. A lapsed member is marked in ``left`` (how a member left: 0 has not, 1 handed
in the card, 2 expelled, 3 dissolved, 4 lapsed) rather than in an attribute of its own: a
member's ``left`` is otherwise always 0, and is overwritten by how the member leaves the
register; one more byte per agent would take the 1:1 run past its 12 GB. Being lapsed
multiplies the formal-exit *hazard* rather than cutting its cost: while leaving is dangerous
(before glasnost) lapsed members stay on the register too, so the register lags real exit and
formal exits before 1989 stay nearly as rare as they were (the fit to ≤ 1988 data barely
moves). Only formal exits are seen (the cascade): who stopped paying is
known in one's primary organization only. The party's own striking-off of non-payers is not
modelled: a lapsed member stays on the register until handing in the card, returning, dying or
being expelled. In the historical run some members already lapse in the 1970s and 1980s (low
belief and trust in a ritualized party); that stock is not observed and nothing is fitted to it.

Where lapsed members count: they are members on the register (``members`` and every tier and
cohort column count them; ``members_active`` = ``members − lapsed_members``), M4, M5 and M6
treat them as members, and at the crisis (M10) they act by their dispositions like everyone
else; the crisis outputs ``defenders_lapsed``, ``passive_lapsed`` and ``opponents_lapsed``
say how many of them took each side.

Switched off, nobody leaves voluntarily or lapses (expulsions and deaths still happen).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit
from numba.extending import register_jitable
from pydantic import Field

from ..rng import uniform
from ._common import CADRE, ELITE, MechanismParams, logistic, positive, unit

#: the mechanism's id in the brief
ID = "M9"
#: the flows it counts (columns of ``timeseries.parquet``, persons per month): formal exits
#: (registered), the subset of them by lapsed members, silent disengagements and returns
FLOWS: tuple[str, ...] = ("exits", "exits_lapsed", "disengaged", "reengaged")
#: none of its own: a lapsed member is one whose ``left`` (M1's attribute: how one left) is
#: ``LAPSED`` while still a member — no byte more per agent (the 1:1 run stays within 12 GB)
STATE: list = []

#: what a member does this month (:func:`decide`)
STAY, LEAVE, LAPSE, RETURN = 0, 1, 2, 3


class Params(MechanismParams):
    """Exit decision: formal exit (the card handed in) and silent disengagement."""

    hazard: float = positive(0.5, "yearly formal-exit rate when leaving clearly pays")
    w_belief: float = positive(0.6, "weight of belief in the value of staying")
    w_trust: float = positive(0.4, "weight of trust in the value of staying")
    w_privilege: float = positive(0.4, "weight of the privileges of membership")
    w_stake: float = positive(0.5, "weight of one's material stake")
    threshold: float = positive(0.6, "value of staying below which leaving pays at zero cost")
    slope: float = positive(0.08, "spread of the exit decision")
    cascade: float = positive(3.0, "how much others' visible exits lower the cost of leaving")
    converted_factor: float = positive(3.0, "exit hazard multiplier for converted officials")
    w_safe: float = unit(0.5, "share of the cost of formal exit that openness removes at "
                              "openness 1 (the danger of being seen to break with the party; "
                              "the rest is the career lost); plausible 0.2-0.8")
    lapse_hazard: float = positive(0.5, "yearly rate of silent disengagement (stopping dues "
                                        "and meetings) when it clearly pays")
    quiet: float = unit(0.25, "cost of silent disengagement as a share of the cost of formal "
                              "exit (only one's primary organization sees it); plausible 0-0.5")
    lapsed_factor: float = Field(4.0, ge=1.0, le=20.0, description=(
        "formal-exit hazard multiplier for lapsed members (only the public act is left); "
        "plausible 2-8"))
    reengage: float = positive(0.2, "yearly rate at which a lapsed member returns when "
                                    "staying clearly pays again")


@njit(cache=True, inline="always")
def value_of_staying(st, belief, trust, stake, privilege, w_b, w_t, w_p, w_s):
    """A member's value of staying (``st`` its status: the tier weighs the privileges)."""
    tier = 1.0 if st < CADRE else (2.0 if st < ELITE else 3.0)
    return w_b * belief + w_t * trust + w_p * privilege * tier + w_s * stake


@njit(cache=True, inline="always")
def _stay(st, belief, trust, stake, t):
    """:func:`value_of_staying` with this month's :class:`ExitTerms` ``t``."""
    return value_of_staying(st, belief, trust, stake, t.privilege, t.w_belief, t.w_trust,
                            t.w_privilege, t.w_stake)


@njit(cache=True, inline="always")
def decide(st, belief, trust, stake, converted, lapsed, uid, t):
    """What a member (``st`` > 0) does this month, with this month's :class:`ExitTerms`
    ``t``: :data:`LEAVE` (formal exit), :data:`LAPSE`, :data:`RETURN` or :data:`STAY`.

    Each draw comes first: a logistic is at most 1, so (products rounding monotonically) a
    hazard is at most its bound, and a draw at or above the bound decides without computing
    the value of staying — the same answer as computing it, for most members.
    """
    if lapsed and st >= CADRE:
        return RETURN  # promoted to office: active again
    stay = -1.0  # not computed yet (a value of staying is never negative)
    u = uniform(t.key, uid)
    bound = t.hazard
    if converted:
        bound *= t.converted_factor
    if lapsed:
        bound *= t.lapsed_factor
    if u < bound:
        stay = _stay(st, belief, trust, stake, t)
        h = t.hazard * logistic((t.threshold - stay - t.cost) / t.slope)
        if converted:
            h *= t.converted_factor
        if lapsed:
            h *= t.lapsed_factor
        if u < h:
            return LEAVE
    act = STAY
    if not lapsed and st < CADRE:  # office-holders do not lapse
        u = uniform(t.key_lapse, uid)
        if u < t.lapse_hazard:
            if stay < 0.0:
                stay = _stay(st, belief, trust, stake, t)
            if u < t.lapse_hazard * logistic((t.threshold - stay - t.quiet_cost) / t.slope):
                act = LAPSE
    elif lapsed:
        u = uniform(t.key_return, uid)
        if u < t.reengage:
            if stay < 0.0:
                stay = _stay(st, belief, trust, stake, t)
            if u < t.reengage * logistic((stay - t.threshold) / t.slope):
                act = RETURN
    return act


class ExitTerms(NamedTuple):
    """This month's constants of :func:`decide`."""

    privilege: float  #: the privilege lever
    cost: float  #: the cost of formal exit: made safe by openness, lowered by others' exits
    quiet_cost: float  #: the cost of silent disengagement (``quiet · cost``)
    w_belief: float
    w_trust: float
    w_privilege: float
    w_stake: float
    threshold: float
    slope: float
    hazard: float  #: monthly hazard of handing in the card
    converted_factor: float
    lapsed_factor: float
    lapse_hazard: float  #: monthly hazard of lapsing
    reengage: float  #: monthly hazard of returning
    key: np.uint64  #: draws of formal exit
    key_lapse: np.uint64  #: draws of disengagement
    key_return: np.uint64  #: draws of returning


#: the interface's name for it (the class names differ between mechanisms: numba's parallel
#: loops tell records apart by class name)
Terms = ExitTerms
#: the terms a kernel is given when the mechanism does nothing this month
OFF = Terms(*(0.0,) * 14, np.uint64(0), np.uint64(0), np.uint64(0))


@register_jitable
def formal_cost(exit_cost: float, openness: float, last_exit_rate: float, w_safe: float,
                cascade: float) -> float:
    """The cost of formal exit: ``exit_cost · (1 − w_safe · openness) · (1 − cascade · seen)``
    with ``seen`` = last month's exit rate, annualized, as visible through openness."""
    seen = min(1.0, 12.0 * last_exit_rate * openness)
    return max(0.0, exit_cost * (1.0 - w_safe * openness) * (1.0 - cascade * seen))


@register_jitable
def terms(ctx) -> Terms | None:
    """This month's :class:`Terms`, or ``None`` when M9 is off."""
    p = ctx.params.exit
    if not p.enabled:
        return None
    cost = formal_cost(ctx.lever("exit_cost"), ctx.openness, ctx.last_exit_rate, p.w_safe,
                       p.cascade)
    return Terms(ctx.lever("privilege"), cost, p.quiet * cost, p.w_belief, p.w_trust,
                 p.w_privilege, p.w_stake, p.threshold, p.slope, p.hazard / 12.0,
                 p.converted_factor, p.lapsed_factor, p.lapse_hazard / 12.0, p.reengage / 12.0,
                 ctx.key("exit.leave"), ctx.key("exit.lapse"), ctx.key("exit.return"))
