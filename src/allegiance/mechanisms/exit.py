"""M9 — Exit: members leave when staying is worth less than leaving.

Membership data (``data/cpsu_membership.csv``) end at the 1 January 1989 peak; what members did
afterwards is the model's forecast. A member's value of staying is

    stay = w_belief · belief + w_trust · trust + w_privilege · privilege · tier + w_stake · stake

and the cost of leaving is ``exit_cost · (1 − cascade · seen_exits)``, where ``seen_exits`` is
last month's exit rate (annualized) as visible through openness (M7): leaving gets cheaper as
others leave. A member leaves this month with probability

    hazard/12 · logistic((θ − stay − cost) / s)   (× converted_factor for converted officials)

Before 1989 ``exit_cost`` is high (leaving ended careers), so voluntary exits are rare; the
1990 Article 6 change and the 1991 departisation lower it (events), and the rest is emergent.

Switched off, nobody leaves voluntarily (expulsions and deaths still happen).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from ..rng import uniform
from ._common import CADRE, ELITE, MechanismParams, logistic, positive

#: the mechanism's id in the brief
ID = "M9"
#: the flows it counts (columns of ``timeseries.parquet``, persons per month)
FLOWS: tuple[str, ...] = ("exits",)
STATE: list = []


class Params(MechanismParams):
    """Exit decision."""

    hazard: float = positive(0.5, "yearly exit rate when leaving clearly pays")
    w_belief: float = positive(0.6, "weight of belief in the value of staying")
    w_trust: float = positive(0.4, "weight of trust in the value of staying")
    w_privilege: float = positive(0.4, "weight of the privileges of membership")
    w_stake: float = positive(0.5, "weight of one's material stake")
    threshold: float = positive(0.6, "value of staying below which leaving pays at zero cost")
    slope: float = positive(0.08, "spread of the exit decision")
    cascade: float = positive(3.0, "how much others' visible exits lower the cost of leaving")
    converted_factor: float = positive(3.0, "exit hazard multiplier for converted officials")


@njit(cache=True, inline="always")
def leaves(st, belief, trust, stake, converted, uid, privilege, cost, w_b, w_t, w_p, w_s, theta,
           slope, hazard, conv_f, key):
    """Whether a member (``st`` > 0) leaves this month.

    The draw comes first: the logistic is at most 1, so (products rounding monotonically)
    ``h`` is at most ``hazard`` (times ``conv_f`` if converted), and a draw at or above that
    bound decides without the logistic — the same answer as computing it, for most members.
    """
    u = uniform(key, uid)
    if u >= (hazard * conv_f if converted else hazard):
        return False
    tier = 1.0 if st < CADRE else (2.0 if st < ELITE else 3.0)
    stay = w_b * belief + w_t * trust + w_p * privilege * tier + w_s * stake
    h = hazard * logistic((theta - stay - cost) / slope)
    if converted:
        h *= conv_f
    return u < h


class ExitTerms(NamedTuple):
    """This month's constants of :func:`leaves`."""

    privilege: float  #: the privilege lever
    cost: float  #: the cost of leaving, lowered by others' visible exits
    w_belief: float
    w_trust: float
    w_privilege: float
    w_stake: float
    threshold: float
    slope: float
    hazard: float  #: monthly hazard of deciding
    converted_factor: float
    key: np.uint64


#: the interface's name for it (the class names differ between mechanisms: numba's parallel
#: loops tell records apart by class name)
Terms = ExitTerms
#: the terms a kernel is given when the mechanism does nothing this month
OFF = Terms(*(0.0,) * 10, np.uint64(0))


def terms(ctx) -> Terms | None:
    """This month's :class:`Terms`, or ``None`` when M9 is off."""
    p = ctx.params.exit
    if not p.enabled:
        return None
    seen = min(1.0, 12.0 * ctx.last_exit_rate * ctx.openness)
    cost = max(0.0, ctx.lever("exit_cost") * (1.0 - p.cascade * seen))
    return Terms(ctx.lever("privilege"), cost, p.w_belief, p.w_trust, p.w_privilege,
                 p.w_stake, p.threshold, p.slope, p.hazard / 12.0, p.converted_factor,
                 ctx.key("exit.leave"))
