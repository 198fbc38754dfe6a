"""The reference engine (plain loops, one agent at a time) and the fused engine give the same
results, bit for bit, over whole runs: with M7 synchronous (the one-pass month, the default)
and sequential (the order before issue 18, kept for one release)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import allegiance


def _run(engine: str, scenario: str = "cpsu", threads: int = 1, **over):
    o = {"run.engine": engine, **over}
    return allegiance.run(scenario, scale=1e-4, seed=7, threads=threads, overrides=o)


def _assert_same(a, b) -> None:
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries, check_exact=True)
    pd.testing.assert_frame_equal(a.events, b.events, check_exact=True)
    assert a.summary == b.summary


ORDERS = ["synchronous", "sequential"]


@pytest.fixture(scope="module")
def reference_runs():
    """The reference engine's whole run per M7 order, made once: the fused runs on 1 and on
    2 threads are both compared with the same one (it always runs on one thread)."""
    runs = {}

    def get(order: str):
        if order not in runs:
            runs[order] = _run("reference", **{"run.m7_order": order})
        return runs[order]

    return get


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("threads", [1, 2])
def test_whole_run_equal(threads, order, reference_runs):
    o = {"run.m7_order": order}
    fused, ref = _run("fused", threads=threads, **o), reference_runs(order)
    assert fused.manifest["scenario"]["run"]["m7_order"] == order
    _assert_same(fused, ref)
    ts = ref.timeseries
    # the run exercised every phase: deaths, joins, promotions, purges, exits, the crisis;
    # and M9's state: members lapsed, returned, and handed in their cards while lapsed
    for col in ("deaths", "joins", "promotions", "expelled", "exits", "confirmed",
                "disengaged", "reengaged", "exits_lapsed", "lapsed_members"):
        assert ts[col].sum() > 0, col
    assert ref.summary["forecast"]["crisis"]["passive_lapsed"] > 0
    assert np.isfinite(ts["mean_trust_citizens"]).all()


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("scenario", ["cpsu_remedies", "cpsu_no_glasnost"])
def test_counterfactuals_equal(scenario, order):
    o = {"run.m7_order": order}
    _assert_same(_run("fused", scenario, **o), _run("reference", scenario, **o))


@pytest.mark.parametrize("order", ORDERS)
def test_mechanisms_off_equal(order):
    off = {f"mechanisms.{m}.enabled": False for m in ("ritual", "privilege", "openness")}
    off["run.m7_order"] = order
    fused, ref = _run("fused", **off), _run("reference", **off)
    _assert_same(fused, ref)
    assert fused.timeseries["promotions"].sum() == 0


def test_demography_off_equal():
    # without M2 no deaths are drawn by record: the fused month may still run its phases in
    # one compiled call, the reference month never does
    off = {"mechanisms.demography.enabled": False, "run.end": "1930-12"}
    fused, ref = _run("fused", **off), _run("reference", **off)
    _assert_same(fused, ref)
    assert fused.timeseries["births"].sum() == 0 and fused.timeseries["joins"].sum() > 0


def test_engine_is_a_scenario_setting():
    with pytest.raises(allegiance.ScenarioError, match=r"run\.engine"):
        allegiance.load_scenario("cpsu", {"run.engine": "turbo"})
