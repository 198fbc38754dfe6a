"""M5 — The privileged class (nomenklatura) and corruption.

Essay §1.2 and §3.1: a nomenklatura tier "gradually formed and solidified"; under Brezhnev's
"stability of cadres" corruption "developed to an outrageous degree", visible to members and
citizens. The party keeps a cadre tier (apparatus) and an elite tier (nomenklatura) at target
shares of its members (``data/cpsu_organization.csv``: ~500,000 nomenklatura officials of
~19 million members in the mid-1980s), promoting members with seniority and careerist motive.
Office-holders accumulate a material stake (rents):

    stake ← stake + rent/12 · privilege · f_tier · (1 − criticism_effect) · (1 − stake)

with ``f_tier`` 1 for the elite and ``cadre_factor`` for cadres; others' stake decays.
Office-holders rotate out at ``turnover · (1 − cadre_stability)`` per year. Corruption is the
mean stake of office-holders; what members and citizens *see* of it grows with openness (M7).

State: ``stake``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit
from numba.extending import register_jitable

from ..rng import uniform
from . import remedies
from ._common import CADRE, CAREER, ELITE, MEMBER, MechanismParams, clip01, positive, unit

#: the mechanism's id in the brief
ID = "M5"
#: the flows it counts (columns of ``timeseries.parquet``, persons per month)
FLOWS: tuple[str, ...] = ("promotions", "rotations")
STATE = [("stake", np.float32, 0.0)]


class Params(MechanismParams):
    """Tiers, rents and visibility. Switched off: no tiers above member, no rents."""

    cadre_share: float = unit(0.05, "apparatus (cadre) tier as a share of members")
    elite_share: float = unit(0.025, "nomenklatura (elite) tier as a share of members")
    rent: float = positive(0.25, "yearly rent accumulation of the elite at privilege 1")
    cadre_factor: float = unit(0.3, "cadres' rent relative to the elite")
    stake_decay: float = positive(0.2, "yearly decay of the stake of those out of office")
    turnover: float = positive(0.3, "yearly rotation out of office at cadre stability 0")
    career_bias: float = positive(1.0, "log-weight of careerist motive in promotion")
    seniority_bias: float = positive(0.5, "log-weight per decade of seniority in promotion")
    visibility_citizens: float = unit(0.15, "share of corruption citizens see at openness 0")
    visibility_members: float = unit(0.4, "share of corruption members see at openness 0")


@njit(cache=True, inline="always")
def promote_weight(motive, join, month, career_bias, seniority_bias):
    """Weight of a member or cadre in the draw for promotion (careerists, seniority)."""
    return np.exp(career_bias * (motive == CAREER) + seniority_bias * (month - join) / 120.0)


@njit(cache=True)
def weight_table(month, career_bias, seniority_bias, n):
    """:func:`promote_weight` in ``month`` for seniorities 0 to ``n - 1`` months: row 0 for
    other motives, row 1 for careerists. The same function on the same numbers, so the same
    floats as calling it (``tests/test_mechanisms.py``); one ``exp`` per member and month
    fewer."""
    out = np.empty((2, n))
    for t in range(n):
        out[0, t] = promote_weight(0, month - t, month, career_bias, seniority_bias)
        out[1, t] = promote_weight(CAREER, month - t, month, career_bias, seniority_bias)
    return out


@njit(cache=True, inline="always")
def weight_of(table, motive, join, month, career_bias, seniority_bias):
    """:func:`promote_weight` from :func:`weight_table` (computed if seniority is outside)."""
    t = month - join
    if 0 <= t < table.shape[1]:
        return table[np.int64(motive == CAREER), t]
    return promote_weight(motive, join, month, career_bias, seniority_bias)


@njit(cache=True, inline="always")
def promote_one(st, stake, motive, join, uid, month, need_cadre, need_elite, tm, tc,
                career_bias, seniority_bias, rent_elite, rent_cadre, decay, p_rotate,
                key_p, key_r, table):
    """A member's promotion, rotation and stake this month.

    ``tm``/``tc``: total promotion weight of members/cadres (the draws fill ``need_cadre`` and
    ``need_elite`` places in expectation); ``table``: this month's :func:`weight_table`.
    Returns ``(status, stake, promoted, rotated)``.
    """
    up = 0
    down = 0
    if st == MEMBER or st == CADRE:  # noqa: PLR1714, SIM109 (numba kernel: plain compares)
        w = weight_of(table, motive, join, month, career_bias, seniority_bias)
        u = uniform(key_p, uid)
        if st == MEMBER and tm > 0 and u < need_cadre * w / tm:
            st = CADRE
            up = 1
        elif st == CADRE and tc > 0 and u < need_elite * w / tc:
            st = ELITE
            up = 1
    if st >= CADRE and uniform(key_r, uid) < p_rotate:
        st = MEMBER
        down = 1
    s = stake
    if st == ELITE:
        s += rent_elite * (1.0 - s)
    elif st == CADRE:
        s += rent_cadre * (1.0 - s)
    else:
        s *= 1.0 - decay
    return st, clip01(s), up, down


class PrivilegeTerms(NamedTuple):
    """This month's constants of :func:`promote_one`."""

    need_cadre: float  #: promotions into office needed (cadres and elites)
    need_elite: float  #: promotions into the elite needed
    career_bias: float
    seniority_bias: float
    rent_elite: float  #: monthly rent of an elite office-holder
    rent_cadre: float  #: ... and of a cadre
    decay: float  #: monthly decay of the stake
    p_rotate: float  #: monthly probability of rotation out of office
    key_promote: np.uint64
    key_rotate: np.uint64


#: the interface's name for it (the class names differ between mechanisms: numba's parallel
#: loops tell records apart by class name)
Terms = PrivilegeTerms
#: the terms passed to compiled code when M5 is off (never read then)
OFF = Terms(*(0.0,) * 8, np.uint64(0), np.uint64(0))


@register_jitable
def terms(ctx) -> Terms | None:
    """This month's promotion and rent :class:`Terms` (``None`` when M5 is off)."""
    p = ctx.params.privilege
    if not p.enabled:
        return None
    a = ctx.stocks
    members = a["full_members"] + a["cadres"] + a["elites"]
    need_elite = max(0.0, p.elite_share * members - a["elites"])
    need_cadre = max(0.0, p.cadre_share * members - a["cadres"]) + need_elite
    rent = p.rent / 12.0 * ctx.lever("privilege") * (1.0 - remedies.criticism_effect(ctx))
    return Terms(need_cadre, need_elite, p.career_bias, p.seniority_bias, rent,
                 rent * p.cadre_factor, p.stake_decay / 12.0,
                 p.turnover / 12.0 * (1.0 - ctx.lever("cadre_stability")),
                 ctx.key("privilege.promote"), ctx.key("privilege.rotate"))


@register_jitable
def visible_corruption(ctx, members: bool) -> float:
    """Corruption as members (or citizens) see it, given openness (M7)."""
    p = ctx.params.privilege
    base = p.visibility_members if members else p.visibility_citizens
    o = ctx.openness
    return ctx.stocks["corruption"] * (base + (1.0 - base) * o)
