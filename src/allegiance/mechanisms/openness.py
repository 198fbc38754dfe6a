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

import numpy as np
from numba import njit, prange

from ._common import ADULT_MONTHS, MechanismParams, clip01, positive, unit

STATE: list = []


class Params(MechanismParams):
    """Falsification norm and learning rate."""

    norm: float = unit(0.8, "trust people are expected to profess in public")
    learn: float = positive(0.5, "yearly rate of learning others' trust at openness 1")


@njit(cache=True, parallel=True)
def learn(alive, birth, cell, trust, month, rate, sums, counts):
    """Adults move their trust towards their workplace's mean (synchronous)."""
    for i in prange(alive.shape[0]):
        if not alive[i] or month - birth[i] < ADULT_MONTHS:
            continue
        k = counts[cell[i]]
        if k > 1:
            mean = (sums[cell[i]] - trust[i]) / (k - 1)
            trust[i] = clip01(trust[i] + rate * (mean - trust[i]))


def step(m, step: int) -> None:
    """Phase ``openness``: social learning about others' trust."""
    from .ritual import cell_sums

    p = m.params.openness
    o = m.openness()
    if not p.enabled or o <= 0:
        return
    st = m.state
    sums, counts = m.cell_buffers()
    cell_sums(st.view("alive"), st.view("status"), st.view("cell"), st.view("trust"),
              m.n_cells, False, sums, counts)
    learn(st.view("alive"), st.view("birth"), st.view("cell"), st.view("trust"),
          m.month(step), p.learn / 12.0 * o, sums, counts)


_ = np
