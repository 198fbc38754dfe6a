"""M7 — Openness and preference falsification.

Essay §3.2 (glasnost as "the complete lifting of propaganda controls"); Kuran (1991). Under
repression people say what is expected; openness lets private views show and lets people
learn what others think. With openness ``o`` (a lever: low under Stalin, a thaw after 1956,
glasnost from 1986):

* expressed trust = o · trust + (1 − o) · max(trust, norm) — what one says in public;
* social learning: trust ← trust + learn/12 · o · (mean trust of one's workplace − trust);
* visibility of corruption (M5) and of others' exits (M9) and actions (M10) grows with o.

Switched off, there is no falsification (expressed = private), no learning, and openness
no longer changes what people see (it stays at its initial value).
"""

from __future__ import annotations

from numba import njit

from ._common import MechanismParams, clip01, peer_mean, positive, unit

STATE: list = []


class Params(MechanismParams):
    """Falsification norm and learning rate."""

    norm: float = unit(0.8, "trust people are expected to profess in public")
    learn: float = positive(0.5, "yearly rate of learning others' trust at openness 1")


@njit(cache=True, inline="always")
def learn_one(trust, cell_sum, cell_count, rate):
    """An adult's trust moved towards the mean trust of the others in its workplace
    (``cell_sum``/``cell_count``: fixed-point sum and count over everyone alive there)."""
    if cell_count > 1:
        return clip01(trust + rate * (peer_mean(cell_sum, cell_count, trust) - trust))
    return trust


def learning_rate(m) -> float:
    """This month's learning rate (0: no learning, and no workplace sums are needed)."""
    p = m.params.openness
    o = m.openness()
    if not p.enabled or o <= 0:
        return 0.0
    return p.learn / 12.0 * o
