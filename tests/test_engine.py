"""Determinism, common random numbers, accounting, save/load."""

import json

import duckdb
import numpy as np
import polars as pl
import pytest

import allegiance

SHORT = {"run.end": "1935-12"}


def test_same_seed_identical_parquet_bytes(tmp_path):
    a = allegiance.run("cpsu", scale=1e-4, seed=3, overrides=SHORT)
    b = allegiance.run("cpsu", scale=1e-4, seed=3, overrides=SHORT)
    pa, pb = a.save(tmp_path / "a"), b.save(tmp_path / "b")
    assert (pa / "timeseries.parquet").read_bytes() == (pb / "timeseries.parquet").read_bytes()
    assert (pa / "events.parquet").read_bytes() == (pb / "events.parquet").read_bytes()
    assert json.loads((pa / "summary.json").read_text()) == json.loads(
        (pb / "summary.json").read_text())
    c = allegiance.run("cpsu", scale=1e-4, seed=4, overrides=SHORT)
    assert not c.timeseries["members"].equals(a.timeseries["members"])


def test_thread_count_does_not_change_results():
    one = allegiance.run("cpsu", scale=2e-4, seed=5, overrides=SHORT, threads=1)
    two = allegiance.run("cpsu", scale=2e-4, seed=5, overrides=SHORT, threads=2)
    assert one.manifest["threads"] == 1
    assert one.timeseries.equals(two.timeseries)


def test_counterfactual_shares_random_numbers():
    """A lever changed in 1930 leaves every number before 1930 bit-identical."""
    base = allegiance.run("cpsu", scale=1e-4, seed=9, overrides=SHORT)
    cf = allegiance.run("cpsu", scale=1e-4, seed=9, overrides={
        **SHORT, "events.openness_1929.value": 0.5})
    before = base.timeseries["date"] < "1929-01"
    assert base.timeseries[before].equals(cf.timeseries[before])
    after = base.timeseries["date"] >= "1929-06"
    assert not base.timeseries.loc[after, "mean_trust_citizens"].equals(
        cf.timeseries.loc[after, "mean_trust_citizens"])


def test_population_accounting_balances_every_month(cpsu_small):
    ts = cpsu_small.timeseries
    pop = ts["population"].to_numpy()
    change = pop[1:] - pop[:-1]
    flows = (ts["births"] + ts["arrivals"] - ts["deaths"]).to_numpy()[:-1]
    assert np.allclose(change, flows, atol=1e-6)


def test_membership_accounting_balances_every_month(cpsu_small):
    ts = cpsu_small.timeseries
    mem = ts["members"].to_numpy()
    change = mem[1:] - mem[:-1]
    flows = (ts["joins"] - ts["exits"] - ts["expelled"] - ts["dropped_candidates"]
             - ts["deaths_members"] - ts["dissolved"]).to_numpy()[:-1]
    assert np.allclose(change, flows, atol=1e-6)


def test_outputs_are_persons_not_agents():
    a = allegiance.run("cpsu", scale=1e-4, seed=1, overrides=SHORT)
    b = allegiance.run("cpsu", scale=4e-4, seed=1, overrides=SHORT)
    pa, pb = a.timeseries["population"].iloc[0], b.timeseries["population"].iloc[0]
    assert pa == pytest.approx(pb, rel=0.01)
    assert pa == pytest.approx(145e6, rel=0.05)


def test_save_load_roundtrip_and_readers(tmp_path, cpsu_small):
    p = cpsu_small.save(tmp_path / "run")
    back = allegiance.load(p)
    assert back.timeseries.equals(cpsu_small.timeseries)
    assert back.summary == json.loads(json.dumps(cpsu_small.summary))
    assert back.manifest["scenario_sha256"] == cpsu_small.manifest["scenario_sha256"]
    assert back.scenario.digest() == cpsu_small.manifest["scenario_sha256"]
    n = duckdb.sql(f"select count(*) from '{p}/timeseries.parquet'").fetchall()[0][0]
    assert n == len(cpsu_small.timeseries)
    df = pl.read_parquet(p / "timeseries.parquet")
    assert df["members"].max() == cpsu_small.timeseries["members"].max()


def test_save_refuses_to_overwrite_and_is_atomic(tmp_path, cpsu_small, monkeypatch):
    p = cpsu_small.save(tmp_path / "run")
    with pytest.raises(allegiance.AllegianceError, match="exists"):
        cpsu_small.save(p)
    import allegiance.results as res

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(res, "dump_json", boom)
    with pytest.raises(RuntimeError):
        cpsu_small.save(tmp_path / "other")
    assert not (tmp_path / "other").exists()
    assert not [x for x in tmp_path.iterdir() if x.name.startswith(".other")]


def test_summary_contract(cpsu_small):
    ts = cpsu_small.timeseries
    for col in ("date", "population", "adults", "members", "candidates", "committed_members",
                "mean_belief_members", "mean_trust_members", "mean_trust_citizens",
                "corruption", "joins", "exits", "expelled"):
        assert col in ts.columns
    fc = cpsu_small.summary["forecast"]
    for k in ("members_1990_01_01", "members_1991_01_01", "members_1991_07_01", "exits_1990"):
        assert fc[k] is not None and fc[k] >= 0
    for k in ("defenders_members", "passive_members", "opponents_members",
              "defenders_nonmembers", "opponents_nonmembers"):
        assert fc["crisis"][k] >= 0
    assert cpsu_small.summary["fit"]["n_points"] >= 30
