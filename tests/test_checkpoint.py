"""Checkpoints: a run resumed from one is the unbroken run byte for byte; a branch that changes
only what acts after the checkpoint is the unbroken run of the changed scenario; a change that
would have acted before it is refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import allegiance
from allegiance.checkpoint import Packer
from allegiance.errors import AllegianceError, CheckpointError
from conftest import SMALL, cli

AT = "1956-01"
BRANCH = {"events.admission_1961.value": 0.008}  # an event dated after the checkpoint


def _files(d: Path) -> dict[str, bytes]:
    return {n: (d / n).read_bytes() for n in ("timeseries.parquet", "events.parquet")}


def _summary(d: Path) -> dict:
    return json.loads((d / "summary.json").read_text())


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """The 1:10,000 cpsu run (seed 7) with a checkpoint at 1956-01: (its directory, the
    checkpoint), written by the command line."""
    d = tmp_path_factory.mktemp("ck")
    r = cli("run", "cpsu", "--scale", str(SMALL), "--seed", "7", "--out", str(d / "a"),
            "--checkpoint-at", AT, "--no-figures", "--quiet")
    assert r.returncode == 0, r.stderr
    ck = Path(f"{d / 'a'}-{AT}.checkpoint.npz")
    assert ck.is_file() and not list(d.glob(".*"))  # renamed into place, no temporary left
    return d / "a", ck


def test_resumed_run_is_the_unbroken_run_byte_for_byte(cpsu_small, checkpoint, tmp_path):
    unbroken = cpsu_small.save(tmp_path / "unbroken", figures=False)
    written, ck = checkpoint
    assert _files(written) == _files(unbroken)  # writing a checkpoint changes nothing
    r = cli("run", "cpsu", "--from", str(ck), "--out", str(tmp_path / "b"), "--no-figures",
            "--quiet")
    assert r.returncode == 0, r.stderr
    assert _files(tmp_path / "b") == _files(unbroken)
    assert _summary(tmp_path / "b") == _summary(unbroken)
    man = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert man["resumed_from"]["at"] == AT and man["seed"] == 7 and man["scale"] == SMALL
    # what the file holds: the month, the scenario's hash, the version, every agent array
    with np.load(ck, allow_pickle=False) as z:
        meta = json.loads(z["meta"].tobytes())
    assert meta["label"] == AT and meta["allegiance_version"] == allegiance.__version__
    assert meta["scenario_sha256"] == cpsu_small.scenario.digest()
    agents = meta["state"]["model"]["state"]["arrays"]
    assert {"uid", "alive", "belief", "trust", "status", "disposition"} <= set(agents)
    assert "next_stocks" in meta["state"]["model"]["passes"]["carry"]


def test_a_branch_after_the_checkpoint_is_the_unbroken_changed_run(cpsu_small, checkpoint,
                                                                   tmp_path):
    _, ck = checkpoint
    for over in (BRANCH, {"hold.privilege.from": "1960-01", "hold.privilege.value": 0.9}):
        whole = allegiance.run("cpsu", scale=SMALL, seed=7, overrides=over)
        branch = allegiance.run("cpsu", overrides=over, resume_from=ck)
        a = whole.save(tmp_path / "whole", figures=False, force=True)
        b = branch.save(tmp_path / "branch", figures=False, force=True)
        assert _files(b) == _files(a)
        assert _summary(b) == _summary(a)
        # and the change did change the run
        assert not branch.timeseries.equals(cpsu_small.timeseries)


def test_a_branch_may_run_longer_than_the_run_it_branched_from(cpsu_small, tmp_path):
    ck = tmp_path / "short.npz"
    allegiance.run("cpsu", scale=SMALL, seed=7, overrides={"run.end": "1925-12"},
                   checkpoint_at="1921-03", checkpoint_path=ck)
    longer = allegiance.run("cpsu", resume_from=ck)  # to 1991-12, as the bundled scenario
    a = cpsu_small.save(tmp_path / "a", figures=False)
    b = longer.save(tmp_path / "b", figures=False)
    assert _files(a) == _files(b) and _summary(a) == _summary(b)


def test_a_change_before_the_checkpoint_is_refused(checkpoint, tmp_path):
    _, ck = checkpoint
    cases = {"initial.members=400000": "initial.members (350000.0 there, 400000.0 here)",
             "events.admission_1954.value=0.001": "events.admission_1954.value",
             "mechanisms.exit.enabled=false": "mechanisms.exit.enabled"}
    for setting, key in cases.items():
        r = cli("run", "cpsu", "--from", str(ck), "--set", setting, "--out", str(tmp_path / "x"),
                "--quiet")
        assert r.returncode == 2, r.stderr
        lines = [x for x in r.stderr.strip().splitlines() if x.strip()]
        assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
        assert f"differs from the checkpoint's before {AT}, at {key}" in lines[0]
    assert not (tmp_path / "x").exists()
    with pytest.raises(CheckpointError, match=r"at levers\.selectivity \(0\.8 there, 0\.6 here"):
        allegiance.run("cpsu", resume_from=ck, overrides={"levers.selectivity": 0.6})
    with pytest.raises(CheckpointError, match=r"at run\.seed"):
        allegiance.run("cpsu", seed=8, resume_from=ck)
    with pytest.raises(CheckpointError, match="after this run's last step"):
        allegiance.run("cpsu", resume_from=ck, overrides={"run.end": "1950-12"})


def test_ongoing_events_reference_engine_and_added_state_are_saved(tmp_path):
    # a checkpoint in the war (the war-loss event is under way), with the reference engine
    # and an added mechanism that declares an agent array of its own: all by name, generically
    for engine in ("fused", "reference"):
        sc = allegiance.load_scenario("cpsu", {"run.end": "1943-12", "run.engine": engine})
        o = sc.to_dict()
        o["mechanisms"]["nostalgia"] = {"module": "allegiance.examples.nostalgia", "rate": 0.2}
        ck = tmp_path / f"{engine}.npz"
        whole = allegiance.run(o, scale=SMALL, seed=3, threads=1, checkpoint_at="1942-06",
                               checkpoint_path=ck)
        with np.load(ck, allow_pickle=False) as z:
            meta = json.loads(z["meta"].tobytes())
        assert meta["state"]["model"]["ongoing"][0]["$tuple"][1] == {"$ref": "events.war_losses"}
        assert "nostalgia_months" in meta["state"]["model"]["state"]["arrays"]
        resumed = allegiance.run(o, threads=1, resume_from=ck)
        a = whole.save(tmp_path / f"{engine}-a", figures=False)
        b = resumed.save(tmp_path / f"{engine}-b", figures=False)
        assert _files(a) == _files(b) and _summary(a) == _summary(b)


def test_what_cannot_be_checkpointed_is_one_clear_line(tmp_path):
    with pytest.raises(CheckpointError, match=r"state\.x\.f holds a builtins\.builtin_function"):
        Packer().pack({"x": {"f": print}})
    with pytest.raises(allegiance.AllegianceError, match="cannot write checkpoints"):
        allegiance.run("granovetter", checkpoint_at="1", checkpoint_path=tmp_path / "g.npz")
    with pytest.raises(CheckpointError, match="not a step of this run"):
        allegiance.run("cpsu", scale=SMALL, overrides={"run.end": "1918-12"},
                       checkpoint_at="1956-01", checkpoint_path=tmp_path / "c.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        allegiance.run("cpsu", resume_from=tmp_path / "bad.npz")
    with pytest.raises(CheckpointError, match="file not found"):
        allegiance.run("cpsu", resume_from=tmp_path / "none.npz")


def test_packer_round_trips_what_a_model_holds():
    from allegiance.models.cpsu.carry import NextStocks

    v = {"f": 1.5, "nan": float("nan"), "inf": -float("inf"), "i": 3, "b": True, "s": "x",
         "n": None, "t": (1, (2.0, "a")), "l": [np.float32(0.1), np.uint64(2**63 + 1)],
         "k": {(1, 2): "tuple key", 3: "int key"},
         "a": np.arange(5, dtype=np.int16),
         "dc": NextStocks((1, 2, 3), np.zeros(2), np.ones((2, 3)), np.zeros((2, 0), np.uint32),
                          np.array([-1, 0]))}
    p = Packer()
    doc = json.loads(json.dumps(p.pack(v), allow_nan=False))
    back = Packer(arrays=p.arrays).unpack(doc)
    assert np.isnan(back.pop("nan")) and back["inf"] == -np.inf
    assert type(back["l"][0]) is np.float32 and back["l"][0] == np.float32(0.1)
    assert back["l"][1] == np.uint64(2**63 + 1) and back["t"] == (1, (2.0, "a"))
    assert back["k"] == {(1, 2): "tuple key", 3: "int key"}
    assert back["a"].dtype == np.int16 and list(back["a"]) == list(range(5))
    assert isinstance(back["dc"], NextStocks) and back["dc"].key == (1, 2, 3)
    assert np.array_equal(back["dc"].whole, np.ones((2, 3)))


def test_compare_runs_b_from_the_shared_prefix_with_the_same_results():
    from allegiance.compare import run_pair, shared_prefix
    from allegiance.scenario import load_scenario

    both = {"run.end": "1962-12"}
    hold = {"hold.privilege.from": "1960-01", "hold.privilege.value": 0.9}
    base = load_scenario("cpsu", both)
    assert shared_prefix(base, load_scenario("cpsu", {**both, **hold}), 7, SMALL) == "1960-01"
    assert shared_prefix(base, load_scenario("cpsu", {**both, **BRANCH}), 7, SMALL) == "1961-10"
    assert shared_prefix(base, load_scenario("cpsu", {**both, "levers.criticism": 0.5}),
                         7, SMALL) is None
    runs = {br: run_pair("cpsu", "cpsu", seed=7, scale=SMALL, overrides=both, overrides_b=hold,
                         threads=1, branch=br) for br in (False, True)}
    (a0, b0), (a1, b1) = runs[False], runs[True]
    assert b1.manifest["resumed_from"]["at"] == "1960-01" and "resumed_from" not in b0.manifest
    assert a1.manifest["checkpoint"]["at"] == "1960-01"
    for x, y in ((a0, a1), (b0, b1)):
        assert x.timeseries.equals(y.timeseries) and x.events.equals(y.events)
        assert x.summary == y.summary
    assert not b1.timeseries.equals(a1.timeseries)


def test_compare_with_snapshots_branches_no_later_than_the_first(tmp_path):
    """compare --snapshot keeps both runs' agents; B branches from A's state no later than the
    first snapshot month, so B's snapshots are B's own (the same as run from the start)."""
    from allegiance.compare import run_pair, shared_prefix
    from allegiance.scenario import load_scenario

    both = {"run.end": "1962-12"}
    hold = {"hold.privilege.from": "1960-01", "hold.privilege.value": 0.9}
    base, held = load_scenario("cpsu", both), load_scenario("cpsu", {**both, **hold})
    assert shared_prefix(base, held, 7, SMALL, ["1961-01"]) == "1960-01"
    assert shared_prefix(base, held, 7, SMALL, ["1962-06", "1959-03"]) == "1959-03"
    with pytest.raises(AllegianceError, match="--snapshot 1970-01: not a step"):
        shared_prefix(base, held, 7, SMALL, ["1970-01"])
    snaps = ["1959-03", "1962-06"]
    a, b = run_pair("cpsu", "cpsu", seed=7, scale=SMALL, overrides=both, overrides_b=hold,
                    threads=1, snapshots=snaps)
    assert b.manifest["resumed_from"]["at"] == "1959-03"
    b0 = allegiance.run(held, seed=7, scale=SMALL, threads=1, snapshots=snaps)
    assert b.snapshots.equals(b0.snapshots) and b.timeseries.equals(b0.timeseries)
    assert a.snapshots["date"].unique().tolist() == snaps
    def at(r, date):
        return r.snapshots[r.snapshots["date"] == date].reset_index(drop=True)

    assert at(a, "1959-03").equals(at(b, "1959-03"))  # the same run until the hold
    assert not at(a, "1962-06").equals(at(b, "1962-06"))  # which acted by 1962
    # the command writes each side's snapshots; a bad date is one line, exit 2
    r = cli("compare", "cpsu", "cpsu", "--scale", str(SMALL), "--set", "run.end=1962-12",
            "--set-b", "hold.privilege.from=1960-01", "--set-b", "hold.privilege.value=0.9",
            "--snapshot", "1959-03", "--out", str(tmp_path / "c"), "--quiet", "--threads", "1")
    assert r.returncode == 0, r.stderr
    got = [p.relative_to(tmp_path / "c").as_posix()
           for p in sorted((tmp_path / "c").glob("*/snapshots.parquet"))]
    assert len(got) == 2
    r = cli("compare", "cpsu", "cpsu", "--scale", str(SMALL), "--set", "run.end=1962-12",
            "--snapshot", "1999-01", "--out", str(tmp_path / "d"), "--quiet")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "--snapshot 1999-01" in r.stderr and not (tmp_path / "d").exists()
