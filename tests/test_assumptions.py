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
