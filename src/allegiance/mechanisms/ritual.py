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

from numba import njit

from ._common import MechanismParams, clip01, peer_mean, positive, unit

STATE: list = []


class Params(MechanismParams):
    """Ritual decay and peer cynicism."""

    decay: float = positive(0.02, "yearly proportional loss of belief at ritualization 1")
    citizen_weight: float = unit(0.5, "exposure of non-members to ritual relative to members")
    peer: float = positive(0.1, "yearly rate at which members move towards their cell's "
                                "mean belief")
    asymmetry: float = positive(1.5, "how much faster belief falls towards a cynical cell "
                                     "than rises")


@njit(cache=True, inline="always")
def erode_one(b0, member, cell_sum, cell_count, rate_member, rate_citizen, peer, asym):
    """An adult's belief after this month's ritual decay and (members) peer drift.

    ``cell_sum``/``cell_count``: fixed-point sum and count of the members of the agent's cell
    at the start of the phase (synchronous update).
    """
    b = b0
    if member:
        b *= 1.0 - rate_member
        if cell_count > 1 and peer > 0:
            d = peer_mean(cell_sum, cell_count, b0) - b
            b += peer * (asym if d < 0 else 1.0) * d
    else:
        b *= 1.0 - rate_citizen
    return clip01(b)


def rates(m) -> tuple[float, float, float, float]:
    """This month's (decay rate of members, of citizens, peer rate, asymmetry)."""
    from . import remedies

    p = m.params.ritual
    r = p.decay / 12.0 * m.lever("ritualization") * (1.0 - remedies.theory_effect(m))
    return r, r * p.citizen_weight, p.peer / 12.0, p.asymmetry
