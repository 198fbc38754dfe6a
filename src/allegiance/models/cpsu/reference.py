"""The reference engine: the CPSU month as plain loops over the agents, one agent at a time.

``run.engine = "reference"`` runs the model with :class:`ReferenceMonth` instead of the fused
:class:`~.month.Month`. Each phase here is one loop over every slot in slot order, calling the
mechanisms' equations in the order of :data:`.phases.PHASES` — no member index, no blocks, no
threads, no prefetching, no stocks or deaths taken ahead. It is the month to read to
understand the model, and the check of the fused engine: both give the same results, bit for
bit, over whole runs (``tests/test_reference.py``), because

* sums of belief, trust and stake are fixed-point integers (any order gives the same total);
* the few float sums (promotion, admission and purge weights) are added per uid chunk in slot
  order, then chunk by chunk, in both engines;
* every random draw is keyed by (seed, stream, step, agent), so it does not depend on which
  loop draws it. Rare events (deaths of excess, decisions to apply) are drawn by skipping
  from success to success over each uid chunk (:func:`allegiance.rng.next_success`; the
  fused engine finds the same successes in batches, :func:`allegiance.rng.successes`): that
  is how those draws are defined.

It is slower than the fused engine (several passes a month where the fused one needs one,
or two with sequential M7), which is why it is not the default. Both implement both of M7's
orders (``run.m7_order``): the workplace sums of trust that synchronous M7 learns from are
part of the model (last month's), so this engine carries them from month to month too.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ... import engine
from ...mechanisms import demography as m2
from ...mechanisms import elite as m8
from ...mechanisms import exit as m9
from ...mechanisms import legitimacy as m6
from ...mechanisms import openness as m7
from ...mechanisms import privilege as m5
from ...mechanisms import recruitment as m1
from ...mechanisms import remedies as m11
from ...mechanisms import ritual as m4
from ...mechanisms._common import (
    ADULT_MONTHS,
    CADRE,
    CANDIDATE,
    CAREER,
    CONFORMIST,
    EXPELLED,
    IDEAL,
    MEMBER,
    NONMEMBER,
    packed,
    to_fixed,
    unpack,
)
from ...rng import log_q, skip, uniform
from .carry import Applicants, TrustSums
from .fused import END_FLOWS, FLOWS, add_flows
from .members import end_one
from .month import Month
from .stocks import (
    AGG,
    AGG_SCALE,
    C_ADULTS,
    C_ALIVE,
    C_BELIEF_ADULTS,
    C_BELIEF_NONMEMBERS,
    C_BELIEF_TIER,
    C_COMMITTED_ADULTS,
    C_EXPRESSED_NONMEMBERS,
    C_NONMEMBER_ADULTS,
    C_TRUST_ADULTS,
    C_TRUST_NONMEMBERS,
    C_TRUST_TIER,
    COHORT_EDGES,
    _count_adult,
    _count_member,
    _survey,
    with_means,
)

#: no precomputed M5 weight table: ``privilege.weight_of`` computes every weight
NO_TABLE = np.zeros((2, 0))

# ---------------------------------------------------------------------------------------------
# The loops


@njit(cache=True)
def stocks_loop(alive, birth, status, motive, belief, trust, stake, converted, left, month,
                commit_thr, norm, openness, falsify, edges, cuts, row):
    """The stocks on the 1st of the month (columns :data:`.stocks.AGG`, fixed-point sums)."""
    for i in range(alive.shape[0]):
        if not alive[i]:
            continue
        row[C_ALIVE] += 1
        if month - birth[i] < ADULT_MONTHS:
            continue
        st = status[i]
        b = belief[i]
        t = trust[i]
        fb = to_fixed(b)
        ft = to_fixed(t)
        fex = to_fixed(m7.expressed(t, openness, norm)) if falsify else ft
        row[C_ADULTS] += 1
        survey = _survey(t, openness, norm, falsify, cuts)
        _count_adult(row, b, t, survey)
        row[C_BELIEF_ADULTS] += fb
        row[C_TRUST_ADULTS] += ft
        if b >= commit_thr:
            row[C_COMMITTED_ADULTS] += 1
        if st == NONMEMBER:
            row[C_NONMEMBER_ADULTS] += 1
            row[C_BELIEF_NONMEMBERS] += fb
            row[C_TRUST_NONMEMBERS] += ft
            row[C_EXPRESSED_NONMEMBERS] += fex
            row[C_BELIEF_TIER] += fb  # tier 0: non-member adults
            row[C_TRUST_TIER] += ft
            continue
        # a member's columns: tier, M12 commitment, motive, cohort (as the fused stocks count)
        _count_member(row, i, st, b, fb, ft, fex, birth, motive, stake, converted, left,
                      commit_thr, edges, survey)


@njit(cache=True)
def members_loop(bounds, alive, status, stake, motive, join, uid, cell, belief, month,
                 ritual_on, promote_on, need_cadre, need_elite, career_bias, seniority_bias,
                 rent_elite, rent_cadre, decay, p_rotate, key_p, key_r, msum, table, out):
    """M4: members' belief summed per workplace; M5: promotion weights summed (per chunk,
    then chunk by chunk), then each member's promotion, rotation and rent.
    ``out`` = [promotions, rotations]."""
    msum[:] = 0
    tm = 0.0
    tc = 0.0
    for c in range(bounds.shape[0] - 1):
        s_m = 0.0
        s_c = 0.0
        for i in range(bounds[c], bounds[c + 1]):
            st = status[i]
            if not alive[i] or st == NONMEMBER:
                continue
            if ritual_on:
                msum[cell[i]] += packed(belief[i])
            if promote_on and st == MEMBER:
                s_m += m5.weight_of(table, motive[i], join[i], month, career_bias,
                                    seniority_bias)
            elif promote_on and st == CADRE:
                s_c += m5.weight_of(table, motive[i], join[i], month, career_bias,
                                    seniority_bias)
        tm += s_m
        tc += s_c
    if not promote_on:
        return
    for i in range(alive.shape[0]):
        if not alive[i] or status[i] == NONMEMBER:
            continue
        st, s, up, down = m5.promote_one(status[i], stake[i], motive[i], join[i], uid[i], month,
                                         need_cadre, need_elite, tm, tc, career_bias,
                                         seniority_bias, rent_elite, rent_cadre, decay,
                                         p_rotate, key_p, key_r, table)
        status[i] = st
        stake[i] = s
        out[0] += up
        out[1] += down


@njit(cache=True, error_model="numpy")
def adults_loop(alive, birth, status, cell, uid, belief, trust, disposition, month, soc_on, soc,
                ritual_on, msum, rr, legit_on, lb, learn_on, tsum):
    """M2 socialization at 16, M4 ritual decay and peer drift, M6 trust, and M7's workplace
    sums of trust, each agent in turn (``soc``, ``rr``, ``lb``: the Terms of M2, M4, M6)."""
    tsum[:] = 0
    for i in range(alive.shape[0]):
        if not alive[i]:
            continue
        age = month - birth[i]
        if soc_on and age == m2.SOCIALIZATION_MONTHS:
            b, t = m2.socialized(soc.climate, soc.trust_mean, soc.sd, uid[i], soc.key_belief,
                                 soc.key_trust)
            belief[i] = b
            trust[i] = t
        if age >= ADULT_MONTHS:
            member = status[i] > 0
            if ritual_on:
                ms = 0
                mc = 0
                if member:
                    ms, mc = unpack(msum[cell[i]])
                belief[i] = m4.erode_one(belief[i], member, ms, mc, rr.rate_member,
                                         rr.rate_citizen, rr.peer, rr.asymmetry)
            if legit_on:
                trust[i] = m6.adjust_one(trust[i], belief[i], disposition[i], member,
                                         lb.news_members, lb.news_citizens, lb.base,
                                         lb.w_belief, lb.w_disposition, lb.acceptance, lb.rate)
        if learn_on:
            tsum[cell[i]] += packed(trust[i])


@njit(cache=True, error_model="numpy")
def adults_sync_loop(alive, birth, status, cell, uid, belief, trust, disposition, month, soc_on,
                     soc, ritual_on, msum, rr, legit_on, lb, learn_on, rate, last, mark,
                     sums_on, tsum):
    """Synchronous M7 (``run.m7_order = "synchronous"``): each agent in turn, M2
    socialization at 16, M4, M6 as :func:`adults_loop`; then an adult's trust moves towards
    the mean of the others in its workplace last month (``last``: the sums of the agents
    alive then, whose uids are below ``mark``; :func:`openness.learn_last`), and its trust
    is added to next month's sums ``tsum``."""
    tsum[:] = 0
    for i in range(alive.shape[0]):
        if not alive[i]:
            continue
        t0 = trust[i]  # what it added to last month's sums (nothing changed it since)
        age = month - birth[i]
        if soc_on and age == m2.SOCIALIZATION_MONTHS:
            b, t = m2.socialized(soc.climate, soc.trust_mean, soc.sd, uid[i], soc.key_belief,
                                 soc.key_trust)
            belief[i] = b
            trust[i] = t
        if age >= ADULT_MONTHS:
            member = status[i] > 0
            if ritual_on:
                ms = 0
                mc = 0
                if member:
                    ms, mc = unpack(msum[cell[i]])
                belief[i] = m4.erode_one(belief[i], member, ms, mc, rr.rate_member,
                                         rr.rate_citizen, rr.peer, rr.asymmetry)
            if legit_on:
                trust[i] = m6.adjust_one(trust[i], belief[i], disposition[i], member,
                                         lb.news_members, lb.news_citizens, lb.base,
                                         lb.w_belief, lb.w_disposition, lb.acceptance, lb.rate)
            if learn_on:
                ts, tc = unpack(last[cell[i]])
                trust[i] = m7.learn_last(trust[i], t0, ts, tc, np.int64(uid[i] < mark), rate)
        if sums_on:
            tsum[cell[i]] += packed(trust[i])


@njit(cache=True)
def trust_sums_loop(alive, cell, trust, tsum):
    """M7's workplace sums of the living's trust as it stands (synchronous M7, when last
    month's pass left none)."""
    tsum[:] = 0
    for i in range(alive.shape[0]):
        if alive[i]:
            tsum[cell[i]] += packed(trust[i])


@njit(cache=True)
def learning_loop(alive, birth, cell, trust, month, rate, tsum):
    """M7: every adult's trust moves towards its workplace's mean."""
    for i in range(alive.shape[0]):
        if alive[i] and month - birth[i] >= ADULT_MONTHS:
            ts, tc = unpack(tsum[cell[i]])
            trust[i] = m7.learn_one(trust[i], ts, tc, rate)


@njit(cache=True)
def trial_successes(bounds, uid, span, key, rate, out):
    """``out[i]`` true for the agents whose uid succeeds in this month's trial at ``rate``:
    per uid chunk, the uids reached by skipping from success to success
    (:func:`allegiance.rng.skip`)."""
    lq = log_q(rate)
    for c in range(bounds.shape[0] - 1):
        i = np.int64(bounds[c])
        hi = np.int64(bounds[c + 1])
        pos = 0.0
        j = 0
        while rate > 0.0:
            pos += skip(key, c, j, lq)
            j += 1
            if pos >= span:
                break
            target = np.int64(c) * np.int64(span) + np.int64(pos)
            while i < hi and uid[i] < target:
                i += 1
            if i < hi and uid[i] == target:
                out[i] = True
            pos += 1.0


@njit(cache=True)
def apply_loop(bounds, trial, alive, birth, status, left, uid, belief, motive, month, rt, wsum,
               napp):
    """M1: each agent whose trial succeeded decides whether to apply (its motive is kept
    negated in ``motive`` until admissions); per chunk, the applicants and their vetting
    weights."""
    for c in range(bounds.shape[0] - 1):
        for i in range(bounds[c], bounds[c + 1]):
            if not trial[i]:
                continue
            mot = m1.decide(alive[i], status[i], left[i], month - birth[i], belief[i], uid[i], rt)
            if mot != 0:
                motive[i] = -mot
                napp[c] += 1
                wsum[c] += m1.admit_weight(belief[i], rt.selectivity_k)


@njit(cache=True)
def confirm_loop(alive, status, join, left, uid, month, candidacy, drop, key, out):
    """M1: candidates past their candidacy are confirmed or dropped; ``out`` = [confirmed,
    dropped]."""
    for i in range(alive.shape[0]):
        if not alive[i] or status[i] == NONMEMBER:
            continue
        r = m1.confirm_one(status[i], join[i], uid[i], month, candidacy, drop, key)
        if r == 1:
            status[i] = MEMBER
            out[0] += 1
        elif r == 2:
            status[i] = NONMEMBER
            left[i] = EXPELLED
            out[1] += 1


@njit(cache=True)
def admissions_loop(status, join, motive, uid, belief, month, quota, total, sel_k, key, out):
    """M1: each applicant is admitted as a candidate with probability ``quota · w / Σw``;
    ``out`` = [admitted, ideal, career, conformist]."""
    for i in range(status.shape[0]):
        if motive[i] >= 0:
            continue
        mot = -motive[i]
        motive[i] = 0
        if total <= 0.0:
            continue
        pa = m1.admit_probability(quota, m1.admit_weight(belief[i], sel_k), total)
        if uniform(key, uid[i]) < pa:
            status[i] = CANDIDATE
            join[i] = month
            motive[i] = mot
            out[0] += 1
            out[mot] += 1


@njit(cache=True)
def purge_loop(bounds, alive, status, join, motive, left, uid, belief, month, share, count,
               target, key):
    """A purge: each member is expelled with probability ``share · w / mean(w)``, or, when
    ``count`` is not negative, ``count · w / Σw``; returns the number expelled."""
    tot = 0.0
    nm = 0
    for c in range(bounds.shape[0] - 1):
        s = 0.0
        for i in range(bounds[c], bounds[c + 1]):
            if alive[i] and status[i] >= CANDIDATE:
                s += m1.purge_weight(target, belief[i], motive[i], status[i],
                                     (month - join[i]) / 12.0)
                nm += 1
        tot += s
    if nm == 0:
        return 0
    mean_w = tot / nm
    e = 0
    for i in range(alive.shape[0]):
        if alive[i] and status[i] >= CANDIDATE:
            w = m1.purge_weight(target, belief[i], motive[i], status[i], (month - join[i]) / 12.0)
            p = share * w / mean_w if count < 0.0 else count * w / tot
            if uniform(key, uid[i]) < p:
                status[i] = NONMEMBER
                left[i] = EXPELLED
                e += 1
    return e


@njit(cache=True)
def war_deaths_loop(alive, status, uid, share, key):
    """War losses: each member dies with probability ``share``; returns the deaths."""
    k = 0
    for i in range(alive.shape[0]):
        if alive[i] and status[i] > 0 and uniform(key, uid[i]) < share:
            alive[i] = False
            k += 1
    return k


@njit(cache=True)
def members_end_loop(alive, status, left, belief, trust, stake, converted, uid, rem_on, rem,
                     elite_on, el, exit_on, ex, out):
    """Each member in turn: M11 expulsion for corruption, M8 conversion, M9 exit or
    disengagement (:func:`.members.end_one`); ``out`` = [expelled, converted, exits, exits of
    lapsed members, disengaged, reengaged] (:data:`.fused.END_FLOWS`)."""
    for i in range(alive.shape[0]):
        if not alive[i] or status[i] == NONMEMBER:
            continue
        e, v, x, xl, d, r = end_one(i, status, left, belief, trust, stake, converted, uid,
                                    rem_on, rem, elite_on, el, exit_on, ex)
        out[0] += e
        out[1] += v
        out[2] += x
        out[3] += xl
        out[4] += d
        out[5] += r


# ---------------------------------------------------------------------------------------------
# The month


class ReferenceMonth(Month):
    """The month's phases as the loops above; the same phases, carry and results as
    :class:`~.month.Month` (only ``record``'s stocks, ``context`` and ``demography`` are
    shared code)."""

    def __init__(self, model) -> None:
        super().__init__(model)
        self._msum = np.zeros(0, dtype=np.int64)  # M4 workplace sums of members' belief
        self._tsum = np.zeros(0, dtype=np.int64)  # M7 workplace sums of trust

    def _one_call(self) -> bool:
        """Never: each phase here is its own loop (``demography``, shared, asks)."""
        return False

    def _sums(self) -> None:
        if self._msum.shape[0] != self.m.n_cells:
            self._msum = np.zeros(self.m.n_cells, dtype=np.int64)
            self._tsum = np.zeros(self.m.n_cells, dtype=np.int64)
            self._tlast = np.zeros(self.m.n_cells, dtype=np.int64)

    def stocks(self, step: int, with_deaths: bool = False, use_next: bool = False,
               into: np.ndarray | None = None) -> dict[str, float]:
        """The stocks on the 1st of the month; natural deaths are left to ``demography`` and
        nothing is taken ahead (``with_deaths`` and ``use_next`` are ignored); ``into``: as
        :meth:`.month.Month.stocks`."""
        m, st = self.m, self.m.state
        p7 = m.params.openness
        row = np.zeros(len(AGG), dtype=np.int64)
        v = st.view
        stocks_loop(v("alive"), v("birth"), v("status"), v("motive"), v("belief"), v("trust"),
                    v("stake"), v("converted"), v("left"), m.month(step),
                    m.params.commitment.threshold, p7.norm, m.openness(), p7.enabled,
                    COHORT_EDGES, m.survey_cuts, row)
        tot = row * AGG_SCALE
        if into is not None:
            into[:] = tot
        return with_means(dict(zip(AGG, tot.tolist(), strict=True)))

    def members(self, step: int) -> None:
        m, st, ctx = self.m, self.m.state, self.carry.ctx
        self.carry.member_sums = None
        self._sums()
        pt = m5.terms(ctx)
        v = st.view
        out = np.zeros(2, dtype=np.int64)
        terms = pt if pt is not None else (0.0,) * 8 + (np.uint64(0),) * 2
        members_loop(m.bounds(), v("alive"), v("status"), v("stake"), v("motive"), v("join"),
                     v("uid"), v("cell"), v("belief"), ctx.month, m.params.ritual.enabled,
                     pt is not None, *terms, self._msum, NO_TABLE, out)
        m.flows["promotions"] += int(out[0])
        m.flows["rotations"] += int(out[1])

    def adults(self, step: int) -> None:
        if self.synchronous:
            self._one_pass(step)
            return
        st, ctx = self.m.state, self.carry.ctx
        self._sums()
        soc = m2.terms(ctx)
        rr = m4.terms(ctx)
        lb = m6.terms(ctx)
        lt = m7.terms(ctx)
        v = st.view
        adults_loop(v("alive"), v("birth"), v("status"), v("cell"), v("uid"), v("belief"),
                    v("trust"), v("disposition"), ctx.month, soc is not None, soc or m2.OFF,
                    rr is not None, self._msum, rr or m4.OFF, lb is not None, lb or m6.OFF,
                    lt is not None and lt.rate > 0, self._tsum)

    def _one_pass(self, step: int) -> None:
        """Synchronous M7: the ``adults`` loop with learning from last month's sums (taken
        here first when the carry has none for this month, as in the fused engine)."""
        m, st, c = self.m, self.m.state, self.carry
        ctx = c.ctx
        self._sums()
        soc, rr, lb, lt = m2.terms(ctx), m4.terms(ctx), m6.terms(ctx), m7.terms(ctx)
        learn_on = lt is not None and lt.rate > 0
        v = st.view
        last, c.trust_sums = c.trust_sums, None
        if learn_on and (last is None or last.key != step or m.addons_on()):
            trust_sums_loop(v("alive"), v("cell"), v("trust"), self._tlast)
            last = TrustSums(step, st.next_uid, self._tlast)
        sums_on = m.params.openness.enabled
        adults_sync_loop(v("alive"), v("birth"), v("status"), v("cell"), v("uid"),
                         v("belief"), v("trust"), v("disposition"), ctx.month, soc is not None,
                         soc or m2.OFF, rr is not None, self._msum, rr or m4.OFF,
                         lb is not None, lb or m6.OFF, learn_on, lt.rate if learn_on else 0.0,
                         last.sums if learn_on else self._tlast,
                         last.mark if learn_on else 0, sums_on, self._tsum)
        c.next_stocks = None
        if sums_on:  # this month's sums become last month's
            self._tlast, self._tsum = self._tsum, self._tlast
            c.trust_sums = TrustSums(step + 1, st.next_uid, self._tlast)

    def learning(self, step: int) -> None:
        st, ctx = self.m.state, self.carry.ctx
        v = st.view
        lt = m7.terms(ctx)
        if lt is not None and lt.rate > 0:
            learning_loop(v("alive"), v("birth"), v("cell"), v("trust"), ctx.month, lt.rate,
                          self._tsum)
        self.carry.next_stocks = None
        self.applications(step)

    def applications(self, step: int) -> None:
        m, st, ctx = self.m, self.m.state, self.carry.ctx
        v = st.view
        self.carry.applicants = None
        rt = m1.terms(ctx)
        if rt is None:
            return
        bounds = m.bounds()
        trial = np.zeros(st.n, dtype=np.bool_)
        trial_successes(bounds, v("uid"), engine.CHUNK, rt.key_trial, rt.apply_rate, trial)
        wsum = np.zeros(bounds.shape[0] - 1)
        napp = np.zeros(bounds.shape[0] - 1, dtype=np.int64)
        apply_loop(bounds, trial, v("alive"), v("birth"), v("status"), v("left"), v("uid"),
                   v("belief"), v("motive"), ctx.month, rt, wsum, napp)
        self.carry.applicants = Applicants(rt, wsum, napp, np.zeros((0, 0), dtype=np.uint32))

    def admissions(self, step: int) -> None:
        m, st, ctx = self.m, self.m.state, self.carry.ctx
        v = st.view
        ct = m1.confirm_terms(ctx)
        out = np.zeros(2, dtype=np.int64)
        confirm_loop(v("alive"), v("status"), v("join"), v("left"), v("uid"), ctx.month,
                     ct.candidacy, ct.drop, ct.key, out)
        m.flows["confirmed"] += int(out[0])
        m.flows["dropped_candidates"] += int(out[1])
        ap, self.carry.applicants = self.carry.applicants, None
        if ap is None:
            return
        m.flows["applicants"] += int(ap.napp.sum())
        total = 0.0
        for w in ap.wsum:  # chunk by chunk
            total += w
        out = np.zeros(4, dtype=np.int64)
        admissions_loop(v("status"), v("join"), v("motive"), v("uid"), v("belief"), ctx.month,
                        ap.terms.quota, total, ap.terms.selectivity_k, ap.terms.key_admit, out)
        m.flows["joins"] += int(out[0])
        m.flows["joins_ideal"] += int(out[IDEAL])
        m.flows["joins_career"] += int(out[CAREER])
        m.flows["joins_conformist"] += int(out[CONFORMIST])

    def purge(self, step: int, share: float, count: float, target: str) -> int:
        m, st, ctx = self.m, self.m.state, self.carry.ctx
        v = st.view
        n = purge_loop(m.bounds(), v("alive"), v("status"), v("join"), v("motive"), v("left"),
                       v("uid"), v("belief"), ctx.month, share, count,
                       m1.PURGE_TARGETS.index(target), ctx.key("recruitment.purge"))
        m.flows["expelled"] += n
        return n

    def war_deaths(self, step: int, share: float) -> int:
        st, ctx = self.m.state, self.carry.ctx
        return war_deaths_loop(st.view("alive"), st.view("status"), st.view("uid"), share,
                               ctx.key("purges.war"))

    def members_end(self, step: int) -> None:
        m, st, ctx = self.m, self.m.state, self.carry.ctx
        rem, el, ex = m11.terms(ctx), m8.terms(ctx), m9.terms(ctx)
        v = st.view
        flows = np.zeros(len(FLOWS), dtype=np.int64)
        members_end_loop(v("alive"), v("status"), v("left"), v("belief"), v("trust"),
                         v("stake"), v("converted"), v("uid"), rem is not None,
                         rem or m11.OFF, el is not None, el or m8.OFF, ex is not None,
                         ex or m9.OFF, flows[len(FLOWS) - len(END_FLOWS):])
        add_flows(m.flows, flows)

