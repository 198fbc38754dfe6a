"""Benchmarks whose results docs/PERFORMANCE.md quotes compute what they say: the floor
(benchmarks/limits.py), the parts of the one pass (benchmarks/one_pass_parts.py)."""

import importlib
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _benchmark(monkeypatch, name: str):
    """Import ``benchmarks/NAME.py`` (and its ``_timing``) for one test, then forget them."""
    monkeypatch.syspath_prepend(str(BENCH))
    yield importlib.import_module(name)
    sys.modules.pop(name, None)
    sys.modules.pop("_timing", None)


@pytest.fixture()
def limits(monkeypatch):
    yield from _benchmark(monkeypatch, "limits")


def _limits_against(limits, tmp_path, phases: dict, wall: float, agents: int) -> dict:
    """``limits.json`` of a one-thread call set against a run of 10⁹ agent-steps with
    ``phases`` (seconds) and ``wall`` seconds."""
    run = tmp_path / "run.json"
    run.write_text(json.dumps({"threads": 1, "agent_steps": 1e9, "wall_seconds": wall,
                               "phase_seconds": phases}))
    limits.main(["--threads", "1", "--agents", str(agents), "--cells", "50000", "--repeat", "1",
                 "--agent-months", "1e9", "--out", str(tmp_path), "--run", str(run)])
    return json.loads((tmp_path / "limits.json").read_text())


def test_limits_floor_is_stream_plus_scattered_accesses(limits, tmp_path):
    res = _limits_against(limits, tmp_path, {"adults": 6.0, "learning": 5.0}, 30.0, 200_000)
    r = res["threads"]["1"]
    assert r["gather"] == min(r["gather_0"], r["gather_128"]) > 0
    assert r["scatter"] == min(r["scatter_0"], r["scatter_128"]) > 0
    # the one-pass month (synchronous M7): 27 bytes besides cell and one scattered add
    assert r["stream_ns"] == pytest.approx(27 / r["copy_gb_s"])
    assert r["floor_ns"] == pytest.approx(r["stream_ns"] + r["scatter"])
    assert r["floor_1to1_s"] == pytest.approx(r["floor_ns"])  # 1e9 agent-months × ns
    # the sequential month: two passes, 38 bytes, a scattered add and a scattered read
    assert r["floor_sequential_ns"] == pytest.approx(38 / r["copy_gb_s"] + r["gather"]
                                                     + r["scatter"])
    # the run has a learning phase: its passes are set against the sequential floors
    assert res["run"]["m7_order"] == "sequential"
    assert res["run"]["adults"]["ns"] == pytest.approx(6.0)
    assert res["run"]["learning"]["floor_ns"] == pytest.approx(17 / r["copy_gb_s"] + r["gather"])


def test_limits_one_pass_run(limits, tmp_path):
    res = _limits_against(limits, tmp_path, {"adults": 8.0, "applications": 1.0}, 20.0, 100_000)
    r = res["threads"]["1"]
    assert res["run"]["m7_order"] == "synchronous" and "learning" not in res["run"]
    assert res["run"]["adults"]["floor_ns"] == pytest.approx(r["floor_ns"])


@pytest.fixture()
def parts(monkeypatch):
    yield from _benchmark(monkeypatch, "one_pass_parts")


def test_one_pass_parts_switch_off_what_they_name(parts):
    """Switching a part off skips that part's work on the captured month: without M7
    learning nobody's trust moves towards the workplace mean, and without the sums of trust
    they stay as they were."""
    import numpy as np

    from allegiance.models.cpsu.adults import one_pass

    assert set(parts.PARTS.values()) <= set(parts.ARGS)
    args = parts.capture(1e-5, "1950-01", 1)
    pos = {n: k for k, n in enumerate(parts.ARGS)}
    assert args[pos["month"]] == 1950 * 12 and args[pos["learn_on"]] and args[pos["sums_on"]]

    def after(**off):
        a = [x.copy() if isinstance(x, np.ndarray) else x for x in args]
        for flag in off:
            a[pos[flag]] = False
        one_pass(*a)
        return a

    full, quiet = after(), after(learn_on=False)
    assert not np.array_equal(full[pos["trust"]], quiet[pos["trust"]])
    np.testing.assert_array_equal(full[pos["belief"]], quiet[pos["belief"]])
    nosums = after(sums_on=False)
    np.testing.assert_array_equal(nosums[pos["tsum"]], args[pos["tsum"]])
    assert not np.array_equal(full[pos["tsum"]], args[pos["tsum"]])
