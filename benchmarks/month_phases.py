"""Per-phase cost of the month from one saved mid-run state, in ns per living agent.

    PYTHONPATH=src python benchmarks/month_phases.py save --scale 0.01 --until 1960-01
    PYTHONPATH=src python benchmarks/month_phases.py time --scale 0.01 --threads 1

    PYTHONPATH=src python benchmarks/month_phases.py time --scale 0.01 --threads 2 --tile 100
    PYTHONPATH=src python benchmarks/month_phases.py time --scale 0.01 --threads 2 --tile 100 \
        --profile   # and each kernel's share (cProfile; the phase totals then include its overhead)
    PYTHONPATH=src python benchmarks/month_phases.py time --scale 0.01 --threads 2 --tile 100 \
        --split     # adults_pass, learning_pass and one_pass alone, with one part left out each
    PYTHONPATH=src python benchmarks/month_phases.py time --scale 0.01 --m7-order sequential
                    # the month with M7 in the given order (default: the saved run's)

``save`` runs ``cpsu`` (seed 1) up to the given month and pickles the runner; ``time`` loads it,
runs 2 warm-up months, then times 24 months and prints each phase's seconds per living agent
and month. Every ``time`` call starts from the same state, so two source trees
(``PYTHONPATH=...``) can be compared on equal work; timings on a shared machine vary by tens
of percent, so alternate the trees and take medians. Used for the per-pass figures "from a
1960 state" in docs/PERFORMANCE.md.

``--tile K`` times a state K times larger: K copies of the saved agents, each with its own uids
(the model's scale, workplaces and population multiplied by K). Each agent works in its
workplace's counterpart in a copy drawn at random, so that neighbouring agents work anywhere
in the whole range of workplaces, as in a 1:1 run (had each copy kept its own workplaces,
those of the copy being processed would fit in the L2 cache and hide the misses that cost a
1:1 run much of its time). With
``--scale 0.01 --tile 100`` this is a 1:1 state of 1960 (~210 million agents, 461,500
workplaces: arrays as large as a 1:1 run's, the same cache behaviour) in a few minutes instead
of the ~50 minutes a 1:1 run takes to reach 1960. The copies are not a 1:1 run (their agents
repeat), so only the timings are used, never the outputs.
"""

from __future__ import annotations

import argparse
import json
import pickle
from pathlib import Path

import numpy as np


def tile(runner, k: int) -> None:
    """Replace the runner's state by ``k`` copies of it (see the module docstring)."""
    m = runner.model
    st = m.state
    n = st.n
    cap = int(n * k * 1.05) + 16  # room for the births of the timed months
    for name in list(st.arrays):
        old = st.arrays[name][:n]
        new = np.full(cap, st.fields[name].fill, dtype=old.dtype)
        for j in range(k):
            part = new[j * n : (j + 1) * n]
            part[:] = old
            if name == "uid":
                part += old.dtype.type(j * st.next_uid)
        if name == "cell":  # each agent in the same workplace of a random copy (as at 1:1)
            rng = np.random.default_rng(0)
            for j in range(k):
                part = new[j * n : (j + 1) * n]
                part += (rng.integers(0, k, n) * m.n_cells).astype(part.dtype)
        st.arrays[name] = new
    st.capacity = st.peak_capacity = cap
    st.n = st.peak_n = n * k
    st.next_uid *= k
    m.n_cells *= k
    m.scale *= k
    m.n_alive *= k
    m._bounds_key = None
    m.passes.index.key = None
    m.passes._lane_bufs = None
    m.passes.carry.trust_sums = None  # M7's sums are per workplace: taken again


def split_kernels(runner, repeat: int = 5) -> dict[str, float]:
    """``one_pass``, ``adults_pass`` and ``learning_pass`` called alone on the state (median of
    ``repeat`` calls after one, ns per living agent), whole and with one part left out each:
    in ``one_pass`` M7 learning or next month's stocks; in ``adults_pass`` the non-members'
    workplace sums (``learn_on`` off), the members (an empty member index); M7 alone and
    next month's stocks alone. The calls change the state; only timings are used."""
    from _timing import call_times

    from allegiance.mechanisms import demography as m2
    from allegiance.mechanisms import legitimacy as m6
    from allegiance.mechanisms import ritual as m4
    from allegiance.models.cpsu import adults as kadults
    from allegiance.models.cpsu import stocks as kstocks

    m = runner.model
    st, mo, step = m.state, m.passes, runner.step
    bounds, idx, ib = mo._index()
    lanes, msum, _ = mo._lanes(bounds)
    tsum = np.zeros((lanes.shape[0] - 1, m.n_cells), np.int64)
    no_members = np.zeros_like(ib)
    nl = lanes.shape[0] - 1
    nxt = np.zeros((nl, len(kstocks.NEXT)), np.int64)
    dying = np.zeros((nl, int(st.n * kstocks.DEATH_LIST_SHARE / nl) + kstocks.DEATH_LIST_MIN),
                     np.uint32)
    ndying = np.zeros(nl, np.int64)
    v = st.view

    ctx = m.context(step)

    def adults(learn_on, members):
        kadults.adults_pass(bounds, lanes, idx, ib if members else no_members, v("alive"),
                            v("birth"), v("status"), v("cell"), v("uid"), v("belief"),
                            v("trust"), v("disposition"), m.month(step), False, m2.OFF, True,
                            msum,
                            m4.terms(ctx), True, m6.terms(ctx), learn_on, tsum, mo._far())

    def learning(learn, stocks):
        kadults.learning_pass(bounds, lanes, v("alive"), v("birth"), v("death"), v("cell"),
                         v("belief"), v("trust"), m.month(step), learn, 0.05, tsum, stocks,
                         0.5, 0.5, 0.5, True, m.survey_cuts, nxt, dying, ndying)

    pairs = np.zeros((nl, m.n_cells), np.int64)
    last = np.zeros(m.n_cells, np.int64)
    kadults.trust_sums_pass(bounds, lanes, v("alive"), v("cell"), v("trust"), pairs)
    kadults.sum_lanes(pairs, nl, last)

    def one(learn_on, stocks):
        kadults.one_pass(bounds, lanes, idx, ib, v("alive"), v("birth"), v("death"),
                         v("status"), v("cell"), v("uid"), v("belief"), v("trust"),
                         v("disposition"), m.month(step), False, m2.OFF, True, msum,
                         m4.terms(ctx), True, m6.terms(ctx), learn_on, 0.05, last,
                         st.next_uid, True, pairs, stocks, 0.5, 0.5, 0.5, True,
                         m.survey_cuts, nxt, dying, ndying, mo._far())

    variants = {"one_pass": (one, True, True), "one_pass_no_learning": (one, False, True),
                "one_pass_no_stocks": (one, True, False),
                "one_pass_neither": (one, False, False),
                "adults": (adults, True, True), "adults_no_sums": (adults, False, True),
                "adults_no_members": (adults, True, False),
                "adults_no_members_no_sums": (adults, False, False),
                "learning": (learning, True, True), "learning_m7_only": (learning, True, False),
                "learning_stocks_only": (learning, False, True)}
    n = st.n_alive
    return {name: round(float(np.median(call_times(f, x, y, repeat=repeat))) / n * 1e9, 2)
            for name, (f, x, y) in variants.items()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["save", "time"])
    ap.add_argument("--scale", type=float, default=0.01)
    ap.add_argument("--until", default="1960-01", help="month of the saved state (YYYY-MM)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--tile", type=int, default=1, help="time K copies of the state")
    ap.add_argument("--profile", action="store_true",
                    help="also print each compiled kernel's time (cProfile over the months)")
    ap.add_argument("--split", action="store_true",
                    help="instead of the months, time adults_pass and learning_pass alone, "
                         "in variants that leave out one part each (split_kernels)")
    ap.add_argument("--m7-order", choices=["synchronous", "sequential"], default=None,
                    help="time the month with M7 in this order (run.m7_order)")
    ap.add_argument("--state", type=Path, default=None,
                    help="pickle file (default: /tmp/allegiance_month_phases_SCALE.pkl)")
    a = ap.parse_args(argv)
    import numba

    from allegiance.calendar import parse_month
    from allegiance.engine import Runner
    from allegiance.models.cpsu import CpsuModel
    from allegiance.scenario import load_scenario

    path = a.state or Path(f"/tmp/allegiance_month_phases_{a.scale:g}.pkl")
    if a.mode == "save":
        m = CpsuModel(load_scenario("cpsu"), seed=1, scale=a.scale)
        r = Runner(m)
        r.advance(until=parse_month(a.until) - m.start)
        r.phases = None  # closures: rebuilt after loading
        path.write_bytes(pickle.dumps(r, protocol=5))
        print(f"saved {path}: step {r.step}, {m.state.n_alive:,} living agents")
        return
    import allegiance.models.cpsu.month as month_mod

    # each phase timed on its own: below ONE_CALL_MAX_SLOTS a quiet month would otherwise run
    # its phases from demography on in one compiled call (timed as demography's)
    month_mod.ONE_CALL_MAX_SLOTS = 0
    r = pickle.loads(path.read_bytes())
    if a.tile > 1:
        tile(r, a.tile)
    if a.m7_order is not None:
        m = r.model
        m.scenario = m.scenario.model_copy(
            update={"run": m.scenario.run.model_copy(update={"m7_order": a.m7_order})})
        m.passes.synchronous = a.m7_order == "synchronous"
        m.passes._lane_bufs = None
        m.passes.carry.trust_sums = None  # taken again in the first month
    r.phases = r.model.phases()
    numba.set_num_threads(a.threads)
    r.advance(until=r.step + 2)  # warm-up: kernels loaded, buffers allocated
    if a.split:
        print(json.dumps({"threads": a.threads, "tile": a.tile, "ns_per_agent_month":
                          split_kernels(r)}))
        return
    before = dict(r.timing)
    prof = None
    if a.profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    r.advance(until=r.step + 24)
    n = r.model.state.n_alive
    if prof is not None:
        import pstats

        prof.disable()
        stats = pstats.Stats(prof).stats  # (file, line, name) -> (..., cumulative time, ...)
        top = sorted(((v[2], k[2]) for k, v in stats.items()), reverse=True)[:16]
        print(json.dumps({"kernels_ns_per_agent_month":
                          {name: round(t / 24 / n * 1e9, 2) for t, name in top}}))
    ns = {k: round((r.timing[k] - before[k]) / 24 / n * 1e9, 2) for k in r.timing}
    print(json.dumps({"threads": a.threads, "tile": a.tile, "agents": n, "ns_per_agent_month": ns,
                      "total": round(sum(ns.values()), 2)}))


if __name__ == "__main__":
    main()
