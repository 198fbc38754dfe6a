"""Kernels of M1 recruitment: decisions to apply (``applications`` phase; ``learning`` with
sequential M7) and admissions.

:func:`apply_pass` finds the agents whose monthly trial succeeds and decides whether they
apply; :func:`admissions_pass` admits applicants under the quota, visiting the applicants
``apply_pass`` listed instead of scanning every slot.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ...mechanisms import recruitment as m1
from ...mechanisms._common import CANDIDATE, CAREER, CONFORMIST, IDEAL, prefetch_read
from ...rng import log_q, successes, uniform
from .options import GROUP, KERNEL

#: trial successes ``apply_pass`` locates at once before deciding them, and successes ahead
#: of the decision whose attributes are prefetched
TRIALS = 256
APPLY_AHEAD = 8

#: applicants ``apply_pass`` lists per chunk for ``admissions_pass``: twice the last month's
#: most in a chunk, within these bounds (a chunk with more is scanned instead)
APPLICANTS_MIN = 256
APPLICANTS_MAX = 1024


@njit(**KERNEL)
def apply_pass(bounds, span, alive, birth, status, left, uid, belief, motive, month, rt, wsum,
               napp, listed):
    """M1 decisions to apply (an applicant's motive is stored negated in ``motive`` until the
    admissions pass). Per chunk: weight sum and applicants; the applicants' slots, in slot
    order, in ``listed[c]`` (as many as it holds: ``admissions_pass`` scans a chunk with more).

    ``rt``: M1's :class:`~allegiance.mechanisms.recruitment.Terms`. Each uid has a trial at
    ``rt.apply_rate`` a month; the successes are found by skipping from one to the next over
    the chunk's ``span`` uids (~2 % of uids), and an eligible agent whose trial succeeds
    applies with probability ``logistic(·)`` (:func:`recruitment.decide`). Chunk by chunk in
    slot order: the weight sum adds in a fixed order.

    The successes are located ``TRIALS`` at a time (:func:`rng.successes`: their draws in a
    row, then their slots by a merge with ``uid`` whose branches the data do not steer), then
    decided in slot order with the next ones' attributes prefetched, so that their cache
    misses overlap: the same agents decided in the same order as one at a time with
    :func:`rng.next_success`."""
    lq = log_q(rt.apply_rate)
    for c in prange(bounds.shape[0] - 1):
        targets = np.empty(TRIALS, dtype=uid.dtype)
        found = np.empty(TRIALS, dtype=np.uint64)
        s = 0.0
        k = 0
        i = bounds[c]
        hi = bounds[c + 1]
        j = 0
        pos = 0.0
        more = rt.apply_rate > 0.0 and i < hi
        while more:
            j, pos, i, n, more = successes(uid, rt.key_trial, c, j, pos, i, hi, span, lq,
                                           targets, found)
            for q in range(n):
                if q + APPLY_AHEAD < n:
                    a = found[q + APPLY_AHEAD]
                    prefetch_read(alive, a)
                    prefetch_read(status, a)
                    prefetch_read(left, a)
                    prefetch_read(birth, a)
                    prefetch_read(belief, a)
                k, w = decide_one(found[q], alive, birth, status, left, uid, belief, motive,
                                  month, rt, listed, c, k)
                s += w
        wsum[c] = s
        napp[c] = k


@njit(cache=True, inline="always")
def decide_one(t, alive, birth, status, left, uid, belief, motive, month, rt, listed, c, k):
    """The trial success in slot ``t`` decides whether to apply (:func:`recruitment.decide`):
    an applicant's motive is stored negated and its slot listed at ``listed[c, k]`` if there
    is room. Returns the count of applicants so far (``k`` + 1 if it applies) and its vetting
    weight (0.0 if it does not: adding it changes no sum of non-negative weights)."""
    mot = m1.decide(alive[t], status[t], left[t], month - birth[t], belief[t], uid[t], rt)
    if mot == 0:
        return k, 0.0
    if k < listed.shape[1]:
        listed[c, k] = t
    motive[t] = -mot
    return k + 1, m1.admit_weight(belief[t], rt.selectivity_k)


@njit(cache=True, inline="always")
def _admit(i, status, join, motive, uid, belief, month, quota, total, sel_k, key_admit):
    """An applicant's admission draw (``motive[i]`` < 0): its motive if admitted, else 0."""
    mot = -motive[i]
    motive[i] = 0
    if total <= 0.0:
        return 0
    pa = m1.admit_probability(quota, m1.admit_weight(belief[i], sel_k), total)
    if uniform(key_admit, uid[i]) < pa:
        status[i] = CANDIDATE
        join[i] = month
        motive[i] = mot
        return mot
    return 0


@njit(**KERNEL)
def admissions_pass(bounds, status, join, motive, uid, belief, month, quota, total, sel_k,
                    key_admit, napp, listed, adm, adm_off, counts):
    """M1 admissions: each applicant (negative ``motive``) is admitted with probability
    ``quota · w / Σw``; the admitted slots are listed per chunk for the member index.
    Per chunk: [admitted, ideal, career, conformist].

    The applicants of a chunk are those :func:`apply_pass` listed (``napp[c]`` of them, if
    ``listed`` held them all). Otherwise the chunk is scanned: ``GROUP`` slots at a time for a
    negative motive in a loop that vectorizes, visiting one by one only the groups that hold
    one. Either way the same agents in the same (slot) order."""
    for c in prange(bounds.shape[0] - 1):
        n = 0
        by = np.zeros(4, dtype=np.int64)
        base = adm_off[c]
        if napp[c] <= listed.shape[1]:
            for q in range(napp[c]):
                i = listed[c, q]
                mot = _admit(i, status, join, motive, uid, belief, month, quota, total, sel_k,
                             key_admit)
                if mot != 0:
                    adm[base + n] = i
                    n += 1
                    by[mot] += 1
        else:
            g0 = bounds[c]
            hi = bounds[c + 1]
            while g0 < hi:
                g1 = min(g0 + np.uint64(GROUP), hi)
                neg = 0
                for i in range(g0, g1):
                    neg |= np.int64(motive[i] < 0)
                if neg != 0:
                    for i in range(g0, g1):
                        if motive[i] >= 0:
                            continue
                        mot = _admit(i, status, join, motive, uid, belief, month, quota, total,
                                     sel_k, key_admit)
                        if mot != 0:
                            adm[base + n] = i
                            n += 1
                            by[mot] += 1
                g0 = g1
        counts[c, 0] = n
        counts[c, 1] = by[IDEAL]
        counts[c, 2] = by[CAREER]
        counts[c, 3] = by[CONFORMIST]
