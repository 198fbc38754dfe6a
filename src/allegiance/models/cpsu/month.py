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
from .lanes import lane_chunks, reduce_lanes, weight_totals
from .member_index import MemberIndex
from .members import (
    confirm_pass,
    member_deaths,
    members_end_pass,
    members_sums,
    promote_pass,
    purge_pass,
)
from .recruits import APPLICANTS_MAX, APPLICANTS_MIN, admissions_pass, apply_pass
from .stocks import DEATH_LIST_MIN, DEATH_LIST_SHARE, NEXT


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
        """The stocks pass of ``step`` took the members' sums (:func:`.stocks.stocks_pass`):
        add its lanes, and let the ``members`` phase use them."""
        if self.m.params.ritual.enabled:
            reduce_lanes(self._lane_bufs[0][: lanes.shape[0] - 1])
        self._taken = (step, *weight_totals(wsum))

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
                reduce_lanes(msum[: lanes.shape[0] - 1])
            tm, tc = weight_totals(wsum)
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
            reduce_lanes(tsum[:t])

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
        members_end_pass(idx, ib, st.view("alive"), st.view("status"), st.view("left"),
                    st.view("belief"), st.view("trust"), st.view("stake"), st.view("converted"),
                    st.view("uid"), rem is not None, *(rem or (0.0, k0)),
                    el is not None, *(el or (*(0.0,) * 7, k0)),
                    ex is not None, *(ex or (*(0.0,) * 10, k0)), part)
        tot = part.sum(axis=0)
        m.flows["expelled"] += int(tot[0])
        m.flows["expelled_corruption"] += int(tot[0])
        m.flows["conversions"] += int(tot[1])
        m.flows["exits"] += int(tot[2])
