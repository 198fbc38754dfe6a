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

from typing import NamedTuple

from numba import njit
from numba.extending import register_jitable

from . import remedies
from ._common import MechanismParams, clip01, peer_mean, positive, unit

#: the mechanism's id in the brief
ID = "M4"
#: the flows it counts (columns of ``timeseries.parquet``, persons per month)
FLOWS: tuple[str, ...] = ()
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


class RitualTerms(NamedTuple):
    """This month's constants of :func:`erode_one`."""

    rate_member: float  #: monthly decay rate of members' belief
    rate_citizen: float  #: ... and of non-members'
    peer: float  #: monthly rate of drift towards the cell's mean
    asymmetry: float


#: the interface's name for it (the class names differ between mechanisms: numba's parallel
#: loops tell records apart by class name)
Terms = RitualTerms
#: the terms a kernel is given when the mechanism does nothing this month
OFF = Terms(0.0, 0.0, 0.0, 0.0)


@register_jitable
def terms(ctx) -> Terms | None:
    """This month's :class:`Terms` (``None`` when M4 is off)."""
    p = ctx.params.ritual
    if not p.enabled:
        return None
    r = p.decay / 12.0 * ctx.lever("ritualization") * (1.0 - remedies.theory_effect(ctx))
    return Terms(r, r * p.citizen_weight, p.peer / 12.0, p.asymmetry)
