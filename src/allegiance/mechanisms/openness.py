"""M7 — Openness and preference falsification.

Essay §3.2 (glasnost as "the complete lifting of propaganda controls"); Kuran (1991). Under
repression people say what is expected; openness lets private views show and lets people
learn what others think. With openness ``o`` (a lever: low under Stalin, a thaw after 1956,
glasnost from 1986):

* expressed trust = o · trust + (1 − o) · max(trust, norm) — what one says in public;
* social learning: trust ← trust + learn/12 · o · (mean trust of the others in one's workplace
  − trust), where the mean is last month's (``run.m7_order = "synchronous"``, the default:
  everyone learns from the workplace as it stood when the month began, so one pass over the
  agents does the month), or, with ``"sequential"`` (kept for one release), this month's
  after M4 and M6;
* visibility of corruption (M5) and of others' exits (M9) and actions (M10) grows with o.

Switched off, there is no falsification (expressed = private), no learning, and openness
no longer changes what people see (it stays at its initial value).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit
from numba.extending import register_jitable

from ._common import (
    ADULT_MONTHS,
    COUNT_BITS,
    FIXED_ONE,
    MechanismParams,
    clip01,
    int_to_f64_simd,
    peer_mean,
    positive,
    to_fixed,
    to_fixed_simd,
    unit,
)

#: the mechanism's id in the brief
ID = "M7"
#: the flows it counts (columns of ``timeseries.parquet``, persons per month)
FLOWS: tuple[str, ...] = ()
STATE: list = []


class Params(MechanismParams):
    """Falsification norm and learning rate."""

    norm: float = unit(0.8, "trust people are expected to profess in public")
    learn: float = positive(0.5, "yearly rate of learning others' trust at openness 1")


@njit(cache=True, inline="always")
def expressed(t, openness, norm):
    """The trust an adult shows in public under falsification: ``openness · t + (1 − openness)
    · max(t, norm)`` (falsified towards the norm where openness is low)."""
    return openness * t + (1.0 - openness) * max(t, norm)


@njit(cache=True, inline="always")
def learn_one(trust, cell_sum, cell_count, rate):
    """An adult's trust moved towards the mean trust of the others in its workplace
    (``cell_sum``/``cell_count``: fixed-point sum and count over everyone alive there)."""
    if cell_count > 1:
        return clip01(trust + rate * (peer_mean(cell_sum, cell_count, trust) - trust))
    return trust


@njit(cache=True, inline="always")
def learn_packed(p, t, rate, a, birth_i, month, mask):
    """:func:`learn_one` for one agent whose workplace's sum and count are packed in ``p``
    (``sum << COUNT_BITS + count``; ``mask`` = ``COUNT_MASK``), written branch-free so that a
    loop over agents vectorizes (:func:`_common.to_fixed_simd`,
    :func:`_common.int_to_f64_simd`): the same floats as :func:`learn_one`. Only living
    (``a`` = 1) adults of a workplace with others learn; anyone else keeps ``t``."""
    cs = p >> COUNT_BITS
    cc = p & mask
    t64 = np.float64(t)
    pm = int_to_f64_simd(cs - to_fixed_simd(t64)) / FIXED_ONE / int_to_f64_simd(cc - 1)
    nt = np.float32(clip01(t64 + rate * (pm - t64)))
    upd = a & np.int64(month - np.int64(birth_i) >= ADULT_MONTHS) & np.int64(cc > 1)
    return nt if upd != 0 else t


@njit(cache=True, inline="always")
def learn_last(trust, own, cell_sum, cell_count, counted, rate):
    """Synchronous M7: an adult's ``trust`` (after this month's M4 and M6) moved towards the
    mean trust of the others in its workplace last month (``cell_sum``/``cell_count``:
    fixed-point sum and count of last month's sums). ``counted`` (0 or 1): whether the agent
    is in those sums, with ``own`` (its trust when the month's pass began) — then it is left
    out of the mean; a newcomer is not in them. Learns only if someone else is."""
    others = cell_count - counted
    if others > 0:
        pm = (cell_sum - counted * to_fixed(own)) / FIXED_ONE / others
        return clip01(trust + rate * (pm - trust))
    return trust


@njit(cache=True, inline="always")
def learn_last_packed(p, own, t, rate, upd, counted, mask):
    """:func:`learn_last` for one agent whose workplace's sum and count of last month are
    packed in ``p``, branch-free so that a loop over agents vectorizes (the same floats).
    ``upd`` (0 or 1): the agent is a living adult who learns; anyone else keeps ``t``."""
    cs = p >> COUNT_BITS
    cc = p & mask
    others = cc - counted
    t64 = np.float64(t)
    pm = (int_to_f64_simd(cs - counted * to_fixed_simd(np.float64(own))) / FIXED_ONE
          / int_to_f64_simd(others))
    nt = np.float32(clip01(t64 + rate * (pm - t64)))
    return nt if (upd & np.int64(others > 0)) != 0 else t


class OpennessTerms(NamedTuple):
    """This month's constants of :func:`learn_one` and :func:`learn_last` (and their packed
    forms)."""

    rate: float  #: monthly learning rate (``learn / 12 · openness``)


#: the interface's name for it (the class names differ between mechanisms: numba's parallel
#: loops tell records apart by class name)
Terms = OpennessTerms
@register_jitable
def terms(ctx) -> Terms | None:
    """This month's learning :class:`Terms`, or ``None`` when nobody learns (M7 off or no
    openness: then no workplace sums of trust are needed)."""
    p = ctx.params.openness
    o = ctx.openness
    if not p.enabled or o <= 0:
        return None
    return Terms(p.learn / 12.0 * o)
