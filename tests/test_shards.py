"""Sharded experiments: --shard I/N on N machines, then merge == the one-machine experiment."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from allegiance.errors import AllegianceError
from allegiance.experiments.ensemble import ensemble
from allegiance.experiments.executors import SerialExecutor
from allegiance.experiments.merge import merge
from allegiance.experiments.sensitivity import sensitivity
from allegiance.experiments.shards import Shard, parse_shard
from allegiance.experiments.sweep import sweep
from cli_errors import one_line_error
from conftest import NOISY_SWEEP, ROOT, cli

SOBOL = """
scenario = "ishigami"
seed = 9
outcomes = ["y"]
[design]
method = "sobol"
samples = 8
[parameters]
"inputs.x1" = { low = -3.14159, high = 3.14159 }
"inputs.x2" = { low = -3.14159, high = 3.14159 }
"""


def _files(d: Path) -> dict[str, bytes]:
    """Every file of an experiment directory but the shards and the index (which holds
    timings and hosts), by relative path."""
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*"))
            if p.is_file() and p.name != "index.jsonl" and "shards" not in p.parts
            and p.suffix not in (".svg", ".png")}


def _index(d: Path) -> dict[int, dict]:
    keep = ("run_id", "point", "replicate", "seed", "params", "status", "error", "summary")
    recs = [json.loads(x) for x in (d / "index.jsonl").read_text().splitlines()]
    return {r["run_id"]: {k: r[k] for k in keep} for r in recs}


def test_parse_shard():
    assert parse_shard("2/3") == Shard(2, 3) and str(Shard(2, 3)) == "2/3"
    assert parse_shard(None) is None
    for bad in ("0/3", "4/3", "x", "1/0", "3", "1/3/4", ""):
        with pytest.raises(AllegianceError, match=r"^--shard .*allowed: I/N with 1 <= I <= N"):
            parse_shard(bad)
    owned = [[k for k in range(12) if Shard(i, 3).owns(k)] for i in (1, 2, 3)]
    assert sorted(k for ks in owned for k in ks) == list(range(12))  # each run in one shard


def test_three_shards_merged_equal_the_unsharded_sweep_byte_for_byte(tmp_path):
    spec = tmp_path / "noisy.toml"
    spec.write_text(NOISY_SWEEP)
    whole, runs = sweep(spec, SerialExecutor(), out=tmp_path / "whole")
    assert len(runs) == 12 and (runs["status"] == "failed").sum() == 4
    out = tmp_path / "sharded"
    for i in (1, 2):
        d, part = sweep(spec, SerialExecutor(), out=out, shard=f"{i}/3")
        assert d == out / "shards" / f"{i}-of-3"
        assert sorted(part["run_id"]) == [k for k in range(12) if k % 3 == i - 1]
    # the third shard through the command line, as a SLURM array task would run it
    r = cli("sweep", str(spec), "--out", str(out), "--shard", "3/3", "--serial", "--quiet")
    assert r.returncode == 0, r.stderr
    assert not (out / "runs.parquet").exists()  # nothing merged yet
    r = cli("merge", str(out))
    assert r.returncode == 0, r.stderr
    assert "merge: sweep, 8 ok, 4 failed" in r.stdout
    ref = _files(whole)
    assert {"experiment.json", "design.parquet", "scenario.toml", "runs.parquet"} <= set(ref)
    assert len([k for k in ref if k.startswith("timeseries/")]) == 8
    assert _files(out) == ref
    assert _index(out) == _index(whole)
    # merging again changes nothing; the shard directories named one by one, elsewhere
    merge([out])
    assert _files(out) == ref and len(_index(out)) == 12
    elsewhere, kind, _ = merge(sorted((out / "shards").iterdir()), out=tmp_path / "elsewhere")
    assert kind == "sweep" and _files(elsewhere) == ref
    # a shard cut short resumes like any experiment
    d = out / "shards" / "2-of-3"
    lines = (d / "index.jsonl").read_text().splitlines()
    (d / "index.jsonl").write_text(lines[0] + "\n" + lines[1][:20])
    sweep(spec, SerialExecutor(), out=out, shard="2/3", resume=True)
    assert _index(d) == {k: v for k, v in _index(whole).items() if k % 3 == 1}


def test_merge_refuses_missing_incomplete_or_foreign_shards(tmp_path):
    spec = tmp_path / "noisy.toml"
    spec.write_text(NOISY_SWEEP)
    out = tmp_path / "s"
    for i in (1, 2):
        sweep(spec, SerialExecutor(), out=out, shard=f"{i}/3")
    line = one_line_error(cli("merge", str(out)))
    assert "shard 3/3 missing (found 2 of 3)" in line
    sweep(spec, SerialExecutor(), out=out, shard="3/3")
    # shard 3 loses its last finished runs (as if its job was killed before the end)
    idx = out / "shards" / "3-of-3" / "index.jsonl"
    idx.write_text(idx.read_text().splitlines()[0] + "\n")
    line = one_line_error(cli("merge", str(out)))
    assert "shard 3/3" in line and "is incomplete: 1 of 4 runs finished" in line
    assert "--shard 3/3 --resume" in line
    assert not (out / "runs.parquet").exists()
    # a shard of another specification (another seed)
    other = tmp_path / "other.toml"
    other.write_text(NOISY_SWEEP.replace("seed = 3", "seed = 4"))
    sweep(other, SerialExecutor(), out=tmp_path / "o", shard="3/3", force=True)
    shutil.rmtree(out / "shards" / "3-of-3")
    shutil.copytree(tmp_path / "o" / "shards" / "3-of-3", out / "shards" / "3-of-3")
    with pytest.raises(AllegianceError, match=r"shard 3/3 .* comes from a different specif"):
        merge([out])
    # shards of different splits, and a directory that holds none
    sweep(spec, SerialExecutor(), out=tmp_path / "two", shard="1/2")
    with pytest.raises(AllegianceError, match="split the runs differently"):
        merge([out / "shards" / "1-of-3", tmp_path / "two" / "shards" / "1-of-2"],
              out=tmp_path / "m")
    with pytest.raises(AllegianceError, match="not a shard directory"):
        merge([tmp_path])


def test_bad_shard_flag_exits_2_with_one_line(tmp_path):
    spec = tmp_path / "noisy.toml"
    spec.write_text(NOISY_SWEEP)
    for bad in ("0/3", "4/3", "x"):
        line = one_line_error(cli("sweep", str(spec), "--shard", bad, "--serial"))
        assert f"--shard '{bad}'" in line and "allowed: I/N with 1 <= I <= N" in line
    assert not (tmp_path / "runs").exists()


def test_sharded_ensemble_and_sensitivity_merge_to_the_unsharded_files(tmp_path):
    ex = SerialExecutor()
    sets = {"constants.noise": 0.3}
    whole = ensemble("ishigami", 5, ex, seed=2, overrides=sets, out=tmp_path / "e",
                     figures=False)
    for i in (1, 2):
        d = ensemble("ishigami", 5, ex, seed=2, overrides=sets, out=tmp_path / "es",
                     shard=f"{i}/2")
        assert d.parent.name == "shards" and not (d / "bands.parquet").exists()
    outdir, kind, _ = merge([tmp_path / "es"], figures=False)
    assert kind == "ensemble" and outdir == tmp_path / "es"
    assert {"bands.parquet", "summary.json"} <= set(_files(whole))
    assert _files(outdir) == _files(whole)

    spec = tmp_path / "sobol.toml"
    spec.write_text(SOBOL)
    sdir, _ = sensitivity(spec, ex, out=tmp_path / "s", figures=False)
    for i in (1, 2, 3):
        _, none = sensitivity(spec, ex, out=tmp_path / "ss", shard=Shard(i, 3))
        assert none is None
    outdir, kind, _ = merge([tmp_path / "ss"], figures=False)
    assert kind == "sensitivity"
    assert {"sensitivity.parquet", "sensitivity.json"} <= set(_files(sdir))
    assert _files(outdir) == _files(sdir)


def test_documented_job_array_script_names_real_flags():
    text = (ROOT / "docs" / "examples" / "sweep_array.sbatch").read_text()
    assert "--array=1-" in text and '--shard "${SLURM_ARRAY_TASK_ID}/' in text
    assert "allegiance merge" in text and "--resume" in text
