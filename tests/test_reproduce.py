"""Re-runs reproduce: the saved scenario is exactly what ran, and the manifest says what code
and data produced it."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path

import allegiance
from allegiance import api
from conftest import cli

SCALE = "0.0002"


def test_saved_scenario_is_what_ran_and_reruns_byte_for_byte(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    r = cli("run", "cpsu", "--scale", SCALE, "--seed", "5", "--set", "levers.criticism=0.3",
            "--set", "run.end=1930-12", "--out", str(a), "--quiet", "--no-figures",
            "--threads", "1")
    assert r.returncode == 0, r.stderr
    saved = tomllib.loads((a / "scenario.toml").read_text())
    assert saved["run"]["seed"] == 5 and saved["run"]["scale"] == float(SCALE)
    assert saved["run"]["end"] == "1930-12" and saved["levers"]["criticism"] == 0.3
    m = json.loads((a / "manifest.json").read_text())
    assert m["scenario"]["run"] == saved["run"] and (m["seed"], m["scale"]) == (5, float(SCALE))
    # the report's copy of the scenario is the same file
    from allegiance.report import build

    assert "seed = 5\n" in build(a).replace("&quot;", '"')

    # the saved file alone (no --seed, --scale or --set) gives the same bytes
    r = cli("run", str(a / "scenario.toml"), "--out", str(b), "--quiet", "--no-figures")
    assert r.returncode == 0, r.stderr
    for f in ("timeseries.parquet", "events.parquet", "summary.json", "scenario.toml"):
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_api_records_the_seed_and_scale_that_ran():
    res = allegiance.run("granovetter", seed=3, scale=0.5)
    assert res.scenario.run.seed == 3 and res.scenario.run.scale == 0.5
    assert res.manifest["scenario"]["run"]["seed"] == res.manifest["seed"] == 3


def test_manifest_names_code_and_data():
    m = allegiance.run("ishigami").manifest
    assert m["allegiance_version"] == allegiance.__version__
    data = Path(allegiance.__file__).parent / "data"
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
             for p in data.iterdir() if p.is_file()}
    assert m["data_sha256"] == files and "cpsu_membership.csv" in files
    assert m["git_commit"] is None or re.fullmatch(r"[0-9a-f]{40}", m["git_commit"])
    assert "git_dirty" in m


def test_provenance_without_git(monkeypatch):
    monkeypatch.setattr(api, "_git", lambda *a: None)  # no git binary, or not a checkout
    api._provenance.cache_clear()
    try:
        p = api.provenance()
        assert p["git_commit"] is None and p["git_dirty"] is None and p["data_sha256"]
    finally:
        api._provenance.cache_clear()
