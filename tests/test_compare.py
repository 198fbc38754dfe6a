"""``compare A B``: --set changes both sides, --set-a / --set-b one side only."""

from __future__ import annotations

import tomllib

from allegiance.compare import run_pair
from allegiance.scenario import load_scenario
from conftest import SMALL, cli

END = "run.end=1919-12"


def test_set_a_and_set_b_change_one_side_only():
    default = load_scenario("cpsu").levers.criticism
    ra, rb = run_pair("cpsu", "cpsu", seed=3, scale=SMALL, overrides=[END],
                      overrides_b=["levers.criticism=0.9"], threads=1)
    assert ra.scenario.levers.criticism == default and rb.scenario.levers.criticism == 0.9
    assert ra.scenario.run.end == rb.scenario.run.end == "1919-12"  # --set: both sides
    # a side's own override wins over --set on the same key; mappings work as in run()
    ra, rb = run_pair("cpsu", "cpsu", seed=3, scale=SMALL,
                      overrides={"run.end": "1918-06", "levers.criticism": 0.2},
                      overrides_a={"levers.criticism": 0.7}, threads=1)
    assert (ra.scenario.levers.criticism, rb.scenario.levers.criticism) == (0.7, 0.2)


def test_cli_set_a_set_b(tmp_path):
    out = tmp_path / "cmp"
    r = cli("compare", "cpsu", "cpsu", "--scale", str(SMALL), "--seed", "3", "--set", END,
            "--set-a", "levers.criticism=0.1", "--set-b", "levers.criticism=0.9",
            "--out", str(out), "--quiet", "--threads", "1")
    assert r.returncode == 0, r.stderr
    a = tomllib.loads((out / "a_cpsu" / "scenario.toml").read_text())
    b = tomllib.loads((out / "b_cpsu" / "scenario.toml").read_text())
    assert (a["levers"]["criticism"], b["levers"]["criticism"]) == (0.1, 0.9)
    assert a["run"]["end"] == b["run"]["end"] == "1919-12"
    assert a["run"]["seed"] == b["run"]["seed"] == 3  # common random numbers, as recorded

    r = cli("compare", "cpsu", "cpsu", "--set-b", "levers.critcism=0.9",
            "--out", str(tmp_path / "bad"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "--set-b" in lines[0] and "levers.critcism" in lines[0], lines
    assert not (tmp_path / "bad").exists()
    h = cli("compare", "--help")
    assert "--set-a" in h.stdout and "--set-b" in h.stdout
