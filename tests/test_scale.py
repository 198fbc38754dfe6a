"""Scale machinery: thread-count independence, the memory estimate and its refusal."""

from __future__ import annotations

import inspect

import numba
import numpy as np
import pandas as pd
import pytest

import allegiance
from allegiance import engine
from allegiance.models.cpsu import CpsuModel
from allegiance.scenario import load_scenario
from conftest import cli

SHORT = {"run.end": "1925-12"}  # civil war, famine, the 1921 purge, the Lenin Enrolment


def _run(scale: float, threads: int) -> allegiance.Result:
    return allegiance.run("cpsu", scale=scale, seed=3, threads=threads, overrides=SHORT)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads")
@pytest.mark.parametrize("scale", [1e-4, 2e-4])
def test_one_and_two_threads_bit_identical(monkeypatch, scale):
    # small chunks and no thread threshold, so 2 threads really split the work
    monkeypatch.setattr(engine, "CHUNK", 1 << 11)
    monkeypatch.setattr(engine, "PARALLEL_MIN_SLOTS", 1 << 10)
    one, two = _run(scale, 1), _run(scale, 2)
    assert one.manifest["threads"] == 1
    assert two.manifest["threads"] == 2
    assert one.timeseries["population"].iloc[-1] > 10_000  # a real run, not an empty one
    pd.testing.assert_frame_equal(one.timeseries, two.timeseries, check_exact=True)
    assert one.summary == two.summary


def test_threads_for_uses_fewer_threads_on_small_populations():
    assert engine.threads_for(1000, 2) == 1
    assert engine.threads_for(engine.PARALLEL_MIN_SLOTS * 2, 2) == 2
    assert engine.threads_for(engine.PARALLEL_MIN_SLOTS * 100, 2) == 2
    assert engine.threads_for(0, 2) == 2


def test_state_is_allocated_at_its_predicted_peak():
    r = allegiance.run("cpsu", scale=1e-4, seed=3, overrides=SHORT)
    m = r.manifest
    sc = load_scenario("cpsu", SHORT)
    assert m["state_peak_capacity"] == CpsuModel.peak_slots(sc, 1e-4)  # never had to grow
    assert 0.7 * m["state_peak_capacity"] < m["state_peak_slots"] <= m["state_peak_capacity"]
    assert m["state_bytes_per_slot"] + CpsuModel.SCRATCH_BYTES == CpsuModel._bytes_per_slot()


def test_memory_estimate_grows_linearly_with_scale():
    sc = load_scenario("cpsu")
    e = np.array([CpsuModel.memory_estimate(sc, s) for s in (0.01, 0.1, 1.0)])
    state = np.array([CpsuModel.peak_slots(sc, s) * CpsuModel._bytes_per_slot()
                      for s in (0.01, 0.1, 1.0)])
    assert state[2] == pytest.approx(100 * state[0], rel=1e-3)
    assert (e > state + CpsuModel.BASE_BYTES).all()  # plus a transient (setup or crisis)
    crisis = state[2] / CpsuModel._bytes_per_slot() * CpsuModel.CRISIS_BYTES
    # at 1:1 the crisis transient dominates; the member index and lanes add under 1 byte/slot
    assert 0 < e[2] - (state[2] + crisis + CpsuModel.BASE_BYTES) < 0.05 * state[2]
    assert 8e9 < e[2] < 12e9  # 1:1 is ~290 million agents, within the 12 GB target


def test_impossible_scale_refused_with_exit_code_2():
    p = cli("run", "cpsu", "--scale", "1", "--out", "/nonexistent/never-written",
            env={"ALLEGIANCE_AVAILABLE_MEMORY": str(4 * 2**30)})
    assert p.returncode == 2, p.stderr
    msg = " ".join(p.stderr.split())
    assert "scale 1 needs about" in msg
    need = CpsuModel.memory_estimate(load_scenario("cpsu"), 1.0) / 2**30
    assert f"{need:.1f} GiB" in msg
    assert "4.0 GiB is available" in msg


def test_results_do_not_depend_on_compaction_or_setup_blocks(monkeypatch):
    # reductions are chunked by uid range, so squeezing out the dead at other times (or
    # setting up the initial agents in other blocks) cannot change a single bit
    from allegiance import state

    monkeypatch.setattr(engine, "CHUNK", 1 << 11)
    base = _run(2e-4, 1)
    monkeypatch.setattr(state, "COMPACT_DEAD_SHARE", 1 / 40)
    monkeypatch.setattr(CpsuModel, "SETUP_BLOCK", 997)
    other = _run(2e-4, 1)
    assert other.manifest["state_compactions"] > base.manifest["state_compactions"] > 0
    pd.testing.assert_frame_equal(base.timeseries, other.timeseries, check_exact=True)
    assert base.summary == other.summary


def test_nth_alive_matches_an_index_of_the_living():
    from allegiance.mechanisms.demography import nth_alive

    rng = np.random.default_rng(5)
    alive = rng.random(1000) < 0.6
    living = np.flatnonzero(alive)
    ks = np.sort(rng.integers(0, living.size, 50))
    assert np.array_equal(nth_alive(alive, ks), living[ks])


def test_deaths_drawn_in_the_stocks_pass_change_nothing(monkeypatch):
    # fused, the stocks pass also takes the members' sums of the members phase, which takes
    # them again only in months when excess deaths killed members after the stocks pass
    from allegiance.models.cpsu import month as cpsu_month

    calls = {"taken": 0, "changed": 0}
    demography, members = cpsu_month.Month.demography, cpsu_month.Month.members
    monkeypatch.setattr(cpsu_month, "ONE_CALL_MAX_SLOTS", 0)  # the phases one at a time

    def counted_demography(self, step):
        had = self.carry.member_sums is not None
        demography(self, step)
        calls["changed"] += had and self.carry.member_sums is None

    def counted_members(self, step):
        calls["taken"] += self.carry.member_sums is not None
        members(self, step)

    monkeypatch.setattr(cpsu_month.Month, "demography", counted_demography)
    monkeypatch.setattr(cpsu_month.Month, "members", counted_members)
    base = _run(2e-4, 1)
    assert calls["taken"] > 90 and calls["changed"] > 2  # both paths ran
    monkeypatch.setattr(CpsuModel, "FUSE_DEATHS", False)
    other = _run(2e-4, 1)
    assert base.timeseries["deaths"].sum() > 0
    pd.testing.assert_frame_equal(base.timeseries, other.timeseries, check_exact=True)
    pd.testing.assert_frame_equal(base.events, other.events, check_exact=True)


def test_stocks_taken_by_the_learning_pass_change_nothing(monkeypatch):
    # the learning pass takes next month's stocks of the whole population and lists its
    # natural deaths; record counts only the members. Not after war losses (1941-45), nor at
    # the start, nor when the list of deaths is full: then the stocks pass counts everyone
    from allegiance.models.cpsu import month as cpsu_month

    calls = {"taken": 0, "not": 0}
    f = cpsu_month.Month.stocks
    monkeypatch.setattr(CpsuModel, "STRETCH", False)  # every month through Month.stocks

    def counted(self, step, with_deaths=False, use_next=False, into=None):
        if use_next:
            nx = self.carry.next_stocks
            st = self.m.state
            ok = nx is not None and nx.key == (step, st.compactions, st.n)
            calls["taken" if ok else "not"] += 1
        return f(self, step, with_deaths, use_next, into)

    monkeypatch.setattr(cpsu_month.Month, "stocks", counted)
    base = allegiance.run("cpsu", scale=1e-4, seed=3)
    assert calls["taken"] > 800 and 45 < calls["not"] < 60
    monkeypatch.setattr(CpsuModel, "TAKE_STOCKS", False)
    other = allegiance.run("cpsu", scale=1e-4, seed=3)
    assert calls["taken"] + calls["not"] == 890
    pd.testing.assert_frame_equal(base.timeseries, other.timeseries, check_exact=True)
    pd.testing.assert_frame_equal(base.events, other.events, check_exact=True)
    short = _run(1e-4, 1)
    monkeypatch.setattr(CpsuModel, "TAKE_STOCKS", True)
    monkeypatch.setattr(cpsu_month, "DEATH_LIST_SHARE", 0.0)
    monkeypatch.setattr(cpsu_month, "DEATH_LIST_MIN", 1)
    full = {"passes": 0}
    g = cpsu_month.stocks_phase
    taken_at = list(inspect.signature(g.py_func).parameters).index("taken")

    def counted_phase(*a):
        full["passes"] += not a[taken_at]  # a pass over every slot
        return g(*a)

    monkeypatch.setattr(cpsu_month, "stocks_phase", counted_phase)
    before = calls["taken"]
    pd.testing.assert_frame_equal(_run(1e-4, 1).timeseries, short.timeseries, check_exact=True)
    assert calls["taken"] - before > 90 and full["passes"] > 90


def test_prefetching_changes_nothing(monkeypatch):
    # at 1:1 the passes prefetch workplace sums (arrays over PREFETCH_MIN_BYTES); force that
    # path at a small scale: a hint to the CPU, it must not change a bit
    from allegiance.models.cpsu import month as cpsu_month

    base = _run(2e-4, 1)
    monkeypatch.setattr(cpsu_month, "PREFETCH_MIN_BYTES", 0)
    other = _run(2e-4, 1)
    pd.testing.assert_frame_equal(base.timeseries, other.timeseries, check_exact=True)
    assert base.summary == other.summary


def test_classic_models_run_small_populations_on_one_thread():
    """Every model says how many agents a step loops over, so a small one runs on one thread
    (two threads on a tiny lattice only wait on each other, worst on a busy machine)."""
    from allegiance.registry import model_class

    for name in ("emperor", "epstein_run1", "granovetter", "kuran", "epstein2_nasty"):
        sc = allegiance.load_scenario(name)
        m = model_class(sc.model)(sc, seed=1, scale=sc.run.scale)
        m.setup()
        assert 0 < m.work_size() < engine.PARALLEL_MIN_SLOTS, name
        assert engine.threads_for(m.work_size(), 2) == 1


def test_phases_in_one_compiled_call_change_nothing(monkeypatch):
    # in a quiet month of a small run the phases from demography to members_end run in one
    # compiled call; above ONE_CALL_MAX_SLOTS (here: always) they are called one at a time.
    # Months with an event that needs the agents before the phases (then record does not
    # draw the month's deaths) are called one at a time either way
    from allegiance.models.cpsu import month as cpsu_month

    calls = {"one": 0}
    f = cpsu_month.Month._month_phases
    monkeypatch.setattr(CpsuModel, "STRETCH", False)  # quiet months one at a time

    def counted(self, step):
        calls["one"] += 1
        f(self, step)

    monkeypatch.setattr(cpsu_month.Month, "_month_phases", counted)
    base = allegiance.run("cpsu", scale=1e-4, seed=5, threads=2)
    assert 850 < calls["one"] < 890  # not in the months of shocks, the crisis and the ban
    monkeypatch.setattr(cpsu_month, "ONE_CALL_MAX_SLOTS", 0)
    other = allegiance.run("cpsu", scale=1e-4, seed=5, threads=2)
    assert calls["one"] < 890
    ts = base.timeseries
    for col in ("joins", "promotions", "arrivals", "expelled", "war_deaths_members"):
        assert ts[col].sum() > 0, col
    pd.testing.assert_frame_equal(base.timeseries, other.timeseries, check_exact=True)
    pd.testing.assert_frame_equal(base.events, other.events, check_exact=True)
    assert base.summary == other.summary
