"""One month of the CPSU model: its phases, the carry between them, and the buffers they reuse.

The month is the fixed sequence of phases in :data:`.phases.PHASES` (the model's docstring
shows it as a table, generated from it). The equations are per-agent functions in the
mechanism modules; the phases decide how many times the agents are read, by calling kernels
(``stocks``, ``members``, ``adults``, ``recruits``) that apply several mechanisms in one pass.

With synchronous M7 (``run.m7_order``, the default) ``adults`` is the month's one pass over
everyone (:func:`.adults.one_pass`): M7 learns from the workplace sums of trust that last
month's pass took (``carry.trust_sums``), and the pass takes this month's for the next.
With sequential M7 a second pass, ``learning``, learns from this month's sums.
Nothing after that pass changes anyone's belief, trust or age, and only war losses change
who is alive; so it sums the whole population's columns of next month's stocks and
lists next month's natural deaths, and ``record`` counts only the members, from the member
index (:func:`.stocks.member_stocks`), and kills the listed agents. In the first month, after
war losses, or when the list is full, :func:`.stocks.stocks_pass` does it all in one pass
over every slot. Fusing is exact: within a pass an agent's updates use only its own state and
quantities fixed before the pass (sums of the previous pass, the month's context), in the same
order as the mechanisms run. The member index lists the slots of members in slot order (a
superset after exits and deaths, which every loop checks); reductions over it are cut at the
same uid chunks as over all slots, so every sum is the same as a scan of all slots gives.

What one phase hands to a later one is in one :class:`.carry.Carry`; each of its fields has
one writer and one reader.

The phases from ``demography`` to ``members_end`` are compiled functions (:mod:`.fused`): the
phase methods here compute the month's terms (and M2's census flows) and call them. In a quiet
month of a small run (:meth:`Month._one_call`, with the month's natural deaths drawn by
``record``) ``demography`` calls them all in one compiled call, and the later phases' methods
do nothing that month: the same functions in the same order, without the Python between
them.
"""

from __future__ import annotations

import numpy as np

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
from ...mechanisms._common import PREFETCH_MIN_BYTES
from .adults import adults_pass, learning_pass
from .carry import Applicants, Carry, NextStocks, TrustSums
from .fused import (
    COLUMNS,
    FLOWS,
    ONE_CALL_MAX_SLOTS,
    PURGE,
    WAR,
    add_flows,
    admissions_phase,
    adults_phase,
    demography_phase,
    members_end_phase,
    members_phase,
    month_phases,
    stocks_phase,
)
from .lanes import lane_chunks, reduce_lanes, threads_in_use, totals
from .member_index import MemberIndex
from .members import member_deaths, purge_pass
from .recruits import APPLICANTS_MAX, APPLICANTS_MIN, apply_pass
from .stocks import (
    AGG,
    AGG_SCALE,
    COHORT_EDGES,
    DEATH_LIST_MIN,
    DEATH_LIST_SHARE,
    NEXT,
    with_means,
)
from .stretch import Stretches

#: the agent columns each kernel takes, in its order of arguments (:meth:`AgentState.columns`)
_STOCKS_COLS = ("alive", "birth", "death", "status", "motive", "belief", "trust", "stake",
                "converted", "left", "cell", "join")
_NATURAL_DEATHS_COLS = ("alive", "death", "status")
_DEMOGRAPHY_COLS = ("alive", "status", "uid", "birth", "cell", "belief", "trust", "death",
                    "disposition")  # whole arrays: the newcomers are written after the used slots
_DEATHS_COLS = ("alive", "status", "uid")
_MEMBERS_PHASE_COLS = ("alive", "status", "cell", "belief", "motive", "join", "stake", "uid")
_ADULTS_PASS_COLS = ("alive", "birth", "status", "cell", "uid", "belief", "trust",
                     "disposition")
_ONE_PASS_COLS = ("alive", "birth", "death", "status", "cell", "uid", "belief", "trust",
                  "disposition")
_LEARNING_PASS_COLS = ("alive", "birth", "death", "cell", "belief", "trust")
_APPLY_PASS_COLS = ("alive", "birth", "status", "left", "uid", "belief", "motive")
_ADMISSIONS_COLS = ("alive", "status", "join", "left", "uid", "motive", "belief")
_PURGE_PASS_COLS = ("alive", "status", "join", "motive", "left", "uid", "belief")
_MEMBERS_END_PASS_COLS = ("alive", "status", "left", "belief", "trust", "stake", "converted",
                          "uid")

#: the ids of the month's three rounding draws of M2's census flows
_ROUND_IDS = np.arange(3)
#: no arrivals: no uniforms to pick their ages
_NONE = np.zeros(0)
#: :func:`.fused.purges_phase`'s arguments in a month without purges or war losses
_NO_PURGES = (np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64),
              np.uint64(0), np.uint64(0), np.zeros(0, dtype=np.int64))
#: what ``record`` passes for next month's stocks when none were taken (not read)
_NOT_TAKEN = (np.zeros((1, len(NEXT)), dtype=np.int64), np.zeros((0, 0), dtype=np.uint32),
              np.zeros(0, dtype=np.int64))


def _plain(args: tuple, *at: int) -> tuple:
    """``args`` with the records (the mechanisms' terms) at positions ``at`` as plain tuples,
    as :func:`.fused.month_phases` takes them."""
    out = list(args)
    for k in at:
        out[k] = tuple(out[k])
    return tuple(out)


class Month:
    """The phases of one month, the :class:`Carry` between them, and the buffers they reuse
    from month to month (reused memory only: no result depends on what a buffer held)."""

    #: attributes that hold only reused memory or caches (or the model, or what is made from
    #: its parameters): not in a checkpoint. Every other attribute is saved by name; the carry
    #: and the member index save themselves.
    SCRATCH = ("m", "survival", "_lane_bufs", "_lanes_cut", "_wfull", "_ib",
               "_dying", "_listed", "_done", "_stretches")

    def __init__(self, model) -> None:
        self.m = model
        self.carry = Carry()
        self.index = MemberIndex()
        self.survival = m2.log_survival_table(model.params.demography)
        self._lane_bufs: tuple[np.ndarray, ...] | None = None
        self._lanes_cut: tuple | None = None
        self._wfull: tuple | None = None
        self._ib: tuple | None = None
        self._dying = np.zeros((0, 0), dtype=np.uint32)
        self._listed = np.zeros((0, 0), dtype=np.uint32)
        self._listed_cap = APPLICANTS_MIN
        #: M7 learns from last month's workplace means (one pass a month), or this month's
        self.synchronous = model.scenario.run.m7_order == "synchronous"
        self._tlast = np.zeros(0, dtype=np.int64)  # synchronous M7: the sums handed on
        #: the step whose member phases ran in one compiled call (its later phases skip)
        self._done = -1
        self._stretches: Stretches | None = None

    def __getstate__(self) -> dict:
        # a copy (deepcopy, pickle: calibration copies a run part-way) makes its own compiled
        # context for stretches when it first needs one
        return {**self.__dict__, "_stretches": None}

    def checkpoint_state(self) -> dict:
        """What the next months depend on: the carry (next month's stocks taken ahead), the
        member index and every attribute not listed in :attr:`SCRATCH`."""
        out = {k: v for k, v in vars(self).items() if k not in self.SCRATCH}
        out["carry"] = self.carry.checkpoint_state()
        out["index"] = self.index.checkpoint_state()
        return out

    def restore_state(self, saved: dict) -> None:
        """Put back :meth:`checkpoint_state` (buffers and caches start afresh)."""
        saved = dict(saved)
        self.carry.restore_state(saved.pop("carry"))
        self.index.restore_state(saved.pop("index"))
        for k, v in saved.items():
            setattr(self, k, v)

    def stretch(self, step: int, until: int, max_threads: int) -> int:
        """Run the quiet months from ``step`` (before ``until``) in one compiled call
        (:mod:`.stretch`); returns how many ran (0: month ``step`` is not quiet)."""
        if self._stretches is None:
            self._stretches = Stretches(self)
        if not self._stretches.ready(self, step):
            return 0
        return self._stretches.run(self, step, until, max_threads)

    # -- buffers and derived arrays -----------------------------------------------------
    def _lanes(self, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(lane chunk ranges, M4 workplace sums per lane, M7 workplace sums per lane)."""
        # the model hands out the same bounds array until the slots change: the lanes are
        # cut again only then (or when the thread count changes); a few passes a month ask
        threads = threads_in_use()
        cut = self._lanes_cut
        if cut is not None and cut[0] is bounds and cut[1] == threads:
            lanes = cut[2]
        else:
            lanes = lane_chunks(bounds)
            self._lanes_cut = (bounds, threads, lanes)
        return (lanes, *self._lane_buffers(lanes.shape[0] - 1))

    def _lane_buffers(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """The M4 and M7 workplace sums of ``t`` lanes (reused; grown with their contents
        kept: lane 0 may hold the M4 sums that ``record`` took)."""
        bufs = self._lane_bufs
        if bufs is None or bufs[0].shape[0] < t:
            nc = self.m.n_cells
            new = tuple(np.zeros((t, nc), dtype=np.int64) for _ in range(2))
            if bufs is not None:
                for old, grown in zip(bufs, new, strict=True):
                    grown[: old.shape[0]] = old
            bufs = self._lane_bufs = new
        return bufs

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
        # the positions of the chunk bounds in the index, found again only when the slots
        # (a new bounds array) or the index changed: a phase asks several times a month
        cached = self._ib
        if cached is None or cached[0] is not bounds or cached[1] != self.index.version:
            cached = self._ib = (bounds, self.index.version, self.index.bounds(bounds))
        return bounds, self.index.idx, cached[2]

    def weights(self, step: int, career_bias: float, seniority_bias: float) -> np.ndarray:
        """The run's M5 promotion weights by seniority (:func:`privilege.weight_table`, for
        seniorities up to 20 years before the start of the run; others are computed). A
        weight depends on the seniority, not on the month (``month - join`` is an integer),
        so one table serves every month of the run: computed once, when first asked."""
        key = (career_bias, seniority_bias)
        full = self._wfull
        if full is None or full[0] != key:
            n = self.m.n_steps() + 241
            full = self._wfull = (key, m5.weight_table(self.m.month(step), career_bias,
                                                       seniority_bias, n))
        return full[1]

    def draw_lifespans(self, s: slice, first_age: np.ndarray) -> None:
        """Months of natural death of the agents in slots ``s`` (M2)."""
        m2.draw_lifespans(self.m.state, s, first_age, self.m.rng.key("demography.lifespan", 0),
                          self.survival)

    # -- record: the stocks on the 1st of the month -------------------------------------
    def stocks(self, step: int, with_deaths: bool = False, use_next: bool = False,
               into: np.ndarray | None = None) -> dict[str, float]:
        """All stocks of the current state, in agents (means are means).

        ``with_deaths``: also draw the month's natural deaths in the same pass (after
        counting each agent; they go to ``demography`` as ``carry.deaths``), and take the
        members' sums of ``members`` (``carry.member_sums``). ``use_next``: use the whole
        population's columns and natural deaths that last month's ``learning`` took for this
        month (``carry.next_stocks``), if they hold; then only the members are counted
        (:func:`.stocks.member_stocks`), and the non-members' columns are the whole
        population's minus the members' (exact integers). ``into``: an array that gets the
        stocks as numbers too (:data:`.stocks.AGG`, the ledger's row).
        """
        m, st = self.m, self.m.state
        c = self.carry
        taken = None
        if use_next:
            nx, c.next_stocks = c.next_stocks, None
            if nx is not None and nx.key == (step, st.compactions, st.n):
                taken = nx
        bounds = m.bounds()
        lanes, msum, _ = self._lanes(bounds)
        p5, p7 = m.params.privilege, m.params.openness
        table = self.weights(step, p5.career_bias, p5.seniority_bias)
        if taken is not None and with_deaths and min(taken.ndying.tolist()) < 0:
            taken = None  # the list of deaths overflowed: the stocks pass draws them
        if taken is not None:
            _, idx, ib = self._index()
            whole, dying, ndying = taken.whole, taken.dying, taken.ndying
        else:  # (the index is not read)
            idx, ib, whole, dying, ndying = self.index.idx, bounds, *_NOT_TAKEN
        tot, d, dm, tm, tc = stocks_phase(
            bounds, lanes, idx, ib, *st.columns(_STOCKS_COLS), m.month(step),
            m.params.commitment.threshold, p7.norm, m.openness(), p7.enabled, COHORT_EDGES,
            m.survey_cuts, with_deaths, m.params.ritual.enabled, p5.enabled, p5.career_bias,
            p5.seniority_bias, table, msum, self._far(), taken is not None, whole, dying,
            ndying, AGG_SCALE)
        if with_deaths:
            c.deaths = (int(d), int(dm))
            c.member_sums = (tm, tc)
        if into is not None:
            into[:] = tot
        return with_means(dict(zip(AGG, tot.tolist(), strict=True)))

    # -- phases --------------------------------------------------------------------------
    def context(self, step: int) -> None:
        """The month's :class:`~allegiance.mechanisms.context.Context` for every later phase."""
        self.carry.ctx = self.m.context(step)

    def demography(self, step: int) -> None:
        """M2: deaths, census matching, births and arrivals (the cohort turning 16 is
        socialized in the ``adults`` pass, after the newcomers are added). In a quiet month
        of a small run, this phase and every later one to ``members_end`` in one compiled
        call (:meth:`_month_phases`)."""
        c = self.carry
        if self._one_call() and (c.deaths is not None or not self.m.params.demography.enabled):
            self._month_phases(step)
            return
        plan = self._demography_plan(step)
        if plan is None:
            return
        st = self.m.state
        d, dm = demography_phase(self.m.bounds(), st.n, st.next_uid, engine.CHUNK,
                                 *[st.arrays[k] for k in _DEMOGRAPHY_COLS], c.ctx.month,
                                 *plan[1])
        if dm:
            c.member_sums = None  # members died after the stocks pass: take them again
        self._demography_done(plan, d, dm)

    def _demography_plan(self, step: int) -> tuple | None:
        """The month's census flows (M2), with natural deaths first if ``record`` did not draw
        them, and room made for the newcomers: ``((deaths, of members, births, arrivals),
        the arguments of :func:`.fused.demography_phase` after the month)``; ``None`` when M2
        is off. Consumes the deaths that ``record`` drew."""
        m, st, c = self.m, self.m.state, self.carry
        ctx = c.ctx
        drawn, c.deaths = c.deaths, None
        p = m.params.demography
        if not p.enabled:
            return None
        month = ctx.month
        if drawn is not None:  # drawn in the stocks pass (record)
            deaths, deaths_members = drawn
        else:
            bounds = m.bounds()
            part = np.zeros((bounds.shape[0] - 1, 2), dtype=np.int64)
            m2.natural_deaths(*st.columns(_NATURAL_DEATHS_COLS), month, bounds, part)
            deaths, deaths_members = totals(part).tolist()
        target = m.population_target(month + 1) * m.scale
        u = ctx.rng.uniforms("demography.round", step, _ROUND_IDS)
        births, arrivals, prob = m2.census_flows(p, m.n_alive - deaths, target, u)
        count = births + arrivals
        st.reserve(count)
        pick = (ctx.rng.uniforms("demography.arrival_age", step,
                                 np.arange(arrivals, dtype=np.int64)) if arrivals else _NONE)
        return ((deaths, deaths_members, births, arrivals),
                (m.n_cells, -1.0 if prob is None else prob, ctx.key("demography.excess"),
                 births, arrivals, pick, (m2.terms(ctx) if count else None) or m2.OFF,
                 ctx.key("demography.cell", 0), ctx.key("demography.belief"),
                 ctx.key("demography.trust"), m.rng.key("demography.lifespan", 0),
                 self.survival, ctx.key("legitimacy.disposition", 0)))

    def _demography_done(self, plan: tuple, d: int, dm: int) -> None:
        """After :func:`.fused.demography_phase`: the newcomers counted in the state, the
        month's flows and the living counted."""
        m = self.m
        deaths, deaths_members, births, arrivals = plan[0]
        m.state.added(births + arrivals)
        m.flows["births"] += births
        m.flows["arrivals"] += arrivals
        m.flows["deaths"] += deaths + d
        m.flows["deaths_members"] += deaths_members + dm
        m.n_alive = m.n_alive - deaths - d + births + arrivals

    def members(self, step: int) -> None:
        """M4 member sums and M5 weights; then M5 promotions, rotations and rents
        (:func:`.fused.members_phase`)."""
        if self._done == step:
            return
        m, st = self.m, self.m.state
        bounds, idx, ib = self._index()
        lanes, msum, _ = self._lanes(bounds)
        flows = np.zeros(len(FLOWS), dtype=np.int64)
        members_phase(idx, ib, lanes, *st.columns(_MEMBERS_PHASE_COLS), self.carry.ctx.month,
                      *self._members_args(step, msum), self._far(), flows)
        add_flows(m.flows, flows)

    def _one_call(self) -> bool:
        """Whether this month's phases from ``demography`` to ``members_end`` may run in one
        compiled call: synchronous M7, fewer than ``ONE_CALL_MAX_SLOTS`` slots and no added
        mechanism switched on (it may come between them)."""
        m = self.m
        return self.synchronous and m.state.n < ONE_CALL_MAX_SLOTS and not m.addons_on()

    def _month_phases(self, step: int) -> None:
        """The phases from ``demography`` to ``members_end`` in one compiled call
        (:func:`.fused.month_phases`), with the arguments each phase method would pass, sized
        for the slots after births and arrivals; the later phase methods of the month then do
        nothing."""
        m, st, c = self.m, self.m.state, self.carry
        plan = self._demography_plan(step)  # before the arrays are read: they may grow
        count = sum(plan[0][2:]) if plan is not None else 0
        n, next_uid = st.n + count, st.next_uid + count
        bounds, idx, ib = self._index()
        threads = threads_in_use()
        # as the chunk bounds and the lanes will be after births and arrivals
        nchunk = -(-next_uid // engine.CHUNK)
        nl = max(1, min(threads, nchunk))
        lanes = self._lanes(bounds)[0]
        msum, tsum = self._lane_buffers(nl)
        mem = self._members_args(step, msum)
        adl = self._adults_args(step, nl, n, next_uid, tsum)
        app = self._apply_args(nchunk)
        end = self._end_args()
        ops, keep = self._purge_ops()
        if ops:
            kinds = np.array([o[0] for o in ops], dtype=np.int64)
            pur = (kinds, np.array([o[1] for o in ops], dtype=np.float64),
                   np.array([o[2] for o in ops], dtype=np.float64),
                   np.array([m1.PURGE_TARGETS.index(o[3]) if o[0] == PURGE else 0
                             for o in ops], dtype=np.int64),
                   c.ctx.key("recruitment.purge"), c.ctx.key("purges.war"),
                   np.zeros(len(ops), dtype=np.int64))
        else:  # most months: nothing to take (the arrays are empty, never written)
            kinds, pur = _NO_PURGES[0], _NO_PURGES
        flows = np.zeros(len(FLOWS), dtype=np.int64)
        d, dm, bounds2, lanes2, ib2, out, n_idx, ib3, merged = month_phases(
            bounds, lanes, idx, self.index.n, self.index.spare, ib,
            tuple([st.arrays[k] for k in COLUMNS]), st.n, st.next_uid, engine.CHUNK,
            st.uid_top(), threads, c.ctx.month, self._far(), plan is not None,
            _plain(plan[1] if plan is not None else self._no_demography(), 6),
            _plain(mem, 5), _plain(adl, 1, 3, 5), _plain(app, 1),
            tuple(m1.confirm_terms(c.ctx)), pur, _plain(end, 1, 3, 5), flows)
        if plan is not None:
            self._demography_done(plan, d, dm)
        if count:  # the bounds, lanes and positions the call found, as the methods would
            m.adopt_bounds(bounds2)
            self._lanes_cut = (bounds2, threads, lanes2)
            self._ib = (bounds2, self.index.version, ib2)
        self._adults_done(step, lanes2, adl)
        self._apply_done(app)
        if merged:
            self._merged(bounds2, out, n_idx, ib3)
        add_flows(m.flows, flows)
        for kind, n in zip(kinds.tolist(), pur[-1].tolist(), strict=True):
            if kind == PURGE:
                m.flows["expelled"] += n
            else:
                self._war_losses(n)
        m.ongoing = keep
        self._done = step

    def _members_args(self, step: int, msum: np.ndarray) -> tuple:
        """The arguments of :func:`.fused.members_phase` after the month (``members`` from
        ``taken`` on): the members' sums that ``record`` took are consumed."""
        c = self.carry
        p5 = self.m.params.privilege
        pt = m5.terms(c.ctx)
        taken, c.member_sums = c.member_sums, None
        tm, tc = taken if taken is not None else (0.0, 0.0)
        # the weights are read only when M5 promotes: off, the table ``record`` used is kept
        on = pt if pt is not None else p5
        table = self.weights(step, on.career_bias, on.seniority_bias)
        return (taken is not None, tm, tc, self.m.params.ritual.enabled, pt is not None,
                pt or m5.OFF, table, msum)

    def adults(self, step: int) -> None:
        """M2 socialization, M4 ritual, M6 legitimacy, and M7's workplace sums of trust; with
        synchronous M7 also M7 learning and next month's stocks (:meth:`_one_pass`)."""
        if self._done == step:
            return
        if self.synchronous:
            self._one_pass(step)
            return
        st, ctx = self.m.state, self.carry.ctx
        bounds, idx, ib = self._index()
        lanes, msum, tsum = self._lanes(bounds)
        soc, rr, lb, lt = m2.terms(ctx), m4.terms(ctx), m6.terms(ctx), m7.terms(ctx)
        learn_on = lt is not None and lt.rate > 0
        adults_pass(bounds, lanes, idx, ib, *st.columns(_ADULTS_PASS_COLS), ctx.month,
                    soc is not None, soc or m2.OFF, rr is not None, msum, rr or m4.OFF,
                    lb is not None, lb or m6.OFF, learn_on, tsum, self._far())
        if learn_on:
            t = lanes.shape[0] - 1
            reduce_lanes(tsum[:t])

    def _take(self) -> bool:
        """Whether next month's stocks of the whole population are taken ahead: not with an
        added mechanism switched on (it may change belief or trust after the pass)."""
        return self.m.TAKE_STOCKS and not self.m.addons_on()

    def _one_pass(self, step: int) -> None:
        """The synchronous month's pass (:func:`.fused.adults_phase`): M2 socialization, M4,
        M6, M7 learning from last month's workplace sums and this month's sums for the next,
        next month's stocks and natural deaths."""
        st = self.m.state
        bounds, idx, ib = self._index()
        lanes, msum, tsum = self._lanes(bounds)
        adl = self._adults_args(step, lanes.shape[0] - 1, st.n, st.next_uid, tsum)
        adults_phase(bounds, lanes, idx, ib, *st.columns(_ONE_PASS_COLS), self.carry.ctx.month,
                     *adl[:2], adl[2], msum, *adl[3:], self._far())
        self._adults_done(step, lanes, adl)

    def _adults_args(self, step: int, nl: int, n: int, next_uid: int, tsum: np.ndarray
                     ) -> tuple:
        """The arguments of :func:`.fused.adults_phase` after the month, but for the M4 sums
        (``ritual_on``, then ``rr`` on): the terms, M7's workplace sums to learn from
        (consumed from the carry; last month's pass handed them on, but in the first month,
        after an event that changed trust (a shock), or with an added mechanism switched on
        (which may change trust) they are taken again, over the living as they stand, and
        every one of them is then in the sums), and the buffers of next month's stocks, for
        ``nl`` lanes over ``n`` slots (agents' uids below ``next_uid``)."""
        m, c = self.m, self.carry
        ctx = c.ctx
        soc, rr, lb, lt = m2.terms(ctx), m4.terms(ctx), m6.terms(ctx), m7.terms(ctx)
        p7 = m.params.openness
        learn_on = lt is not None and lt.rate > 0
        if self._tlast.shape[0] != m.n_cells:
            self._tlast = np.zeros(m.n_cells, dtype=np.int64)
        last, c.trust_sums = c.trust_sums, None
        fresh = learn_on and (last is None or last.key != step or m.addons_on())
        if fresh:
            sums, mark = self._tlast, next_uid
        elif learn_on:
            sums, mark = last.sums, last.mark
        else:
            sums, mark = self._tlast, 0
        nxt = np.zeros((nl, len(NEXT)), dtype=np.int64)
        dying, ndying = self._death_list(nl, n)
        return (soc is not None, soc or m2.OFF, rr is not None, rr or m4.OFF, lb is not None,
                lb or m6.OFF, learn_on, lt.rate if learn_on else 0.0, fresh, sums, mark,
                p7.enabled, tsum, self._tlast, self._take(), m.params.commitment.threshold,
                p7.norm, m.openness_at(step + 1), p7.enabled, m.survey_cuts, nxt, dying, ndying)

    def _adults_done(self, step: int, lanes: np.ndarray, adl: tuple) -> None:
        """After the pass: M7's sums and next month's stocks handed on in the carry."""
        st, c = self.m.state, self.carry
        sums_on, take, nxt, dying, ndying = adl[11], adl[14], *adl[20:]
        if sums_on:
            c.trust_sums = TrustSums(step + 1, st.next_uid, self._tlast)
        c.next_stocks = (NextStocks((step + 1, st.compactions, st.n), lanes, nxt, dying, ndying)
                         if take else None)

    def _death_list(self, nl: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The lanes' lists of next month's natural deaths over ``n`` slots (reused) and their
        counts."""
        cap = int(n * DEATH_LIST_SHARE / nl) + DEATH_LIST_MIN
        if self._dying.shape[0] < nl or self._dying.shape[1] < cap:
            self._dying = np.zeros((nl, cap), dtype=np.uint32)
        return self._dying[:nl], np.zeros(nl, dtype=np.int64)

    def learning(self, step: int) -> None:
        """Sequential M7: social learning (and next month's stocks of the whole population,
        and its natural deaths); M1 decisions to apply."""
        m, st, c = self.m, self.m.state, self.carry
        ctx = c.ctx
        bounds = m.bounds()
        lt = m7.terms(ctx)
        rate = lt.rate if lt is not None else 0.0
        lanes, _, tsum = self._lanes(bounds)
        nl = lanes.shape[0] - 1
        nxt = np.zeros((nl, len(NEXT)), dtype=np.int64)
        dying, ndying = self._death_list(nl, st.n)
        p7 = m.params.openness
        take = self._take()
        learning_pass(bounds, lanes, *st.columns(_LEARNING_PASS_COLS), ctx.month,
                      rate > 0, rate, tsum, take, m.params.commitment.threshold,
                      p7.norm, m.openness_at(step + 1), p7.enabled, m.survey_cuts, nxt, dying,
                      ndying)
        c.next_stocks = (NextStocks((step + 1, st.compactions, st.n), lanes, nxt, dying, ndying)
                         if take else None)
        self.applications(step)

    def applications(self, step: int) -> None:
        """M1: the agents whose monthly trial to apply succeeds decide whether to apply."""
        if self._done == step:
            return
        m, st, c = self.m, self.m.state, self.carry
        app = self._apply_args(m.bounds().shape[0] - 1)
        apply_on, rt, span, wsum, napp, listed = app
        c.applicants = None
        if not apply_on:
            return
        apply_pass(m.bounds(), span, *st.columns(_APPLY_PASS_COLS), c.ctx.month, rt, wsum,
                   napp, listed)
        c.applicants = Applicants(rt, wsum, napp, listed)
        self._apply_done(app)

    def _apply_args(self, nchunk: int) -> tuple:
        """The arguments of :func:`.recruits.apply_pass` after the columns and the month:
        ``(applying, terms, span, wsum, napp, listed)`` (M1's terms; per chunk the weight sums,
        the applicants and the lists of their slots, zeroed), for ``nchunk`` chunks."""
        rt = m1.terms(self.carry.ctx)
        if self._listed.shape != (nchunk, self._listed_cap):
            self._listed = np.zeros((nchunk, self._listed_cap), dtype=np.uint32)
        return (rt is not None, rt or m1.OFF, engine.CHUNK, np.zeros(nchunk),
                np.zeros(nchunk, dtype=np.int64), self._listed)

    def _apply_done(self, app: tuple) -> None:
        """Next month's lists: room for twice this month's most applicants in a chunk."""
        if app[0]:
            most = max(app[4].tolist(), default=0)  # a few chunks: no numpy call
            self._listed_cap = int(min(APPLICANTS_MAX, max(APPLICANTS_MIN, 2 * most)))

    def admissions(self, step: int) -> None:
        """M1 confirmations; admissions under the quota, and the member index update
        (:func:`.fused.admissions_phase`)."""
        if self._done == step:
            return
        m, st, c = self.m, self.m.state, self.carry
        ap, c.applicants = c.applicants, None
        bounds, idx, ib = self._index()
        flows = np.zeros(len(FLOWS), dtype=np.int64)
        nchunk = bounds.shape[0] - 1
        rt, wsum, napp, listed = (ap.terms, ap.wsum, ap.napp, ap.listed) if ap is not None else (
            m1.OFF, np.zeros(nchunk), np.zeros(nchunk, dtype=np.int64), self._listed)
        out, n, ib2, merged = admissions_phase(
            bounds, idx, self.index.n, self.index.spare, ib, *st.columns(_ADMISSIONS_COLS),
            c.ctx.month, m1.confirm_terms(c.ctx), ap is not None, rt, wsum, napp, listed,
            flows)
        if merged:
            self._merged(bounds, out, n, ib2)
        add_flows(m.flows, flows)

    def _no_demography(self) -> tuple:
        """Arguments of :func:`.fused.demography_phase` for a month without M2 (not read)."""
        z = np.uint64(0)
        return (0, -1.0, z, 0, 0, _NONE, m2.OFF, z, z, z, z, self.survival, z)

    def _merged(self, bounds: np.ndarray, out: np.ndarray, n: int, ib: np.ndarray) -> None:
        """The member index merged with the month's admissions (``out``, ``n`` long), and
        its positions ``ib`` of the chunk bounds ``bounds`` (kept: the next phases ask)."""
        self.index.merged(out, n)
        self._ib = (bounds, self.index.version, ib)

    def purges(self, step: int) -> None:
        """Multi-month purge and wartime-loss events take this month's share."""
        if self._done == step:
            return
        ops, keep = self._purge_ops()
        for kind, share, count, target in ops:
            if kind == PURGE:
                self.purge(step, share, count, target)
            else:
                self._war_losses(self.war_deaths(step, share))
        self.m.ongoing = keep

    def _purge_ops(self) -> tuple[list[tuple[int, float, float, str]], list]:
        """This month's share of each purge (:data:`PURGE`) and war loss (:data:`WAR`) going
        on, in order, as ``(kind, share, count, target)`` (see :meth:`purge`), and the events
        still going on next month."""
        ops, keep = [], []
        for kind, ev, left in self.m.ongoing:
            op = self.purge_op(kind, ev)
            if op is not None:
                ops.append(op)
            if left > 1:
                keep.append((kind, ev, left - 1))
        return ops, keep

    def purge_op(self, kind: str, ev) -> tuple[int, float, float, str] | None:
        """This month's share of one purge (``kind`` "purge") or war loss (otherwise) under
        way, as :meth:`_purge_ops` lists it; ``None`` for a purge while M1 is off."""
        m = self.m
        if kind != "purge":
            return (WAR, 1.0 - (1.0 - ev.share) ** (1.0 / ev.months), 0.0, "")
        if not m.params.recruitment.enabled:
            return None
        persons = ev.persons()
        if persons is None:  # a share of the members, compounded month by month
            return (PURGE, 1.0 - (1.0 - ev.share) ** (1.0 / ev.months), -1.0, ev.target)
        return (PURGE, 0.0, persons * m.scale / ev.months, ev.target)  # the same each month

    def _war_losses(self, n: int) -> None:
        """Count ``n`` members killed by war losses (next month's stocks, taken by this
        month's pass, counted them as alive: dropped)."""
        m = self.m
        m.n_alive -= n
        m.flows["war_deaths_members"] += n
        m.flows["deaths"] += n
        m.flows["deaths_members"] += n
        if n:
            self.carry.next_stocks = None

    def purge(self, step: int, share: float, count: float, target: str) -> int:
        """Expel ``share`` of members this month, or ``count`` agents (expected) when ``count``
        is not negative, weighted towards ``target``."""
        m, st, ctx = self.m, self.m.state, self.carry.ctx
        _, idx, ib = self._index()
        nchunk = ib.shape[0] - 1
        part = np.zeros((nchunk, 2), dtype=np.int64)
        purge_pass(idx, ib, *st.columns(_PURGE_PASS_COLS),
                   ctx.month, share, count, m1.PURGE_TARGETS.index(target),
                   ctx.key("recruitment.purge"), np.zeros(nchunk), part)
        n = int(part[:, 0].sum())
        m.flows["expelled"] += n
        return n

    def war_deaths(self, step: int, share: float) -> int:
        """Excess deaths among members this month (war losses)."""
        st, ctx = self.m.state, self.carry.ctx
        _, idx, ib = self._index()
        part = np.zeros((ib.shape[0] - 1, 1), dtype=np.int64)
        member_deaths(idx, ib, *st.columns(_DEATHS_COLS), share,
                      ctx.key("purges.war"), part)
        return int(part.sum())

    def members_end(self, step: int) -> None:
        """M11 expulsions for corruption, M8 conversions, M9 exits and disengagement."""
        if self._done == step:
            return
        end = self._end_args()
        if not any(end[::2]):  # M11, M8 and M9 all off
            return
        st = self.m.state
        _, idx, ib = self._index()
        flows = np.zeros(len(FLOWS), dtype=np.int64)
        members_end_phase(idx, ib, *st.columns(_MEMBERS_END_PASS_COLS), *end, flows)
        add_flows(self.m.flows, flows)

    def _end_args(self) -> tuple:
        """The terms of :func:`.fused.members_end_phase`: ``(M11 on, its terms, M8 on, ...)``."""
        ctx = self.carry.ctx
        rem, el, ex = m11.terms(ctx), m8.terms(ctx), m9.terms(ctx)
        return (rem is not None, rem or m11.OFF, el is not None, el or m8.OFF, ex is not None,
                ex or m9.OFF)
