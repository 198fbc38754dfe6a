"""Automatic branching from a shared prefix (issue 18 item 1): sweeps whose points differ only in
what acts from some month on, and dashboard runs that change only that, go on from a snapshot
kept in memory; the results are the same byte for byte as runs from the start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from allegiance.checkpoint import SnapshotCache, prefix_key
from allegiance.experiments.branching import branch_points, execution_order, with_branches
from allegiance.experiments.executors import PoolExecutor, SerialExecutor
from allegiance.experiments.store import INDEX, PARTS, RUNS
from allegiance.experiments.sweep import SweepSpec, sweep

SCALE = 1e-5  # 1:100,000
AT = "1924-01"  # the privilege hold starts here: the points share 1917-11 .. 1923-12

#: 2 start values of criticism (act from the start: two groups) x 2 held privileges (act from
#: AT: branch there), the same seed for every point
SPEC = {
    "name": "branchy", "scenario": "cpsu", "scale": SCALE, "seed": 5, "replicates": 1,
    "common_random_numbers": True, "outcomes": ["peak_members"],
    "set": {"run.end": "1926-12", "hold.privilege.from": AT, "hold.privilege.value": 0.5},
    "parameters": {"levers.criticism": [0.1, 0.3], "hold.privilege.value": [0.2, 0.9]},
}


def _spec(**kw) -> SweepSpec:
    return SweepSpec.model_validate({**SPEC, **kw})


def _contents(d: Path) -> dict[str, bytes]:
    files = {RUNS: (d / RUNS).read_bytes()}
    files.update({p.name: p.read_bytes() for p in sorted((d / PARTS).glob("*.parquet"))})
    return files


def _index(d: Path) -> list[dict]:
    return [json.loads(line) for line in (d / INDEX).read_text().splitlines()]


@pytest.fixture(scope="module")
def unbranched(tmp_path_factory):
    """The sweep with every run from the start (in this process)."""
    out = tmp_path_factory.mktemp("sw") / "plain"
    sweep(_spec(), SerialExecutor(), out=out, branch=False)
    return out


def test_branch_points_group_by_what_acts_from_the_start():
    from allegiance.experiments.sweep import Plan

    plan = Plan(_spec())
    points = branch_points(plan.tasks)
    assert {label for label, _ in points.values()} == {AT}
    groups = {}
    for t in plan.tasks:
        groups.setdefault(points[t.run_id][1], set()).add(t.params["levers.criticism"])
    assert sorted(len(v) for v in groups.values()) == [1, 1] and len(groups) == 2
    order = execution_order(with_branches(plan.tasks))
    assert [t.params["levers.criticism"] for t in order] == [0.1, 0.1, 0.3, 0.3]
    # nothing to share: every run with its own seed, or only start values varied
    assert branch_points(Plan(_spec(common_random_numbers=False)).tasks) == {}
    assert branch_points(Plan(_spec(parameters={"levers.criticism": [0.1, 0.3]})).tasks) == {}


def test_a_branched_sweep_is_the_unbranched_one_byte_for_byte(unbranched, tmp_path):
    from allegiance.experiments.store import _snapshot_cache

    _snapshot_cache().clear()  # this process's snapshots: none from other tests
    out = tmp_path / "branched"
    sweep(_spec(), SerialExecutor(), out=out)
    assert _contents(out) == _contents(unbranched)
    recs = {r["run_id"]: r for r in _index(out)}
    assert all(r["status"] == "ok" for r in recs.values())
    # per group: the first run from the start, keeping its state at AT; the other from there
    assert [recs[i]["branch"]["branched_at"] for i in range(4)] == [None, AT, None, AT]
    assert [recs[i]["branch"]["kept"] for i in range(4)] == [[AT], [], [AT], []]
    assert "branch" not in _index(unbranched)[0]
    # an interrupted sweep resumed: the finished runs are not run again
    lines = (out / INDEX).read_text().splitlines(keepends=True)
    (out / INDEX).write_text("".join(lines[:2]))
    sweep(_spec(), SerialExecutor(), out=out, resume=True)
    again = (out / INDEX).read_text().splitlines(keepends=True)
    assert again[:2] == lines[:2] and len(again) == 4
    assert _contents(out) == _contents(unbranched)


def test_a_branched_sweep_on_the_process_pool(unbranched, tmp_path):
    out = tmp_path / "pool"
    # one worker process: which run branches is then known (with more, each worker runs a
    # group's prefix at most once)
    sweep(_spec(), PoolExecutor(1), out=out)
    assert _contents(out) == _contents(unbranched)
    recs = {r["run_id"]: r for r in _index(out)}
    assert [recs[i]["branch"]["branched_at"] for i in range(4)] == [None, AT, None, AT]
    assert recs[0]["branch"]["kept"] == [AT] and recs[1]["branch"]["kept"] == []


def test_snapshot_cache_is_bounded_and_keyed_by_the_prefix():
    import numpy as np

    from allegiance.registry import model_class
    from allegiance.scenario import load_scenario

    c = SnapshotCache(max_bytes=3000, max_items=2)
    snap = ({"state": {}}, {"a": np.zeros(100)})  # 800 bytes of arrays
    assert c.put("k1", snap) and c.put("k2", snap)
    assert c.get("k1") is snap  # k1 now the most recent: k2 goes first
    assert c.put("k3", snap) and "k2" not in c and "k1" in c and len(c) == 2
    assert not c.put("big", ({}, {"a": np.zeros(1000)})) and "big" not in c
    cls = model_class("cpsu")
    a = load_scenario("cpsu", {"hold.privilege.from": AT, "hold.privilege.value": 0.2})
    b = load_scenario("cpsu", {"hold.privilege.from": AT, "hold.privilege.value": 0.9})
    assert prefix_key(cls, a.to_dict(), AT) == prefix_key(cls, b.to_dict(), AT)
    assert prefix_key(cls, a.to_dict(), "1924-02") != prefix_key(cls, b.to_dict(), "1924-02")


def test_dashboard_runs_branch_from_earlier_runs_of_the_session(tmp_path):
    from allegiance.dashboard.jobs import RunRequest, run_request
    from allegiance.scenario import load_scenario

    base = {"run.seed": 3, "run.scale": SCALE, "run.end": "1927-12",
            "hold.privilege.from": AT}
    cache = SnapshotCache()
    names = ("timeseries.parquet", "events.parquet", "summary.json")
    for i, value in enumerate((0.2, 0.9)):
        sc = load_scenario("cpsu", {**base, "hold.privilege.value": value}).to_dict()
        req = RunRequest(f"r{i}", sc, threads=1)
        got = run_request(req, tmp_path / "cached", cache=cache, every=12)
        plain = run_request(req, tmp_path / "plain")
        assert {n: (got / n).read_bytes() for n in names} == \
            {n: (plain / n).read_bytes() for n in names}
        man = json.loads((got / "manifest.json").read_text())["snapshot_cache"]
        # the first run keeps its state each year; the second goes on from the last year
        # before the hold (1923-11: every 12 months from 1917-11)
        assert man["branched_at"] == (None if i == 0 else "1923-11")


def test_ablate_runs_a_scenario_once_when_two_variants_are_the_same():
    """A mechanism switched off already (``--set``) makes its variant the full model: ablate
    runs it once and gives both variants its row (variants share no prefix: no branching)."""
    from allegiance import ablation
    from allegiance.scenario import load_scenario

    class Counting(SerialExecutor):
        def __init__(self):
            self.ran: list[str] = []

        def imap_unordered(self, fn, tasks):
            self.ran.extend(t["variant"] for t in tasks)
            yield from super().imap_unordered(fn, tasks)

    off = ablation.mechanisms_of(load_scenario("cpsu"))[0]
    ex = Counting()
    runs = ablation.run_ensemble("cpsu", seeds=1, seed=5, scale=SCALE, executor=ex,
                                 overrides=["run.end=1918-03",
                                            f"mechanisms.{off}.enabled=false"])
    assert f"no_{off}" not in ex.ran and ex.ran.count("full") == 1
    assert len(runs) == len(ex.ran) + 1 and list(runs["variant"]).count(f"no_{off}") == 1
    full = runs[runs["variant"] == "full"].iloc[0]
    same = runs[runs["variant"] == f"no_{off}"].iloc[0]
    assert same["mechanism_off"] == off and same["fit"] == full["fit"]
    assert same["members_1989"] == full["members_1989"] or (
        same.isna()["members_1989"] and full.isna()["members_1989"])


def test_sweep_no_branch_on_the_command_line(unbranched, tmp_path):
    """``allegiance sweep --no-branch`` runs every point from the start: the same files, no
    ``branch`` in the index."""
    from conftest import cli

    lines = [f"{k} = {json.dumps(v)}" for k, v in SPEC.items() if not isinstance(v, dict)]
    lines.append("set = { " + ", ".join(f'"{k}" = {json.dumps(v)}'
                                        for k, v in SPEC["set"].items()) + " }")
    lines += ["[parameters]", *(f'"{k}" = {json.dumps(v)}'
                                for k, v in SPEC["parameters"].items())]
    f = tmp_path / "branchy.toml"
    f.write_text("\n".join(lines) + "\n")
    r = cli("sweep", str(f), "--serial", "--no-branch", "--quiet", "--out", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    assert _contents(tmp_path / "o") == _contents(unbranched)
    assert all("branch" not in rec for rec in _index(tmp_path / "o"))


def test_snapshots_before_the_branch_point_keep_the_runs_from_branching_past_them(tmp_path):
    """A sweep that keeps its agents at a month before the shared prefix ends branches at
    most there: every run has its snapshot, and its rows are those of the unbranched sweep."""
    from allegiance.experiments.store import SNAPSHOT_PARTS, _snapshot_cache

    _snapshot_cache().clear()
    spec = _spec(snapshots=["1920-01"])
    plain, branched = tmp_path / "plain", tmp_path / "branched"
    sweep(spec, SerialExecutor(), out=plain, branch=False)
    sweep(spec, SerialExecutor(), out=branched)
    for d in (plain, branched):
        assert sorted(p.name for p in (d / SNAPSHOT_PARTS).iterdir()) == \
            [f"run-{i:06d}.parquet" for i in range(4)]
    assert {p.name: p.read_bytes() for p in (branched / SNAPSHOT_PARTS).iterdir()} == \
        {p.name: p.read_bytes() for p in (plain / SNAPSHOT_PARTS).iterdir()}
    assert _contents(branched) == _contents(plain)
    assert all(r["branch"]["branched_at"] in (None, "1920-01") for r in _index(branched))
