"""Quiet months in one compiled call: a stretch of whole months, ``record`` to ``record``.

In a small run most months have no event and no survey wave: the month is the same sequence
every time — the stocks on the 1st (:func:`.fused.stocks_phase`), the compaction of dead slots
when they are too many, the context, the mechanisms' terms, the census flows, the phases from
``demography`` to ``members_end`` (:func:`.fused.month_phases`, with the purges and war losses
under way) and the flows.
:func:`months` runs such months one after another in compiled code, calling the same
compiled phases with the same arguments as :class:`~.month.Month` and
:meth:`~.model.CpsuModel.record_stocks` would, and the same mechanisms' ``terms`` (compiled
from their Python source, with a :class:`~allegiance.mechanisms.compiled.MonthContext`). It
stops before the first month that needs anything else, which the model then runs as usual:

* a month with an event or a hold's start or end on the timeline, or one in which an event
  reads or changes the agents; the month of the 1983 seniority count and those of the survey
  waves;
* a month with more slots than :data:`.fused.ONE_CALL_MAX_SLOTS`, or with more than one
  thread's worth of slots (``engine.threads_for``), or whose newcomers might not fit.

So a run's results are the same bit for bit with or without stretches (``tests/test_stretch.py``
runs both), and so are its checkpoints. The months of a stretch write their rows into the
run's :class:`~.ledger.Ledger`; their time is ``stretch`` in the manifest's
``phase_seconds``.
"""

from __future__ import annotations

import numpy as np
from numba import literal_unroll, njit

from ... import rng
from ...mechanisms import demography as m2
from ...mechanisms import elite as m8
from ...mechanisms import exit as m9
from ...mechanisms import legitimacy as m6
from ...mechanisms import openness as m7
from ...mechanisms import privilege as m5
from ...mechanisms import recruitment as m1
from ...mechanisms import remedies as m11
from ...mechanisms import ritual as m4
from ...mechanisms.compiled import or_off, set_month
from ...state import chunk_edges, squeeze_fill
from .fused import _END, COLUMNS, FLOWS, PURGE, month_phases, stocks_phase
from .member_index import build_index, positions
from .recruits import APPLICANTS_MAX, APPLICANTS_MIN
from .stocks import AGG, DEATH_LIST_MIN, DEATH_LIST_SHARE, NEXT, SENIORITY_MONTH, with_means
from .timeline import ramp_value

_N_AGG = len(AGG)
_N_NEXT = len(NEXT)
_N_FLOWS = len(FLOWS)
#: where the stocks pass's columns are in :data:`.fused.COLUMNS` (constants: the arrays are a
#: tuple of several types, which compiled code indexes only with constants)
(_ALIVE, _BIRTH, _DEATH, _STATUS, _MOTIVE, _BELIEF, _TRUST, _STAKE, _CONVERTED, _LEFT, _CELL,
 _JOIN, _UID) = (COLUMNS.index(k) for k in ("alive", "birth", "death", "status", "motive",
                                           "belief", "trust", "stake", "converted", "left",
                                           "cell", "join", "uid"))


@njit(cache=True, inline="always")
def _ramp(ramps, r):
    """Row ``r`` of the ramps array as :func:`.timeline.ramp_value` takes a ramp."""
    return (np.int64(ramps[r, 1]), np.int64(ramps[r, 2]), ramps[r, 3], ramps[r, 4])


@njit(cache=True)
def _uniforms(key, n):
    """:meth:`allegiance.rng.Streams.uniforms` of the ids ``0 .. n-1`` under ``key``."""
    out = np.empty(n)
    rng._uniforms_few(key, np.arange(n, dtype=np.int64), out)
    return out


@njit(cache=True)
def months(s0, s1, stop, ctx, cal, lev, arrays, fills, sizes, nxt_in, index, bufs, consts,
           ongoing, ledger, flow_at, run):
    """Run the months ``s0 .. s1 - 1`` while they are quiet (see the module docstring) and
    return where it stopped with the state a Python month reads next (``Month.stretch`` puts
    it back). The arguments are grouped by what they hold:

    * ``stop``: per step, a month that never runs here (its timeline, seniority, waves);
    * ``ctx``: the :class:`~allegiance.mechanisms.compiled.MonthContext` (its ``levers``:
      the levers in effect, written here each month);
    * ``cal``: (first month of the run, per step the census target of the next month in
      agents);
    * ``lev``: (the levers as the events set them, held (bool per lever), held values,
      ramps ``[lever, first step, last step, from, to]``, the index of openness, M7 on,
      openness when M7 is off);
    * ``arrays``: the whole agent arrays :data:`.fused.COLUMNS`; ``fills``: each but
      ``alive`` with its fill value (``(array, fill)``), for compaction;
    * ``sizes``: (slots, next uid, peak slots, capacity, living agents, the largest uid,
      most agents a run may create, compactions);
    * ``nxt_in``: what last month's pass took for this month (whether it holds, columns, list
      of deaths and its counts) and M7's sums (held, mark);
    * ``index``: (member index, spare, its length, its chunk positions, chunk bounds, lanes);
    * ``bufs``: (M4 lane sums, M7 lane sums, M7's sums handed on, list of deaths buffer,
      applicants' lists, their room);
    * ``consts``: the run's constants (M12's threshold, M7's norm, M4 on, M5 on and its two
      biases, M5's weight table, the cohorts' edges, the survey's cut points, whether to
      prefetch, workplaces, M2's survival table, :data:`.stocks.AGG_SCALE`, the uid chunk);
    * ``ongoing``: the purges and war losses under way (:meth:`.month.Month.purge_op`):
      kind, this month's share, count, target, whether it acts (a purge needs M1), months
      left (counted down here);
    * ``ledger``: the ledger's stocks, levers and flows;
    * ``flow_at``: where each of :data:`.fused.FLOWS` and of the month's own flows (births,
      arrivals, deaths, deaths of members, expulsions for corruption, exits, expulsions,
      deaths in war losses) is in the model's flows;
    * ``run``: (last month's exit rate, max threads, slots per thread, most slots of a one-call
      month, dead share that compacts).
    """
    start, targets = cal
    lev_events, held, held_vals, ramps, i_open, m7_on, open0 = lev
    (commit_thr, norm, ritual_on, p5_on, career_bias, seniority_bias, table, edges, cuts,
     far, n_cells, survival, agg_scale, chunk) = consts
    n, next_uid, peak_n, capacity, n_alive, top, max_uids, compactions = sizes
    taken, whole, dying, ndying, has_last, mark = nxt_in
    o_kinds, o_shares, o_counts, o_targets, o_acts, o_left = ongoing
    alive = arrays[_ALIVE]
    death = arrays[_DEATH]
    builds = 0
    idx, spare, n_idx, ib, bounds, lanes = index
    msum, tsum, tlast, dying_buf, listed_buf, listed_cap = bufs
    led_stocks, led_levers, led_flows = ledger
    last_exit_rate, max_threads, per_thread, one_call_max, dead_share = run
    i_births, i_arrivals, i_deaths, i_deaths_m, i_corrupt, i_exits, i_expelled, i_war = (
        flow_at[_N_FLOWS], flow_at[_N_FLOWS + 1], flow_at[_N_FLOWS + 2],
        flow_at[_N_FLOWS + 3], flow_at[_N_FLOWS + 4], flow_at[_N_FLOWS + 5],
        flow_at[_N_FLOWS + 6], flow_at[_N_FLOWS + 7])
    p2 = ctx.params.demography
    merges = 0
    members_at_start = 0.0
    levers = ctx.levers
    s = s0
    while s < s1:
        # -- stop before a month that is not quiet (nothing of it done yet)
        if stop[s] or n >= one_call_max:
            break
        if max_threads > 1 and n // per_thread >= 2:  # engine.threads_for would give 2+
            break
        month = start + s
        # the month's natural deaths, as record will kill them: listed by last month's pass
        # (if it took them and its list held them all), else those whose month has come
        killed = 0
        for k in range(ndying.shape[0]):
            if ndying[k] < 0:
                taken = False
            killed += ndying[k]
        if not taken:
            killed = 0
            for i in range(n):
                if alive[i] and death[i] <= month:
                    killed += 1
        living = n_alive - killed
        gap = targets[s] - living
        most = max(gap, p2.min_birth_rate / 12.0 * living) + 2.0
        if n + most > capacity or next_uid + most > max_uids:
            break
        # -- record: the levers (ramps advanced), the stocks, the ledger's row
        for r in range(ramps.shape[0]):
            lev_events[np.int64(ramps[r, 0])] = ramp_value(_ramp(ramps, r), s)
        for j in range(levers.shape[0]):
            levers[j] = held_vals[j] if held[j] else lev_events[j]
        openness = levers[i_open] if m7_on else open0
        tot, deaths, deaths_m, tm, tc = stocks_phase(
            bounds, lanes, idx, ib, arrays[_ALIVE][:n], arrays[_BIRTH][:n], arrays[_DEATH][:n],
            arrays[_STATUS][:n], arrays[_MOTIVE][:n], arrays[_BELIEF][:n], arrays[_TRUST][:n],
            arrays[_STAKE][:n], arrays[_CONVERTED][:n], arrays[_LEFT][:n], arrays[_CELL][:n],
            arrays[_JOIN][:n], month, commit_thr, norm, openness,
            m7_on, edges, cuts, True, ritual_on, p5_on, career_bias, seniority_bias, table,
            msum, far, taken, whole, dying, ndying, agg_scale)
        # AgentState.compact: the dead slots squeezed out when they are too many
        n_al = 0
        for i in range(n):
            if alive[i]:
                n_al += 1
        if not (n - n_al) <= dead_share * n:
            for pair in literal_unroll(fills):
                squeeze_fill(pair[0], alive, n, n_al, pair[1])
            squeeze_fill(alive, alive, n, n_al, False)
            n = n_al
            compactions += 1
            # the chunk bounds, the lanes and the member index as the next phases find them
            bounds = chunk_edges(arrays[_UID][:n], next_uid, chunk, top)
            lanes = np.array([0, bounds.shape[0] - 1], dtype=np.int64)
            idx, n_idx = build_index(alive[:n], arrays[_STATUS][:n], bounds, idx)
            ib = positions(idx, n_idx, bounds)
            builds += 1
        led_stocks[s, :] = tot
        led_levers[s, :] = levers
        stocks = ctx.stocks
        for j in range(_N_AGG):
            stocks[AGG[j]] = tot[j]
        with_means(stocks)
        members_at_start = stocks["members"]
        flows = led_flows[s]
        flows[:] = 0
        set_month(ctx, s, month, openness, last_exit_rate)
        # -- demography's plan: the census flows (Month._demography_plan)
        u = _uniforms(ctx.key("demography.round"), 3)
        births, arrivals, prob = m2.census_flows(p2, n_alive - deaths, targets[s], u)
        count = births + arrivals
        if n + count > capacity:
            raise MemoryError("no room for the month's newcomers")
        pick = _uniforms(ctx.key("demography.arrival_age"), arrivals)
        soc_new = m2.OFF
        if count > 0:
            soc_new = or_off(m2.terms(ctx), m2.OFF)
        dem = (n_cells, or_off(prob, -1.0), ctx.key("demography.excess"), births,
               arrivals, pick, soc_new, ctx.key("demography.cell", 0),
               ctx.key("demography.belief"), ctx.key("demography.trust"),
               ctx.key("demography.lifespan", 0), survival, ctx.key("legitimacy.disposition", 0))
        n_new = n + count
        uid_new = next_uid + count
        nchunk = (uid_new + chunk - 1) // chunk
        # -- members (Month._members_args): the sums record took
        pt = m5.terms(ctx)
        pt_v = or_off(pt, m5.OFF)
        mem = (True, tm, tc, ritual_on, pt is not None, pt_v, table, msum)
        # -- adults (Month._adults_args)
        soc = m2.terms(ctx)
        rr = m4.terms(ctx)
        lb = m6.terms(ctx)
        lt = m7.terms(ctx)
        soc_v = or_off(soc, m2.OFF)
        rr_v = or_off(rr, m4.OFF)
        lb_v = or_off(lb, m6.OFF)
        rate = 0.0
        if lt is not None:
            rate = lt.rate
        learn_on = lt is not None and rate > 0
        fresh = learn_on and not has_last
        if fresh:
            use_mark = uid_new
        elif learn_on:
            use_mark = mark
        else:
            use_mark = 0
        nxt = np.zeros((1, _N_NEXT), dtype=np.int64)
        cap = int(n_new * DEATH_LIST_SHARE / 1) + DEATH_LIST_MIN
        if dying_buf.shape[0] < 1 or dying_buf.shape[1] < cap:
            dying_buf = np.zeros((1, cap), dtype=np.uint32)
        dying = dying_buf[:1]
        ndying = np.zeros(1, dtype=np.int64)
        if not m7_on:
            open_next = open0
        elif held[i_open]:
            open_next = held_vals[i_open]
        else:
            open_next = lev_events[i_open]
            for r in range(ramps.shape[0]):
                if np.int64(ramps[r, 0]) == i_open:
                    open_next = ramp_value(_ramp(ramps, r), s + 1)
        adl = (soc is not None, soc_v, rr is not None, rr_v, lb is not None, lb_v, learn_on,
               rate if learn_on else 0.0, fresh, tlast, use_mark, m7_on, tsum, tlast, True,
               commit_thr, norm, open_next, m7_on, cuts, nxt, dying, ndying)
        # -- applications (Month._apply_args)
        rt = m1.terms(ctx)
        rt_v = or_off(rt, m1.OFF)
        if listed_buf.shape[0] != nchunk or listed_buf.shape[1] != listed_cap:
            listed_buf = np.zeros((nchunk, listed_cap), dtype=np.uint32)
        napp = np.zeros(nchunk, dtype=np.int64)
        app = (rt is not None, rt_v, chunk, np.zeros(nchunk), napp, listed_buf)
        # -- members_end (Month._end_args)
        rem = m11.terms(ctx)
        el = m8.terms(ctx)
        ex = m9.terms(ctx)
        end = (rem is not None, or_off(rem, m11.OFF), el is not None, or_off(el, m8.OFF),
               ex is not None, or_off(ex, m9.OFF))
        ct = m1.confirm_terms(ctx)
        # -- purges and war losses under way (Month._purge_ops)
        n_ops = 0
        for k in range(o_kinds.shape[0]):
            if o_left[k] > 0 and o_acts[k]:
                n_ops += 1
        kinds = np.empty(n_ops, dtype=np.int64)
        shares = np.empty(n_ops)
        o_cnt = np.empty(n_ops)
        targets_k = np.empty(n_ops, dtype=np.int64)
        j = 0
        for k in range(o_kinds.shape[0]):
            if o_left[k] > 0 and o_acts[k]:
                kinds[j], shares[j], o_cnt[j], targets_k[j] = (o_kinds[k], o_shares[k],
                                                               o_counts[k], o_targets[k])
                j += 1
        for k in range(o_kinds.shape[0]):
            o_left[k] -= 1
        pur = (kinds, shares, o_cnt, targets_k, ctx.key("recruitment.purge"),
               ctx.key("purges.war"), np.zeros(n_ops, dtype=np.int64))
        counts = np.zeros(_N_FLOWS, dtype=np.int64)
        d, dm, bounds2, lanes2, ib2, out, n_out, ib3, merged = month_phases(
            bounds, lanes, idx, n_idx, spare, ib, arrays, n, next_uid, chunk, top, 1, month,
            far, True, dem, mem, adl, app, ct, pur, end, counts)
        # -- after the phases (Month._demography_done, _adults_done, _apply_done, _merged)
        n = n_new
        next_uid = uid_new
        peak_n = max(peak_n, n)
        flows[i_births] += births
        flows[i_arrivals] += arrivals
        flows[i_deaths] += deaths + d
        flows[i_deaths_m] += deaths_m + dm
        n_alive = n_alive - deaths - d + births + arrivals
        bounds, lanes, ib = bounds2, lanes2, ib2
        has_last = m7_on
        mark = next_uid
        whole = nxt
        if rt is not None:
            most_app = 0
            for c in range(nchunk):
                most_app = max(most_app, napp[c])
            listed_cap = min(APPLICANTS_MAX, max(APPLICANTS_MIN, 2 * most_app))
        if merged:
            spare = idx
            idx = out
            n_idx = n_out
            ib = ib3
            merges += 1
        for k in range(_N_FLOWS):
            flows[flow_at[k]] += counts[k]
        flows[i_corrupt] += counts[_END]
        taken = True
        for k in range(n_ops):
            lost = pur[6][k]
            if kinds[k] == PURGE:
                flows[i_expelled] += lost
            else:  # Month._war_losses: next month's stocks, taken by the pass, are dropped
                n_alive -= lost
                flows[i_war] += lost
                flows[i_deaths] += lost
                flows[i_deaths_m] += lost
                if lost:
                    taken = False
        # -- record's flows
        last_exit_rate = flows[i_exits] / max(members_at_start, 1.0)
        s += 1
    return (s, n, next_uid, peak_n, n_alive, compactions, taken, whole, dying, ndying, has_last,
            mark, idx, spare, n_idx, ib, bounds, lanes, dying_buf, listed_buf, listed_cap,
            merges, builds, last_exit_rate, members_at_start)


# -- the Python side: from the model's objects to :func:`months` and back ------------------


class Stretches:
    """What :func:`months` needs that stays the same through a run (made when first asked:
    the months that never run in a stretch, the census targets, the compiled context, the
    constants), and :meth:`run`, which hands a stretch the month's state and puts back what
    it changed."""

    def __init__(self, mo) -> None:
        from ... import engine
        from ...mechanisms import MODULES
        from ...mechanisms.compiled import values
        from ...state import MAX_UIDS
        from .schema import LEVER_NAMES
        from .stocks import AGG_SCALE, COHORT_EDGES

        m = mo.m
        n = m.n_steps()
        self.stop = np.array([s in m._timeline or s in m._state_steps
                              or m.month(s) == SENIORITY_MONTH or m.month(s) in m._wave_months
                              for s in range(n)], dtype=np.bool_)
        self.cal = (np.int64(m.start), np.array([m.population_target(m.month(s) + 1) * m.scale
                                                 for s in range(n)]))
        #: the compiled context, made when a stretch first runs (a run too large for
        #: stretches never needs it)
        self.ctx = None
        self._ctx_args = (values(m.params, MODULES), LEVER_NAMES, m.seed)
        self.lever_names = LEVER_NAMES
        p5, p7 = m.params.privilege, m.params.openness
        self.consts = (m.params.commitment.threshold, p7.norm, m.params.ritual.enabled,
                       p5.enabled, p5.career_bias, p5.seniority_bias,
                       mo.weights(0, p5.career_bias, p5.seniority_bias), COHORT_EDGES,
                       m.survey_cuts, mo._far(), np.int64(m.n_cells), mo.survival, AGG_SCALE,
                       np.int64(engine.CHUNK))
        names = m.flow_names
        self.flow_at = np.array([names.index(f) for f in FLOWS]
                                + [names.index(f) for f in ("births", "arrivals", "deaths",
                                                            "deaths_members",
                                                            "expelled_corruption", "exits",
                                                            "expelled", "war_deaths_members")],
                                dtype=np.int64)
        self.max_uids = np.int64(MAX_UIDS)
        self.i_open = np.int64(LEVER_NAMES.index("openness"))

    def ready(self, mo, step: int) -> bool:
        """Whether month ``step`` may start a stretch (:func:`months` checks the rest)."""
        from .lanes import threads_in_use

        m, c = mo.m, mo.carry
        if self.stop[step] or not m.params.demography.enabled:
            return False
        if not (m.FUSE_DEATHS and m.TAKE_STOCKS and mo._one_call()) or threads_in_use() != 1:
            return False
        return c.deaths is None and c.member_sums is None and c.applicants is None

    def run(self, mo, step: int, until: int, max_threads: int) -> int:
        """Run the quiet months from ``step`` up to ``until`` (:func:`months`); returns how
        many ran."""
        from ... import engine
        from ...mechanisms.compiled import month_context
        from ...state import COMPACT_DEAD_SHARE
        from .carry import NextStocks, TrustSums
        from .fused import COLUMNS, ONE_CALL_MAX_SLOTS

        m, st, c = mo.m, mo.m.state, mo.carry
        names = self.lever_names
        p7 = m.params.openness
        ramps = np.array([[names.index(k), r[0], r[1], r[2], r[3]] for k, r in m._ramps.items()],
                         dtype=np.float64).reshape(-1, 5)
        lev = (np.array([m._levers[k] for k in names], dtype=np.float64),
               np.array([k in m._held for k in names], dtype=np.bool_),
               np.array([m._held.get(k, 0.0) for k in names], dtype=np.float64), ramps,
               self.i_open, bool(p7.enabled), float(m.scenario.levers.openness))
        nx, ts = c.next_stocks, c.trust_sums
        taken = nx is not None and nx.key == (step, st.compactions, st.n)
        if nx is None:  # (not read: the stocks pass counts everyone)
            nx = NextStocks((), np.zeros(2, dtype=np.int64), np.zeros((1, len(NEXT)),
                            dtype=np.int64), mo._dying[:1], np.zeros(1, dtype=np.int64))
        has_last = ts is not None and ts.key == step
        going = list(m.ongoing)
        ops = [mo.purge_op(kind, ev) for kind, ev, _ in going]
        ongoing = (np.array([o[0] if o else 0 for o in ops], dtype=np.int64),
                   np.array([o[1] if o else 0.0 for o in ops], dtype=np.float64),
                   np.array([o[2] if o else 0.0 for o in ops], dtype=np.float64),
                   np.array([m1.PURGE_TARGETS.index(o[3]) if o and o[0] == PURGE else 0
                             for o in ops], dtype=np.int64),
                   np.array([o is not None for o in ops], dtype=np.bool_),
                   np.array([left for _, _, left in going], dtype=np.int64))
        bounds, idx, ib = mo._index()
        lanes = mo._lanes(bounds)[0]
        msum, tsum = mo._lane_buffers(1)
        if mo._tlast.shape[0] != m.n_cells:
            mo._tlast = np.zeros(m.n_cells, dtype=np.int64)
        led = m.ledger
        if self.ctx is None:
            self.ctx = month_context(*self._ctx_args)
        out = months(
            np.int64(step), np.int64(until), self.stop, self.ctx, self.cal, lev,
            tuple([st.arrays[k] for k in COLUMNS]),
            tuple([(st.arrays[k], st.fields[k].fill) for k in COLUMNS if k != "alive"]),
            (np.int64(st.n), np.int64(st.next_uid), np.int64(st.peak_n),
             np.int64(st.capacity), np.int64(m.n_alive), np.int64(st.uid_top()),
             self.max_uids, np.int64(st.compactions)),
            (taken, nx.whole, nx.dying, nx.ndying, has_last,
             np.int64(ts.mark if has_last else 0)),
            (mo.index.idx, mo.index.spare, np.int64(mo.index.n), ib, bounds, lanes),
            (msum, tsum, mo._tlast, mo._dying, mo._listed, np.int64(mo._listed_cap)),
            self.consts, ongoing, (led.stocks, led.levers, led.flows), self.flow_at,
            (float(m.last_exit_rate), np.int64(max_threads), np.int64(engine.PARALLEL_MIN_SLOTS),
             np.int64(ONE_CALL_MAX_SLOTS), float(COMPACT_DEAD_SHARE)))
        (end, n, next_uid, peak_n, n_alive, compactions, taken, whole, dying, ndying, has_last,
         mark, idx, spare, n_idx, ib, bounds, lanes, mo._dying, mo._listed, listed_cap, merges,
         builds, exit_rate, at_start) = out
        done = int(end) - step
        if done == 0:
            return 0
        st.n, st.next_uid, st.peak_n = int(n), int(next_uid), int(peak_n)
        st.compactions = int(compactions)
        m.n_alive = int(n_alive)
        m.ongoing = [(kind, ev, int(left)) for (kind, ev, _), left
                     in zip(going, ongoing[5].tolist(), strict=True) if left > 0]
        mo._listed_cap = int(listed_cap)
        c.next_stocks = (NextStocks((int(end), st.compactions, st.n), lanes, whole, dying, ndying)
                         if taken else None)
        c.trust_sums = TrustSums(int(end), int(mark), mo._tlast) if has_last else None
        c.ctx = None
        ix = mo.index
        ix.idx, ix.spare, ix.n = idx, spare, int(n_idx)
        ix.version += int(merges) + int(builds)
        ix.key = (st.compactions,)
        m.adopt_bounds(bounds)
        mo._lanes_cut = (bounds, 1, lanes)
        mo._ib = (bounds, ix.version, ib)
        last = int(end) - 1
        m._advance_ramps(last)
        m.agg = with_means(dict(zip(AGG, led.stocks[last].tolist(), strict=True)))
        m.flows = dict(zip(m.flow_names, led.flows[last].tolist(), strict=True))
        m.last_exit_rate = float(exit_rate)
        m._members_at_start = float(at_start)
        mo._done = last
        return done

