"""M4 — Ritualization and cynicism.

Essay §2.3: Marxism-Leninism became "a set of dead vocabulary used only for meetings";
"when the leaders no longer believed ... how could they expect ordinary members to believe?".
Belief erodes while the ideology is recited but not lived, and cynicism spreads between peers
in the primary organization:

    belief ← belief · (1 − decay/12 · ritualization · (1 − theory_study_effect) · c)
    belief ← belief + peer/12 · a · (m_cell − belief)

with ``c = 1`` for members and ``citizen_weight`` for others, ``m_cell`` the mean belief of the
other members of the agent's primary organization, and ``a = asymmetry`` when the cell is more
cynical than the agent (cynicism spreads faster than conviction), else 1.

Switched off, belief neither decays nor spreads.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._common import ADULT_MONTHS, MechanismParams, clip01, positive, unit

STATE: list = []


class Params(MechanismParams):
    """Ritual decay and peer cynicism."""

    decay: float = positive(0.02, "yearly proportional loss of belief at ritualization 1")
    citizen_weight: float = unit(0.5, "exposure of non-members to ritual relative to members")
    peer: float = positive(0.1, "yearly rate at which members move towards their cell's "
                                "mean belief")
    asymmetry: float = positive(1.5, "how much faster belief falls towards a cynical cell "
                                     "than rises")


@njit(cache=True)
def cell_sums(alive, status, cell, x, n_cells, members_only, sums, counts):
    """Per-cell sum and count of ``x`` over members (or over everyone if not members_only)."""
    sums[:] = 0.0
    counts[:] = 0
    for i in range(alive.shape[0]):
        if alive[i] and (status[i] > 0 or not members_only):
            sums[cell[i]] += x[i]
            counts[cell[i]] += 1


@njit(cache=True, parallel=True)
def erode(alive, birth, status, cell, belief, month, rate_member, rate_citizen, peer, asym,
          sums, counts):
    """Ritual decay for adults and peer drift for members (synchronous: cell sums are old)."""
    for i in prange(alive.shape[0]):
        if not alive[i] or month - birth[i] < ADULT_MONTHS:
            continue
        b = belief[i]
        if status[i] > 0:
            b *= 1.0 - rate_member
            k = counts[cell[i]]
            if k > 1 and peer > 0:
                mean = (sums[cell[i]] - belief[i]) / (k - 1)
                d = mean - b
                b += peer * (asym if d < 0 else 1.0) * d
        else:
            b *= 1.0 - rate_citizen
        belief[i] = clip01(b)


def step(m, step: int) -> None:
    """Phase ``ritual``."""
    from . import remedies

    p = m.params.ritual
    if not p.enabled:
        return
    st = m.state
    sums, counts = m.cell_buffers()
    cell_sums(st.view("alive"), st.view("status"), st.view("cell"), st.view("belief"),
              m.n_cells, True, sums, counts)
    r = p.decay / 12.0 * m.lever("ritualization") * (1.0 - remedies.theory_effect(m))
    erode(st.view("alive"), st.view("birth"), st.view("status"), st.view("cell"),
          st.view("belief"), m.month(step), r, r * p.citizen_weight, p.peer / 12.0,
          p.asymmetry, sums, counts)


_ = np
