"""Classic models (Granovetter 1978, Kuran 1991, Centola-Willer-Macy 2005) against their papers."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import allegiance
from allegiance.errors import ScenarioError
from allegiance.models.classic import emperor as emp
from allegiance.models.classic.granovetter import (
    Thresholds,
    cascade,
    draw_thresholds,
    find_jump,
    first_fixed_point,
    quantile_thresholds,
)
from allegiance.models.classic.kuran import (
    equilibrium,
    hysteresis,
    revolutionary_thresholds,
)
from conftest import cli

CROWD = list(range(100))
CROWD_G2 = [0, 2, *range(2, 100)]  # the actor with threshold 1 now has 2


# ---- Granovetter ----------------------------------------------------------------------------


def test_granovetter_g1_g2_pure():
    assert cascade(CROWD) == 100
    assert first_fixed_point(CROWD) == 100
    assert cascade(CROWD_G2) == 1
    assert first_fixed_point(CROWD_G2) == 1


def test_granovetter_g1_g2_through_the_engine():
    r = allegiance.run("granovetter")
    assert r.summary["final_acting"] == 100
    assert r.timeseries["acting"].iloc[-1] == 100
    # one new actor per round: the 0..99 chain takes 100 rounds
    assert (r.timeseries["joined"].iloc[:100] == 1).all()
    r2 = allegiance.run("granovetter", overrides={"thresholds.values": CROWD_G2})
    assert r2.summary["final_acting"] == 1
    assert r2.timeseries["acting"].max() == 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.integers(-3, 60), st.floats(-5, 80, allow_nan=False)),
                min_size=1, max_size=60))
def test_first_fixed_point_equals_cascade(thresholds):
    eq = cascade(thresholds)
    assert first_fixed_point(thresholds) == eq
    t = np.asarray(thresholds, dtype=float)
    assert np.count_nonzero(t <= eq) == eq  # a fixed point of r = N F(r)
    assert all(np.count_nonzero(t <= r) != r for r in range(eq))  # and the first one


def test_find_jump_normal_thresholds():
    # Granovetter's Fig. 2: mean 25 of 100, sd swept; same draws for every sd
    spec = Thresholds(distribution="normal", n=100, mean=25, sd=10)
    jump = find_jump(lambda v: draw_thresholds(spec.model_copy(update={"sd": v}), 1),
                     np.linspace(0, 30, 301))
    assert jump.outcome_before < 15 and jump.outcome_after > 90
    assert 8 < jump.before < 20 and jump.after == pytest.approx(jump.before + 0.1)
    # a large crowd follows the continuous normal: the paper's critical sd is about 12.2
    r = allegiance.run("granovetter_normal")
    lo, hi = r.summary["sweep"]["jump_between"]
    assert 0.118 <= lo < hi <= 0.126
    assert r.summary["sweep"]["outcome_after"] > 0.95 * r.summary["n"]
    assert r.summary["final_acting"] == r.summary["equilibrium_first_fixed_point"]


def test_granovetter_draws_and_errors():
    u = draw_thresholds(Thresholds(distribution="uniform", n=1000, low=0, high=50), 3)
    assert u.min() >= 0 and u.max() < 50 and abs(u.mean() - 25) < 2.5
    b = draw_thresholds(Thresholds(distribution="beta", unit="share", n=500, a=2, b=5), 3)
    assert b.max() <= 500 and abs(b.mean() / 500 - 2 / 7) < 0.03
    z = draw_thresholds(Thresholds(distribution="normal", n=1000, mean=1, sd=5), 3)
    assert z.min() == 0.0  # below 0 set to 0
    with pytest.raises(ScenarioError, match="thresholds"):
        allegiance.run("granovetter", overrides={"thresholds.values": []})


# ---- Kuran ----------------------------------------------------------------------------------


def test_kuran_k1_k2_exact():
    assert equilibrium([0, 20, 20, 30, 40, 50, 60, 70, 80, 100]) == 10
    assert equilibrium([0, 10, 20, 30, 40, 50, 60, 70, 80, 100]) == 90


def test_kuran_thresholds_follow_from_the_utilities():
    rng = np.random.default_rng(0)
    x, w = rng.random(200), rng.random(200) * 2
    tau = revolutionary_thresholds(x, w)
    for s in np.linspace(0, 1, 41):
        oppose = -w * np.abs(x - 1) + s >= -w * np.abs(x - 0) + (1 - s)
        clear = np.abs(tau - s) > 1e-9  # away from exact ties, which rounding may flip
        assert np.array_equal(oppose[clear], (tau <= s)[clear])


def test_kuran_hysteresis_two_branches():
    r = allegiance.run("kuran")
    ts = r.timeseries
    up = ts[ts.branch == "up"].set_index("appeal")["public_opposition"]
    down = ts[ts.branch == "down"].set_index("appeal")["public_opposition"]
    common = up.index.intersection(down.index)
    gap = (down[common] - up[common])
    assert (gap >= -1e-12).all()  # coming down never below going up
    both = common[(up[common] < 0.1) & (down[common] > 0.9)]
    assert len(both) >= 10  # a whole range where the society rests at opposite equilibria
    s = r.summary
    assert s["flip_up_between"][0] > s["collapse_down_between"][1]
    # on the falling branch people who privately prefer the regime oppose it in public
    assert ts[ts.branch == "down"]["falsifying_for_opposition"].max() > 0.3
    # the pure function gives the same branches
    from allegiance.models.classic.kuran import draw_population

    x, w = draw_population(r.scenario.population, r.manifest["seed"])
    a = np.sort(up.index.to_numpy())
    hu, hd = hysteresis(x, w, a)
    assert np.allclose(hu, up[a].to_numpy()) and np.allclose(hd[:-1], down[a[:-1]].to_numpy())


# ---- Emperor's Dilemma ----------------------------------------------------------------------


def test_emperor_rules_by_hand():
    # 3x3 Moore torus: every agent's 8 neighbours are the 8 others
    nb = emp.lattice_neighbours(3, 3, True, 0.0, np.uint64(0), np.uint64(0))
    assert all(sorted(nb[i]) == [j for j in range(9) if j != i] for i in range(9))
    belief = np.array([1, 1, 1, -1, -1, -1, -1, -1, -1], dtype=np.int8)
    strength = np.array([1, 1, 1, 0.2, 0.3, 0.1, 0.38, 0.25, 0.05])
    C = belief.copy()
    E = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0], dtype=np.int8)
    C2, E2 = np.empty_like(C), np.empty_like(E)
    emp.step_synchronous(nb, belief, strength, C, E, 0.125, C2, E2)
    # disbelievers feel 3/8 = 0.375: comply if S < 0.375, enforce falsely if S + K < 0.375
    assert C2[3:].tolist() == [1, 1, 1, -1, 1, 1]
    # S=0.38 deviates; 3/8 of its neighbours comply against its belief: 0.38 * 0.375 > K, so it
    # enforces deviance
    assert E2[3:].tolist() == [1, 0, 1, -1, 0, 1]
    # true believers see 6/8 deviants: S * W = 0.75 > K -> enforce
    assert E2[:3].tolist() == [1, 1, 1]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_emperor_cascade_local_vs_long_ties(seed):
    local = allegiance.run("emperor", seed=seed)
    assert local.summary["final_compliance"] > 0.9
    assert local.summary["final_false_enforcement"] > 0.85
    assert local.summary["true_believers"] / local.summary["n"] < 0.02


def test_emperor_long_ties_usually_stop_the_cascade():
    # Centola et al. 2005: random long ties make the unpopular norm fail to spread in most
    # networks, not all (here 19 of seeds 1-20)
    final = [allegiance.run("emperor_longties", seed=s).summary["final_compliance"]
             for s in range(1, 11)]
    assert sum(f < 0.3 for f in final) >= 8


def test_emperor_synchronous_threads_and_rewire(monkeypatch):
    from allegiance import engine

    # no thread threshold: a 2-thread run really splits this small lattice (work_size)
    monkeypatch.setattr(engine, "PARALLEL_MIN_SLOTS", 1)
    one = allegiance.run("emperor", seed=9, threads=1, overrides={"activation": "synchronous"})
    two = allegiance.run("emperor", seed=9, threads=2, overrides={"activation": "synchronous"})
    assert one.timeseries.equals(two.timeseries)
    nb = emp.lattice_neighbours(20, 20, True, 0.3, np.uint64(11), np.uint64(12))
    lattice = emp.lattice_neighbours(20, 20, True, 0.0, np.uint64(11), np.uint64(12))
    share = np.mean(nb != lattice)
    assert 0.25 < share < 0.35 and not np.any(nb == np.arange(400)[:, None])
    with pytest.raises(ScenarioError, match="believers"):
        allegiance.run("emperor", overrides={"agents.believers": 5000})


def test_granovetter_quantile_thresholds_reproduce_the_paper_exactly():
    """The N = 100 quantiles of U(0, 100) are the crowd 0, 1, ..., 99: G1 = 100 exactly; move
    the actor at 1 to 2 and G2 = 1. The deterministic crowd of Fig. 2 (normal, mean 25, N = 100
    quantiles) jumps between sd 12.22 and 12.23, the analytic critical value."""
    u = Thresholds(distribution="uniform", low=0, high=100, n=100, sampling="quantile")
    t = draw_thresholds(u, seed=1)
    assert t.tolist() == CROWD
    assert draw_thresholds(u, seed=2).tolist() == CROWD  # no randomness
    assert cascade(t) == first_fixed_point(t) == 100
    t[1] = 2
    assert t.tolist() == CROWD_G2 and cascade(t) == 1
    r = allegiance.run("granovetter_quantile", overrides={"thresholds.distribution": "uniform"})
    assert r.summary["final_acting"] == 100
    j = allegiance.run("granovetter_quantile").summary["sweep"]
    assert j["jump_between"] == pytest.approx([12.22, 12.23])
    assert (j["outcome_before"], j["outcome_after"]) == (6, 100)
    mid = quantile_thresholds(u.model_copy(update={"quantile": "mid"}))
    assert mid.tolist() == [i + 0.5 for i in CROWD] and cascade(mid) == 0
    z = quantile_thresholds(Thresholds(distribution="normal", n=100, mean=25, sd=0,
                                       sampling="quantile"))
    assert z.tolist() == [0.0] + [25.0] * 99


def test_sweep_of_a_distribution_parameter(tmp_path):
    from pathlib import Path

    from allegiance.experiments.executors import SerialExecutor
    from allegiance.experiments.sweep import sweep

    ex = Path(__file__).resolve().parents[1] / "docs" / "examples" / "granovetter_sd_sweep.toml"
    _, runs = sweep(ex, SerialExecutor(), out=tmp_path / "sd")
    got = dict(zip(runs["thresholds.sd"], runs["equilibrium_first_fixed_point"], strict=True))
    assert got[12.22] == 6 and got[12.23] == 100 and got[10.0] == 1


def test_emperor_fully_connected_gives_no_cascade():
    """The paper's fully connected population: 25 believers (1.6 %) do not spread the norm,
    where on the lattice they do (seeds 1-5)."""
    for seed in range(1, 6):
        h = allegiance.run("emperor_complete", seed=seed).summary
        assert h["final_compliance"] < 0.1 and h["final_false_enforcement"] == 0
        assert allegiance.run("emperor", seed=seed).summary["final_compliance"] > 0.9
    with pytest.raises(ScenarioError, match="rewire"):
        allegiance.run("emperor_complete", overrides={"network.rewire": 0.1})


@pytest.mark.parametrize("sequential", [True, False])
def test_emperor_complete_kernel_equals_an_all_to_all_table(sequential):
    rng = np.random.default_rng(5)
    n = 30
    belief = np.where(rng.random(n) < 0.4, 1, -1).astype(np.int8)
    strength = np.where(belief == 1, 1.0, 0.38 * rng.random(n))
    nb = np.array([[j for j in range(n) if j != i] for i in range(n)], dtype=np.int64)
    C1, E1 = belief.copy(), np.zeros(n, dtype=np.int8)
    C2, E2 = C1.copy(), E1.copy()
    order = np.empty(n, dtype=np.int64)
    for step in range(6):
        key = np.uint64(1000 + step)
        emp.step_complete(belief, strength, C1, E1, 0.125, key, order, sequential)
        if sequential:
            emp.step_sequential(nb, belief, strength, C2, E2, 0.125, key, order)
        else:
            c, e = np.empty_like(C2), np.empty_like(E2)
            emp.step_synchronous(nb, belief, strength, C2, E2, 0.125, c, e)
            C2, E2 = c, e
        assert (C1 == C2).all() and (E1 == E2).all()
    assert (belief != C1).any() or (E1 != 0).any()  # something happened


# ---- all three ------------------------------------------------------------------------------


SMALL = {"granovetter_normal": {"thresholds.n": 2000, "sweep.points": 31},
         "kuran": {"sweep.points": 31}, "emperor_longties": {}}


@pytest.mark.parametrize("name", list(SMALL))
def test_same_seed_same_timeseries(name):
    a = allegiance.run(name, seed=11, overrides=SMALL[name])
    b = allegiance.run(name, seed=11, overrides=SMALL[name])
    assert a.timeseries.equals(b.timeseries)
    assert a.summary == b.summary
    c = allegiance.run(name, seed=12, overrides=SMALL[name])
    assert not c.timeseries.equals(a.timeseries)


@pytest.mark.parametrize(
    "name", ["granovetter", "granovetter_normal", "kuran", "emperor", "emperor_longties"])
def test_cli_runs_bundled_scenario_with_figure(tmp_path, name):
    # in-process (typer's runner) to keep the file fast; one fresh interpreter below
    from typer.testing import CliRunner

    from allegiance.cli import app

    out = tmp_path / name
    r = CliRunner().invoke(app, ["run", name, "--out", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    m = json.loads((out / "manifest.json").read_text())
    assert m["model"] in ("granovetter", "kuran", "emperor") and m["scale"] == 1.0
    assert (out / "timeseries.parquet").is_file()
    pngs = list((out / "figures").glob("*.png"))
    assert pngs and all(p.stat().st_size > 10_000 for p in pngs)


def test_cli_subprocess_classic(tmp_path):
    out = tmp_path / "g2"
    r = cli("run", "granovetter", "--out", str(out), "--set",
            "thresholds.values=[0, 2, " + ", ".join(map(str, range(2, 100))) + "]")
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "summary.json").read_text())["final_acting"] == 1
    assert (out / "figures" / "granovetter_cascade.png").is_file()
