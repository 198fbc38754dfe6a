"""Which assumptions carry the conclusion (issue 20): Morris screening over a scenario's
plausible ranges (``sensitivity --assumed``), scenario discovery (``discover``) and agent
snapshots (``run --snapshot``)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from allegiance.experiments.design import Design, Range, build_points
from allegiance.experiments.sensitivity import analyze, ranking
from allegiance.experiments.sweep import parse_spec
from cli_errors import one_line_error
from conftest import cli

#: Sobol's G function: the smaller a_i, the more x_i matters (a = 0: most, a = 99: hardly)
G_A = [0.0, 1.0, 4.5, 9.0, 99.0, 99.0]


def g_function(x: np.ndarray) -> np.ndarray:
    return np.prod((np.abs(4 * x - 2) + G_A) / (1 + np.asarray(G_A)), axis=1)


def test_morris_ranks_the_g_function_correctly():
    """Our Morris design and analysis (SALib's, through the experiment's spec and runs table)
    rank the G function's inputs in the known order."""
    names = [f"x{i + 1}" for i in range(len(G_A))]
    spec = parse_spec({"scenario": "ishigami", "seed": 3, "outcomes": ["y"],
                       "design": {"method": "morris", "samples": 40},
                       "parameters": {n: {"low": 0.0, "high": 1.0} for n in names}}, "test")
    points = build_points(spec.design, dict(spec.parameters), spec.seed)
    assert len(points) == 40 * (len(names) + 1)
    x = np.array([[p[n] for n in names] for p in points])
    runs = pd.DataFrame({"run_id": range(len(points)), "point": range(len(points)),
                         "status": "ok", "y": g_function(x)})
    table = analyze(spec, runs, points)
    mu_star = table.set_index("parameter")["mu_star"]
    assert list(mu_star.index[np.argsort(-mu_star.to_numpy())][:4]) == names[:4]
    assert mu_star["x1"] > mu_star["x2"] > mu_star["x3"] > mu_star["x4"]
    assert max(mu_star["x5"], mu_star["x6"]) < 0.1 * mu_star["x1"]  # a = 99: negligible
    assert ranking(table)[:4] == names[:4]


def test_morris_design_rejects_odd_levels_and_one_parameter():
    from allegiance.experiments.design import check_design

    probs = check_design(Design(method="morris", samples=4, levels=5),
                         {"a": Range(low=0, high=1)})
    assert any("design.levels = 5" in p for p in probs)
    assert any("at least 2 parameters" in p for p in probs)


def test_assumed_morris_command_shards_and_merge(tmp_path):
    """`sensitivity ishigami --assumed` screens the ranged parameters: the inputs matter, the
    noise hardly; two shards merged give the same indices as one run."""
    out = tmp_path / "m"
    r = cli("sensitivity", "ishigami", "--assumed", "--trajectories", "12", "--serial",
            "--out", str(out))
    assert r.returncode == 0, r.stderr
    t = pd.read_parquet(out / "sensitivity.parquet").set_index("parameter")
    assert set(t.index) == {"inputs.x1", "inputs.x2", "inputs.x3", "constants.noise"}
    assert min(t.loc["inputs.x1", "mu_star"], t.loc["inputs.x2", "mu_star"]) \
        > 3 * t.loc["constants.noise", "mu_star"]
    assert len(pd.read_parquet(out / "runs.parquet")) == 12 * 5
    info = json.loads((out / "sensitivity.json").read_text())
    assert info["method"] == "morris" and info["trajectories"] == 12
    assert (out / "figures" / "morris_screening.png").is_file()
    assert "mu*" in r.stdout
    # the same analysis in two shards, merged
    for i in (1, 2):
        r = cli("sensitivity", "ishigami", "--assumed", "--trajectories", "12", "--serial",
                "--out", str(tmp_path / "sh"), "--shard", f"{i}/2", "--quiet")
        assert r.returncode == 0, r.stderr
    r = cli("merge", str(tmp_path / "sh"), "--quiet", "--no-figures")
    assert r.returncode == 0, r.stderr
    assert (pd.read_parquet(tmp_path / "sh" / "sensitivity.parquet")
            .equals(pd.read_parquet(out / "sensitivity.parquet")))
    # then Sobol on the two most influential of the screening
    r = cli("sensitivity", "ishigami", "--assumed", "--method", "sobol", "--screening",
            str(out), "--top", "2", "--samples", "32", "--serial", "--out",
            str(tmp_path / "s"), "--no-figures")
    assert r.returncode == 0, r.stderr
    s = pd.read_parquet(tmp_path / "s" / "sensitivity.parquet")
    assert set(s["parameter"]) == {"inputs.x1", "inputs.x2"}
    assert {"S1", "ST", "S1_conf", "ST_conf"} <= set(s.columns)


def test_assumed_cpsu_design_covers_every_range():
    from allegiance.experiments.assumed import assumed_spec
    from allegiance.scenario import load_scenario

    spec = assumed_spec("cpsu", scale=1e-4, samples=2, overrides=["run.end=1991-12"])
    ranges = load_scenario("cpsu").ranges
    assert list(spec.parameters) == list(ranges)
    assert spec.design.method == "morris" and spec.scale == 1e-4
    assert spec.common_random_numbers  # differences between points: no noise in them
    assert not assumed_spec("cpsu", method="lhs").common_random_numbers
    assert "forecast.crisis.defenders_members" in spec.outcomes and "fit.value" in spec.outcomes
    fixed = assumed_spec("cpsu", overrides=["mechanisms.crisis.spread=0.2"])
    assert "mechanisms.crisis.spread" not in fixed.parameters  # fixed by --set: not varied


@pytest.mark.parametrize("args, needle", [
    (["sensitivity", "granovetter", "--assumed"], "has no [ranges] table"),
    (["sensitivity", "ishigami", "--assumed", "--method", "fast"], "--method fast: allowed"),
    (["sensitivity", "ishigami", "--assumed", "--top", "3"], "--screening DIR and --top K"),
    (["sensitivity", "ishigami", "--assumed", "--params", "inputs.x1"], "at least 2"),
    (["sensitivity", "ishigami", "--assumed", "--method", "sobol", "--samples", "10"],
     "power of 2"),
    (["sensitivity", "ishigami.toml", "--trajectories", "4"], "only with --assumed"),
    (["sweep", "ishigami.toml", "--samples", "4"], "only with --assumed"),
    (["sweep", "kuran", "--assumed"], "has no [ranges] table"),
])
def test_assumed_bad_input_is_one_line(args, needle):
    line = one_line_error(cli(*args, "--serial"))
    assert needle in line, line


# ---- agent snapshots --------------------------------------------------------------------------


def test_snapshots_round_trip_and_match_the_timeseries(tmp_path):
    import allegiance
    from allegiance.results import load

    over = {"run.end": "1922-06"}
    r = allegiance.run("cpsu", scale=1e-4, seed=5, overrides=over,
                       snapshots=["1919-01", "1921-3"])
    plain = allegiance.run("cpsu", scale=1e-4, seed=5, overrides=over)
    assert r.timeseries.equals(plain.timeseries)  # snapshots change nothing
    snap = r.snapshots
    assert list(dict.fromkeys(snap["date"])) == ["1919-01", "1921-03"]
    assert r.manifest["snapshots"] == ["1919-01", "1921-03"]
    for col in ("tier", "cohort", "motive", "belief", "trust", "stake", "workplace"):
        assert col in snap
    assert set(snap["tier"].astype(str)) <= {"nonmember", "candidate", "rank_and_file",
                                             "cadre", "elite"}
    k = 1.0 / 1e-4
    for date, g in snap.groupby("date"):
        row = r.timeseries[r.timeseries["date"] == date].iloc[0]
        assert g["member"].sum() * k == pytest.approx(row["members"])
        assert (g["tier"] == "candidate").sum() * k == pytest.approx(row["candidates"])
        assert g["adult"].sum() * k == pytest.approx(row["adults"])
        assert len(g) * k == pytest.approx(row["population"])
        assert g["lapsed"].sum() * k == pytest.approx(row["lapsed_members"])
        assert g.loc[g["member"], "belief"].mean() == pytest.approx(
            row["mean_belief_members"], rel=1e-6)
        ideal = (g["member"] & (g["motive"] == "ideal")).sum() * k
        assert ideal == pytest.approx(row["motive_ideal"])
        for c in ("pre1900", "1900_1919", "1920_1939"):
            born = (g["member"] & (g["cohort"] == c)).sum() * k
            assert born == pytest.approx(row[f"members_born_{c}"]), c
    path = r.save(tmp_path / "res")
    back = load(path)
    assert back.snapshots.equals(pd.read_parquet(path / "snapshots.parquet"))
    assert back.snapshots["belief"].equals(snap["belief"])
    assert back.snapshots["tier"].astype(str).equals(snap["tier"].astype(str))


def test_snapshot_command_and_bad_date(tmp_path):
    out = tmp_path / "r"
    r = cli("run", "cpsu", "--scale", "1e-4", "--set", "run.end=1919-06", "--snapshot",
            "1918-01,1919-06", "--out", str(out), "--quiet", "--no-figures")
    assert r.returncode == 0, r.stderr
    assert set(pd.read_parquet(out / "snapshots.parquet")["date"]) == {"1918-01", "1919-06"}
    line = one_line_error(cli("run", "cpsu", "--scale", "1e-4", "--set", "run.end=1919-06",
                              "--snapshot", "1956-01", "--out", str(tmp_path / "x")))
    assert "--snapshot 1956-01: not a step of this run (allowed: 1917-11 to 1919-06" in line
    assert not (tmp_path / "x").exists()


# ---- agent snapshots of experiments (ensemble, sweep --snapshot) ------------------------------

SNAP_SWEEP = """
scenario = "cpsu"
scale = 1e-4
seed = 4
outcomes = ["peak_members"]
set = { "run.end" = "1918-06" }
[parameters]
"levers.selectivity" = [0.3, 0.9]
"""


def _parts(d) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted((d / "snapshots").glob("*.parquet"))}


def test_ensemble_snapshots_are_one_dataset_and_a_resume_redoes_nothing(tmp_path):
    """Each run's snapshots are a part of one Parquet dataset (run ids first) that DuckDB
    and polars read, whose counts are the runs' own time series; a resume after a kill redoes
    only the run without an index line, and another set of dates is another experiment."""
    import duckdb
    import polars as pl

    from allegiance.errors import AllegianceError
    from allegiance.experiments.ensemble import ensemble
    from allegiance.experiments.executors import SerialExecutor

    kw = {"scale": 1e-4, "seed": 2, "overrides": ["run.end=1919-06"], "figures": False}
    out = ensemble("cpsu", 3, SerialExecutor(), out=tmp_path / "ens", snapshots="1918-1,1919-06",
                   **kw)
    meta = json.loads((out / "experiment.json").read_text())
    assert meta["snapshots"] == ["1918-01", "1919-06"]  # spelled as the run labels months
    parts = _parts(out)
    assert sorted(parts) == [f"run-{i:06d}.parquet" for i in range(3)]
    glob = f"{out}/snapshots/*.parquet"
    by = duckdb.sql(f"""select run_id, date, count(*) as agents, sum(member::int) as members
        from read_parquet('{glob}') group by all order by run_id, date""").df()
    assert list(zip(by["run_id"], by["date"], strict=True)) == [
        (r, d) for r in range(3) for d in ("1918-01", "1919-06")]
    ts = pd.concat([pd.read_parquet(p) for p in sorted((out / "timeseries").glob("*"))])
    stocks = ts.set_index(["run_id", "date"]).loc[list(zip(by["run_id"], by["date"],
                                                           strict=True))]
    assert np.allclose(by["members"] * 1e4, stocks["members"])
    assert np.allclose(by["agents"] * 1e4, stocks["population"])
    assert by.groupby("date")["members"].nunique().gt(1).all()  # the runs' own agents
    snap = pl.read_parquet(glob)
    assert snap.columns[:5] == ["run_id", "point", "replicate", "seed", "date"]
    assert {"tier", "cohort", "motive", "belief", "trust", "stake", "workplace"} <= set(
        snap.columns)
    assert snap.height == int(by["agents"].sum())

    # killed after run 2's parts were written, before its index line; a temporary file left
    index = out / "index.jsonl"
    lines = index.read_text().splitlines()
    index.write_text("\n".join(lines[:2]) + "\n")
    (out / "snapshots" / ".run-000002.parquet.deadbeef").write_bytes(b"PAR1 half")
    ensemble("cpsu", 3, SerialExecutor(), out=out, resume=True, snapshots="1918-01,1919-6",
             **kw)
    again = _parts(out)
    assert [json.loads(x)["run_id"] for x in index.read_text().splitlines()] == [0, 1, 2]
    assert {k: v[0] for k, v in again.items()} == {k: v[0] for k, v in parts.items()}
    assert all(again[k][1] == parts[k][1] for k in ("run-000000.parquet", "run-000001.parquet"))
    assert not list((out / "snapshots").glob(".*"))
    ensemble("cpsu", 3, SerialExecutor(), out=out, resume=True, snapshots="1918-01,1919-06",
             **kw)  # finished: nothing is run again
    assert _parts(out) == again
    with pytest.raises(AllegianceError, match="different specification"):
        ensemble("cpsu", 3, SerialExecutor(), out=out, resume=True, snapshots="1918-01", **kw)


def test_sweep_snapshot_flag_and_shards_merge_to_the_same_snapshots(tmp_path):
    """``sweep --snapshot`` keeps the parameters beside the agents; two shards merged give the
    same snapshot parts, byte for byte, as the sweep run whole."""
    from allegiance.experiments.executors import SerialExecutor
    from allegiance.experiments.merge import merge
    from allegiance.experiments.sweep import sweep

    spec = tmp_path / "snap.toml"
    spec.write_text(SNAP_SWEEP)
    r = cli("sweep", str(spec), "--snapshot", "1918-03", "--out", str(tmp_path / "whole"),
            "--serial", "--quiet")
    assert r.returncode == 0, r.stderr
    whole = tmp_path / "whole"
    snap = pd.read_parquet(whole / "snapshots")  # the folder is one dataset
    assert sorted(set(zip(snap["run_id"], snap["levers.selectivity"], strict=True))) == [
        (0, 0.3), (1, 0.9)]
    assert set(snap["date"]) == {"1918-03"}
    spec.write_text(SNAP_SWEEP.replace("outcomes", 'snapshots = ["1918-03"]\noutcomes'))
    for i in (1, 2):
        sweep(spec, SerialExecutor(), out=tmp_path / "parts", shard=f"{i}/2")
    merged, kind, _ = merge([tmp_path / "parts"], figures=False)
    assert kind == "sweep" and _parts(merged).keys() == _parts(whole).keys()
    assert all(_parts(merged)[k][0] == v[0] for k, v in _parts(whole).items())
    # the flag and the file's key are the same experiment
    assert (json.loads((merged / "experiment.json").read_text())["digest"]
            == json.loads((whole / "experiment.json").read_text())["digest"])


def test_experiment_snapshot_usage_errors(tmp_path):
    """A month outside the run, a date that is no month, a model without agents, and dates
    given twice: one line each, before anything is written."""
    from allegiance.errors import AllegianceError
    from allegiance.experiments.ensemble import ensemble
    from allegiance.experiments.executors import SerialExecutor
    from allegiance.experiments.sweep import sweep

    base = ["--scale", "1e-4", "--set", "run.end=1919-06", "--serial", "--out"]
    line = one_line_error(cli("ensemble", "cpsu", "--runs", "2", "--snapshot", "1956-01",
                              *base, str(tmp_path / "a")))
    assert "--snapshot 1956-01: not a step of this run (allowed: 1917-11 to 1919-06" in line
    for bad in ("1918-13", "soon", "1917-10"):
        with pytest.raises(AllegianceError, match=rf"^--snapshot {bad}: not a step of this "
                                                  r"run \(allowed: 1917-11 to 1919-06"):
            ensemble("cpsu", 2, SerialExecutor(), scale=1e-4, overrides=["run.end=1919-06"],
                     out=tmp_path / "b", snapshots=["1918-01", bad])
    with pytest.raises(AllegianceError, match="model 'ishigami' has no agent attributes"):
        ensemble("ishigami", 2, SerialExecutor(), out=tmp_path / "c", snapshots="1")
    spec = tmp_path / "s.toml"
    spec.write_text(SNAP_SWEEP.replace("outcomes", 'snapshots = ["1956-01"]\noutcomes'))
    line = one_line_error(cli("sweep", str(spec), "--serial", "--out", str(tmp_path / "d")))
    assert "s.toml: snapshots: 1956-01: not a step of this run (allowed: 1917-11 to 1918-06" \
        in line
    line = one_line_error(cli("sweep", str(spec), "--snapshot", "1918-01", "--serial",
                              "--out", str(tmp_path / "e")))
    assert "--snapshot: s.toml sets snapshots already" in line
    with pytest.raises(AllegianceError, match="snapshots: 1956-01: not a step"):
        sweep(spec, SerialExecutor(), out=tmp_path / "f")
    assert not [p for p in tmp_path.iterdir() if p.name != "s.toml"]


# ---- scenario discovery -----------------------------------------------------------------------


def _planted(n: int = 1500, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Five uniform parameters; the condition holds in the box 0.2 < a < 0.6, b > 0.5 (and a
    little noise outside it)."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.uniform(size=(n, 5)), columns=["p.a", "p.b", "p.c", "p.d", "p.e"])
    inside = x["p.a"].between(0.2, 0.6) & (x["p.b"] > 0.5)
    y = inside.to_numpy() | (rng.uniform(size=n) < 0.02)
    return x, y


def test_prim_recovers_a_planted_box():
    from allegiance.experiments.discover import prim_box

    x, y = _planted()
    res = prim_box(x, y, density=0.9)
    box = res["box"]
    lim = {r["parameter"]: (r["low"], r["high"]) for r in box["restricted"]}
    assert set(lim) == {"p.a", "p.b"}  # only the planted dimensions are restricted
    assert lim["p.a"][0] == pytest.approx(0.2, abs=0.05)
    assert lim["p.a"][1] == pytest.approx(0.6, abs=0.05)
    assert lim["p.b"][0] == pytest.approx(0.5, abs=0.05) and lim["p.b"][1] > 0.95
    assert box["density"] >= 0.9 and box["coverage"] >= 0.8
    assert all(r["qp"] < 1e-6 for r in box["restricted"])
    traj = res["trajectory"]
    assert traj["chosen"].sum() == 1 and traj["coverage"].iloc[0] == 1.0


def test_cart_finds_the_same_box():
    from allegiance.experiments.discover import cart_boxes

    x, y = _planted()
    ct = cart_boxes(x, y, max_depth=3)
    best = ct["leaves"][0]
    assert best["density"] > 0.85 and best["coverage"] > 0.8
    lim = {r["parameter"]: (r["low"], r["high"]) for r in best["limits"]}
    assert set(lim) == {"p.a", "p.b"}
    assert lim["p.a"][0] == pytest.approx(0.2, abs=0.05)
    assert lim["p.a"][1] == pytest.approx(0.6, abs=0.05)


def test_where_parser_is_safe_and_names_unknown_columns():
    from allegiance.errors import AllegianceError
    from allegiance.experiments.discover import parse_where

    cols = ["forecast.crisis.defenders_members", "fit.value", "levers.contact"]
    t = pd.DataFrame({cols[0]: [2e5, 5e4, np.nan], cols[1]: [0.05, 0.2, 0.01],
                      cols[2]: [0.1, 0.9, 0.5]})
    fn, used = parse_where("crisis.defenders_members > 1e5 and not fit.value >= 0.1", cols)
    assert list(fn(t)) == [True, False, False] and used == cols[:2]
    fn, _ = parse_where("(levers.contact * 2 > 1) | (0 < fit.value < 0.03)", cols)
    assert list(fn(t)) == [False, True, True]
    for bad, needle in [("__import__('os').system('true')", "not allowed"),
                        ("fit.value.__class__ > 1", "unknown column"),
                        ("crisis.defenders > 1", "unknown column(s) 'crisis.defenders'"),
                        ("fit.value > 'x'", "allowed: numbers"),
                        ("fit.value +", "not an expression"),
                        ("fit.value", "not a condition")]:
        with pytest.raises(AllegianceError) as ei:
            f, _ = parse_where(bad, cols)
            f(t)
        assert needle in str(ei.value), (bad, str(ei.value))
        assert "\n" not in str(ei.value)


def test_discover_command_on_a_sweep(tmp_path):
    """A Latin-hypercube sweep over the Ishigami function's ranges (`sweep --assumed`): where
    y > 8 (a large sin(x2)^2 with sin(x1) > 0), and the same given x3 > 0."""
    r = cli("sweep", "ishigami", "--assumed", "--params", "inputs.x1,inputs.x2,inputs.x3",
            "--samples", "300", "--serial", "--quiet", "--out", str(tmp_path / "s"))
    assert r.returncode == 0, r.stderr
    runs = pd.read_parquet(tmp_path / "s" / "runs.parquet")
    assert len(runs) == 300 and runs["inputs.x1"].between(-np.pi, np.pi).all()
    assert "constants.noise" not in runs  # not among --params: fixed at its value
    r = cli("discover", str(tmp_path / "s"), "--where", "y > 8")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "s" / "discover" / "y_8"
    rep = json.loads((out / "discover.json").read_text())
    assert rep["runs"] == 300 and 0 < rep["cases"] < 300
    dims = {d["parameter"] for d in rep["prim"]["restricted"]}
    assert {"inputs.x1", "inputs.x2"} <= dims
    assert rep["prim"]["density"] >= 0.8 or rep["prim"]["density"] == max(
        pd.read_parquet(out / "trajectory.parquet")["density"])
    assert rep["cart"]["leaves"]
    assert (out / "figures" / "prim_trajectory.png").is_file()
    assert (out / "figures" / "prim_box.png").is_file()
    assert "PRIM box" in r.stdout and "CART" in r.stdout
    r = cli("discover", str(tmp_path / "s"), "--where", "y > 8", "--given", "x3 > 0",
            "--out", str(tmp_path / "d2"), "--quiet")
    assert r.returncode == 0, r.stderr
    rep2 = json.loads((tmp_path / "d2" / "discover.json").read_text())
    assert rep2["runs_given"] < 300 and rep2["given"] == "x3 > 0"
    for args, needle in [(["--where", "z > 1"], "unknown column(s) 'z'"),
                         (["--where", "y > 1e9"], "holds in no run"),
                         (["--where", "y > 1", "--given", "y > 1e9"], "0 runs left")]:
        line = one_line_error(cli("discover", str(tmp_path / "s"), *args, "--out",
                                  str(tmp_path / "bad")))
        assert needle in line, line
    line = one_line_error(cli("discover", str(tmp_path / "nope"), "--where", "y > 1"))
    assert "not a finished experiment" in line


def test_assumptions_tables_are_what_the_committed_screening_says():
    """docs/VALIDATION.md's screening and discovery blocks are what
    calibration/morris_cpsu says (the generator reads it; it runs nothing)."""
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    if not (root / "calibration" / "morris_cpsu" / "sensitivity.parquet").is_file():
        pytest.skip("no committed screening")
    path = root / "scripts" / "assumptions_table.py"
    spec = importlib.util.spec_from_file_location("assumptions_table", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--check"]) == 0
