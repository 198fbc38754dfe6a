"""Experiments: executors agree to the bit, sweeps survive SIGKILL, Sobol matches Ishigami."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pytest

from allegiance.errors import AllegianceError, ScenarioError
from allegiance.experiments.calibrate import calibrate
from allegiance.experiments.ensemble import ensemble
from allegiance.experiments.executors import (
    DaskExecutor,
    PoolExecutor,
    SerialExecutor,
    run_seed,
)
from allegiance.experiments.sensitivity import sensitivity
from allegiance.experiments.sweep import sweep
from allegiance.models.ishigami import analytic_indices, ishigami
from cli_errors import one_line_error
from conftest import NOISY_SWEEP, cli

PI = math.pi


CPSU_SWEEP = """
scenario = "cpsu"
scale = 1e-4
seed = 11
replicates = 2
outcomes = ["fit.value", "peak_members"]
set = { "run.end" = "1920-12" }
[parameters]
"levers.selectivity" = [0.3, 0.6, 0.9]
"""


def _files(d: Path) -> dict[str, bytes]:
    out = {"runs.parquet": (d / "runs.parquet").read_bytes()}
    for p in sorted((d / "timeseries").glob("*.parquet")):
        out[p.name] = p.read_bytes()
    return out


def _index_ids(d: Path) -> list[int]:
    return [json.loads(line)["run_id"] for line in (d / "index.jsonl").read_text().splitlines()]


def test_run_seeds_depend_on_root_and_index_only():
    assert run_seed(1, 0) == run_seed(1, 0)
    seeds = {run_seed(1, i) for i in range(1000)} | {run_seed(2, i) for i in range(1000)}
    assert len(seeds) == 2000 and all(0 <= s < 2**63 for s in seeds)


def test_failed_run_is_recorded_and_the_sweep_completes(tmp_path):
    spec = tmp_path / "noisy.toml"
    spec.write_text(NOISY_SWEEP)
    out, runs = sweep(spec, SerialExecutor(), out=tmp_path / "noisy")
    assert len(runs) == 12 and runs["run_id"].is_unique
    assert len(list((out / "timeseries").glob("*.parquet"))) == 8  # parts of ok runs only
    ok = runs[runs["status"] == "ok"]
    assert ok.groupby("point")["y"].nunique().eq(2).all()  # replicates differ: seeded noise
    failed = runs[runs["status"] == "failed"]
    assert len(failed) == 4 and (failed["inputs.x1"] == 2.0).all() and failed["y"].isna().all()
    assert failed["error"].str.contains("AllegianceError: ishigami: x1 = 2.0 is above").all()


def test_serial_pool_and_dask_give_identical_results(tmp_path):
    spec = tmp_path / "cpsu.toml"
    spec.write_text(CPSU_SWEEP)
    dirs, tables = {}, {}
    executors = {"serial": SerialExecutor(), "pool": PoolExecutor(2),
                 "dask": DaskExecutor(workers=2, processes=False)}
    for name, ex in executors.items():
        dirs[name], tables[name] = sweep(spec, ex, out=tmp_path / name)
    ra, a = tables["serial"], dirs["serial"]
    assert (ra["status"] == "ok").all() and len(ra) == 6
    ref = _files(a)
    assert len(ref) == 7
    assert _files(dirs["pool"]) == ref
    assert _files(dirs["dask"]) == ref
    assert ra.groupby("point")["peak_members"].nunique().eq(2).all()
    seen = {json.loads(x)["executor"] for d in dirs.values()
            for x in (d / "index.jsonl").read_text().splitlines()}
    assert seen == {"serial", "pool", "dask"}
    # the long dataset and the runs table are readable by DuckDB and polars
    q = duckdb.sql(f"""
        select r."levers.selectivity" as sel, avg(r."fit.value") as rmse, count(*) as n
        from read_parquet('{a}/runs.parquet') r group by sel order by sel""").df()
    assert list(q["n"]) == [2, 2, 2] and list(q["sel"]) == [0.3, 0.6, 0.9]
    ts = pl.read_parquet(f"{a}/timeseries/*.parquet")
    assert ts.height == len(ra) * 38  # 1917-11 .. 1920-12 is 38 months
    members = duckdb.sql(f"""select run_id, max(members) as peak
        from read_parquet('{a}/timeseries/*.parquet') group by run_id order by run_id""").df()
    assert np.allclose(members["peak"], ra["peak_members"])


MANY_SWEEP = """
scenario = "ishigami"
seed = 5
replicates = 2
outcomes = ["y"]
set = { "constants.noise" = 0.1 }
[parameters.inputs]
x1 = [-2.0, -1.0, 0.0, 1.0, 2.0]
x2 = [-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
"""
N_MANY = 5 * 10 * 2


def test_sigkill_then_resume_equals_uninterrupted(tmp_path):
    spec = tmp_path / "many.toml"
    spec.write_text(MANY_SWEEP)
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "allegiance", "sweep", str(spec), "--out",
                             str(killed), "--serial", "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    index = killed / "index.jsonl"
    t0 = time.time()
    while time.time() - t0 < 120:
        if index.is_file() and len(index.read_text().splitlines()) >= 10:
            break
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # a kill may cut the last line short: count whole lines only
    first = [json.loads(x)["run_id"] for x in index.read_text().splitlines()
             if x.endswith("}")]
    assert 10 <= len(first) < N_MANY, "the sweep must be killed mid-way"
    # what a kill in the middle of writing leaves: a cut-off index line, a temp part file,
    # a part whose index line was never written
    with index.open("a") as fh:
        fh.write('{"run_id": 99, "status": "o')
    last = N_MANY - 1
    (killed / "timeseries" / f".run-{last:06d}.parquet.deadbeef").write_bytes(b"PAR1 half")
    (killed / "timeseries" / f"run-{last:06d}.parquet").write_bytes(b"PAR1 half-written")

    r = cli("sweep", str(spec), "--out", str(killed), "--resume", "--serial", "--quiet")
    assert r.returncode == 0, r.stderr
    ids = _index_ids(killed)
    assert ids[: len(first)] == first  # finished runs kept, not redone
    assert sorted(ids) == list(range(N_MANY))  # every run exactly once
    straight, _ = sweep(spec, SerialExecutor(), out=tmp_path / "straight")
    assert _files(killed) == _files(straight)
    assert len(_files(straight)) == N_MANY + 1
    assert not list((killed / "timeseries").glob(".*"))
    # resuming a finished sweep runs nothing; another spec in the same directory is refused
    sweep(spec, SerialExecutor(), out=killed, resume=True)
    assert len(_index_ids(killed)) == N_MANY
    spec.write_text(MANY_SWEEP.replace("seed = 5", "seed = 6"))
    with pytest.raises(AllegianceError, match="different"):
        sweep(spec, SerialExecutor(), out=killed, resume=True)


def test_malformed_sweep_files_give_one_line_naming_the_key(tmp_path):
    cases = {
        'scenario = "ishigami"\nreplicats = 2\n': ["replicats", "did you mean 'replicates'"],
        'scenario = "ishigami"\nreplicates = "two"\n': ["replicates = 'two'"],
        'scenario = "ishigami"\n[parameters]\n"inputs.x9" = [1, 2]\n': ["parameters.inputs.x9",
                                                                       "x1, x2, x3"],
        'scenario = "ishigami"\n[design]\nmethod = "sobol"\nsamples = 100\n[parameters]\n'
        '"inputs.x1" = {low = 0, high = 1}\n"inputs.x2" = {low = 1, high = 0}\n':
            ["parameters.inputs.x2", "greater than low"],
        'scenario = "ishigami"\n[design]\nmethod = "sobol"\nsamples = 100\n[parameters]\n'
        '"inputs.x1" = {low = 0, high = 1}\n"inputs.x2" = {low = 0, high = 1}\n':
            ["design.samples = 100", "power of 2"],
        'scenario = "ishigami"\n[parameters]\n"constants.noise" = [-1.0]\n':
            ["parameters.constants.noise", "greater than or equal to 0"],
    }
    for i, (text, needles) in enumerate(cases.items()):
        f = tmp_path / f"bad{i}.toml"
        f.write_text(text)
        if i < 2:  # through the command line: one line on stderr, exit code 2
            line = one_line_error(cli("sweep", str(f), "--serial"))
        else:  # the same error object, without a process start
            with pytest.raises(ScenarioError) as ei:
                sweep(f, SerialExecutor(), out=tmp_path / f"o{i}")
            line = str(ei.value)
            assert "\n" not in line and ScenarioError.exit_code == 2
        assert line.startswith(f"error: bad{i}.toml: ") or line.startswith(f"bad{i}.toml: ")
        for n in needles:
            assert n in line, (n, line)


def test_ishigami_sobol_indices_match_analytic(tmp_path):
    from SALib.analyze import sobol as sa
    from SALib.sample import sobol as ss

    n, seed = 256, 11
    spec = tmp_path / "ishigami_sobol.toml"
    spec.write_text(f"""
scenario = "ishigami"
seed = {seed}
outcomes = ["y"]
timeseries = false
[design]
samples = {n}
[parameters.inputs]
x1 = {{ low = {-PI!r}, high = {PI!r} }}
x2 = {{ low = {-PI!r}, high = {PI!r} }}
x3 = {{ low = {-PI!r}, high = {PI!r} }}
""")
    out, table = sensitivity(spec, SerialExecutor(), out=tmp_path / "sens")
    exact = analytic_indices()
    t = table.set_index("parameter")
    for j, name in enumerate(["inputs.x1", "inputs.x2", "inputs.x3"]):
        for k in ("S1", "ST"):
            err = abs(t.loc[name, k] - exact[k][j])
            # within the bootstrap interval's scale and an absolute bound fitting N = 256
            assert err <= max(1.5 * t.loc[name, f"{k}_conf"], 0.02) and err < 0.15, (name, k)
    assert t.loc["inputs.x1", "ST"] > t.loc["inputs.x2", "ST"] > t.loc["inputs.x3", "ST"]
    # the pipeline adds nothing: identical to SALib on the function itself
    problem = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-PI, PI]] * 3}
    x = ss.sample(problem, n, calc_second_order=False, seed=seed)
    direct = sa.analyze(problem, np.array([ishigami(*r) for r in x]), calc_second_order=False,
                        num_resamples=200, seed=seed)
    assert np.array_equal(t["S1"].to_numpy(), direct["S1"])
    assert np.array_equal(t["ST"].to_numpy(), direct["ST"])
    assert (out / "figures" / "sobol_indices.png").is_file()
    assert len(pd.read_parquet(out / "runs.parquet")) == n * 5


def test_ensemble_bands_are_ordered(tmp_path):
    out = ensemble("cpsu", 3, SerialExecutor(), scale=1e-4, seed=2,
                   overrides=["run.end=1922-12"], out=tmp_path / "ens")
    bands = pd.read_parquet(out / "bands.parquet")
    assert {"members", "committed_members", "exits"} <= set(bands["metric"])
    fin = bands.dropna(subset=["q05", "q50", "q95"])
    assert len(fin) > 0.9 * len(bands)
    assert (fin["q05"] <= fin["q50"]).all() and (fin["q50"] <= fin["q95"]).all()
    m = bands[bands["metric"] == "members"]
    assert (m["q95"] > m["q05"]).sum() > len(m) / 2  # replicates differ: a real band
    s = json.loads((out / "summary.json").read_text())
    assert s["ok"] == 3
    b = s["bands"]["fit.value"]
    assert b["n"] == 3 and b["q05"] <= b["q50"] <= b["q95"]
    assert (out / "figures" / "ensemble_bands.png").is_file()


def test_calibrate_recovers_a_synthetic_target_and_resumes(tmp_path):
    true_x1 = 0.7
    target = ishigami(true_x1, 1.0, 0.5)
    f = tmp_path / "cal.toml"
    f.write_text(f"""
scenario = "ishigami"
seed = 5
set = {{ "inputs.x2" = 1.0, "inputs.x3" = 0.5 }}
[parameters]
"inputs.x1" = {{ low = 0.0, high = 1.5 }}
[target]
summary = "y"
value = {target!r}
[abc]
particles = 20
generations = 5
""")
    out, rep = calibrate(f, SerialExecutor(), out=tmp_path / "cal")
    assert abs(rep["best_fit"]["parameters"]["inputs.x1"] - true_x1) < 0.02
    post = rep["posterior"]["inputs.x1"]
    assert post["q05"] <= true_x1 <= post["q95"] and post["sd"] < 0.1
    tol = [g["tolerance"] for g in rep["generations"]]
    assert tol == sorted(tol, reverse=True) and tol[-1] < tol[0]
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == rep["runs"] and runs["run_id"].is_unique
    n_lines = len(_index_ids(out))
    _, rep2 = calibrate(f, SerialExecutor(), out=out, resume=True)
    assert len(_index_ids(out)) == n_lines and rep2 == rep


def test_calibrate_cpsu_command(tmp_path):
    f = tmp_path / "adm.toml"
    f.write_text("""
scenario = "cpsu"
scale = 1e-4
seed = 1
set = { "run.end" = "1922-12" }
[parameters]
"levers.admission_rate" = { low = 0.002, high = 0.008 }
[target]
series = "members"
data = "membership"
distance = "rmse_log"
[abc]
particles = 4
alpha = 0.5
generations = 2
""")
    r = cli("calibrate", str(f), "--out", str(tmp_path / "c"), "--serial")
    assert r.returncode == 0, r.stderr
    rep = json.loads((tmp_path / "c" / "calibration.json").read_text())
    assert rep["runs"] == 6 and rep["failed_runs"] == 0
    assert 0.002 <= rep["best_fit"]["parameters"]["levers.admission_rate"] <= 0.008
    assert "rmse_log of 'members' vs membership" in rep["distance"]
    runs = pd.read_parquet(tmp_path / "c" / "runs.parquet")
    assert runs["distance"].min() == pytest.approx(rep["best_fit"]["distance"])
    assert "best fit" in r.stdout


def test_documented_example_files_are_valid():
    from allegiance.experiments.calibrate import Calibration, load_calibration
    from allegiance.experiments.sensitivity import load_sensitivity_spec
    from allegiance.experiments.sweep import Plan, load_spec

    ex = Path(__file__).resolve().parents[1] / "docs" / "examples"
    spec, base = load_spec(ex / "selectivity_sweep.toml")
    assert len(Plan(spec, base).tasks) == 12
    spec, base = load_sensitivity_spec(ex / "exit_sobol.toml")
    assert len(Plan(spec, base).tasks) == 64 * (4 + 2)
    spec, base = load_calibration(ex / "admission_calibration.toml")
    assert Calibration(spec, base, "admission_calibration.toml").points
