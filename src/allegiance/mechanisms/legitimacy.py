"""M6 — Popular legitimacy and alienation: trust in the party as it is.

Essay §3.1 and §4.3: "that corrupt, privileged, people-alienated party was no longer 'their
party'". Trust in the party is a separate quantity from belief in the ideal (the brief: in
January 1991 most people still found socialism acceptable while the party's authority had
collapsed). Each adult's trust moves towards a target set by the regime's performance, the
corruption they can see (M5, M7), the party's contact with the people (M11), their own
belief, and their lasting disposition towards the regime:

    news   = w_perf · performance − w_corr · visible_corruption + w_contact · contact_effect
    accept = 2 · logistic(−κ · z · sign(news))
    target = base + accept · news + w_belief · (belief − ½) + w_disposition · z
    trust  ← trust + rate/12 · (target − trust)

``z`` (state ``disposition``) is a person's lasting disposition, drawn once when they enter
the model (standard normal, kept in steps of 1/32 within ±3.97): what family history,
nationality, region, religion and one's own experience of the regime do to trust in the party
beyond the common conditions — the differences the émigré surveys find within every
generation (``data/attitudes_pre1989.csv``). Without it everyone's trust converges to nearly
the same target and a population answers as one; its weight is an assumption (issue 15).

``accept`` is how much of the common news a person takes in: people discount news that goes
against their predisposition and take in news that confirms it (Zaller 1992, *The Nature and
Origins of Mass Opinion*, the "acceptance" axiom; Taber & Lodge 2006 on motivated reasoning;
both L). With ``κ`` (``acceptance``) = 1, a person one standard deviation towards the regime
takes in 0.54 of bad news and 1.46 of good news, and the reverse for one standard deviation
against; ``κ`` = 0 gives everyone the same news (the model before 0.4.0). Without it, news
bad enough moves every target below the survey's "against" cut, however spread the
dispositions: the 1990–91 unanimity that issue 15 measured. ``κ`` is an assumption (range
0–2), set before any 1989–91 output was looked at.

Switched off, trust stays where socialization put it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit
from numba.extending import register_jitable
from pydantic import Field

from ..rng import normal
from . import privilege, remedies
from ._common import MechanismParams, clip01, positive, unit

#: the mechanism's id in the brief
ID = "M6"
#: the flows it counts (columns of ``timeseries.parquet``, persons per month)
FLOWS: tuple[str, ...] = ()
STATE = [("trust", np.float32, 0.5), ("disposition", np.int8, 0)]

#: ``disposition`` is stored in steps of 1/DISPOSITION_STEPS of a standard deviation
DISPOSITION_STEPS = 32.0


class Params(MechanismParams):
    """Trust dynamics."""

    base: float = unit(0.55, "trust target with average performance and no visible corruption")
    w_performance: float = positive(0.25, "weight of economic performance")
    w_corruption: float = positive(0.9, "weight of visible corruption")
    w_contact: float = positive(0.15, "weight of the contact-with-the-people remedy")
    w_belief: float = positive(0.4, "weight of one's belief in the ideal")
    rate: float = positive(0.4, "yearly adjustment rate towards the target")
    w_disposition: float = Field(0.15, ge=0.0, le=0.5,
                                 description="weight of one's lasting disposition (a standard "
                                             "normal per person) in the trust target")
    acceptance: float = Field(1.0, ge=0.0, le=3.0,
                              description="κ: how strongly one's disposition filters the common "
                                          "news (0 = everyone takes in the same news)")


@njit(cache=True, inline="always")
def adjust_one(trust, belief, disposition, member, news_m, news_c, base, w_belief, w_disp, kappa,
               rate):
    """An adult's trust moved towards its target (members and citizens see different
    corruption, hence different news; ``disposition``: the stored state, in steps of
    1/:data:`DISPOSITION_STEPS`). Branch-free."""
    news = news_m if member else news_c
    return adjust_accepted(trust, belief, disposition, accepted(disposition, news, kappa), news,
                           base, w_belief, w_disp, rate)


@njit(cache=True, inline="always")
def accepted(disposition, news, kappa):
    """``accept``: how much of the common ``news`` a person of this ``disposition`` takes in.
    It depends only on the disposition (255 values) and the news, so the month's kernels
    look it up in a table of this function's values (:func:`accepted_table`): an ``exp`` per
    agent costs more than the rest of M6 (numba has no vector ``exp`` without Intel's SVML)."""
    z = np.float64(disposition) / DISPOSITION_STEPS
    s = kappa * z
    s = s if news < 0.0 else -s
    return 2.0 / (1.0 + np.exp(s))


@njit(cache=True, inline="always")
def adjust_accepted(trust, belief, disposition, accept, news, base, w_belief, w_disp, rate):
    """:func:`adjust_one` with its ``accept`` given (:func:`accepted`); branch-free, so that a
    loop over non-members vectorizes."""
    z = np.float64(disposition) / DISPOSITION_STEPS
    tgt = base + accept * news + w_belief * (belief - 0.5) + w_disp * z
    tgt = clip01(tgt)
    return clip01(trust + rate * (tgt - trust))


@njit(cache=True)
def accepted_table(news, kappa):
    """:func:`accepted` for every stored disposition ``d`` (-128..127, at ``d + 128``)."""
    out = np.empty(256)
    for d in range(-128, 128):
        out[d + 128] = accepted(np.int8(d), news, kappa)
    return out


@njit(cache=True)
def draw_dispositions(lo, hi, uid, disposition, key):
    """The lasting dispositions of the agents in slots ``lo:hi`` (a standard normal per uid,
    rounded to steps of 1/:data:`DISPOSITION_STEPS`, within the int8 range)."""
    for i in range(lo, hi):
        z = np.round(normal(key, uid[i]) * DISPOSITION_STEPS)
        disposition[i] = np.int8(min(127.0, max(-127.0, z)))


class LegitimacyTerms(NamedTuple):
    """This month's constants of :func:`adjust_one`."""

    news_members: float  #: the common news as members see it (relative to ``base``)
    news_citizens: float  #: ... and as non-members see it (they see less corruption)
    base: float  #: the trust target with no news, before belief and disposition
    w_belief: float
    w_disposition: float
    acceptance: float  #: κ
    rate: float  #: monthly adjustment rate


#: the interface's name for it (the class names differ between mechanisms: numba's parallel
#: loops tell records apart by class name)
Terms = LegitimacyTerms
#: the terms a kernel is given when the mechanism does nothing this month
OFF = Terms(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


@register_jitable
def terms(ctx) -> Terms | None:
    """This month's :class:`Terms` (``None`` when M6 is off)."""
    p = ctx.params.legitimacy
    if not p.enabled:
        return None
    common = p.w_performance * ctx.lever("performance") + p.w_contact * remedies.contact_effect(ctx)
    news_m = common - p.w_corruption * privilege.visible_corruption(ctx, members=True)
    news_c = common - p.w_corruption * privilege.visible_corruption(ctx, members=False)
    return Terms(news_m, news_c, p.base, p.w_belief, p.w_disposition, p.acceptance,
                 p.rate / 12.0)
