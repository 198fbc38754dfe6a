"""M8 — Elite defection: converting power into private wealth.

Essay §4.2: for the upper bureaucrats "the choice was ... how to use their power during the
regime's collapse to legally and safely transform the 'state wealth' they had previously
appropriated into 'personal private property'". Each month an office-holder (cadre or elite)
who has not yet converted compares

    convert = gain · outside_option · stake
    keep    = privilege · (1 − risk) + w_belief · belief + w_trust · trust

and converts with probability ``hazard/12 · logistic((convert − keep) / 0.1)``. The outside
option is a lever that grows with reform (the 1988 Law on Cooperatives, 1990–91 privatization).
A converted official stays in office but no longer defends the party (M10) and leaves more
easily (M9).

State: ``converted``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit
from numba.extending import register_jitable

from ..rng import uniform
from ._common import CADRE, MechanismParams, logistic, positive, unit

#: the mechanism's id in the brief
ID = "M8"
#: the flows it counts (columns of ``timeseries.parquet``, persons per month)
FLOWS: tuple[str, ...] = ("conversions",)
STATE = [("converted", np.bool_, False)]


class Params(MechanismParams):
    """Conversion decision of office-holders."""

    gain: float = positive(2.0, "value of converting one unit of stake at outside option 1")
    risk: float = unit(0.0, "perceived risk of losing office, lowering the value of keeping it")
    w_belief: float = positive(0.5, "weight of belief in keeping faith")
    w_trust: float = positive(0.3, "weight of trust in keeping faith")
    hazard: float = positive(0.5, "yearly conversion rate when converting clearly pays")


@njit(cache=True, inline="always")
def converts(status, converted, belief, trust, stake, uid, outside, privilege, gain, risk, w_b,
             w_t, hazard, key):
    """Whether an office-holder who has not yet converted does so this month (a draw at or
    above ``hazard`` decides without the logistic, which is at most 1: see ``exit.leaves``)."""
    if status < CADRE or converted:
        return False
    u = uniform(key, uid)
    if u >= hazard:
        return False
    v_conv = gain * outside * stake
    v_keep = privilege * (1.0 - risk) + w_b * belief + w_t * trust
    return u < hazard * logistic((v_conv - v_keep) / 0.1)


class EliteTerms(NamedTuple):
    """This month's constants of :func:`converts`."""

    outside: float  #: the outside option (lever)
    privilege: float  #: the privilege lever
    gain: float
    risk: float
    w_belief: float
    w_trust: float
    hazard: float  #: monthly hazard of deciding
    key: np.uint64


#: the interface's name for it (the class names differ between mechanisms: numba's parallel
#: loops tell records apart by class name)
Terms = EliteTerms
#: the terms a kernel is given when the mechanism does nothing this month
OFF = Terms(*(0.0,) * 7, np.uint64(0))


@register_jitable
def terms(ctx) -> Terms | None:
    """This month's :class:`Terms`, or ``None`` when nobody can convert this month."""
    p = ctx.params.elite
    outside = ctx.lever("outside_option")
    if not p.enabled or outside <= 0:
        return None
    return Terms(outside, ctx.lever("privilege"), p.gain, p.risk, p.w_belief, p.w_trust,
                 p.hazard / 12.0, ctx.key("elite.convert"))
