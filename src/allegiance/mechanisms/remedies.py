"""M11 — Remedies as policy levers (essay §5.1, "the source of spiritual calcium").

Four levers, each in [0, 1], set in the scenario's ``levers`` table and changed by events:

* ``theory_study`` — "profound mastery of Marxist scientific theory, not dogmatic recitation":
  slows ritual decay of belief (M4) by ``theory_gain · theory_study``;
* ``contact`` — "flesh-and-blood connections with the people": raises citizens' and members'
  trust target (M6) by ``w_contact · contact_gain · contact``;
* ``criticism`` — "criticism and self-criticism ... to cleanse various political dust": cuts
  office-holders' rents (M5) by ``criticism_gain · criticism`` and expels corrupt officials at
  ``expel_rate · criticism · stake`` per year;
* ``history_education`` — "a scientific attitude toward history": dampens the belief part of
  ideological shocks (M3) by ``history_gain · history_education``.

Switched off, the levers have no effect whatever their values.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit
from numba.extending import register_jitable

from ..rng import uniform
from ._common import CADRE, MechanismParams, positive, unit

#: the mechanism's id in the brief
ID = "M11"
#: the flows it counts (columns of ``timeseries.parquet``, persons per month)
FLOWS: tuple[str, ...] = ("expelled", "expelled_corruption")
STATE: list = []


class Params(MechanismParams):
    """Strength of each remedy at lever value 1."""

    theory_gain: float = unit(0.6, "share of ritual decay prevented by theory study")
    contact_gain: float = positive(1.0, "trust effect of contact with the people")
    criticism_gain: float = unit(0.7, "share of office-holders' rents prevented by criticism")
    expel_rate: float = positive(0.3, "yearly expulsion rate of fully corrupt officials")
    history_gain: float = unit(0.7, "share of a shock's belief loss prevented by history education")


@register_jitable
def _on(ctx) -> bool:
    return ctx.params.remedies.enabled


@register_jitable
def theory_effect(ctx) -> float:
    """Share of ritual decay prevented."""
    return ctx.params.remedies.theory_gain * ctx.lever("theory_study") if _on(ctx) else 0.0


@register_jitable
def contact_effect(ctx) -> float:
    """Additive contact effect on the trust target (before ``w_contact``)."""
    return ctx.params.remedies.contact_gain * ctx.lever("contact") if _on(ctx) else 0.0


@register_jitable
def criticism_effect(ctx) -> float:
    """Share of rents prevented."""
    return ctx.params.remedies.criticism_gain * ctx.lever("criticism") if _on(ctx) else 0.0


@register_jitable
def history_effect(ctx) -> float:
    """Share of a shock's belief loss prevented."""
    return (ctx.params.remedies.history_gain * ctx.lever("history_education") if _on(ctx)
            else 0.0)


@njit(cache=True, inline="always")
def expelled_for_corruption(status, stake, uid, rate, key):
    """Criticism and self-criticism: whether an office-holder is expelled this month (in
    proportion to the stake)."""
    return status >= CADRE and uniform(key, uid) < rate * stake


class RemediesTerms(NamedTuple):
    """This month's constants of :func:`expelled_for_corruption`."""

    rate: float  #: monthly expulsion probability of an office-holder at stake 1
    key: np.uint64  #: random stream of the expulsions


#: the interface's name for it (the class names differ between mechanisms: numba's parallel
#: loops tell records apart by class name)
Terms = RemediesTerms
#: the terms a kernel is given when the mechanism does nothing this month
OFF = Terms(0.0, np.uint64(0))


@register_jitable
def terms(ctx) -> Terms | None:
    """This month's :class:`Terms`, or ``None`` when nobody is expelled."""
    if not _on(ctx):
        return None
    rate = ctx.params.remedies.expel_rate / 12.0 * ctx.lever("criticism")
    if rate <= 0:
        return None
    return Terms(rate, ctx.key("remedies.expel"))
