"""The month's phases from ``demography`` to ``members_end`` as compiled functions.

Each phase's kernels and the bookkeeping between them (the sums over lanes and chunks, the
admissions' lists, the member index's merge, the newcomers' slots) are one compiled function
per phase: :func:`demography_phase` (once the census flows are known), :func:`members_phase`,
:func:`adults_phase`, :func:`admissions_phase`, :func:`purges_phase` and
:func:`members_end_phase` (``applications`` is :func:`.recruits.apply_pass` alone).
:class:`~.month.Month`'s phase methods compute the month's terms (and the census flows) in
Python and call them one phase at a time. In a quiet month of a small run (synchronous M7, no
added mechanism switched on, the month's natural deaths drawn by ``record``, fewer than
:data:`ONE_CALL_MAX_SLOTS` slots) :func:`month_phases` calls them all in one compiled call
instead: the same functions with the same arguments in the same order, so the same results,
without the Python between the phases and without a dispatch for each of their ~15 kernels.
The counts of the member phases' flows go into one integer array (:data:`FLOWS`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ...mechanisms import demography as m2
from ...mechanisms import elite as m8
from ...mechanisms import exit as m9
from ...mechanisms import legitimacy as m6
from ...mechanisms import privilege as m5
from ...mechanisms import recruitment as m1
from ...mechanisms import remedies as m11
from ...mechanisms import ritual as m4
from ...mechanisms.demography import excess_deaths, init_newcomers, lifespans, nth_alive
from ...mechanisms.legitimacy import draw_dispositions
from ...state import append_agents, chunk_edges
from .adults import one_pass, sum_lanes, trust_sums_pass
from .lanes import lane_cut, reduce_lanes, totals, weight_totals
from .member_index import merge_index, offsets, positions
from .members import (
    confirm_pass,
    member_deaths,
    members_end_pass,
    members_sums,
    promote_pass,
    purge_pass,
)
from .recruits import admissions_pass, apply_pass
from .stocks import combine_stocks, kill_listed, member_stocks, stocks_pass

#: the flows the member phases count, in the order of their ``flows`` array (the last six are
#: ``members_end``'s, in the order its kernel counts them: :data:`END_FLOWS`)
FLOWS = ("promotions", "rotations", "confirmed", "dropped_candidates", "applicants", "joins",
         "joins_ideal", "joins_career", "joins_conformist", "expelled", "conversions", "exits",
         "exits_lapsed", "disengaged", "reengaged")
END_FLOWS = FLOWS[9:]
_END = 9  # where END_FLOWS start in FLOWS

#: below this many slots a quiet month runs its phases from ``demography`` on in one compiled
#: call (:func:`month_phases`). Above it the Python between phases is a small share of the
#: month, and the phases are called one at a time so that each keeps its own time in
#: ``manifest.json``'s ``phase_seconds`` (in a month run in one call, ``demography`` holds the
#: time of all these phases). Results are the same either way (tested).
ONE_CALL_MAX_SLOTS = 1 << 20


def add_flows(flows: dict[str, int], counts: np.ndarray) -> None:
    """Add the member phases' ``counts`` (in :data:`FLOWS` order) to the month's ``flows``
    (expulsions there are for corruption, M11)."""
    for name, n in zip(FLOWS, counts.tolist(), strict=True):
        if n:
            flows[name] += n
    flows["expelled_corruption"] += int(counts[_END])


@njit(cache=True)
def _add_columns(part, flows, at):
    """Add the column totals of per-chunk counts ``part`` to ``flows[at:]`` (integers: exact
    in any order)."""
    for c in range(part.shape[0]):
        for j in range(part.shape[1]):
            flows[at + j] += part[c, j]


@njit(cache=True)
def stocks_phase(bounds, lanes, idx, ib, alive, birth, death, status, motive, belief, trust,
                 stake, converted, left, cell, join, month, commit_thr, norm, openness,
                 falsify, edges, cuts, with_deaths, ritual_on, promote_on, career_bias,
                 seniority_bias, table, msum, far, taken, whole, dying, ndying, scale):
    """``record``'s stocks on the 1st of the month: with ``taken`` (the whole population's
    columns ``whole`` and the list of natural deaths that last month's pass took), the
    members' from the member index (:func:`.stocks.member_stocks`) and the listed deaths
    killed; else everyone's in one pass over the slots (:func:`.stocks.stocks_pass`), which
    draws the deaths. With ``with_deaths`` the pass also takes the members' sums of
    ``members`` (M4's in lane 0 of ``msum``). Returns the :data:`.stocks.AGG` columns in
    agents (times ``scale``), the deaths, those of members, and M5's weight totals."""
    nchunk = bounds.shape[0] - 1
    part = np.zeros((nchunk, len(scale)), dtype=np.int64)
    deaths = np.zeros((nchunk, 2), dtype=np.int64)
    wsum = np.zeros((nchunk, 2))
    if taken:
        member_stocks(idx, ib, lanes, alive, birth, death, status, motive, belief, trust,
                      stake, converted, left, cell, join, month, commit_thr, norm, openness,
                      falsify, edges, cuts, part, with_deaths, with_deaths, ritual_on,
                      promote_on, career_bias, seniority_bias, table, msum, wsum, far)
        tot = combine_stocks(totals(part), totals(whole))
        if with_deaths:
            kill_listed(dying, ndying, alive, status, deaths)
    else:
        stocks_pass(bounds, lanes, alive, birth, death, status, motive, belief, trust, stake,
                    converted, left, cell, join, month, commit_thr, norm, openness, falsify,
                    edges, cuts, part, with_deaths, deaths, with_deaths, ritual_on, promote_on,
                    career_bias, seniority_bias, table, msum, wsum, far)
        tot = totals(part)
    d = totals(deaths)
    tm, tc = 0.0, 0.0
    if with_deaths:
        if ritual_on:
            reduce_lanes(msum[: lanes.shape[0] - 1])
        tm, tc = weight_totals(wsum)
    return tot * scale, d[0], d[1], tm, tc


@njit(cache=True)
def members_phase(idx, ib, lanes, alive, status, cell, belief, motive, join, stake, uid, month,
                  taken, tm, tc, ritual_on, promote_on, pt, table, msum, far, flows):
    """``members``: M4 members' belief summed per workplace and M5 promotion weights (unless
    ``taken``: ``record`` took them, M4's in ``msum`` and M5's totals ``tm``, ``tc``); then M5
    promotion, rotation and rents (``pt``: M5's terms, used when ``promote_on``)."""
    nchunk = ib.shape[0] - 1
    if not taken:
        wsum = np.zeros((nchunk, 2))
        members_sums(idx, ib, lanes, alive, status, cell, belief, motive, join, month,
                     ritual_on, promote_on, pt.career_bias, pt.seniority_bias, table, msum,
                     wsum, far)
        if ritual_on:
            reduce_lanes(msum[: lanes.shape[0] - 1])
        tm, tc = weight_totals(wsum)
    if not promote_on:
        return
    part = np.zeros((nchunk, 2), dtype=np.int64)
    promote_pass(idx, ib, alive, status, stake, motive, join, uid, month, pt.need_cadre,
                 pt.need_elite, tm, tc, pt.career_bias, pt.seniority_bias, pt.rent_elite,
                 pt.rent_cadre, pt.decay, pt.p_rotate, pt.key_promote, pt.key_rotate, table,
                 part)
    _add_columns(part, flows, 0)


@njit(cache=True)
def adults_phase(bounds, lanes, idx, ib, alive, birth, death, status, cell, uid, belief, trust,
                 disposition, month, soc_on, soc, ritual_on, msum, rr, legit_on, lb, learn_on,
                 rate, fresh, last, mark, sums_on, tsum, tlast, stocks_on, commit_thr, norm,
                 openness, falsify, cuts, nxt, dying, ndying, far):
    """``adults`` with synchronous M7: the month's one pass (:func:`.adults.one_pass`).
    ``fresh``: last month's workplace sums of trust are missing (the first month, after a
    shock, with an added mechanism switched on), so they are taken first, over the living as
    they stand, into ``last`` (then ``tlast``). With ``sums_on`` the lanes' sums for next
    month are added up into ``tlast``."""
    nl = lanes.shape[0] - 1
    if fresh:
        trust_sums_pass(bounds, lanes, alive, cell, trust, tsum)
        sum_lanes(tsum, nl, last)
    one_pass(bounds, lanes, idx, ib, alive, birth, death, status, cell, uid, belief, trust,
             disposition, month, soc_on, soc, ritual_on, msum, rr, legit_on, lb, learn_on, rate,
             last, mark, sums_on, tsum, stocks_on, commit_thr, norm, openness, falsify, cuts,
             nxt, dying, ndying, far)
    if sums_on:
        sum_lanes(tsum, nl, tlast)


@njit(cache=True)
def admissions_phase(bounds, idx, n_idx, spare, ib, alive, status, join, left, uid, motive,
                     belief, month, ct, apply_on, rt, wsum, napp, listed, flows):
    """``admissions``: M1 confirmations of candidates (``ct``: their terms); with
    ``apply_on``, admissions of the applicants that ``applications`` listed, under the quota,
    and the member index merged with them. Returns the member index (``idx``, its length, its
    chunk positions) as it stands after, and whether it changed (then it is in ``spare`` if
    that holds it, else in a new array)."""
    nchunk = ib.shape[0] - 1
    part = np.zeros((nchunk, 2), dtype=np.int64)
    confirm_pass(idx, ib, alive, status, join, left, uid, month, ct.candidacy, ct.drop, ct.key,
                 part)
    _add_columns(part, flows, 2)
    if not apply_on:
        return idx, n_idx, ib, False
    total = 0.0
    for c in range(nchunk):  # chunk order is fixed: deterministic
        total += wsum[c]
    adm_off = offsets(napp)
    flows[4] += adm_off[nchunk]
    adm = np.empty(adm_off[nchunk], dtype=np.uint32)
    counts = np.zeros((nchunk, 4), dtype=np.int64)
    admissions_pass(bounds, status, join, motive, uid, belief, month, rt.quota, total,
                    rt.selectivity_k, rt.key_admit, napp, listed, adm, adm_off, counts)
    _add_columns(counts, flows, 5)
    if totals(counts)[0] == 0:  # nobody joined
        return idx, n_idx, ib, False
    out, n = merge_index(idx, ib, adm, adm_off, counts[:, 0].copy(), alive, status, spare)
    return out, n, positions(out, n, bounds), True


@njit(cache=True)
def members_end_phase(idx, ib, alive, status, left, belief, trust, stake, converted, uid,
                      rem_on, rem, elite_on, el, exit_on, ex, flows):
    """``members_end``: M11 expulsions for corruption, M8 conversions, M9 exits and
    disengagement (:func:`.members.members_end_pass`), counted into ``flows``."""
    if not (rem_on or elite_on or exit_on):
        return
    part = np.zeros((ib.shape[0] - 1, len(END_FLOWS)), dtype=np.int64)
    members_end_pass(idx, ib, alive, status, left, belief, trust, stake, converted, uid,
                     rem_on, rem, elite_on, el, exit_on, ex, part)
    _add_columns(part, flows, _END)


@njit(cache=True)
def demography_phase(bounds, n, next_uid, chunk, alive, status, uid, birth, cell, belief, trust,
                     death, disposition, month, n_cells, prob, key_excess, births, arrivals,
                     pick, soc, key_cell, key_b, key_t, key_life, survival, key_disp):
    """``demography`` once the month's census flows are known (M2): excess deaths with
    probability ``prob`` (none when negative) over the ``n`` used slots (chunk bounds
    ``bounds``, uid chunks of ``chunk``); then ``births`` and ``arrivals`` appended after them
    (the arrays have room: :meth:`AgentState.reserve`) with uids from ``next_uid``: their
    ages (arrivals copy those of the residents that ``pick``, uniforms, chose), workplace,
    belief and trust (``soc``: M2's terms), months of death and dispositions. Returns the
    excess deaths and those of members; the caller counts the new agents
    (:meth:`AgentState.added`)."""
    nchunk = bounds.shape[0] - 1
    d = 0
    dm = 0
    if prob >= 0.0:
        part = np.zeros((nchunk, 2), dtype=np.int64)
        excess_deaths(alive[:n], status[:n], uid[:n], key_excess, prob, bounds, chunk, part)
        d, dm = totals(part)
    count = births + arrivals
    if count == 0:
        return d, dm
    ages = np.zeros(count, dtype=np.int32)
    if arrivals > 0:
        # arrivals copy the ages of randomly chosen residents (same age pyramid)
        n_living = 0
        for i in range(n):
            if alive[i]:
                n_living += 1
        k = np.minimum((pick * n_living).astype(np.int64), n_living - 1)
        order = np.argsort(k, kind="mergesort")  # stable
        found = nth_alive(alive[:n], k[order])
        src = np.empty(arrivals, dtype=np.int64)
        for j in range(arrivals):
            src[order[j]] = found[j]
        for j in range(arrivals):
            ages[births + j] = month - np.int64(birth[src[j]])
    append_agents(uid, alive, n, next_uid, count)
    hi = n + count
    init_newcomers(n, hi, uid, birth, cell, belief, trust, month, ages, n_cells, soc.climate,
                   soc.trust_mean, soc.sd, key_cell, key_b, key_t)
    lifespans(n, hi, birth, ages.astype(np.int64) + 1, uid, death, key_life, survival)
    draw_dispositions(n, hi, uid, disposition, key_disp)
    return d, dm


#: the kinds of :func:`purges_phase`'s operations
PURGE, WAR = 0, 1


@njit(cache=True)
def purges_phase(idx, ib, alive, status, join, motive, left, uid, belief, month, kinds, shares,
                 counts, targets, key_purge, key_war, out):
    """``purges``: each operation in turn, a purge (:data:`PURGE`: expel ``shares[k]`` of the
    members, or ``counts[k]`` agents when not negative, weighted towards ``targets[k]``;
    :func:`.members.purge_pass`) or war losses among members (:data:`WAR`: ``shares[k]`` of
    them; :func:`.members.member_deaths`). ``out[k]``: the members it expelled or killed."""
    nchunk = ib.shape[0] - 1
    for k in range(kinds.shape[0]):
        if kinds[k] == PURGE:
            part = np.zeros((nchunk, 2), dtype=np.int64)
            purge_pass(idx, ib, alive, status, join, motive, left, uid, belief, month,
                       shares[k], counts[k], targets[k], key_purge, np.zeros(nchunk), part)
        else:
            part = np.zeros((nchunk, 1), dtype=np.int64)
            member_deaths(idx, ib, alive, status, uid, shares[k], key_war, part)
        out[k] = totals(part)[0]


#: the agent arrays :func:`month_phases` takes, in order (one tuple of the whole arrays)
COLUMNS = ("alive", "birth", "death", "status", "cell", "uid", "belief", "trust", "disposition",
           "stake", "motive", "join", "left", "converted")


@njit(cache=True)
def month_phases(bounds, lanes, idx, n_idx, spare, ib, arrays, n, next_uid, chunk, top, threads,
                 month, far, dem_on, dem, mem, adl, app, ct, pur, end, flows):
    """The month's phases from ``demography`` to ``members_end`` in one compiled call:
    :func:`demography_phase` (when ``dem_on``), then :func:`members_phase`,
    :func:`adults_phase`, :func:`.recruits.apply_pass` (when M1 admits anyone),
    :func:`admissions_phase`, :func:`purges_phase` and :func:`members_end_phase`, in that
    order, each with the arguments its phase method would pass (``dem``, ``mem``, ``adl``,
    ``app``, ``ct``, ``pur``, ``end``: the tuples of them that the month prepared, with the
    mechanisms' terms in them as plain tuples, made records again here: numba's dispatch takes
    ~2 µs to type a record argument and ~0.5 µs a plain tuple, and this call is made monthly).
    ``arrays``: the whole agent arrays :data:`COLUMNS`, of which ``n`` slots are used. When
    births or arrivals add slots the chunk bounds, the lanes (for ``threads``) and the member
    index's positions are found again, as the phase methods would find them; the members'
    sums taken by ``record`` are dropped if excess deaths struck members. Returns the excess
    deaths, those of members, the chunk bounds, lanes and index positions after
    ``demography``, and what :func:`admissions_phase` returns."""
    (alive, birth, death, status, cell, uid, belief, trust, disposition, stake, motive, join,
     left, converted) = arrays
    d = 0
    dm = 0
    if dem_on:
        births, arrivals = dem[3], dem[4]
        d, dm = demography_phase(bounds, n, next_uid, chunk, alive, status, uid, birth, cell,
                                 belief, trust, death, disposition, month, dem[0], dem[1],
                                 dem[2], births, arrivals, dem[5], m2.Terms(*dem[6]), dem[7],
                                 dem[8], dem[9], dem[10], dem[11], dem[12])
        if births + arrivals > 0:
            n += births + arrivals
            next_uid += births + arrivals
            bounds = chunk_edges(uid[:n], next_uid, chunk, top)
            lanes = lane_cut(bounds, threads)
            ib = positions(idx, n_idx, bounds)
    alive, birth, death, status, cell, uid = (alive[:n], birth[:n], death[:n], status[:n],
                                              cell[:n], uid[:n])
    belief, trust, disposition, stake, motive, join, left, converted = (
        belief[:n], trust[:n], disposition[:n], stake[:n], motive[:n], join[:n], left[:n],
        converted[:n])
    taken, tm, tc, ritual_on, promote_on, pt, table, msum = mem
    members_phase(idx, ib, lanes, alive, status, cell, belief, motive, join, stake, uid, month,
                  taken and dm == 0, tm, tc, ritual_on, promote_on, m5.Terms(*pt), table, msum,
                  far, flows)
    (soc_on, soc, rr_on, rr, legit_on, lb, learn_on, rate, fresh, last, mark, sums_on, tsum,
     tlast, stocks_on, commit_thr, norm, openness, falsify, cuts, nxt, dying, ndying) = adl
    adults_phase(bounds, lanes, idx, ib, alive, birth, death, status, cell, uid, belief, trust,
                 disposition, month, soc_on, m2.Terms(*soc), rr_on, msum, m4.Terms(*rr),
                 legit_on, m6.Terms(*lb), learn_on, rate, fresh, last, mark, sums_on, tsum,
                 tlast, stocks_on, commit_thr, norm, openness, falsify, cuts, nxt, dying,
                 ndying, far)
    apply_on, rt_plain, span, wsum, napp, listed = app
    rt = m1.Terms(*rt_plain)
    if apply_on:
        apply_pass(bounds, span, alive, birth, status, left, uid, belief, motive, month, rt,
                   wsum, napp, listed)
    out = admissions_phase(bounds, idx, n_idx, spare, ib, alive, status, join, left, uid,
                           motive, belief, month, m1.ConfirmTerms(*ct), apply_on, rt, wsum,
                           napp, listed, flows)
    purges_phase(out[0], out[2], alive, status, join, motive, left, uid, belief, month, *pur)
    rem_on, rem, elite_on, el, exit_on, ex = end
    members_end_phase(out[0], out[2], alive, status, left, belief, trust, stake, converted, uid,
                      rem_on, m11.Terms(*rem), elite_on, m8.Terms(*el), exit_on, m9.Terms(*ex),
                      flows)
    return d, dm, bounds, lanes, ib, out[0], out[1], out[2], out[3]
