"""The member phases of the month (``members`` to ``members_end``) as compiled functions.

Each phase's kernels and the bookkeeping between them (the sums over lanes and chunks, the
admissions' lists, the member index's merge) are one compiled function per phase:
:func:`members_phase`, :func:`adults_phase`, :func:`admissions_phase` and
:func:`members_end_phase` (``applications`` is :func:`.recruits.apply_pass` alone).
:class:`~.month.Month`'s phase methods compute the month's terms in Python and call them one
phase at a time. In a quiet month of a small run (synchronous M7, no purge or war losses
going on, no added mechanism switched on, fewer than :data:`ONE_CALL_MAX_SLOTS` slots)
:func:`member_phases` calls them all in one compiled call instead: the same functions with the
same arguments in the same order, so the same results, without the Python between the phases
and without a dispatch for each of their ~10 kernels. The counts of the month's flows go into
one integer array (:data:`FLOWS`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .adults import one_pass, sum_lanes, trust_sums_pass
from .lanes import reduce_lanes, weight_totals
from .member_index import merge_index, positions
from .members import confirm_pass, members_end_pass, members_sums, promote_pass
from .recruits import admissions_pass, apply_pass

#: the flows the member phases count, in the order of their ``flows`` array (the last six are
#: ``members_end``'s, in the order its kernel counts them: :data:`END_FLOWS`)
FLOWS = ("promotions", "rotations", "confirmed", "dropped_candidates", "applicants", "joins",
         "joins_ideal", "joins_career", "joins_conformist", "expelled", "conversions", "exits",
         "exits_lapsed", "disengaged", "reengaged")
END_FLOWS = FLOWS[9:]
_END = 9  # where END_FLOWS start in FLOWS

#: below this many slots a quiet month runs its member phases in one compiled call
#: (:func:`member_phases`). Above it the Python between phases is a small share of the month,
#: and the phases are called one at a time so that each keeps its own time in
#: ``manifest.json``'s ``phase_seconds`` (in a month run in one call, ``members`` holds the
#: time of all the member phases). Results are the same either way (tested).
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
    adm_off = np.zeros(nchunk + 1, dtype=np.int64)
    for c in range(nchunk):  # chunk order is fixed: deterministic
        total += wsum[c]
        adm_off[c + 1] = adm_off[c] + napp[c]
    flows[4] += adm_off[nchunk]
    adm = np.empty(adm_off[nchunk], dtype=np.uint32)
    counts = np.zeros((nchunk, 4), dtype=np.int64)
    admissions_pass(bounds, status, join, motive, uid, belief, month, rt.quota, total,
                    rt.selectivity_k, rt.key_admit, napp, listed, adm, adm_off, counts)
    _add_columns(counts, flows, 5)
    joins = 0
    for c in range(nchunk):
        joins += counts[c, 0]
    if joins == 0:
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


#: the agent columns :func:`member_phases` takes, in order (one tuple)
COLUMNS = ("alive", "birth", "death", "status", "cell", "uid", "belief", "trust", "disposition",
           "stake", "motive", "join", "left", "converted")


@njit(cache=True)
def member_phases(bounds, lanes, idx, n_idx, spare, ib, cols, month, far, mem, adl, app, ct,
                  end, flows):
    """The member phases in one compiled call: :func:`members_phase`, :func:`adults_phase`,
    :func:`.recruits.apply_pass` (when M1 admits anyone), :func:`admissions_phase` and
    :func:`members_end_phase`, in that order, each with the arguments its phase method would
    pass (``mem``, ``adl``, ``app``, ``ct``, ``end``: the tuples of them that the month
    prepared; ``cols``: the agent columns :data:`COLUMNS`). Returns what
    :func:`admissions_phase` returns."""
    (alive, birth, death, status, cell, uid, belief, trust, disposition, stake, motive, join,
     left, converted) = cols
    taken, tm, tc, ritual_on, promote_on, pt, table, msum = mem
    members_phase(idx, ib, lanes, alive, status, cell, belief, motive, join, stake, uid, month,
                  taken, tm, tc, ritual_on, promote_on, pt, table, msum, far, flows)
    (soc_on, soc, rr_on, rr, legit_on, lb, learn_on, rate, fresh, last, mark, sums_on, tsum,
     tlast, stocks_on, commit_thr, norm, openness, falsify, cuts, nxt, dying, ndying) = adl
    adults_phase(bounds, lanes, idx, ib, alive, birth, death, status, cell, uid, belief, trust,
                 disposition, month, soc_on, soc, rr_on, msum, rr, legit_on, lb, learn_on, rate,
                 fresh, last, mark, sums_on, tsum, tlast, stocks_on, commit_thr, norm, openness,
                 falsify, cuts, nxt, dying, ndying, far)
    apply_on, rt, span, wsum, napp, listed = app
    if apply_on:
        apply_pass(bounds, span, alive, birth, status, left, uid, belief, motive, month, rt,
                   wsum, napp, listed)
    out = admissions_phase(bounds, idx, n_idx, spare, ib, alive, status, join, left, uid,
                           motive, belief, month, ct, apply_on, rt, wsum, napp, listed, flows)
    rem_on, rem, elite_on, el, exit_on, ex = end
    members_end_phase(out[0], out[2], alive, status, left, belief, trust, stake, converted, uid,
                      rem_on, rem, elite_on, el, exit_on, ex, flows)
    return out
