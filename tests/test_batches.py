"""Batches (issue 18, item 3): a worker runs a range of run ids in one go and writes their time
series as one Parquet part; the client only appends the runs' index lines. The files must be
the same bytes whatever the executor, after a resume cut in the middle of a batch, and after
shards are merged."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl
import pytest

from allegiance.errors import AllegianceError
from allegiance.experiments.executors import PoolExecutor, SerialExecutor
from allegiance.experiments.store import (
    RunBatch,
    RunTask,
    batch_size,
    execute_batch,
    part_name,
    part_runs,
)
from allegiance.experiments.sweep import load_spec, sweep
from conftest import NOISY_SWEEP, cli

BATCHED = NOISY_SWEEP.replace("replicates = 2", "replicates = 2\nbatch = 4")


def _files(d: Path) -> dict[str, bytes]:
    """The experiment's deterministic files (not the index: timings, hosts) by path."""
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*"))
            if p.is_file() and p.name != "index.jsonl" and "shards" not in p.parts
            and p.suffix not in (".svg", ".png")}


def _ids(d: Path) -> list[int]:
    return [json.loads(x)["run_id"] for x in (d / "index.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """The batched noisy sweep run straight through, serially: (directory, spec file)."""
    d = tmp_path_factory.mktemp("batches")
    spec = d / "noisy.toml"
    spec.write_text(BATCHED)
    out, runs = sweep(spec, SerialExecutor(), out=d / "whole")
    assert len(runs) == 12 and (runs["status"] == "failed").sum() == 4
    return out, spec


def test_batch_size_and_part_names():
    assert [batch_size(n) for n in (1, 12, 255, 256, 448, 8192, 11_264, 10**6)] == \
        [1, 1, 1, 2, 3, 64, 64, 64]
    assert part_name(42, 1, None) == "run-000042.parquet"
    assert part_name(42, 64, 11_264) == "runs-000000-000063.parquet"
    assert part_name(11_263, 64, 11_264) == "runs-011200-011263.parquet"
    assert part_name(13, 4, 14) == "runs-000012-000013.parquet"  # the last part is cut
    assert part_runs("runs-000012-000013.parquet") == (12, 13)
    assert part_runs("run-000042.parquet") == (42, 42)
    assert part_runs("runs-000013-000012.parquet") is None
    assert part_runs("notes.parquet") is None


def test_the_spec_key_is_checked_and_leaves_old_digests_alone(tmp_path):
    from allegiance.experiments.sweep import Plan

    bad = tmp_path / "bad.toml"
    bad.write_text(NOISY_SWEEP.replace("replicates = 2", "replicates = 2\nbatch = 0"))
    with pytest.raises(AllegianceError, match="batch"):
        load_spec(bad)
    plain = tmp_path / "plain.toml"
    plain.write_text(NOISY_SWEEP)
    spec, base = load_spec(plain)
    # a digest written before the key existed (allegiance 0.4.0, this spec)
    plan = Plan(spec, base, "plain")
    assert plan.batch == 1
    assert plan.digest == "dc9146d994d5982af7c7e9d10a2f547f3e654db6b985d969bcffe2ee707a90fb"
    four = tmp_path / "four.toml"
    four.write_text(BATCHED)
    assert Plan(*load_spec(four), "four").digest != Plan(spec, base, "plain").digest


def test_batched_parts_hold_their_runs_and_match_any_executor(whole, tmp_path):
    out, spec = whole
    ref = _files(out)
    parts = sorted(k for k in ref if k.startswith("timeseries/"))
    # runs 0-3, 4-7, 8-11; 8-11 all failed (x1 = 2.0): a batch with no series has no part
    assert parts == ["timeseries/runs-000000-000003.parquet",
                     "timeseries/runs-000004-000007.parquet"]
    assert json.loads((out / "experiment.json").read_text())["batch"] == 4
    ts = pl.read_parquet(f"{out}/timeseries/*.parquet")
    runs = pl.read_parquet(out / "runs.parquet")
    ok = sorted(runs.filter(pl.col("status") == "ok")["run_id"].to_list())
    assert sorted(set(ts["run_id"].to_list())) == ok and len(ok) == 8
    assert ts["run_id"].to_list() == sorted(ts["run_id"].to_list())  # run-id order
    n = duckdb.sql(f"select count(distinct run_id) from read_parquet('{out}/timeseries/*.parquet')"
                   ).fetchall()[0][0]
    assert n == 8
    pooled, _ = sweep(spec, PoolExecutor(2), out=tmp_path / "pool")
    assert _files(pooled) == ref


def test_resume_cut_inside_a_batch_redoes_only_the_unrecorded_runs(whole, tmp_path):
    out, spec = whole
    cut = tmp_path / "cut"
    sweep(spec, SerialExecutor(), out=cut)
    lines = (cut / "index.jsonl").read_text().splitlines()
    # a kill while the second batch's lines were written: runs 0-3 and two of 4-7 recorded,
    # the last line cut short; the third batch's part written, none of its lines
    keep = [x for x in lines if json.loads(x)["run_id"] < 6]
    (cut / "index.jsonl").write_text("\n".join(keep) + "\n" + lines[-1][:15])
    sweep(spec, SerialExecutor(), out=cut, resume=True)
    ids = _ids(cut)
    assert ids[: len(keep)] == [json.loads(x)["run_id"] for x in keep]  # not redone
    assert sorted(ids[len(keep):]) == [6, 7, 8, 9, 10, 11]
    assert _files(cut) == _files(out)


def test_shards_of_a_batched_sweep_merge_byte_for_byte(whole, tmp_path):
    out, spec = whole
    sharded = tmp_path / "sharded"
    for i in (1, 2, 3):
        sweep(spec, SerialExecutor(), out=sharded, shard=f"{i}/3")
    # each shard writes its runs of a range under the range's name
    assert sorted(p.name for p in (sharded / "shards" / "2-of-3" / "timeseries").iterdir()) == \
        ["runs-000000-000003.parquet", "runs-000004-000007.parquet"]
    r = cli("merge", str(sharded))
    assert r.returncode == 0, r.stderr
    assert _files(sharded) == _files(out)


def test_a_worker_that_cannot_see_the_directory_hands_the_series_back(tmp_path):
    from allegiance.scenario import load_scenario

    task = RunTask(run_id=0, point=0, replicate=0, seed=1, scale=None,
                   scenario=load_scenario("ishigami").to_dict(), params={})
    there = execute_batch(RunBatch((task,), str(tmp_path), "run-000000.parquet"))
    assert there["outs"][0]["status"] == "ok", there["outs"][0]["error"]
    assert there["frames"] is not None and len(there["frames"]) == 1  # no such directory here
    (tmp_path / "timeseries").mkdir()
    here = execute_batch(RunBatch((task,), str(tmp_path), "run-000000.parquet"))
    assert here["frames"] is None and (tmp_path / "timeseries" / "run-000000.parquet").is_file()
    assert all(o["timeseries"] is None for o in here["outs"])  # nothing big goes back
