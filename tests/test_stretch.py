"""Quiet months in one compiled call (models/cpsu/stretch.py) and the compiled terms behind
them (mechanisms/compiled.py): the same results as the months one at a time, bit for bit."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import pytest

import allegiance
from allegiance.engine import Runner
from allegiance.mechanisms import MODULES, compiled
from allegiance.mechanisms import demography as m2
from allegiance.mechanisms import elite as m8
from allegiance.mechanisms import exit as m9
from allegiance.mechanisms import legitimacy as m6
from allegiance.mechanisms import openness as m7
from allegiance.mechanisms import privilege as m5
from allegiance.mechanisms import recruitment as m1
from allegiance.mechanisms import remedies as m11
from allegiance.mechanisms import ritual as m4
from allegiance.models.cpsu import CpsuModel
from allegiance.models.cpsu import stretch as cpsu_stretch
from allegiance.models.cpsu.schema import LEVER_NAMES
from conftest import SMALL

CPSU_SCENARIOS = ("cpsu", "cpsu_criticism", "cpsu_no_glasnost", "cpsu_no_secret_speech",
                  "cpsu_remedies", "cpsu_selective")

TERMS = (m2.terms, m4.terms, m6.terms, m7.terms, m5.terms, m1.terms, m1.confirm_terms,
         m11.terms, m8.terms, m9.terms)


def _counted(monkeypatch) -> dict[str, int]:
    """Count the months that ran in stretches."""
    seen = {"months": 0}
    run = cpsu_stretch.Stretches.run

    def counted(self, mo, step, until, max_threads):
        k = run(self, mo, step, until, max_threads)
        seen["months"] += k
        return k

    monkeypatch.setattr(cpsu_stretch.Stretches, "run", counted)
    return seen


def _same(a: allegiance.Result, b: allegiance.Result) -> None:
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries, check_exact=True)
    pd.testing.assert_frame_equal(a.events, b.events, check_exact=True)
    assert a.summary == b.summary


@pytest.mark.parametrize("name", CPSU_SCENARIOS)
def test_stretches_change_nothing_in_any_bundled_cpsu_scenario(monkeypatch, name):
    seen = _counted(monkeypatch)
    fast = allegiance.run(name, scale=SMALL, seed=5, threads=1)
    assert seen["months"] > 400, seen  # most months are quiet
    assert fast.manifest["phase_seconds"]["stretch"] > 0
    monkeypatch.setattr(CpsuModel, "STRETCH", False)
    _same(fast, allegiance.run(name, scale=SMALL, seed=5, threads=1))
    assert seen["months"] > 400


@pytest.mark.parametrize("off", ["openness", "ritual", "privilege", "legitimacy", "exit",
                                 "elite", "recruitment"])
def test_stretches_change_nothing_with_a_mechanism_switched_off(monkeypatch, off):
    over = {f"mechanisms.{off}.enabled": False, "run.end": "1960-12"}
    seen = _counted(monkeypatch)
    fast = allegiance.run("cpsu", scale=SMALL, seed=2, threads=1, overrides=over)
    assert seen["months"] > 100
    monkeypatch.setattr(CpsuModel, "STRETCH", False)
    _same(fast, allegiance.run("cpsu", scale=SMALL, seed=2, threads=1, overrides=over))


def test_a_stretch_stops_at_a_checkpoint_and_resumes_the_same(tmp_path):
    # the checkpoint month is in the middle of quiet years: the stretch stops there and the
    # run resumed from the file goes on in stretches, to the same results as the whole run
    ck = tmp_path / "ck.npz"
    whole = allegiance.run("cpsu", scale=SMALL, seed=4, threads=1, checkpoint_at="1966-05",
                           checkpoint_path=ck)
    _same(whole, allegiance.run("cpsu", resume_from=ck, threads=1))


def test_the_living_the_model_counts_are_the_living_slots():
    # a stretch predicts compaction from the model's count of the living: it must be the
    # count of living slots at every month's start
    m = CpsuModel(allegiance.load_scenario("cpsu"), seed=3, scale=SMALL)
    r = Runner(m)
    for step in range(0, 880, 37):
        r.advance(step)
        assert m.n_alive == int(np.count_nonzero(m.state.view("alive"))), step


def test_compiled_terms_equal_the_mechanisms_python_terms():
    """Every mechanism's terms, compiled with a MonthContext, against the same function in
    Python with the month's Context, over a run's months (levers, ramps and stocks moving)."""
    from numba import njit

    @njit
    def all_terms(ctx):
        return (m2.terms(ctx), m4.terms(ctx), m6.terms(ctx), m7.terms(ctx), m5.terms(ctx),
                m1.terms(ctx), m1.confirm_terms(ctx), m11.terms(ctx), m8.terms(ctx),
                m9.terms(ctx))

    sc = allegiance.load_scenario("cpsu_remedies")  # every mechanism has terms some months
    m = CpsuModel(sc, seed=1, scale=SMALL)
    r = Runner(m)
    jc = compiled.month_context(compiled.values(m.params, MODULES), LEVER_NAMES, m.seed)
    compared = 0
    for step in range(3, 880, 29):
        r.advance(step)
        ctx = m.context(step)  # the context as the step's stocks stand (record not run)
        compiled.set_month(jc, step, ctx.month, ctx.openness, ctx.last_exit_rate)
        jc.levers[:] = [ctx.levers[k] for k in LEVER_NAMES]
        stocks = jc.stocks
        for k, v in ctx.stocks.items():
            stocks[k] = float(v)
        got = all_terms(jc)
        for f, g in zip(TERMS, got, strict=True):
            want = f(ctx)
            assert (g is None) == (want is None), (step, f.__module__)
            if want is not None:
                assert tuple(g) == tuple(want), (step, f.__module__)
                compared += 1
    assert compared > 200


def test_stream_keys_of_compiled_code_are_the_runs_keys():
    from allegiance.rng import Streams

    m = CpsuModel(allegiance.load_scenario("cpsu"), seed=123, scale=SMALL)
    jc = compiled.month_context(compiled.values(m.params, MODULES), LEVER_NAMES, 123)
    rng = Streams(123)
    for stream in ("exit.leave", "demography.round", "a.new.stream"):
        assert int(compiled.crc32(stream)) == zlib.crc32(stream.encode())  # rng.stream_id
        for step in (0, 1, 889, 5000):
            assert compiled.stream_key(jc, stream, step) == rng.key(stream, step)


def test_a_run_copied_part_way_goes_on_the_same():
    # calibration copies a run part-way (copy.deepcopy of the Runner) and tries alternatives
    # from the copy: the copy makes its own compiled context and gives the same months
    import copy

    m = CpsuModel(allegiance.load_scenario("cpsu"), seed=1, scale=SMALL)
    r = Runner(m)
    r.advance(300)
    assert m.passes._stretches is not None  # stretches ran before the copy
    other = copy.deepcopy(r)
    other.advance()
    r.advance()
    pd.testing.assert_frame_equal(r.timeseries(), other.timeseries(), check_exact=True)
