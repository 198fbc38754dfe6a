"""The blocked, vectorized month passes against one-agent-at-a-time reference loops.

The passes in ``allegiance.models.cpsu`` handle non-members in branch-free block loops
and members from the member index; the references below are the plain loops they replaced
(the mechanisms' per-agent functions applied to each living agent in slot order). They must
agree bit for bit, on states built to hit every branch: dead slots, members of every status,
former members still in the member index, agents turning 16 and 18 this month, values at 0
and 1, workplaces of one agent.
"""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from allegiance.mechanisms import demography as m2
from allegiance.mechanisms import legitimacy as m6
from allegiance.mechanisms import recruitment as m1
from allegiance.mechanisms import ritual as m4
from allegiance.mechanisms._common import (
    ADULT_MONTHS,
    packed,
    to_fixed,
    to_fixed_simd,
)
from allegiance.models.cpsu import adults as kadults
from allegiance.models.cpsu import members as kmembers
from allegiance.models.cpsu import options as koptions
from allegiance.models.cpsu import recruits as krecruits
from allegiance.models.cpsu import reference
from allegiance.models.cpsu import stocks as kstocks
from allegiance.rng import log_q, next_success, uniform
from conftest import chunked_uids

MONTH = 12 * 1960
#: M6's terms: news as members and citizens see it, base, w_belief, w_disposition, κ, rate
LB = m6.Terms(0.6, 0.4, 0.4, 0.15, 0.03, 1.0, 0.03)


def test_to_fixed_simd_equals_to_fixed():
    rng = np.random.default_rng(0)
    xs = np.concatenate([
        rng.random(200_000), rng.random(20_000).astype(np.float32).astype(np.float64),
        [0.0, 1.0, 0.5, 2.0**-33, 2.0**-32, 1.5 * 2.0**-32, 2.5 * 2.0**-32, 1 - 2.0**-53],
        (np.arange(1, 5000) + 0.5) * 2.0**-32,  # exact half units: ties
        np.nextafter(np.arange(1, 5000) * 2.0**-32, 0),
    ])

    @njit
    def both(xs, a, b):
        for i in range(xs.shape[0]):
            a[i] = to_fixed(xs[i])
            b[i] = to_fixed_simd(xs[i])

    a = np.empty(xs.size, np.int64)
    b = np.empty(xs.size, np.int64)
    both(xs, a, b)
    assert np.array_equal(a, b)


def _state(n: int, n_cells: int, seed: int, chunk: int = 2048):
    rng = np.random.default_rng(seed)
    alive = rng.random(n) < 0.9
    ages = rng.integers(0, 90 * 12, n)
    ages[rng.random(n) < 0.02] = m2.SOCIALIZATION_MONTHS
    ages[rng.random(n) < 0.02] = ADULT_MONTHS
    birth = (MONTH - ages).astype(np.int16)
    status = np.where((ages >= ADULT_MONTHS) & (rng.random(n) < 0.15),
                      rng.integers(1, 5, n), 0).astype(np.int8)
    cell = rng.integers(0, n_cells, n).astype(np.int32)
    cell[:3] = n_cells  # a workplace of three, ...
    cell[3] = n_cells + 1  # ... and one of a single agent
    belief = rng.random(n).astype(np.float32)
    trust = rng.random(n).astype(np.float32)
    belief[rng.random(n) < 0.01] = 0.0
    trust[rng.random(n) < 0.01] = 1.0
    uid = np.arange(n, dtype=np.int32) * 3
    disposition = np.clip(np.round(rng.normal(0, 32, n)), -127, 127).astype(np.int8)
    # the member index: living members plus some former members (a superset), in slot order
    former = (status == 0) & (rng.random(n) < 0.02)
    idx = np.flatnonzero((alive & (status > 0)) | former).astype(np.uint32)
    bounds = np.minimum(np.arange(0, n + chunk, chunk), n).astype(np.uint64)
    ib = np.searchsorted(idx, bounds.astype(np.uint32)).astype(np.uint64)
    lanes = np.array([0, (bounds.size - 1) // 3, bounds.size - 1], dtype=np.int64)
    return {"alive": alive, "birth": birth, "status": status, "cell": cell, "belief": belief,
            "trust": trust, "uid": uid, "disposition": disposition, "idx": idx, "bounds": bounds,
            "ib": ib, "lanes": lanes, "n_cells": n_cells + 2}


# chunks of 2,048 slots are each part of one block; chunks of 9,999 span three blocks (4,096)
@pytest.mark.parametrize("chunk", [2048, 9999])
@pytest.mark.parametrize("far", [False, True])
@pytest.mark.parametrize("flags", [(True, True, True, True), (False, True, False, True),
                                   (True, False, True, False)])
def test_adults_pass_equals_the_one_agent_loop(far, flags, chunk):
    assert koptions.BLOCK == 4096
    soc_on, ritual_on, legit_on, learn_on = flags
    s = _state(30_000, 40, seed=1, chunk=chunk)
    msum = np.zeros((2, s["n_cells"]), dtype=np.int64)
    members = s["alive"] & (s["status"] > 0)
    np.add.at(msum[0], s["cell"][members],
              [packed(float(b)) for b in s["belief"][members]])
    terms = (MONTH, soc_on, 0.45, 0.5, 0.2, np.uint64(11), np.uint64(12), ritual_on)
    rates = (0.004, 0.002, 0.01, 1.5, legit_on, 0.6, 0.4, 0.4, 0.03, learn_on)
    ref_b, ref_t = s["belief"].copy(), s["trust"].copy()
    ref_ts = np.zeros(s["n_cells"], dtype=np.int64)
    # the reference engine's loop (one agent at a time, in slot order)
    lb = LB
    reference.adults_loop(s["alive"], s["birth"], s["status"], s["cell"], s["uid"], ref_b, ref_t,
                          s["disposition"], MONTH, soc_on, m2.Terms(*terms[2:7]), ritual_on,
                          msum[0], m4.Terms(*rates[:4]), legit_on, lb, learn_on, ref_ts)
    b, t = s["belief"].copy(), s["trust"].copy()
    tsum = np.full((2, s["n_cells"]), 99, dtype=np.int64)  # the pass zeroes its lanes
    kadults.adults_pass(s["bounds"], s["lanes"], s["idx"], s["ib"], s["alive"], s["birth"],
                        s["status"], s["cell"], s["uid"], b, t, s["disposition"], MONTH, soc_on,
                        m2.Terms(*terms[2:7]), ritual_on, msum, m4.Terms(*rates[:4]), legit_on,
                        lb, learn_on, tsum, far)
    assert np.array_equal(b, ref_b)
    assert np.array_equal(t, ref_t)
    if learn_on:
        assert np.array_equal(tsum.sum(axis=0), ref_ts)
    changed = (b != s["belief"]) | (t != s["trust"])
    assert changed.sum() > 1000  # the state really moved


def _weights() -> np.ndarray:
    """M5 weights of MONTH for seniorities below 200 months (the tests' joins go back 400:
    some are computed)."""
    from allegiance.mechanisms import privilege as m5

    return m5.weight_table(MONTH, 1.0, 0.5, 200)


def _whole(tot: np.ndarray) -> np.ndarray:
    """The whole population's columns (``kstocks.NEXT``) in a sum of stocks_pass rows."""
    k = kstocks
    return np.array([tot[k.C_ALIVE], tot[k.C_ADULTS], tot[k.C_BELIEF_ADULTS],
                     tot[k.C_TRUST_ADULTS], tot[k.C_COMMITTED_ADULTS],
                     tot[k.C_EXPRESSED_NONMEMBERS] + tot[k.C_EXPRESSED_MEMBERS],
                     tot[k.C_SUMSQ_BELIEF], tot[k.C_SUMSQ_TRUST],
                     *tot[k.C_SURVEY_ADULTS: k.C_SURVEY_ADULTS + 4]])


@pytest.mark.parametrize("chunk", [2048, 9999])
@pytest.mark.parametrize("stocks", [False, True])
@pytest.mark.parametrize("learn", [False, True])
def test_learning_pass_equals_the_one_agent_loop(stocks, chunk, learn):
    """M7 against the one-agent loop; the next month's stocks it takes against the stocks
    kernel's, and its list of next month's deaths against the agents due to die (learning,
    stocks, or both)."""
    from allegiance.models.cpsu import AGG, COHORT_EDGES

    s = _state(30_000, 40, seed=2, chunk=chunk)
    living = s["alive"]
    n = living.size
    rng = np.random.default_rng(3)
    death = np.where(rng.random(n) < 0.03, MONTH + 1 + rng.integers(0, 2, n),
                     32767).astype(np.int16)
    tsum = np.zeros((2, s["n_cells"]), dtype=np.int64)
    np.add.at(tsum[0], s["cell"][living], [packed(float(t)) for t in s["trust"][living]])
    ref_t = s["trust"].copy()
    if learn:
        reference.learning_loop(s["alive"], s["birth"], s["cell"], ref_t, MONTH, 0.03, tsum[0])
    t = s["trust"].copy()
    nl = s["lanes"].size - 1
    nxt = np.zeros((nl, len(kstocks.NEXT)), np.int64)
    dying = np.zeros((nl, 2000), np.uint32)
    ndying = np.zeros(nl, np.int64)
    kadults.learning_pass(s["bounds"], s["lanes"], s["alive"], s["birth"], death, s["cell"],
                     s["belief"], t, MONTH, learn, 0.03, tsum, stocks, 0.6, 0.5, 0.3, True,
                     CUTS, nxt, dying, ndying)
    assert np.array_equal(t, ref_t)
    assert ((t != s["trust"]).sum() > 1000) == learn
    if not stocks:
        assert not nxt.any() and not ndying.any()
        return
    ref_part = np.zeros((s["bounds"].size - 1, len(AGG)), np.int64)
    ref_deaths = np.zeros((s["bounds"].size - 1, 2), np.int64)
    motive = np.zeros(n, np.int8)
    zeros = np.zeros(n, np.float32)
    _stocks_reference(s["alive"].copy(), s["birth"], s["status"], motive, s["belief"], t, zeros,
                      zeros > 0, np.zeros(n, np.int8), MONTH + 1, 0.6, 0.5, 0.3, True,
                      COHORT_EDGES, CUTS, s["bounds"], ref_part, False, death, ref_deaths)
    assert np.array_equal(nxt.sum(axis=0), _whole(ref_part.sum(axis=0)))
    listed = np.concatenate([dying[k, : ndying[k]] for k in range(nl)])
    due = np.flatnonzero(living & (death <= MONTH + 1))
    assert np.array_equal(listed, due) and due.size > 300
    # a list too short for the lane's deaths says so (the stocks pass then draws them)
    kadults.learning_pass(s["bounds"], s["lanes"], s["alive"], s["birth"], death, s["cell"],
                     s["belief"], t.copy(), MONTH, learn, 0.03, tsum, True, 0.6, 0.5, 0.3,
                     True, CUTS, nxt, dying[:, :10], ndying)
    assert (ndying == -1).all()


@pytest.mark.parametrize("chunk", [2048, 9999])
@pytest.mark.parametrize("far", [False, True])
@pytest.mark.parametrize("flags", [(True, True, True, True, True),
                                   (False, True, False, True, False),
                                   (True, False, True, False, True),
                                   (True, True, True, True, False)])
def test_one_pass_equals_the_one_agent_loop(far, flags, chunk):
    """The synchronous month's pass (M2, M4, M6, M7 from last month's sums, next month's sums,
    stocks and deaths) against the reference engine's loop and the stocks kernel's loop;
    newcomers (uids from the mark on) are not in last month's sums."""
    from allegiance.models.cpsu import AGG, COHORT_EDGES

    soc_on, ritual_on, legit_on, learn_on, stocks_on = flags
    s = _state(30_000, 40, seed=4, chunk=chunk)
    n, nc = s["cell"].size, s["n_cells"]
    rng = np.random.default_rng(5)
    death = np.where(rng.random(n) < 0.03, MONTH + 1 + rng.integers(0, 2, n),
                     32767).astype(np.int16)
    msum = np.zeros((2, nc), dtype=np.int64)
    members = s["alive"] & (s["status"] > 0)
    np.add.at(msum[0], s["cell"][members], [packed(float(b)) for b in s["belief"][members]])
    # last month's sums: the agents below the mark (the rest came since), with their trust
    mark = int(s["uid"][int(0.9 * n)])
    was = s["alive"] & (s["uid"] < mark)
    last = np.zeros(nc, dtype=np.int64)
    np.add.at(last, s["cell"][was], [packed(float(t)) for t in s["trust"][was]])
    soc = m2.Terms(0.45, 0.5, 0.2, np.uint64(11), np.uint64(12))
    rr = m4.Terms(0.004, 0.002, 0.01, 1.5)
    lb = LB
    ref_b, ref_t = s["belief"].copy(), s["trust"].copy()
    ref_next = np.zeros(nc, dtype=np.int64)
    reference.adults_sync_loop(s["alive"], s["birth"], s["status"], s["cell"], s["uid"], ref_b,
                               ref_t, s["disposition"], MONTH, soc_on, soc, ritual_on, msum[0],
                               rr, legit_on, lb, learn_on, 0.03, last, mark, True, ref_next)
    b, t = s["belief"].copy(), s["trust"].copy()
    nl = s["lanes"].size - 1
    pairs = np.full((2, nc), 99, dtype=np.int64)  # the pass zeroes its lanes
    nxt = np.zeros((nl, len(kstocks.NEXT)), np.int64)
    dying = np.zeros((nl, 2000), np.uint32)
    ndying = np.zeros(nl, np.int64)
    kadults.one_pass(s["bounds"], s["lanes"], s["idx"], s["ib"], s["alive"], s["birth"], death,
                     s["status"], s["cell"], s["uid"], b, t, s["disposition"], MONTH, soc_on,
                     soc, ritual_on, msum, rr, legit_on, lb, learn_on, 0.03, last, mark, True,
                     pairs, stocks_on, 0.6, 0.5, 0.3, True, CUTS, nxt, dying, ndying, far)
    assert np.array_equal(b, ref_b)
    assert np.array_equal(t, ref_t)
    total = np.zeros(nc, dtype=np.int64)
    kadults.sum_lanes(pairs, nl, total)
    assert np.array_equal(total, ref_next)
    if learn_on:  # the newcomers learnt too (from the whole of last month's sums)
        new = s["alive"] & ~was & (MONTH - s["birth"].astype(np.int64) >= ADULT_MONTHS)
        assert (t[new] != s["trust"][new]).sum() > 100
    if not stocks_on:
        assert not nxt.any() and not ndying.any()
        return
    ref_part = np.zeros((s["bounds"].size - 1, len(AGG)), np.int64)
    ref_deaths = np.zeros((s["bounds"].size - 1, 2), np.int64)
    zeros = np.zeros(n, np.float32)
    _stocks_reference(s["alive"].copy(), s["birth"], s["status"], np.zeros(n, np.int8), b, t,
                      zeros, zeros > 0, np.zeros(n, np.int8), MONTH + 1, 0.6, 0.5, 0.3, True,
                      COHORT_EDGES, CUTS, s["bounds"], ref_part, False, death, ref_deaths)
    assert np.array_equal(nxt.sum(axis=0), _whole(ref_part.sum(axis=0)))
    listed = np.concatenate([dying[k, : ndying[k]] for k in range(nl)])
    assert np.array_equal(listed, np.flatnonzero(s["alive"] & (death <= MONTH + 1)))


def test_trust_sums_pass_sums_the_living():
    s = _state(30_000, 40, seed=6, chunk=9999)
    nc = s["n_cells"]
    pairs = np.full((2, nc), 7, dtype=np.int64)
    kadults.trust_sums_pass(s["bounds"], s["lanes"], s["alive"], s["cell"], s["trust"], pairs)
    total = np.zeros(nc, dtype=np.int64)
    kadults.sum_lanes(pairs, s["lanes"].size - 1, total)
    ref = np.zeros(nc, dtype=np.int64)
    reference.trust_sums_loop(s["alive"], s["cell"], s["trust"], ref)
    assert np.array_equal(total, ref)


# M1 decisions to apply: each uid has a trial at apply_rate a month (found by skipping from
# success to success); an eligible agent whose trial succeeds applies with logistic(.)
#: the survey question's cut points on trust (firm support, against)
CUTS = np.array([0.6, 0.4])

APPLY = (ADULT_MONTHS, 60 * 12, 0.6, 0.2, 0.1, 2.0)  # ages, privilege, mobilization, danger, k


def _apply(s, left, rate, theta, span, motive):
    nchunk = s["bounds"].size - 1
    w, n = np.zeros(nchunk), np.zeros(nchunk, dtype=np.int64)
    listed = np.zeros((nchunk, 64), np.uint32)
    rt = m1.Terms(*APPLY, 0.0, rate, 1.0, 1.2, 0.6, 1.2, theta, 0.12, np.uint64(22),
                  np.uint64(23), np.uint64(0), np.uint64(21))
    krecruits.apply_pass(s["bounds"], span, s["alive"], s["birth"], s["status"], left, s["uid"],
                         s["belief"], motive, MONTH, rt, w, n, listed)
    # the applicants' slots are listed in slot order, as many as there is room for
    for c in range(nchunk):
        lo, hi = s["bounds"][c], s["bounds"][c + 1]
        slots = lo + np.flatnonzero(motive[lo:hi] < 0)
        k = min(n[c], 64)
        assert np.array_equal(listed[c, :k], slots[:k])
    return w, n


def _uid_state(n, span, seed):
    """A state whose uid chunks are ``span`` uids (as the model's): uids with gaps."""
    s = _state(n, 40, seed=seed)
    s["uid"] = np.sort(np.random.default_rng(seed).choice(3 * n, n, replace=False)).astype(np.int32)
    edges = np.arange(0, 3 * n + span, span)
    s["bounds"] = np.searchsorted(s["uid"], edges).astype(np.uint64)
    return s


def test_apply_pass_equals_a_trial_per_uid():
    """Against a reference that walks every uid: the successes of each chunk's trials (the
    cumulated skips), then the same decision for each eligible agent whose uid succeeded."""
    from allegiance.rng import skip

    span = 1000
    s = _uid_state(20_000, span, seed=4)
    left = np.where(np.random.default_rng(5).random(20_000) < 0.05, 1, 0).astype(np.int8)
    rate, theta = 0.05, 0.6
    motive = np.zeros(20_000, dtype=np.int8)
    w, n = _apply(s, left, rate, theta, span, motive)
    log_q = np.log1p(-rate)
    slot_of = {int(u): i for i, u in enumerate(s["uid"])}
    ref_m = np.zeros(20_000, dtype=np.int8)
    ref_w, ref_n = np.zeros_like(w), np.zeros_like(n)
    for c in range(s["bounds"].size - 1):
        pos, j = 0.0, 0
        while True:
            pos += skip(np.uint64(21), c, j, log_q)
            j += 1
            if pos >= span:
                break
            i = slot_of.get(c * span + int(pos))
            pos += 1.0
            if i is None or not m1.eligible(s["alive"][i], s["status"][i], left[i],
                                            MONTH - int(s["birth"][i]), *APPLY[:2]):
                continue
            mot = m1.apply_motive(s["belief"][i], s["uid"][i], *APPLY[2:5], 1.0, 1.2, 0.6, 1.2,
                                  theta, 0.12, np.uint64(22), np.uint64(23))
            if mot:
                ref_n[c] += 1
                ref_w[c] += m1.admit_weight(s["belief"][i], APPLY[5])
                ref_m[i] = -mot
    assert np.array_equal(motive, ref_m)
    assert np.array_equal(n, ref_n)
    assert np.array_equal(w, ref_w)
    assert n.sum() > 100


def test_apply_pass_rate_and_removed_agents():
    """Every eligible agent applies with apply_rate when the logistic is 1; removing agents
    (deaths, compaction) changes nobody else's decision."""
    span = 4096
    s = _uid_state(200_000, span, seed=6)
    left = np.zeros(200_000, dtype=np.int8)
    motive = np.zeros(200_000, dtype=np.int8)
    _, n = _apply(s, left, 0.03, -50.0, span, motive)
    ages = MONTH - s["birth"].astype(np.int64)
    elig = s["alive"] & (s["status"] == 0) & (ages >= APPLY[0]) & (ages <= APPLY[1])
    k, m = n.sum(), elig.sum()
    assert abs(k - 0.03 * m) < 4 * np.sqrt(0.03 * 0.97 * m)
    assert np.all(motive[~elig] == 0) and (motive < 0).sum() == k
    keep = np.flatnonzero(np.random.default_rng(7).random(200_000) < 0.5)
    s2 = {key: (v[keep] if isinstance(v, np.ndarray) and v.shape == (200_000,) else v)
          for key, v in s.items()}
    s2["bounds"] = np.searchsorted(s2["uid"], np.arange(0, 600_000 + span, span)).astype(np.uint64)
    motive2 = np.zeros(keep.size, dtype=np.int8)
    _apply(s2, left[keep], 0.03, -50.0, span, motive2)
    assert np.array_equal(motive2, motive[keep])


@njit
def _apply_one_at_a_time(bounds, span, alive, birth, status, left, uid, belief, motive, month,
                         rt, wsum, napp, listed):
    """apply_pass with the trials' successes found one at a time (rng.next_success), each
    decided at once (recruits.decide_one), as before rng.successes."""
    lq = log_q(rt.apply_rate)
    for c in range(bounds.shape[0] - 1):
        s, k, i, hi, j, pos = 0.0, 0, bounds[c], bounds[c + 1], 0, 0.0
        done = rt.apply_rate <= 0.0 or hi <= i
        while not done:
            j, pos, i, hit = next_success(uid, rt.key_trial, c, j, pos, i, hi, span, lq)
            if hit:
                k, w = krecruits.decide_one(i, alive, birth, status, left, uid, belief, motive,
                                            month, rt, listed, c, k)
                s += w
            done = pos >= span or i >= hi
        wsum[c] = s
        napp[c] = k


@pytest.mark.parametrize("rate", [0.0, 1e-6, 0.02, 0.5, 1.0])
def test_apply_pass_equals_the_one_success_at_a_time_walk(rate):
    """apply_pass finds the trials' successes in batches (rng.successes): the same decisions,
    weight sums and lists as one success at a time, on chunks full, sparse, empty, starting
    mid-chunk and ending far below their end (conftest.chunked_uids)."""
    span, nchunk = 3000, 12
    uid, bounds = chunked_uids(8, span, nchunk)
    n = uid.size
    s = _state(n, 40, seed=9)
    left = np.where(np.random.default_rng(10).random(n) < 0.05, 1, 0).astype(np.int8)
    motive0 = np.where(s["status"] > 0, 2, 0).astype(np.int8)  # members keep theirs
    rt = m1.Terms(*APPLY, 0.0, rate, 1.0, 1.2, 0.6, 1.2, 0.5, 0.12, np.uint64(22),
                  np.uint64(23), np.uint64(0), np.uint64(21))
    out = []
    for f in (krecruits.apply_pass, _apply_one_at_a_time):
        motive = motive0.copy()
        w, k = np.full(nchunk, 7.0), np.full(nchunk, 7, np.int64)
        listed = np.zeros((nchunk, 16), np.uint32)
        f(bounds, span, s["alive"], s["birth"], s["status"], left, uid, s["belief"], motive,
          MONTH, rt, w, k, listed)
        out.append((motive, w, k, listed))
    for a, b in zip(*out, strict=True):
        assert np.array_equal(a, b)
    assert rate < 0.01 or out[0][2].sum() > 0.05 * rate * n


@njit
def _admissions_reference(bounds, status, join, motive, uid, belief, month, quota, total, sel_k,
                          key, adm, adm_off, counts):
    for c in range(bounds.shape[0] - 1):
        n = 0
        for i in range(bounds[c], bounds[c + 1]):
            mo = motive[i]
            if mo >= 0:
                continue
            motive[i] = 0
            if quota * m1.admit_weight(belief[i], sel_k) / total > uniform(key, uid[i]):
                status[i] = 1
                join[i] = month
                motive[i] = -mo
                adm[adm_off[c] + n] = i
                n += 1
                counts[c, -mo] += 1
        counts[c, 0] = n


@pytest.mark.parametrize("density", [0.0005, 0.01, 0.3])
def test_admissions_scan_equals_the_one_slot_loop(density):
    """The scan skips groups of slots without an applicant: the same admissions."""
    s = _state(50_000, 40, seed=8, chunk=3000)
    rng = np.random.default_rng(9)
    motive = np.where(rng.random(50_000) < density, -rng.integers(1, 4, 50_000), 0)
    motive = motive.astype(np.int8)
    napp = np.add.reduceat(motive < 0, s["bounds"][:-1].astype(np.int64))
    adm_off = np.concatenate([[0], np.cumsum(napp)]).astype(np.int64)
    nchunk = s["bounds"].size - 1
    # the applicants as apply_pass lists them: all, some chunks' (room for 40), none
    most = int(napp.max())
    listed = np.zeros((nchunk, most), np.uint32)
    for c in range(nchunk):
        lo, hi = s["bounds"][c], s["bounds"][c + 1]
        listed[c, : napp[c]] = lo + np.flatnonzero(motive[lo:hi] < 0)
    cut = int(np.median(napp))
    variants = [(krecruits.admissions_pass, listed), (krecruits.admissions_pass, listed[:, :cut]),
                (krecruits.admissions_pass, listed[:, :0]), (_admissions_reference, None)]
    out = []
    for f, lst in variants:
        st, jo, mo = s["status"].copy(), np.zeros(50_000, np.int16), motive.copy()
        adm = np.full(adm_off[-1], 7, np.uint32)
        counts = np.zeros((nchunk, 4), np.int64)
        args = (s["bounds"], st, jo, mo, s["uid"], s["belief"], MONTH, 0.4 * napp.sum(),
                float(napp.sum()), 2.0, np.uint64(5))
        if lst is None:
            f(*args, adm, adm_off, counts)
        else:
            f(*args, napp, np.ascontiguousarray(lst), adm, adm_off, counts)
        out.append((st, jo, mo, adm, counts))
    for other in out[1:]:
        for a, b in zip(out[0], other, strict=True):
            assert np.array_equal(a, b)
    assert 0 < out[0][4][:, 0].sum() < (motive < 0).sum()
    assert (napp > cut).any() and (napp <= cut).any()


def _stocks_reference(alive, birth, status, motive, belief, trust, stake, converted, left,
                      month, commit_thr, norm, openness, falsify, edges, cuts, bounds, part,
                      deaths_on, death, deaths):
    """The stocks of each chunk by the reference engine's loop (one agent at a time); then,
    with ``deaths_on``, the agents whose month of death has come die (counted first)."""
    for c in range(bounds.size - 1):
        lo, hi = int(bounds[c]), int(bounds[c + 1])
        sl = slice(lo, hi)
        reference.stocks_loop(alive[sl], birth[sl], status[sl], motive[sl], belief[sl],
                              trust[sl], stake[sl], converted[sl], left[sl], month,
                              commit_thr, norm,
                              openness, falsify, edges, cuts, part[c])
        if deaths_on:
            dying = alive[sl] & (death[sl] <= month)
            deaths[c, 0] = dying.sum()
            deaths[c, 1] = (dying & (status[sl] > 0)).sum()
            alive[lo:hi][dying] = False



@pytest.mark.parametrize("chunk", [2048, 9999])
@pytest.mark.parametrize("deaths_on", [False, True])
def test_stocks_pass_equals_the_one_agent_loop(deaths_on, chunk):
    """The stocks pass against the stocks kernel of 0.3.0 (before it took the members' sums);
    its members' sums against ``members_sums`` run after the deaths. The prefetching variants
    (``far``) are run on one side each: a hint changes no result."""
    from allegiance.models.cpsu import AGG, COHORT_EDGES

    s = _state(40_000, 40, seed=10, chunk=chunk)
    rng = np.random.default_rng(11)
    n = s["cell"].size
    death = np.where(rng.random(n) < 0.05, MONTH - rng.integers(0, 2, n), 32767).astype(np.int16)
    motive = np.where(s["status"] > 0, rng.integers(0, 4, n), 0).astype(np.int8)
    stake = rng.random(n).astype(np.float32)
    converted = rng.random(n) < 0.3
    left = rng.integers(0, 5, n).astype(np.int8)  # M9: 4 (lapsed) counts among members only
    join = (MONTH - rng.integers(0, 400, n)).astype(np.int16)
    nchunk = s["bounds"].size - 1
    common = (MONTH, 0.6, 0.5, 0.3, True, COHORT_EDGES, CUTS)
    ref_alive = s["alive"].copy()
    ref_part = np.zeros((nchunk, len(AGG)), np.int64)
    ref_deaths = np.zeros((nchunk, 2), np.int64)
    _stocks_reference(ref_alive, s["birth"], s["status"], motive, s["belief"], s["trust"], stake,
                      converted, left, *common, s["bounds"], ref_part, deaths_on, death,
                      ref_deaths)
    alive = s["alive"].copy()
    part = np.zeros((nchunk, len(AGG)), np.int64)
    deaths = np.zeros((nchunk, 2), np.int64)
    msum = np.full((2, s["n_cells"]), 99, np.int64)
    wsum = np.zeros((nchunk, 2))
    kstocks.stocks_pass(s["bounds"], s["lanes"], alive, s["birth"], death,
                   s["status"], motive, s["belief"], s["trust"], stake, converted, left,
                   s["cell"], join, *common, part, deaths_on, deaths, True, True, True, 1.0, 0.5,
                   _weights(), msum, wsum, deaths_on)
    assert np.array_equal(alive, ref_alive)
    assert np.array_equal(part, ref_part)
    assert np.array_equal(deaths, ref_deaths)
    assert (part[:, 2:6] > 0).all(axis=0).any() and part[:, 16:19].sum() > 0
    # M9: the lapsed members among the living (adult) members, and no one else
    lapsed_members = int((s["alive"] & (s["status"] > 0) & (left == 4)).sum())
    assert part[:, AGG.index("lapsed_members")].sum() == lapsed_members > 100
    if deaths_on:
        assert deaths[:, 1].sum() > 10
    # the members' sums: those members_sums finds once the deaths are done
    ref_msum = np.zeros_like(msum)
    ref_wsum = np.zeros_like(wsum)
    kmembers.members_sums(s["idx"], s["ib"], s["lanes"], alive, s["status"], s["cell"], s["belief"],
                    motive, join, MONTH, True, True, 1.0, 0.5, _weights(), ref_msum, ref_wsum,
                    not deaths_on)
    assert np.array_equal(msum.sum(axis=0), ref_msum.sum(axis=0))
    assert np.array_equal(wsum, ref_wsum)
    assert wsum[:, 1].sum() > 0
    # the members' columns from the member index, the rest from the whole population's sums
    # (learning_pass): the same stocks and the same members' sums; then the listed deaths
    m_alive = s["alive"].copy()
    m_part = np.zeros_like(part)
    m_msum = np.full_like(msum, 7)
    m_wsum = np.zeros_like(wsum)
    kstocks.member_stocks(s["idx"], s["ib"], s["lanes"], m_alive, s["birth"], death, s["status"],
                     motive, s["belief"], s["trust"], stake, converted, left, s["cell"], join,
                     *common,
                     m_part, deaths_on, True, True, True, 1.0, 0.5, _weights(), m_msum, m_wsum,
                     deaths_on)
    assert np.array_equal(m_alive, s["alive"])
    whole = _whole(ref_part.sum(axis=0))
    assert np.array_equal(kstocks.combine_stocks(m_part.sum(axis=0), whole), ref_part.sum(axis=0))
    assert np.array_equal(m_msum.sum(axis=0), msum.sum(axis=0))
    assert np.array_equal(m_wsum, wsum)
    if not deaths_on:
        return
    nl = s["lanes"].size - 1
    due = np.flatnonzero(s["alive"] & (death <= MONTH))
    dying = np.zeros((nl, due.size), np.uint32)
    ndying = np.zeros(nl, np.int64)
    ndying[0] = due.size
    dying[0] = due
    out = np.zeros((nl, 2), np.int64)
    kstocks.kill_listed(dying, ndying, m_alive, s["status"], out)
    assert np.array_equal(m_alive, alive)
    assert np.array_equal(out.sum(axis=0), deaths.sum(axis=0))
