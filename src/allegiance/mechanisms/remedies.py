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

import numpy as np
from numba import njit, prange

from ..rng import uniform
from ._common import CADRE, EXPELLED, NONMEMBER, MechanismParams, positive, unit

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


@njit(cache=True, parallel=True)
def expel_corrupt(alive, status, left, stake, uid, rate, key, bounds, part):
    """Criticism and self-criticism: office-holders expelled in proportion to their stake."""
    for c in prange(bounds.shape[0] - 1):
        k = 0
        for i in range(bounds[c], bounds[c + 1]):
            if alive[i] and status[i] >= CADRE and uniform(key, uid[i]) < rate * stake[i]:
                status[i] = NONMEMBER
                left[i] = EXPELLED
                k += 1
        part[c, 0] = k


def step(m, step: int) -> None:
    """Phase ``remedies``: expulsions for corruption."""
    if not _on(m):
        return
    rate = m.params.remedies.expel_rate / 12.0 * m.lever("criticism")
    if rate <= 0:
        return
    st = m.state
    bounds = m.bounds()
    part = np.zeros((bounds.shape[0] - 1, 1), dtype=np.int64)
    expel_corrupt(st.view("alive"), st.view("status"), st.view("left"), st.view("stake"),
                  st.view("uid"), rate, m.rng.key("remedies.expel", step), bounds, part)
    n = int(part[:, 0].sum())
    m.flows["expelled"] += n
    m.flows["expelled_corruption"] += n
