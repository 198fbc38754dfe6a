"""Kernels of the ``adults`` and ``learning`` phases: every slot, in blocks.

Synchronous M7 (``run.m7_order``, the default): ``one_pass`` does the month's work on every
agent in one pass — M2 socialization at 16, M4 ritual decay and peer drift, M6 trust
adjustment, M7 social learning from last month's workplace sums of trust, this month's sums
for the next, next month's stocks of the whole population (:data:`~.stocks.NEXT`) and its
natural deaths; ``trust_sums_pass`` takes the sums when last month's pass left none.

Sequential M7 (kept for one release): ``adults_pass``: M2, M4, M6 and M7's workplace sums of
trust; ``learning_pass``: M7 social learning from them, next month's stocks and deaths.

All work in blocks of :data:`~.options.BLOCK` slots, and within a block run the agents in
groups (in ``adults``, non-members, then members). The non-member loops are branch-free so
that the compiler vectorizes them (with AVX2, 4 agents per instruction); the rest runs one
agent at a time. Each agent still sees its updates in the mechanisms' order, so the results
are those of one plain loop over the agents, bit for bit (``tests/test_kernels.py`` checks
each pass against that loop). At 1:1 the workplace arrays do not fit in cache and the passes
prefetch them (``_common.PREFETCH``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ...mechanisms import demography as m2
from ...mechanisms import legitimacy as m6
from ...mechanisms import openness as m7
from ...mechanisms import ritual as m4
from ...mechanisms._common import (
    ADULT_MONTHS,
    COUNT_BITS,
    COUNT_MASK,
    PREFETCH,
    packed,
    prefetch_read,
    prefetch_write,
    to_fixed,
    to_fixed_simd,
    unpack,
)
from .options import BLOCK, GROUP, KERNEL
from .stocks import _next_terms


@njit(cache=True, inline="always", error_model="numpy")
def _adult_member(i, month, birth, cell, uid, belief, trust, disposition, soc_on, climate,
                  trust_mean, sd, key_b, key_t, ritual_on, msum0, rate_m, rate_c, peer, asym,
                  legit_on, news_m, news_c, base_t, w_belief, w_disp, acc_m, rate_t,
                  learn_on, ts):
    """The ``adults`` pass for one living member (the mechanisms' order, as for everyone)."""
    age = month - birth[i]
    if soc_on and age == m2.SOCIALIZATION_MONTHS:
        b, t = m2.socialized(climate, trust_mean, sd, uid[i], key_b, key_t)
        belief[i] = b
        trust[i] = t
    if age >= ADULT_MONTHS and (ritual_on or legit_on):
        if ritual_on:
            ms, mc = unpack(msum0[cell[i]])
            belief[i] = m4.erode_one(belief[i], True, ms, mc, rate_m, rate_c, peer, asym)
        if legit_on:
            d = disposition[i]  # M6, its acceptance of the news looked up (``acc_m``)
            trust[i] = m6.adjust_accepted(trust[i], belief[i], d, acc_m[d + 128], news_m,
                                          base_t, w_belief, w_disp, rate_t)
    if learn_on:
        ts[cell[i]] += packed(trust[i])


@njit(**KERNEL)
def adults_pass(bounds, lanes, idx, ib, alive, birth, status, cell, uid, belief, trust,
                disposition, month, soc_on, soc, ritual_on, msum, rr, legit_on, lb, learn_on,
                tsum, far):
    """M2 socialization at 16, M4 ritual decay and peer drift, M6 trust adjustment, and the
    fixed-point workplace sums of trust for M7 (per lane). ``soc``, ``rr``, ``lb``: the
    ``Terms`` of M2, M4 and M6 (each used only if its flag is on).

    Per block of ``BLOCK`` slots: (0) each agent's M6 acceptance of the news, looked up by
    disposition (:func:`legitimacy.accepted_table`: an ``exp`` per agent would cost more than
    the rest); (1) every non-member, branch-free so that the compiler vectorizes it —
    :func:`ritual.erode_one` and :func:`legitimacy.adjust_accepted` for a non-member
    (``member`` false: their member branches compile away), each one's update kept only if
    it is an adult, and its packed workplace term kept in a block buffer; (2)
    the rare non-members turning 16 (socialized, their term replaced); (3) the block's
    members, from the member index (:func:`_adult_member`); (4) the non-members' terms added
    to the workplace sums. Every
    agent goes through the same steps in the same order as a one-agent-at-a-time loop, and
    the sums are integers, so the results are those of that loop bit for bit. ``far``: the
    workplace arrays do not fit in cache; prefetch them (:data:`_common.PREFETCH`).
    """
    climate, trust_mean, sd, key_b, key_t = soc
    rate_m, rate_c, peer, asym = rr
    news_m, news_c, base_t, w_belief, w_disp, kappa, rate_t = lb
    # M6's acceptance of the news, by disposition (looked up: no exp per agent)
    acc_m = m6.accepted_table(news_m, kappa)
    acc_c = m6.accepted_table(news_c, kappa)
    msum0 = msum[0]
    one = np.uint64(1)
    ahead = np.uint64(PREFETCH)
    for lane in prange(lanes.shape[0] - 1):
        ts = tsum[lane]
        if learn_on:
            ts[:] = 0
        pk = np.zeros(BLOCK, dtype=np.int64)
        ab = np.zeros(BLOCK)
        for c in range(lanes[lane], lanes[lane + 1]):
            j = ib[c]
            j_end = ib[c + 1]
            b0 = bounds[c]
            hi = bounds[c + 1]
            while b0 < hi:
                b1 = min(b0 + np.uint64(BLOCK), hi)
                n = b1 - b0
                nsoc = 0
                if legit_on:  # (0) M6's acceptance of a non-member of each one's disposition
                    for q in range(n):
                        ab[q] = acc_c[disposition[b0 + q] + 128]
                for k in range(n):  # (1) non-members, vectorized
                    i = b0 + k
                    non = np.int64(alive[i]) & np.int64(status[i] <= 0)
                    age = month - np.int64(birth[i])
                    upd = non & np.int64(age >= ADULT_MONTHS)
                    nsoc += non & np.int64(age == m2.SOCIALIZATION_MONTHS)
                    b = belief[i]
                    t = trust[i]
                    nb = (np.float32(m4.erode_one(b, False, 0, 0, rate_m, rate_c, peer, asym))
                          if ritual_on else b)
                    nt = (np.float32(m6.adjust_accepted(t, nb, disposition[i], ab[k], news_c,
                                                        base_t, w_belief, w_disp, rate_t))
                          if legit_on else t)
                    nb = nb if upd != 0 else b
                    nt = nt if upd != 0 else t
                    belief[i] = nb
                    trust[i] = nt
                    pk[k] = ((to_fixed_simd(np.float64(nt)) << COUNT_BITS) + 1) * non
                if soc_on and nsoc > 0:  # (2) non-members turning 16
                    for k in range(n):
                        i = b0 + k
                        if (alive[i] and status[i] <= 0
                                and month - birth[i] == m2.SOCIALIZATION_MONTHS):
                            bb, tt = m2.socialized(climate, trust_mean, sd, uid[i], key_b, key_t)
                            belief[i] = bb
                            trust[i] = tt
                            pk[k] = packed(trust[i])
                while j < j_end and idx[j] < b1:  # (3) members
                    i = idx[j]
                    if far:
                        p = cell[idx[min(j + ahead, j_end - one)]]
                        prefetch_read(msum0, p)
                        prefetch_write(ts, p)
                    j += one
                    if alive[i] and status[i] > 0:
                        _adult_member(i, month, birth, cell, uid, belief, trust, disposition,
                                      soc_on, climate, trust_mean, sd, key_b, key_t, ritual_on,
                                      msum0, rate_m, rate_c, peer, asym, legit_on, news_m,
                                      news_c, base_t, w_belief, w_disp, acc_m, rate_t,
                                      learn_on, ts)
                if learn_on:  # (4) the non-members' workplace terms
                    if far:
                        for k in range(n):
                            prefetch_write(ts, cell[b0 + min(k + ahead, n - one)])
                            ts[cell[b0 + k]] += pk[k]
                    else:
                        for k in range(n):
                            ts[cell[b0 + k]] += pk[k]
                b0 = b1


@njit(cache=True, inline="always")
def _next_block(b0, b1, alive, birth, belief, trust, month1, commit_thr, norm, openness,
                falsify, cut):
    """The :data:`~.stocks.NEXT` columns of the slots ``b0:b1`` (:func:`_next_terms`, in one
    branch-free loop that vectorizes), as a tuple of their sums."""
    n_al = 0
    n_ad = 0
    s_b = 0
    s_t = 0
    n_cm = 0
    s_ex = 0
    s_bb = 0
    s_tt = 0
    n_f = 0
    n_na = 0
    n_fe = 0
    n_nae = 0
    for i in range(b0, b1):  # vectorized
        a = np.int64(alive[i])
        ad, xb, xt, xc, xe, xbb, xtt, f, na, fe, nae = _next_terms(
            a, birth[i], belief[i], trust[i], month1, commit_thr, norm, openness, falsify,
            cut)
        n_al += a
        n_ad += ad
        s_b += xb
        s_t += xt
        n_cm += xc
        s_ex += xe
        s_bb += xbb
        s_tt += xtt
        n_f += f
        n_na += na
        n_fe += fe
        n_nae += nae
    return n_al, n_ad, s_b, s_t, n_cm, s_ex, s_bb, s_tt, n_f, n_na, n_fe, n_nae


@njit(cache=True, inline="always")
def _list_deaths(b0, b1, alive, death, month1, dying_row, nd):
    """The living agents of slots ``b0:b1`` whose month of death is ``month1`` or earlier,
    appended to ``dying_row`` from position ``nd`` (as many as fit); returns the new count."""
    cap = dying_row.shape[0]
    g0 = b0
    while g0 < b1:  # 64 slots tested at once
        g1 = min(g0 + np.uint64(GROUP), b1)
        hit = 0
        for i in range(g0, g1):
            hit |= np.int64(alive[i]) & np.int64(death[i] <= month1)
        if hit:
            for i in range(g0, g1):
                if alive[i] and death[i] <= month1:
                    if nd < cap:
                        dying_row[nd] = i
                    nd += 1
        g0 = g1
    return nd


@njit(**KERNEL)
def learning_pass(bounds, lanes, alive, birth, death, cell, belief, trust, month, learn, rate,
                  tsum, stocks_on, commit_thr, norm, openness, falsify, cuts, nxt, dying,
                  ndying):
    """M7 social learning of adults; with ``stocks_on``, next month's stocks of the whole
    population and its natural deaths.

    Per block of ``BLOCK`` slots, each agent's packed workplace sum is copied into a block
    buffer (a scalar loop: the compiler will not vectorize the gather), then every adult
    learns in one branch-free loop that vectorizes (:func:`openness.learn_packed`). The
    results are those of the one-agent loop bit for bit. ``learn`` false (no learning this
    month): only the stocks.

    ``stocks_on``: no pass after this one changes anyone's belief or trust or birth, nor
    (except war losses, after which the model does not use them) who is alive, before the
    next month's stocks are taken; so the columns :data:`NEXT` of those stocks (``nxt[lane]``,
    ages and ``openness`` of next month; exact integers) are summed here, in a second
    branch-free loop over the block (:func:`_next_terms`), and the stocks pass only counts
    the members (:func:`member_stocks`). The agents whose month of death is next month
    (``month + 1``) are listed in ``dying[lane, :ndying[lane]]`` (in slot order;
    ``ndying[lane]`` = -1 when the list is full) for the stocks pass to kill after counting
    them.
    """
    tsum0 = tsum[0]
    mask = np.int64(COUNT_MASK)
    month1 = month + 1
    cap = dying.shape[1]
    cut = (cuts[0], cuts[1])  # the survey's cut points, as scalars for the vectorized loop
    for lane in prange(lanes.shape[0] - 1):
        pb = np.zeros(BLOCK, dtype=np.int64)
        acc = np.zeros(12, dtype=np.int64)
        nd = 0
        for c in range(lanes[lane], lanes[lane + 1]):
            b0 = bounds[c]
            hi = bounds[c + 1]
            while b0 < hi:
                b1 = min(b0 + np.uint64(BLOCK), hi)
                n = b1 - b0
                if learn:
                    # no prefetch: the loads are independent, and the core overlaps more of
                    # them without the hints (1:1-size state of 1985: 2.53 against 2.67 ns)
                    for q in range(n):
                        pb[q] = tsum0[cell[b0 + q]]
                    for i in range(b0, b1):  # vectorized
                        trust[i] = m7.learn_packed(pb[i - b0], trust[i], rate, np.int64(alive[i]),
                                            birth[i], month, mask)
                if stocks_on:
                    # a second loop over the block (in cache): one loop doing both does not
                    # vectorize as well (measured: slower)
                    x = _next_block(b0, b1, alive, birth, belief, trust, month1, commit_thr,
                                    norm, openness, falsify, cut)
                    for k in range(12):
                        acc[k] += x[k]
                    nd = _list_deaths(b0, b1, alive, death, month1, dying[lane], nd)
                b0 = b1
        nxt[lane, :] = acc
        ndying[lane] = nd if nd <= cap else -1


# ---------------------------------------------------------------------------------------------
# The synchronous month (``run.m7_order = "synchronous"``): one pass over everyone


@njit(**KERNEL)
def one_pass(bounds, lanes, idx, ib, alive, birth, death, status, cell, uid, belief, trust,
             disposition, month, soc_on, soc, ritual_on, msum, rr, legit_on, lb, learn_on,
             rate, last, mark, sums_on, tsum, stocks_on, commit_thr, norm, openness, falsify,
             cuts, nxt, dying, ndying, far):
    """The synchronous month's pass over every agent: M2 socialization at 16, M4 ritual decay
    and peer drift, M6 trust, M7 learning from last month's workplace sums of trust, its
    trust added to next month's sums; with ``stocks_on``, next month's stocks of the whole
    population and its natural deaths (as :func:`learning_pass`).

    ``last``: last month's packed workplace sums (the agents alive at last month's pass,
    whose uids are below ``mark``; an agent among them is left out of its own workplace's
    mean, :func:`openness.learn_last`). Each lane adds next month's into ``tsum[lane]``
    (:func:`sum_lanes` adds the lanes up). ``learn_on``: M7 learns this month (at
    ``rate``); ``sums_on``: next month's sums are taken.

    Per block of ``BLOCK`` slots: (0) each agent's packed sum of last month and its M6
    acceptance of the news (by disposition, :func:`legitimacy.accepted_table`) into block
    buffers (scalar loops: the gathers do not vectorize); (1) every non-member, branch-free
    (vectorized): M4 and M6 for an adult; everyone's trust before the month kept in a block
    buffer; (2) the non-members turning 16; (3) the block's members, from the member index
    (:func:`_adult_member`: M2, M4, M6); (4) M7 for every adult of the block, branch-free
    (vectorized, as in :func:`learning_pass`); (5) every living agent's trust added to next
    month's sums; (6) next month's stocks and deaths of the block (still in cache). Each step
    is a loop of its own: fused into fewer loops the pass vectorized worse and was slower
    (measured). Every agent goes through the same steps in the same order as the one-agent
    loop (``reference.adults_sync_loop``), and the sums are integers: the results are that
    loop's, bit for bit.
    """
    climate, trust_mean, sd, key_b, key_t = soc
    rate_m, rate_c, peer, asym = rr
    news_m, news_c, base_t, w_belief, w_disp, kappa, rate_t = lb
    msum0 = msum[0]
    one = np.uint64(1)
    ahead = np.uint64(PREFETCH)
    mask = np.int64(COUNT_MASK)
    month1 = month + 1
    cap = dying.shape[1]
    cut = (cuts[0], cuts[1])
    # M6's acceptance of the news, by disposition (looked up: no exp per agent)
    acc_m = m6.accepted_table(news_m, kappa)
    acc_c = m6.accepted_table(news_c, kappa)
    for lane in prange(lanes.shape[0] - 1):
        ts = tsum[lane]
        if sums_on:
            ts[:] = 0
        # block buffers: each entry is written in a block before it is read there (not
        # zeroed: at small scale a pass would spend much of its time clearing them)
        pk = np.empty(BLOCK, dtype=np.int64)
        pb = np.empty(BLOCK, dtype=np.int64)
        ab = np.empty(BLOCK)
        t0 = np.empty(BLOCK, dtype=np.float32)
        acc = np.zeros(12, dtype=np.int64)
        nd = 0
        for c in range(lanes[lane], lanes[lane + 1]):
            j = ib[c]
            j_end = ib[c + 1]
            b0 = bounds[c]
            hi = bounds[c + 1]
            while b0 < hi:
                b1 = min(b0 + np.uint64(BLOCK), hi)
                n = b1 - b0
                nsoc = 0
                if learn_on:  # (0) last month's sums, gathered
                    for q in range(n):
                        pb[q] = last[cell[b0 + q]]
                if legit_on:  # ... and M6's acceptance of a non-member of that disposition
                    for q in range(n):
                        ab[q] = acc_c[disposition[b0 + q] + 128]
                for k in range(n):  # (1) non-members, vectorized
                    i = b0 + k
                    non = np.int64(alive[i]) & np.int64(status[i] <= 0)
                    age = month - np.int64(birth[i])
                    upd = non & np.int64(age >= ADULT_MONTHS)
                    nsoc += non & np.int64(age == m2.SOCIALIZATION_MONTHS)
                    b = belief[i]
                    t = trust[i]
                    nb = (np.float32(m4.erode_one(b, False, 0, 0, rate_m, rate_c, peer, asym))
                          if ritual_on else b)
                    nt = (np.float32(m6.adjust_accepted(t, nb, disposition[i], ab[k], news_c,
                                                        base_t, w_belief, w_disp, rate_t))
                          if legit_on else t)
                    belief[i] = nb if upd != 0 else b
                    trust[i] = nt if upd != 0 else t
                    t0[k] = t
                if soc_on and nsoc > 0:  # (2) non-members turning 16 (not adults: no M7)
                    for k in range(n):
                        i = b0 + k
                        if (alive[i] and status[i] <= 0
                                and month - birth[i] == m2.SOCIALIZATION_MONTHS):
                            bb, tt = m2.socialized(climate, trust_mean, sd, uid[i], key_b, key_t)
                            belief[i] = bb
                            trust[i] = tt
                while j < j_end and idx[j] < b1:  # (3) members: M2, M4, M6
                    i = idx[j]
                    if far and ritual_on:
                        prefetch_read(msum0, cell[idx[min(j + ahead, j_end - one)]])
                    j += one
                    if alive[i] and status[i] > 0:
                        _adult_member(i, month, birth, cell, uid, belief, trust, disposition,
                                      soc_on, climate, trust_mean, sd, key_b, key_t, ritual_on,
                                      msum0, rate_m, rate_c, peer, asym, legit_on, news_m,
                                      news_c, base_t, w_belief, w_disp, acc_m, rate_t, False,
                                      ts)
                if learn_on:  # (4) M7 for every adult, vectorized
                    for k in range(n):
                        i = b0 + k
                        upd = (np.int64(alive[i])
                               & np.int64(month - np.int64(birth[i]) >= ADULT_MONTHS))
                        trust[i] = m7.learn_last_packed(pb[k], t0[k], trust[i], rate, upd,
                                                        np.int64(uid[i] < mark), mask)
                if sums_on:  # (5) next month's sums of trust
                    for k in range(n):  # vectorized
                        i = b0 + k
                        pk[k] = ((to_fixed_simd(np.float64(trust[i])) << COUNT_BITS) + 1
                                 ) * np.int64(alive[i])
                    if far:
                        for k in range(n):
                            prefetch_write(ts, cell[b0 + min(k + ahead, n - one)])
                            ts[cell[b0 + k]] += pk[k]
                    else:
                        for k in range(n):
                            ts[cell[b0 + k]] += pk[k]
                if stocks_on:  # (6) next month's stocks and natural deaths
                    x = _next_block(b0, b1, alive, birth, belief, trust, month1, commit_thr,
                                    norm, openness, falsify, cut)
                    for k in range(12):
                        acc[k] += x[k]
                    nd = _list_deaths(b0, b1, alive, death, month1, dying[lane], nd)
                b0 = b1
        nxt[lane, :] = acc
        ndying[lane] = nd if nd <= cap else -1


@njit(**KERNEL)
def trust_sums_pass(bounds, lanes, alive, cell, trust, tsum):
    """M7's workplace sums of trust of the living as they stand (packed), into
    ``tsum[lane]``: when last month's pass left none to learn from (the first month,
    after a shock)."""
    for lane in prange(lanes.shape[0] - 1):
        ts = tsum[lane]
        ts[:] = 0
        for i in range(bounds[lanes[lane]], bounds[lanes[lane + 1]]):
            ts[cell[i]] += ((to_fixed(trust[i]) << COUNT_BITS) + 1) * np.int64(alive[i])


@njit(**KERNEL)
def sum_lanes(tsum, t, out):
    """``out`` = the lanes' sums ``tsum[:t]`` added up (integers: any order)."""
    for j in prange(out.shape[0]):
        s = tsum[0, j]
        for lane in range(1, t):
            s += tsum[lane, j]
        out[j] = s
