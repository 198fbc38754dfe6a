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

from numba import njit

from ..rng import uniform
from ._common import CADRE, MechanismParams, positive, unit

STATE: list = []


class Params(MechanismParams):
    """Strength of each remedy at lever value 1."""

    theory_gain: float = unit(0.6, "share of ritual decay prevented by theory study")
    contact_gain: float = positive(1.0, "trust effect of contact with the people")
    criticism_gain: float = unit(0.7, "share of office-holders' rents prevented by criticism")
    expel_rate: float = positive(0.3, "yearly expulsion rate of fully corrupt officials")
    history_gain: float = unit(0.7, "share of a shock's belief loss prevented by history education")


def _on(m) -> bool:
    return m.params.remedies.enabled


def theory_effect(m) -> float:
    """Share of ritual decay prevented."""
    return m.params.remedies.theory_gain * m.lever("theory_study") if _on(m) else 0.0


def contact_effect(m) -> float:
    """Additive contact effect on the trust target (before ``w_contact``)."""
    return m.params.remedies.contact_gain * m.lever("contact") if _on(m) else 0.0


def criticism_effect(m) -> float:
    """Share of rents prevented."""
    return m.params.remedies.criticism_gain * m.lever("criticism") if _on(m) else 0.0


def history_effect(m) -> float:
    """Share of a shock's belief loss prevented."""
    return m.params.remedies.history_gain * m.lever("history_education") if _on(m) else 0.0


@njit(cache=True, inline="always")
def expelled_for_corruption(status, stake, uid, rate, key):
    """Criticism and self-criticism: whether an office-holder is expelled this month (in
    proportion to the stake)."""
    return status >= CADRE and uniform(key, uid) < rate * stake


def month_terms(m, step: int) -> tuple | None:
    """(monthly expulsion rate at stake 1, key), or ``None`` when nobody is expelled."""
    if not _on(m):
        return None
    rate = m.params.remedies.expel_rate / 12.0 * m.lever("criticism")
    if rate <= 0:
        return None
    return rate, m.rng.key("remedies.expel", step)
