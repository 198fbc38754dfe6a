"""One month of the CPSU model as a few fused passes over the agents.

The mechanisms act in the order documented in :mod:`allegiance.models.cpsu` (and the ODD); the
equations are per-agent functions in the mechanism modules. This module only decides how many
times the agents are read: a month is

========================  =====================  ==============================================
phase (timed)             loops over             mechanisms, in order
========================  =====================  ==============================================
``demography``            all slots              M2 natural and excess deaths; births, arrivals
``members``               member index           M4 member sums per workplace, M5 promotion
                                                 weights (unless ``record`` took them);
                                                 then M5 promotion, rotation, rents
``adults``                all slots (blocks:     M2 socialization at 16, M4 ritual decay and
                          non-members, then the  peer drift, M6 trust adjustment, M7 workplace
                          block's members)       sums of trust
``learning``              all slots (blocks),    M7 social learning; next month's stocks of
                          then trial successes   the whole population and its natural deaths;
                                                 M1 decisions to apply (only agents whose
                                                 monthly trial succeeds)
``admissions``            member index, then     M1 confirmation of candidates; admissions
                          the applicants listed  under the quota; member index update
                          by ``learning``
``purges``                member index           purge and wartime-loss events
``members_end``           member index           M11 expulsions for corruption, M8 conversion,
                                                 M9 exit
========================  =====================  ==============================================

plus the engine's ``record``: every stock at the start of the month, the month's natural
deaths, and the members' sums of ``members`` (which that phase takes again only when excess
deaths struck members in between). Nothing after ``learning`` changes anyone's belief, trust
or age, and only war losses change who is alive; so ``learning`` sums the whole population's
columns of next month's stocks and lists next month's natural deaths, and ``record`` counts
only the members, from the member index (:func:`member_stocks`), and kills the listed agents.
In the first month, after war losses, or when the list is full, :func:`stocks_pass` does it
all in one pass over every slot. Fusing is
exact: within a pass an agent's updates use only its own state and quantities fixed before the
pass (sums of the previous pass, the month's aggregates), in the same order as the mechanisms
run. The member index lists the slots of members in slot order (a superset after exits and
deaths, which every loop checks); reductions over it are cut at the same uid chunks as over
all slots, so every sum is the same as a scan of all slots gives.

Workplace sums (M4, M7) are integers (fixed point, :func:`~allegiance.mechanisms._common.to_fixed`),
accumulated per thread ("lane") and added: the same for any number of threads.

``adults`` and ``learning`` work in blocks of ``BLOCK`` slots, and within a block run the
agents in groups (in ``adults``, non-members, then members). The
non-member loops are branch-free so that the compiler vectorizes them (with AVX2, 4 agents per
instruction); the rest runs one agent at a time. Each agent still sees its updates in the
mechanisms' order, so the results are those of one plain loop over the agents, bit for bit
(``tests/test_kernels.py`` checks each pass against that loop). At 1:1 the workplace arrays do
not fit in cache and the passes prefetch them (``_common.PREFETCH``).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from .. import engine
from ..mechanisms import demography as m2
from ..mechanisms import elite as m8
from ..mechanisms import exit as m9
from ..mechanisms import legitimacy as m6
from ..mechanisms import openness as m7
from ..mechanisms import privilege as m5
from ..mechanisms import recruitment as m1
from ..mechanisms import remedies as m11
from ..mechanisms import ritual as m4
from ..mechanisms._common import (
    ADULT_MONTHS,
    CADRE,
    CANDIDATE,
    CAREER,
    CONFORMIST,
    COUNT_BITS,
    COUNT_MASK,
    EXITED,
    EXPELLED,
    FIXED_ONE,
    IDEAL,
    MEMBER,
    NONMEMBER,
    PREFETCH,
    PREFETCH_MIN_BYTES,
    clip01,
    int_to_f64_simd,
    packed,
    prefetch_read,
    prefetch_write,
    to_fixed,
    to_fixed_simd,
    unpack,
)
from ..rng import log_q, next_success, uniform

#: options of the month's kernels. ``error_model="numpy"``: every division in them is guarded
#: (``count > 1``, ``tm > 0``, ...), so numba's default Python error model would only add a
#: zero-divisor test to each one on the hot path; results are equal.
KERNEL = {"cache": True, "parallel": True, "error_model": "numpy"}


# ---------------------------------------------------------------------------------------------
# The member index


@njit(**KERNEL)
def _count_members(alive, status, bounds, counts):
    for c in prange(bounds.shape[0] - 1):
        k = 0
        for i in range(bounds[c], bounds[c + 1]):
            if alive[i] and status[i] > 0:
                k += 1
        counts[c] = k


@njit(**KERNEL)
def _write_members(alive, status, bounds, offsets, idx):
    for c in prange(bounds.shape[0] - 1):
        k = offsets[c]
        for i in range(bounds[c], bounds[c + 1]):
            if alive[i] and status[i] > 0:
                idx[k] = i
                k += 1


@njit(**KERNEL)
def _count_kept(idx, ib, alive, status, adm_counts, counts):
    for c in prange(ib.shape[0] - 1):
        k = adm_counts[c]
        for j in range(ib[c], ib[c + 1]):
            i = idx[j]
            if alive[i] and status[i] > 0:
                k += 1
        counts[c] = k


@njit(**KERNEL)
def _merge(idx, ib, adm, adm_off, adm_counts, alive, status, offsets, out):
    """Per chunk: the old index's living members and the admitted slots, in slot order."""
    for c in prange(ib.shape[0] - 1):
        j = np.int64(ib[c])
        j_end = np.int64(ib[c + 1])
        a = adm_off[c]
        a_end = a + adm_counts[c]
        k = offsets[c]
        while j < j_end or a < a_end:
            if a == a_end or (j < j_end and idx[j] < adm[a]):
                i = idx[j]
                j += 1
                if not (alive[i] and status[i] > 0):
                    continue
            else:
                i = adm[a]
                a += 1
            out[k] = i
            k += 1


class MemberIndex:
    """Slots of the members, in slot order (see the module docstring)."""

    def __init__(self) -> None:
        self.idx = np.empty(0, dtype=np.uint32)  # unsigned: see AgentState.chunk_bounds
        self._spare = np.empty(0, dtype=np.uint32)
        self.n = 0
        self.key: tuple | None = None

    def _room(self, buf: np.ndarray, n: int) -> np.ndarray:
        if buf.shape[0] >= n:
            return buf
        return np.empty(max(n, int(buf.shape[0] * 1.125), 1024), dtype=np.uint32)

    def build(self, st, bounds: np.ndarray) -> None:
        """Index every living member (after setup and after compaction)."""
        nchunk = bounds.shape[0] - 1
        counts = np.zeros(nchunk, dtype=np.int64)
        alive, status = st.view("alive"), st.view("status")
        _count_members(alive, status, bounds, counts)
        offsets = np.zeros(nchunk + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        self.n = int(offsets[-1])
        self.idx = self._room(self.idx, self.n)
        _write_members(alive, status, bounds, offsets, self.idx)
        self.key = (st.compactions,)

    def bounds(self, bounds: np.ndarray) -> np.ndarray:
        """Positions in the index of the chunk boundaries ``bounds`` (slots)."""
        # in the index's dtype, or numpy would first copy the index to uint64
        return np.searchsorted(self.idx[: self.n], bounds.astype(self.idx.dtype)).astype(np.uint64)

    def merge(self, st, bounds: np.ndarray, adm: np.ndarray, adm_off: np.ndarray,
              adm_counts: np.ndarray) -> None:
        """Add the month's admissions (per-chunk lists) and drop former members."""
        nchunk = bounds.shape[0] - 1
        ib = self.bounds(bounds)
        alive, status = st.view("alive"), st.view("status")
        counts = np.zeros(nchunk, dtype=np.int64)
        _count_kept(self.idx, ib, alive, status, adm_counts, counts)
        offsets = np.zeros(nchunk + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        n = int(offsets[-1])
        out = self._room(self._spare, n)
        _merge(self.idx, ib, adm, adm_off, adm_counts, alive, status, offsets, out)
        self._spare, self.idx, self.n = self.idx, out, n


# ---------------------------------------------------------------------------------------------
# Lanes: integer workplace sums per thread


def lane_chunks(bounds: np.ndarray) -> np.ndarray:
    """Chunk ranges of the lanes (one lane per thread in use): ``[l[k], l[k+1])``, cut so
    that each lane has about as many slots (old uid chunks are sparse, new ones full)."""
    nchunk = bounds.shape[0] - 1
    t = max(1, min(numba.get_num_threads(), nchunk))
    cuts = np.searchsorted(bounds.astype(np.int64), np.linspace(0, bounds[-1], t + 1)[1:-1])
    return np.concatenate([[0], np.clip(cuts, 0, nchunk), [nchunk]]).astype(np.int64)


@njit(**KERNEL)
def _reduce_lanes(sums):
    """Add every lane's packed workplace sums into lane 0 (integers: any order gives the
    same; sums and counts add independently while counts stay below 2**COUNT_BITS)."""
    for j in prange(sums.shape[1]):
        s = sums[0, j]
        for lane in range(1, sums.shape[0]):
            s += sums[lane, j]
        sums[0, j] = s


# ---------------------------------------------------------------------------------------------
# Kernels


@njit(cache=True, inline="always")
def _expressed(t, openness, norm):
    """The trust an adult shows when M7 falsification is on: ``openness · t + (1 − openness)
    · max(t, norm)`` (falsified towards the norm where openness is low)."""
    return openness * t + (1.0 - openness) * max(t, norm)


@njit(cache=True, inline="always")
def _fixed(b, t, openness, norm, falsify):
    """An adult's fixed-point belief, trust and expressed trust (:func:`_expressed` with
    ``falsify``, else its trust)."""
    ft = to_fixed(t)
    fex = ft
    if falsify:
        fex = to_fixed(_expressed(t, openness, norm))
    return to_fixed(b), ft, fex


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


@njit(cache=True, inline="always")
def _count_member(row, i, st, b, fb, ft, fex, birth, motive, stake, converted, commit_thr,
                  edges):
    """A living adult member's columns of the stocks (``st`` > 0; ``b`` its belief, ``fb``,
    ``ft``, ``fex`` its fixed-point belief, trust and expressed trust)."""
    row[24 + st] += fb
    row[29 + st] += ft
    row[1 + st] += 1  # candidates, full members, cadres, elites
    if st >= CADRE:
        row[14] += to_fixed(stake[i])
        if converted[i]:
            row[15] += 1
    if b >= commit_thr:
        row[6] += 1
    row[7] += fb
    row[8] += ft
    row[34] += fex
    mo = motive[i]
    if mo == IDEAL:
        row[16] += 1
    elif mo == CAREER:
        row[17] += 1
    elif mo == CONFORMIST:
        row[18] += 1
    k = 0
    while k < edges.shape[0] and birth[i] >= edges[k]:
        k += 1
    row[19 + k] += 1


@njit(**KERNEL)
def stocks_pass(bounds, lanes, alive, birth, death, status, motive, belief, trust, stake,
                converted, cell, join, month, commit_thr, norm, openness, falsify, edges, part,
                deaths_on, deaths, sums_on, ritual_on, promote_on, career_bias, seniority_bias,
                table, msum, wsum, far):
    """The month's stocks (``cpsu.AGG`` columns, per chunk), its natural deaths, and — with
    ``sums_on`` — the members' sums of the ``members`` phase (:func:`members_sums`).

    Sums of values in [0, 1] (belief, trust, stake) are fixed-point integers (``to_fixed``):
    exact, so their total does not depend on the order of addition. With ``deaths_on`` the
    agents whose month of ``death`` has come die, after they are counted (the stocks are those
    of the 1st of the month); ``deaths[c]`` = [deaths, deaths of members]. With ``sums_on``,
    each member who does not die adds its belief to M4's workplace sums (per lane) and its
    M5 promotion weight to ``wsum[c]`` (in slot order): what :func:`members_sums` would find
    after the deaths, without another pass over the members (``tests/test_kernels.py``).
    ``far``: the workplace sums do not fit in cache; the workplace of the slot ``PREFETCH``
    ahead is prefetched when that slot holds a member.
    """
    ahead = np.uint64(PREFETCH)
    for lane in prange(lanes.shape[0] - 1):
        ms = msum[lane]
        if sums_on and ritual_on:
            ms[:] = 0
        scatter = sums_on and ritual_on and far
        last = bounds[lanes[lane + 1]] - np.uint64(1)
        for c in range(lanes[lane], lanes[lane + 1]):
            row = part[c]
            # the non-members (most agents) are summed in registers; written to row at the end
            n_alive = 0
            n_adults = 0
            s_b = 0
            s_t = 0
            n_comm = 0
            n_non = 0
            s_t_non = 0
            s_ex_non = 0
            s_b_non = 0
            d = 0
            dm = 0
            s_m = 0.0
            s_c = 0.0
            for i in range(bounds[c], bounds[c + 1]):
                if scatter:
                    a = min(i + ahead, last)
                    if status[a] > 0:
                        prefetch_write(ms, cell[a])
                if not alive[i]:
                    continue
                n_alive += 1
                age = month - birth[i]
                st = status[i]
                dying = deaths_on and death[i] <= month
                if dying:
                    alive[i] = False
                    d += 1
                    if st > 0:
                        dm += 1
                elif sums_on and st > 0:
                    wm, wc = _member_sums(i, st, ms, cell, belief, motive, join, month,
                                          ritual_on, promote_on, career_bias, seniority_bias,
                                          table)
                    s_m += wm
                    s_c += wc
                if age < ADULT_MONTHS:
                    continue
                n_adults += 1
                b = belief[i]
                fb, ft, fex = _fixed(b, trust[i], openness, norm, falsify)
                s_b += fb
                s_t += ft
                if b >= commit_thr:
                    n_comm += 1
                if st == NONMEMBER:
                    n_non += 1
                    s_t_non += ft
                    s_ex_non += fex
                    s_b_non += fb
                    continue
                _count_member(row, i, st, b, fb, ft, fex, birth, motive, stake, converted,
                              commit_thr, edges)
            row[0] = n_alive
            row[1] = n_adults
            row[12] = s_b
            row[13] = s_t
            row[36] = n_comm
            row[9] = n_non
            row[10] = s_t_non
            row[11] = s_ex_non
            row[35] = s_b_non
            row[24] = s_b_non  # tier 0 = non-member adults
            row[29] = s_t_non
            deaths[c, 0] = d
            deaths[c, 1] = dm
            wsum[c, 0] = s_m
            wsum[c, 1] = s_c


@njit(**KERNEL)
def member_stocks(idx, ib, lanes, alive, birth, death, status, motive, belief, trust, stake,
                  converted, cell, join, month, commit_thr, norm, openness, falsify, edges, part,
                  deaths_on, sums_on, ritual_on, promote_on, career_bias, seniority_bias, table,
                  msum, wsum, far):
    """The members' columns of :func:`stocks_pass`, from the member index (the rest of the
    month's stocks came from ``learning_pass`` of the month before), and with ``sums_on`` the
    members' sums of the ``members`` phase over the members who do not die this month
    (``deaths_on``: those whose month of ``death`` has come die after the stocks)."""
    one = np.uint64(1)
    ahead = np.uint64(PREFETCH)
    for lane in prange(lanes.shape[0] - 1):
        ms = msum[lane]
        if sums_on and ritual_on:
            ms[:] = 0
        scatter = sums_on and ritual_on and far
        j_last = ib[lanes[lane + 1]] - one
        for c in range(lanes[lane], lanes[lane + 1]):
            row = part[c]
            s_m = 0.0
            s_c = 0.0
            for j in range(ib[c], ib[c + 1]):
                i = idx[j]
                if scatter:
                    prefetch_write(ms, cell[idx[min(j + ahead, j_last)]])
                st = status[i]
                if not alive[i] or st <= 0:
                    continue
                if sums_on and not (deaths_on and death[i] <= month):
                    wm, wc = _member_sums(i, st, ms, cell, belief, motive, join, month,
                                          ritual_on, promote_on, career_bias, seniority_bias,
                                          table)
                    s_m += wm
                    s_c += wc
                if month - birth[i] < ADULT_MONTHS:
                    continue
                b = belief[i]
                fb, ft, fex = _fixed(b, trust[i], openness, norm, falsify)
                _count_member(row, i, st, b, fb, ft, fex, birth, motive, stake, converted,
                              commit_thr, edges)
            wsum[c, 0] = s_m
            wsum[c, 1] = s_c


def combine_stocks(members: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """The stocks of :func:`stocks_pass` (summed over chunks) from the members' columns
    (:func:`member_stocks`) and the whole population's (:data:`NEXT`, ``learning_pass``):
    the non-members' are the whole's minus the members' (integers: exact)."""
    tot = members.copy()
    tot[0], tot[1], tot[12], tot[13], tot[36] = whole[:5]
    tot[9] = whole[1] - tot[2:6].sum()  # non-member adults
    tot[10] = tot[29] = whole[3] - tot[8]  # their sums of trust (also tier 0's), ...
    tot[35] = tot[24] = whole[2] - tot[7]  # ... of belief, ...
    tot[11] = whole[5] - tot[34]  # ... and of expressed trust
    return tot


@njit(**KERNEL)
def kill_listed(dying, ndying, alive, status, out):
    """The natural deaths listed by ``learning_pass``: per lane, [deaths, of members]."""
    for lane in prange(ndying.shape[0]):
        d = 0
        dm = 0
        for q in range(ndying[lane]):
            i = dying[lane, q]
            if alive[i]:
                alive[i] = False
                d += 1
                if status[i] > 0:
                    dm += 1
        out[lane, 0] = d
        out[lane, 1] = dm


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


#: slots the admissions scan tests at once for an applicant
GROUP = 64

#: trial successes ``apply_pass`` locates before deciding them; slots of ``uid`` prefetched
#: ahead of the search, and successes ahead of the decision whose attributes are prefetched
TRIALS = 256
TRIAL_AHEAD = 512
APPLY_AHEAD = 8

#: applicants ``apply_pass`` lists per chunk for ``admissions_pass``: twice the last month's
#: most in a chunk, within these bounds (a chunk with more is scanned instead)
APPLICANTS_MIN = 256
APPLICANTS_MAX = 1024

#: slots per block of the blocked passes: a block's per-agent buffers (8 bytes per slot) stay
#: in the L1/L2 cache between the block's loops
BLOCK = 4096


@njit(cache=True, inline="always", error_model="numpy")
def _adult_member(i, month, birth, cell, uid, belief, trust, soc_on, climate, trust_mean, sd,
                  key_b, key_t, ritual_on, msum0, rate_m, rate_c, peer, asym, legit_on, base_m,
                  base_c, w_belief, rate_t, learn_on, ts):
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
            trust[i] = m6.adjust_one(trust[i], belief[i], True, base_m, base_c, w_belief, rate_t)
    if learn_on:
        ts[cell[i]] += packed(trust[i])


@njit(**KERNEL)
def adults_pass(bounds, lanes, idx, ib, alive, birth, status, cell, uid, belief, trust, month,
                soc_on, climate, trust_mean, sd, key_b, key_t,
                ritual_on, msum, rate_m, rate_c, peer, asym,
                legit_on, base_m, base_c, w_belief, rate_t,
                learn_on, tsum, far):
    """M2 socialization at 16, M4 ritual decay and peer drift, M6 trust adjustment, and the
    fixed-point workplace sums of trust for M7 (per lane).

    Per block of ``BLOCK`` slots: (1) every non-member, branch-free so that the compiler
    vectorizes it — :func:`ritual.erode_one` and :func:`legitimacy.adjust_one` for a
    non-member written out (the same operations, so the same floats), and each one's packed
    workplace term kept in a block buffer; (2) the rare non-members turning 16 (socialized,
    their term replaced); (3) the block's members, from the member index
    (:func:`_adult_member`); (4) the non-members' terms added to the workplace sums. Every
    agent goes through the same steps in the same order as a one-agent-at-a-time loop, and
    the sums are integers, so the results are those of that loop bit for bit. ``far``: the
    workplace arrays do not fit in cache; prefetch them (:data:`_common.PREFETCH`).
    """
    msum0 = msum[0]
    keep_b = 1.0 - rate_c  # erode_one for a non-member: b * (1 - rate_citizen), clipped
    one = np.uint64(1)
    ahead = np.uint64(PREFETCH)
    for lane in prange(lanes.shape[0] - 1):
        ts = tsum[lane]
        if learn_on:
            ts[:] = 0
        pk = np.zeros(BLOCK, dtype=np.int64)
        for c in range(lanes[lane], lanes[lane + 1]):
            j = ib[c]
            j_end = ib[c + 1]
            b0 = bounds[c]
            hi = bounds[c + 1]
            while b0 < hi:
                b1 = min(b0 + np.uint64(BLOCK), hi)
                n = b1 - b0
                nsoc = 0
                for k in range(n):  # (1) non-members, vectorized
                    i = b0 + k
                    non = np.int64(alive[i]) & np.int64(status[i] <= 0)
                    age = month - np.int64(birth[i])
                    upd = non & np.int64(age >= ADULT_MONTHS)
                    nsoc += non & np.int64(age == m2.SOCIALIZATION_MONTHS)
                    b = belief[i]
                    t = trust[i]
                    nb = np.float32(clip01(np.float64(b) * keep_b)) if ritual_on else b
                    tg = clip01(base_c + w_belief * (np.float64(nb) - 0.5))
                    nt = (np.float32(clip01(np.float64(t) + rate_t * (tg - np.float64(t))))
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
                        _adult_member(i, month, birth, cell, uid, belief, trust, soc_on,
                                      climate, trust_mean, sd, key_b, key_t, ritual_on, msum0,
                                      rate_m, rate_c, peer, asym, legit_on, base_m, base_c,
                                      w_belief, rate_t, learn_on, ts)
                if learn_on:  # (4) the non-members' workplace terms
                    if far:
                        for k in range(n):
                            prefetch_write(ts, cell[b0 + min(k + ahead, n - one)])
                            ts[cell[b0 + k]] += pk[k]
                    else:
                        for k in range(n):
                            ts[cell[b0 + k]] += pk[k]
                b0 = b1


#: columns of the whole population's stocks that ``learning_pass`` takes for the next month
#: (``NEXT``): living agents, adults, and over adults fixed-point sums of belief and trust,
#: committed adults, fixed-point sum of expressed trust
NEXT = ("alive", "adults", "belief", "trust", "committed", "expressed")

#: share of a lane's slots that its list of next month's natural deaths can hold (more
#: deaths than that: the stocks pass draws them instead; ~0.1 % die in a month)
DEATH_LIST_SHARE = 1.0 / 128
#: and at least this many
DEATH_LIST_MIN = 64


@njit(cache=True, inline="always")
def _learned(p, t, rate, a, birth_i, month, mask):
    """:func:`openness.learn_one` for one agent (packed workplace sum ``p``), written out so
    that the loop vectorizes (:func:`_common.to_fixed_simd`, :func:`_common.int_to_f64_simd`);
    only living adults of a workplace with others learn."""
    cs = p >> COUNT_BITS
    cc = p & mask
    t64 = np.float64(t)
    pm = int_to_f64_simd(cs - to_fixed_simd(t64)) / FIXED_ONE / int_to_f64_simd(cc - 1)
    nt = np.float32(clip01(t64 + rate * (pm - t64)))
    upd = a & np.int64(month - np.int64(birth_i) >= ADULT_MONTHS) & np.int64(cc > 1)
    return nt if upd != 0 else t


@njit(cache=True, inline="always")
def _next_terms(a, birth_i, b, t, month1, commit_thr, norm, openness, falsify):
    """One agent's terms of the :data:`NEXT` stocks (``a``: alive, 0 or 1): adult, and over
    adults the fixed-point belief and trust, committed, fixed-point expressed trust (what
    :func:`stocks_pass` adds, branch-free)."""
    ad = a & np.int64(month1 - np.int64(birth_i) >= ADULT_MONTHS)
    b64 = np.float64(b)
    t64 = np.float64(t)
    ft = to_fixed_simd(t64)
    fex = ft
    if falsify:
        fex = to_fixed_simd(_expressed(t64, openness, norm))
    return ad, to_fixed_simd(b64) * ad, ft * ad, ad & np.int64(b64 >= commit_thr), fex * ad


@njit(**KERNEL)
def learning_pass(bounds, lanes, alive, birth, death, cell, belief, trust, month, learn, rate,
                  tsum, stocks_on, commit_thr, norm, openness, falsify, nxt, dying, ndying):
    """M7 social learning of adults; with ``stocks_on``, next month's stocks of the whole
    population and its natural deaths.

    Per block of ``BLOCK`` slots, each agent's packed workplace sum is copied into a block
    buffer (a scalar loop: the compiler will not vectorize the gather), then every adult
    learns in one branch-free loop that vectorizes (:func:`_learned`). The results are those
    of the one-agent loop bit for bit. ``learn`` false (no learning this month): only the
    stocks.

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
    for lane in prange(lanes.shape[0] - 1):
        pb = np.zeros(BLOCK, dtype=np.int64)
        n_al = 0
        n_ad = 0
        s_b = 0
        s_t = 0
        n_cm = 0
        s_ex = 0
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
                        trust[i] = _learned(pb[i - b0], trust[i], rate, np.int64(alive[i]),
                                            birth[i], month, mask)
                if stocks_on:
                    # a second loop over the block (in cache): one loop doing both does not
                    # vectorize as well (measured: slower)
                    for i in range(b0, b1):  # vectorized
                        a = np.int64(alive[i])
                        ad, xb, xt, xc, xe = _next_terms(a, birth[i], belief[i], trust[i],
                                                         month1, commit_thr, norm, openness,
                                                         falsify)
                        n_al += a
                        n_ad += ad
                        s_b += xb
                        s_t += xt
                        n_cm += xc
                        s_ex += xe
                    g0 = b0
                    while g0 < b1:  # next month's deaths: 64 slots tested at once
                        g1 = min(g0 + np.uint64(GROUP), b1)
                        hit = 0
                        for i in range(g0, g1):
                            hit |= np.int64(alive[i]) & np.int64(death[i] <= month1)
                        if hit:
                            for i in range(g0, g1):
                                if alive[i] and death[i] <= month1:
                                    if nd < cap:
                                        dying[lane, nd] = i
                                    nd += 1
                        g0 = g1
                b0 = b1
        row = nxt[lane]
        row[0] = n_al
        row[1] = n_ad
        row[2] = s_b
        row[3] = s_t
        row[4] = n_cm
        row[5] = s_ex
        ndying[lane] = nd if nd <= cap else -1


@njit(**KERNEL)
def apply_pass(bounds, span, alive, birth, status, left, uid, belief, motive, month, min_age,
               max_age, privilege, mobilization, danger, sel_k, apply_rate, w_i, w_c, w_m, w_d,
               theta, slope, key_trial, key_apply, key_amb, wsum, napp, listed):
    """M1 decisions to apply (an applicant's motive is stored negated in ``motive`` until the
    admissions pass). Per chunk: weight sum and applicants; the applicants' slots, in slot
    order, in ``listed[c]`` (as many as it holds: ``admissions_pass`` scans a chunk with more).

    Each uid has a trial at ``apply_rate`` a month; the successes are found by skipping from
    one to the next over the chunk's ``span`` uids (:func:`rng.next_success`, ~2 % of uids),
    and an eligible agent whose trial succeeds applies with probability ``logistic(·)``
    (:func:`recruitment.apply_motive`). Chunk by chunk in slot order: the weight sum adds in a
    fixed order.

    The successes are located ``TRIALS`` at a time (the search reads only ``uid``, prefetched
    ahead), then decided in slot order with the next ones' attributes prefetched, so that
    their cache misses overlap instead of each stalling the chain of draws and searches: the
    same agents decided in the same order as one at a time."""
    lq = log_q(apply_rate)
    one = np.uint64(1)
    for c in prange(bounds.shape[0] - 1):
        found = np.empty(TRIALS, dtype=np.uint64)
        s = 0.0
        k = 0
        i = bounds[c]
        hi = bounds[c + 1]
        j = 0
        pos = 0.0
        done = apply_rate <= 0.0 or hi <= i
        while not done:
            n = 0  # (1) the next successes' slots
            while n < TRIALS:
                j, pos, i, hit = next_success(uid, key_trial, c, j, pos, i, hi, span, lq)
                prefetch_read(uid, min(i + np.uint64(TRIAL_AHEAD), hi - one))
                if hit:
                    found[n] = i
                    n += 1
                if pos >= span:
                    done = True
                    break
            for q in range(n):  # (2) their decisions
                if q + APPLY_AHEAD < n:
                    a = found[q + APPLY_AHEAD]
                    prefetch_read(alive, a)
                    prefetch_read(status, a)
                    prefetch_read(left, a)
                    prefetch_read(birth, a)
                    prefetch_read(belief, a)
                t = found[q]
                if m1.eligible(alive[t], status[t], left[t], month - birth[t], min_age,
                               max_age):
                    mot = m1.apply_motive(belief[t], uid[t], privilege, mobilization, danger,
                                          w_i, w_c, w_m, w_d, theta, slope, key_apply, key_amb)
                    if mot != 0:
                        if k < listed.shape[1]:
                            listed[c, k] = t
                        k += 1
                        s += m1.admit_weight(belief[t], sel_k)
                        motive[t] = -mot
        wsum[c] = s
        napp[c] = k


@njit(cache=True, inline="always")
def _admit(i, status, join, motive, uid, belief, month, quota, total, sel_k, key_admit):
    """An applicant's admission draw (``motive[i]`` < 0): its motive if admitted, else 0."""
    mot = -motive[i]
    motive[i] = 0
    if total <= 0.0:
        return 0
    pa = quota * m1.admit_weight(belief[i], sel_k) / total
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


@njit(**KERNEL)
def purge_pass(idx, ib, alive, status, join, motive, left, uid, belief, month, share, target,
               key, wsum, part):
    """A purge: expel members with probability ``share · w_i / mean(w)``."""
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
                if uniform(key, uid[i]) < share * w / mean_w:
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


@njit(**KERNEL)
def members_end(idx, ib, alive, status, left, belief, trust, stake, converted, uid,
                rem_on, rem_rate, key_rem,
                elite_on, outside, privilege, gain, risk, e_wb, e_wt, e_hazard, key_elite,
                exit_on, x_privilege, cost, x_wb, x_wt, x_wp, x_ws, theta, slope, x_hazard,
                conv_f, key_exit, part):
    """M11 expulsions for corruption, M8 conversions, M9 exits, in that order per member.
    Per chunk: [expelled, converted, exits]."""
    for c in prange(ib.shape[0] - 1):
        n_exp = 0
        n_conv = 0
        n_exit = 0
        for j in range(ib[c], ib[c + 1]):
            i = idx[j]
            st = status[i]
            if not alive[i] or st == NONMEMBER:
                continue
            if rem_on and m11.expelled_for_corruption(st, stake[i], uid[i], rem_rate, key_rem):
                status[i] = NONMEMBER
                left[i] = EXPELLED
                n_exp += 1
                continue
            if elite_on and m8.converts(st, converted[i], belief[i], trust[i], stake[i], uid[i],
                                        outside, privilege, gain, risk, e_wb, e_wt, e_hazard,
                                        key_elite):
                converted[i] = True
                n_conv += 1
            if exit_on and m9.leaves(st, belief[i], trust[i], stake[i], converted[i], uid[i],
                                     x_privilege, cost, x_wb, x_wt, x_wp, x_ws, theta, slope,
                                     x_hazard, conv_f, key_exit):
                status[i] = NONMEMBER
                left[i] = EXITED
                n_exit += 1
        part[c, 0] = n_exp
        part[c, 1] = n_conv
        part[c, 2] = n_exit


# ---------------------------------------------------------------------------------------------
# The phases (called by CpsuModel in its documented order)


def _totals(wsum: np.ndarray) -> tuple[float, float]:
    """M5 weight totals of members and cadres, chunk by chunk (a fixed order: deterministic)."""
    tm = tc = 0.0
    for c in range(wsum.shape[0]):
        tm += wsum[c, 0]
        tc += wsum[c, 1]
    return tm, tc


class Month:
    """Buffers reused from month to month, and the phases that use them."""

    def __init__(self, model) -> None:
        self.m = model
        self.index = MemberIndex()
        self._lane_bufs: tuple[np.ndarray, ...] | None = None
        self.quota = 0.0
        self.recruit_terms: tuple | None = None
        self.wsum = np.zeros(0)
        self.napp = np.zeros(0, dtype=np.int64)
        #: (step, M5 weight totals) when the stocks pass took the members' sums of ``step``
        self._taken: tuple[int, float, float] | None = None
        #: next month's stocks of the whole population and its natural deaths, taken by
        #: ``learning_pass``: (valid for (step, compactions, slots), lanes, nxt, dying, ndying)
        self._next: tuple | None = None

    # -- helpers -------------------------------------------------------------------------
    def _lanes(self, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # the model hands out the same bounds array until the slots change: the lanes are
        # cut again only then (or when the thread count changes); a few passes a month ask
        threads = numba.get_num_threads()
        cached = getattr(self, "_lanes_cache", None)
        if cached is not None and cached[0] is bounds and cached[1] == threads:
            lanes = cached[2]
        else:
            lanes = lane_chunks(bounds)
            self._lanes_cache = (bounds, threads, lanes)
        t = lanes.shape[0] - 1
        nc = self.m.n_cells
        if self._lane_bufs is None or self._lane_bufs[0].shape[0] < t:
            self._lane_bufs = tuple(np.zeros((t, nc), dtype=np.int64) for _ in range(2))
        return (lanes, *self._lane_bufs)

    def _far(self) -> bool:
        """Whether one workplace array exceeds ``PREFETCH_MIN_BYTES`` (then the passes
        prefetch workplace sums; below it the hint only costs time)."""
        return self.m.n_cells * 8 > PREFETCH_MIN_BYTES

    def _index(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(slot bounds, index, index bounds), rebuilding the index after a compaction."""
        st = self.m.state
        bounds = self.m.bounds()
        if self.index.key != (st.compactions,):
            self.index.build(st, bounds)
        return bounds, self.index.idx, self.index.bounds(bounds)

    def weights(self, step: int, career_bias: float, seniority_bias: float) -> np.ndarray:
        """This month's M5 promotion weights by seniority (:func:`privilege.weight_table`,
        seniorities up to 20 years before the start of the run; others are computed)."""
        month = self.m.month(step)
        key = (month, career_bias, seniority_bias)
        wt = getattr(self, "_weights", None)
        if wt is None or wt[0] != key:
            n = max(1, month - self.m.start + 241)
            wt = self._weights = (key, m5.weight_table(month, career_bias, seniority_bias, n))
        return wt[1]

    def member_sums_taken(self, step: int, lanes: np.ndarray, wsum: np.ndarray) -> None:
        """The stocks pass of ``step`` took the members' sums (``cpsu_month.stocks_pass``):
        add its lanes, and let the ``members`` phase use them."""
        if self.m.params.ritual.enabled:
            _reduce_lanes(self._lane_bufs[0][: lanes.shape[0] - 1])
        self._taken = (step, *_totals(wsum))

    def members_changed(self) -> None:
        """Members died after the stocks pass (excess deaths): the ``members`` phase must
        take the members' sums again."""
        self._taken = None

    # -- phases --------------------------------------------------------------------------
    def members(self, step: int) -> None:
        """M4 member sums and M5 weights; then M5 promotions and M1 confirmations."""
        m, st = self.m, self.m.state
        month = m.month(step)
        bounds, idx, ib = self._index()
        nchunk = bounds.shape[0] - 1
        pt = m5.month_terms(m, step)
        promote_on = pt is not None
        taken, self._taken = self._taken, None
        if taken is not None and taken[0] == step:
            tm, tc = taken[1], taken[2]
        else:
            lanes, msum, _ = self._lanes(bounds)
            ritual_on = m.params.ritual.enabled
            cb, sb = (pt[2], pt[3]) if promote_on else (0.0, 0.0)
            wsum = np.zeros((nchunk, 2))
            members_sums(idx, ib, lanes, st.view("alive"), st.view("status"), st.view("cell"),
                         st.view("belief"), st.view("motive"), st.view("join"), month,
                         ritual_on, promote_on, cb, sb, self.weights(step, cb, sb), msum, wsum,
                         self._far())
            if ritual_on:
                _reduce_lanes(msum[: lanes.shape[0] - 1])
            tm, tc = _totals(wsum)
        if not promote_on:
            return
        part = np.zeros((nchunk, 2), dtype=np.int64)
        promote_pass(idx, ib, st.view("alive"), st.view("status"), st.view("stake"),
                     st.view("motive"), st.view("join"), st.view("uid"), month, pt[0], pt[1],
                     tm, tc, *pt[2:], self.weights(step, pt[2], pt[3]), part)
        tot = part.sum(axis=0)
        m.flows["promotions"] += int(tot[0])
        m.flows["rotations"] += int(tot[1])

    def confirm(self, step: int) -> None:
        """M1: candidates past their candidacy are confirmed or dropped (even when M1 is off)."""
        m, st = self.m, self.m.state
        _, idx, ib = self._index()
        part = np.zeros((ib.shape[0] - 1, 2), dtype=np.int64)
        confirm_pass(idx, ib, st.view("alive"), st.view("status"), st.view("join"),
                     st.view("left"), st.view("uid"), m.month(step), *m1.confirm_terms(m, step),
                     part)
        tot = part.sum(axis=0)
        m.flows["confirmed"] += int(tot[0])
        m.flows["dropped_candidates"] += int(tot[1])

    def adults(self, step: int) -> None:
        """M2 socialization, M4 ritual, M6 legitimacy, and M7's workplace sums of trust."""
        m, st = self.m, self.m.state
        bounds, idx, ib = self._index()
        lanes, msum, tsum = self._lanes(bounds)
        soc = m2.socialization_terms(m, step)
        soc_on = soc is not None
        if not soc_on:
            soc = (0.0, 0.0, 0.0, np.uint64(0), np.uint64(0))
        ritual_on = m.params.ritual.enabled
        rr = m4.rates(m) if ritual_on else (0.0, 0.0, 0.0, 0.0)
        legit_on = m.params.legitimacy.enabled
        lb = m6.bases(m) if legit_on else (0.0, 0.0, 0.0, 0.0)
        learn_on = m7.learning_rate(m) > 0
        adults_pass(bounds, lanes, idx, ib, st.view("alive"), st.view("birth"), st.view("status"),
                    st.view("cell"), st.view("uid"), st.view("belief"), st.view("trust"),
                    m.month(step), soc_on, *soc, ritual_on, msum, *rr, legit_on, *lb,
                    learn_on, tsum, self._far())
        if learn_on:
            t = lanes.shape[0] - 1
            _reduce_lanes(tsum[:t])

    def learning(self, step: int) -> None:
        """M7 social learning (and next month's stocks of the whole population, and its
        natural deaths); M1 decisions to apply."""
        m, st = self.m, self.m.state
        bounds = m.bounds()
        nchunk = bounds.shape[0] - 1
        rate = m7.learning_rate(m)
        lanes, _, tsum = self._lanes(bounds)
        nl = lanes.shape[0] - 1
        nxt = np.zeros((nl, len(NEXT)), dtype=np.int64)
        cap = int(st.n * DEATH_LIST_SHARE / nl) + DEATH_LIST_MIN
        old = getattr(self, "_next", None)
        dying = old[3] if old is not None and old[3].shape[0] >= nl and old[3].shape[1] >= cap \
            else np.zeros((nl, cap), dtype=np.uint32)
        ndying = np.zeros(nl, dtype=np.int64)
        self._next = None
        p7 = m.params.openness
        take = m.TAKE_STOCKS
        learning_pass(bounds, lanes, st.view("alive"), st.view("birth"), st.view("death"),
                      st.view("cell"), st.view("belief"), st.view("trust"), m.month(step),
                      rate > 0, rate, tsum, take, m.params.commitment.threshold,
                      p7.norm, m.openness_at(step + 1), p7.enabled, nxt, dying[:nl], ndying)
        if take:
            self._next = ((step + 1, st.compactions, st.n), lanes, nxt, dying, ndying)
        rt = self.recruit_terms = m1.recruit_terms(m, step)
        self.wsum = np.zeros(nchunk)
        self.napp = np.zeros(nchunk, dtype=np.int64)
        cap = getattr(self, "_listed_cap", APPLICANTS_MIN)
        old_list = getattr(self, "listed", None)
        self.listed = (old_list if old_list is not None and old_list.shape == (nchunk, cap)
                       else np.zeros((nchunk, cap), dtype=np.uint32))
        if rt is not None:
            # terms: ages, levers, selectivity, (quota: admissions), apply rate, weights, keys
            apply_pass(bounds, engine.CHUNK, st.view("alive"), st.view("birth"), st.view("status"),
                       st.view("left"), st.view("uid"), st.view("belief"), st.view("motive"),
                       m.month(step), *rt[:6], *rt[7:14], rt[17], rt[14], rt[15], self.wsum,
                       self.napp, self.listed)
            # next month's lists: room for twice this month's most applicants in a chunk
            most = int(self.napp.max()) if nchunk else 0
            self._listed_cap = int(min(APPLICANTS_MAX, max(APPLICANTS_MIN, 2 * most)))

    def admissions(self, step: int) -> None:
        """M1 confirmations; admissions under the quota, and the member index update."""
        self.confirm(step)
        m, st = self.m, self.m.state
        rt = self.recruit_terms
        if rt is None:
            return
        bounds = m.bounds()
        nchunk = bounds.shape[0] - 1
        napp = self.napp
        m.flows["applicants"] += int(napp.sum())
        total = 0.0
        for c in range(nchunk):  # chunk order is fixed: deterministic
            total += self.wsum[c]
        adm_off = np.zeros(nchunk + 1, dtype=np.int64)
        np.cumsum(napp, out=adm_off[1:])
        adm = np.empty(int(adm_off[-1]), dtype=np.uint32)
        counts = np.zeros((nchunk, 4), dtype=np.int64)
        admissions_pass(bounds, st.view("status"), st.view("join"), st.view("motive"),
                        st.view("uid"), st.view("belief"), m.month(step), rt[6], total, rt[5],
                        rt[16], napp, self.listed, adm, adm_off, counts)
        tot = counts.sum(axis=0)
        m.flows["joins"] += int(tot[0])
        m.flows["joins_ideal"] += int(tot[1])
        m.flows["joins_career"] += int(tot[2])
        m.flows["joins_conformist"] += int(tot[3])
        if tot[0]:
            self._index()  # valid for the current slots before merging
            self.index.merge(st, bounds, adm, adm_off, np.ascontiguousarray(counts[:, 0]))

    def purge(self, step: int, share: float, target: str) -> int:
        """Expel ``share`` of members this month, weighted towards ``target``."""
        m, st = self.m, self.m.state
        _, idx, ib = self._index()
        nchunk = ib.shape[0] - 1
        part = np.zeros((nchunk, 2), dtype=np.int64)
        purge_pass(idx, ib, st.view("alive"), st.view("status"), st.view("join"),
                   st.view("motive"), st.view("left"), st.view("uid"), st.view("belief"),
                   m.month(step), share, m1.PURGE_TARGETS.index(target),
                   m.rng.key("recruitment.purge", step), np.zeros(nchunk), part)
        n = int(part[:, 0].sum())
        m.flows["expelled"] += n
        return n

    def war_deaths(self, step: int, share: float) -> int:
        """Excess deaths among members this month (war losses)."""
        m, st = self.m, self.m.state
        _, idx, ib = self._index()
        part = np.zeros((ib.shape[0] - 1, 1), dtype=np.int64)
        member_deaths(idx, ib, st.view("alive"), st.view("status"), st.view("uid"), share,
                      m.rng.key("purges.war", step), part)
        n = int(part.sum())
        if n:
            self._next = None  # the stocks learning_pass took count the dead as alive
        return n

    def next_stocks(self, step: int) -> tuple | None:
        """(lanes, nxt, dying, ndying) of ``learning_pass`` if they are this month's stocks
        (taken last month, and nothing has moved the agents since)."""
        nx = getattr(self, "_next", None)
        st = self.m.state
        if nx is None or nx[0] != (step, st.compactions, st.n):
            return None
        return nx[1:]

    def members_end(self, step: int) -> None:
        """M11 expulsions for corruption, M8 conversions, M9 exits."""
        m, st = self.m, self.m.state
        rem = m11.month_terms(m, step)
        el = m8.month_terms(m, step)
        ex = m9.month_terms(m, step)
        if rem is None and el is None and ex is None:
            return
        _, idx, ib = self._index()
        part = np.zeros((ib.shape[0] - 1, 3), dtype=np.int64)
        k0 = np.uint64(0)
        members_end(idx, ib, st.view("alive"), st.view("status"), st.view("left"),
                    st.view("belief"), st.view("trust"), st.view("stake"), st.view("converted"),
                    st.view("uid"), rem is not None, *(rem or (0.0, k0)),
                    el is not None, *(el or (*(0.0,) * 7, k0)),
                    ex is not None, *(ex or (*(0.0,) * 10, k0)), part)
        tot = part.sum(axis=0)
        m.flows["expelled"] += int(tot[0])
        m.flows["expelled_corruption"] += int(tot[0])
        m.flows["conversions"] += int(tot[1])
        m.flows["exits"] += int(tot[2])
