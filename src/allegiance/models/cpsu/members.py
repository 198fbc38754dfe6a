"""Kernels of the member phases: they loop over the member index only.

``members``: M4 member sums per workplace and M5 promotion weights (:func:`members_sums`),
then M5 promotion, rotation and rents (:func:`promote_pass`); ``admissions``: M1
confirmations (:func:`confirm_pass`); ``purges``: purge and wartime-loss events
(:func:`purge_pass`, :func:`member_deaths`); ``members_end``: M11 expulsions for corruption,
M8 conversion, M9 exit and disengagement (:func:`members_end_pass`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ...mechanisms import elite as m8
from ...mechanisms import exit as m9
from ...mechanisms import privilege as m5
from ...mechanisms import recruitment as m1
from ...mechanisms import remedies as m11
from ...mechanisms._common import (
    CADRE,
    CANDIDATE,
    EXITED,
    EXPELLED,
    LAPSED,
    MEMBER,
    NEVER,
    NONMEMBER,
    PREFETCH,
    packed,
    prefetch_write,
)
from ...rng import uniform
from .options import KERNEL


@njit(cache=True, inline="always")
def _member_sums(i, st, ms, cell, belief, motive, join, month, ritual_on, promote_on,
                 career_bias, seniority_bias, table):
    """A living member's terms of the ``members`` phase's sums: its belief added to its
    workplace's M4 sum in ``ms``; returned, its M5 promotion weight as (member, cadre)
    (adding 0.0 to a sum leaves it as it was)."""
    if ritual_on:
        ms[cell[i]] += packed(belief[i])
    if promote_on and (st == MEMBER or st == CADRE):  # noqa: PLR1714, SIM109
        w = m5.weight_of(table, motive[i], join[i], month, career_bias, seniority_bias)
        if st == MEMBER:
            return w, 0.0
        return 0.0, w
    return 0.0, 0.0



@njit(**KERNEL)
def members_sums(idx, ib, lanes, alive, status, cell, belief, motive, join, month,
                 ritual_on, promote_on, career_bias, seniority_bias, table, msum, wsum, far):
    """M4: fixed-point sums of members' belief per workplace (per lane); M5: promotion weights
    of members and cadres per chunk. ``far``: prefetch the workplace ``PREFETCH`` members
    ahead."""
    one = np.uint64(1)
    ahead = np.uint64(PREFETCH)
    for lane in prange(lanes.shape[0] - 1):
        ms = msum[lane]
        ms[:] = 0
        j_last = ib[lanes[lane + 1]] - one
        for c in range(lanes[lane], lanes[lane + 1]):
            s_m = 0.0
            s_c = 0.0
            for j in range(ib[c], ib[c + 1]):
                i = idx[j]
                if far and ritual_on:
                    prefetch_write(ms, cell[idx[min(j + ahead, j_last)]])
                st = status[i]
                if not alive[i] or st == NONMEMBER:
                    continue
                wm, wc = _member_sums(i, st, ms, cell, belief, motive, join, month, ritual_on,
                                      promote_on, career_bias, seniority_bias, table)
                s_m += wm
                s_c += wc
            wsum[c, 0] = s_m
            wsum[c, 1] = s_c


@njit(**KERNEL)
def promote_pass(idx, ib, alive, status, stake, motive, join, uid, month, need_cadre,
                 need_elite, tm, tc, career_bias, seniority_bias, rent_elite, rent_cadre, decay,
                 p_rotate, key_p, key_r, table, part):
    """M5 promotion, rotation and rents; per chunk: [promotions, rotations]."""
    for c in prange(ib.shape[0] - 1):
        up = 0
        down = 0
        for j in range(ib[c], ib[c + 1]):
            i = idx[j]
            st = status[i]
            if not alive[i] or st == NONMEMBER:
                continue
            st, s, u, d = m5.promote_one(st, stake[i], motive[i], join[i], uid[i], month,
                                         need_cadre, need_elite, tm, tc, career_bias,
                                         seniority_bias, rent_elite, rent_cadre, decay,
                                         p_rotate, key_p, key_r, table)
            status[i] = st
            stake[i] = s
            up += u
            down += d
        part[c, 0] = up
        part[c, 1] = down


@njit(**KERNEL)
def confirm_pass(idx, ib, alive, status, join, left, uid, month, candidacy, drop, key, part):
    """M1: candidates past their candidacy become full members or are dropped; per chunk:
    [confirmed, dropped]."""
    for c in prange(ib.shape[0] - 1):
        ok = 0
        dropped = 0
        for j in range(ib[c], ib[c + 1]):
            i = idx[j]
            if not alive[i]:
                continue
            r = m1.confirm_one(status[i], join[i], uid[i], month, candidacy, drop, key)
            if r == 1:
                status[i] = MEMBER
                ok += 1
            elif r == 2:
                status[i] = NONMEMBER
                left[i] = EXPELLED
                dropped += 1
        part[c, 0] = ok
        part[c, 1] = dropped


@njit(**KERNEL)
def purge_pass(idx, ib, alive, status, join, motive, left, uid, belief, month, share, count,
               target, key, wsum, part):
    """A purge: expel members with probability ``share · w_i / mean(w)``, or, when ``count``
    is not negative, ``count · w_i / Σw`` (``count`` agents expected this month)."""
    nchunk = ib.shape[0] - 1
    for c in prange(nchunk):
        s = 0.0
        k = 0
        for j in range(ib[c], ib[c + 1]):
            i = idx[j]
            if alive[i] and status[i] >= CANDIDATE:
                s += m1.purge_weight(target, belief[i], motive[i], status[i],
                                     (month - join[i]) / 12.0)
                k += 1
        wsum[c] = s
        part[c, 1] = k
    tot = 0.0
    nm = 0
    for c in range(nchunk):
        tot += wsum[c]
        nm += part[c, 1]
    if nm == 0:
        return
    mean_w = tot / nm
    for c in prange(nchunk):
        e = 0
        for j in range(ib[c], ib[c + 1]):
            i = idx[j]
            if alive[i] and status[i] >= CANDIDATE:
                w = m1.purge_weight(target, belief[i], motive[i], status[i],
                                    (month - join[i]) / 12.0)
                p = share * w / mean_w if count < 0.0 else count * w / tot
                if uniform(key, uid[i]) < p:
                    status[i] = NONMEMBER
                    left[i] = EXPELLED
                    e += 1
        part[c, 0] = e


@njit(**KERNEL)
def member_deaths(idx, ib, alive, status, uid, share, key, part):
    """Excess deaths among members (war losses)."""
    for c in prange(ib.shape[0] - 1):
        k = 0
        for j in range(ib[c], ib[c + 1]):
            i = idx[j]
            if alive[i] and status[i] > 0 and uniform(key, uid[i]) < share:
                alive[i] = False
                k += 1
        part[c, 0] = k


@njit(cache=True, inline="always")
def end_one(i, status, left, belief, trust, stake, converted, uid, rem_on, rem, elite_on, el,
            exit_on, ex):
    """One member at the end of the month: M11 expulsion for corruption, then M8 conversion,
    then M9 exit (``rem``, ``el``, ``ex``: the mechanisms' ``Terms``). Returns
    (expelled, converted, exited, exited while lapsed, lapsed, returned) as 0/1; a lapsed
    member is one whose ``left`` is ``LAPSED`` (M9)."""
    st = status[i]
    if rem_on and m11.expelled_for_corruption(st, stake[i], uid[i], rem.rate, rem.key):
        status[i] = NONMEMBER
        left[i] = EXPELLED
        return 1, 0, 0, 0, 0, 0
    conv = 0
    if elite_on and m8.converts(st, converted[i], belief[i], trust[i], stake[i], uid[i],
                                el.outside, el.privilege, el.gain, el.risk, el.w_belief,
                                el.w_trust, el.hazard, el.key):
        converted[i] = True
        conv = 1
    if not exit_on:
        return 0, conv, 0, 0, 0, 0
    was = left[i] == LAPSED
    act = m9.decide(st, belief[i], trust[i], stake[i], converted[i], was, uid[i], ex)
    if act == m9.LEAVE:
        status[i] = NONMEMBER
        left[i] = EXITED
        return 0, conv, 1, 1 if was else 0, 0, 0
    if act == m9.LAPSE:
        left[i] = LAPSED
        return 0, conv, 0, 0, 1, 0
    if act == m9.RETURN:
        left[i] = NEVER
        return 0, conv, 0, 0, 0, 1
    return 0, conv, 0, 0, 0, 0


@njit(**KERNEL)
def members_end_pass(idx, ib, alive, status, left, belief, trust, stake, converted, uid,
                     rem_on, rem, elite_on, el, exit_on, ex, part):
    """M11 expulsions for corruption, M8 conversions, M9 exits, in that order per member
    (:func:`end_one`). Per chunk: [expelled, converted, exits, exits of lapsed members,
    disengaged, reengaged]."""
    for c in prange(ib.shape[0] - 1):
        n_exp = 0
        n_conv = 0
        n_exit = 0
        n_exit_lapsed = 0
        n_lapse = 0
        n_return = 0
        for j in range(ib[c], ib[c + 1]):
            i = idx[j]
            if not alive[i] or status[i] == NONMEMBER:
                continue
            e, v, x, xl, d, r = end_one(i, status, left, belief, trust, stake, converted, uid,
                                        rem_on, rem, elite_on, el, exit_on, ex)
            n_exp += e
            n_conv += v
            n_exit += x
            n_exit_lapsed += xl
            n_lapse += d
            n_return += r
        part[c, 0] = n_exp
        part[c, 1] = n_conv
        part[c, 2] = n_exit
        part[c, 3] = n_exit_lapsed
        part[c, 4] = n_lapse
        part[c, 5] = n_return


@njit(cache=True, parallel=True)
def dissolve(alive, status, left, bounds, part):
    """Every member loses membership (the ban)."""
    for c in prange(bounds.shape[0] - 1):
        k = 0
        for i in range(bounds[c], bounds[c + 1]):
            if alive[i] and status[i] > 0:
                status[i] = 0
                left[i] = 3
                k += 1
        part[c, 0] = k
