"""The floor that docs/PERFORMANCE.md quotes (benchmarks/limits.py) is computed as documented."""

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture()
def limits(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import limits as mod

    yield mod
    sys.modules.pop("limits", None)
    sys.modules.pop("_timing", None)


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
