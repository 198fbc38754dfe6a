"""Holding a lever from a date on: a hold wins over the scenario's later events of that lever,
the events it overrides are reported, bad holds are one-line errors, ``--set hold...`` works,
a start value a later event overwrites is warned about, and the timeline lists by lever."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import allegiance
from allegiance.models.cpsu import LEVER_NAMES
from allegiance.models.cpsu.timeline import lever_events, listing
from allegiance.scenario import scenario_to_toml
from conftest import cli

#: privilege: 0 in 1917, 0.2 from the NEP (1921-03), 0.4 from 1930-01 (privilege_1930s)
HOLD = {"run.end": "1931-06", "hold.privilege.from": "1921-01", "hold.privilege.value": 0.5,
        "hold.privilege.until": "1929-12"}


@pytest.fixture(scope="module")
def held():
    return allegiance.run("cpsu", scale=1e-4, seed=3, threads=1, overrides=HOLD)


def test_held_lever_is_not_undone_by_later_events(held):
    ts = held.timeseries.set_index("date")["lever_privilege"]
    # a row holds the levers at the 1st of the month: a hold from 1921-01 shows from 1921-02
    assert ts["1921-01"] == 0.0
    assert (ts["1921-02":"1929-12"] == 0.5).all()  # privilege_nep (0.2, 1921-03) overridden
    # after 'until' the lever is what the events made it underneath: 0.2, then 0.4 in 1930
    assert ts["1930-01"] == 0.2 and ts["1930-02"] == 0.4
    ev = held.events.set_index("event")
    assert ev.loc["privilege_nep", "overridden_by"] == "hold.privilege"
    assert "overridden by hold.privilege" in ev.loc["privilege_nep", "detail"]
    assert pd.isna(ev.loc["privilege_1930s", "overridden_by"])  # after the hold ended
    assert ev.loc["hold.privilege", "type"] == "hold"
    assert "privilege_nep" in ev.loc["hold.privilege", "detail"]
    assert ev.loc["hold.privilege.end", "date"] == "1930-01"
    (h,) = held.summary["holds"]
    assert (h["lever"], h["value"], h["from"], h["until"]) == ("privilege", 0.5, "1921-01",
                                                              "1929-12")
    assert [o["event"] for o in h["overrides"]] == ["privilege_nep"]


def test_hold_changes_the_run_and_both_engines_agree(held):
    plain = allegiance.run("cpsu", scale=1e-4, seed=3, threads=1,
                           overrides={"run.end": "1931-06"})
    assert "holds" not in plain.summary and "overridden_by" not in plain.events
    assert not plain.timeseries["joins_career"].equals(held.timeseries["joins_career"])
    ref = allegiance.run("cpsu", scale=1e-4, seed=3, threads=1,
                         overrides={**HOLD, "run.engine": "reference"})
    pd.testing.assert_frame_equal(held.timeseries, ref.timeseries, check_exact=True)
    pd.testing.assert_frame_equal(held.events, ref.events, check_exact=True)
    assert held.summary == ref.summary


def test_hold_from_a_scenario_table_round_trips():
    sc = allegiance.load_scenario({"base": "cpsu", "hold": {
        "openness": {"from": "1956-02", "value": 0.4, "note": "a lasting thaw"}}})
    assert sc.hold["openness"].from_ == "1956-02"
    again = allegiance.load_scenario(__import__("tomllib").loads(scenario_to_toml(sc)))
    assert again.digest() == sc.digest()
    # without holds the resolved scenario is what it was before holds existed
    assert "hold" not in allegiance.load_scenario("cpsu").to_dict()


@pytest.mark.parametrize(("sets", "expect"), [
    ({"hold.privilge.from": "1956-02", "hold.privilge.value": 0.5},
     "hold.privilge: not a lever (did you mean 'privilege'?"),
    ({"hold.privilege.from": "1956-02", "hold.privilege.value": 1.5},
     "hold.privilege.value = 1.5: outside the range of lever privilege (allowed: 0 to 1)"),
    ({"hold.privilege.from": "1900-02", "hold.privilege.value": 0.5},
     "hold.privilege.from = '1900-02': allowed: a month within the run, 1917-11 to 1991-12"),
    ({"hold.privilege.from": "1956-02", "hold.privilege.value": 0.5,
      "hold.privilege.until": "1950"}, "hold.privilege.until = '1950': allowed: a month from"),
    ({"hold.privilege.from": "1956-13", "hold.privilege.value": 0.5},
     "hold.privilege.from = '1956-13'"),
    ({"hold.privilege.value": 0.5}, "hold.privilege.from: required key is missing"),
])
def test_bad_hold_is_one_line_naming_the_key(sets, expect):
    with pytest.raises(allegiance.ScenarioError) as exc:
        allegiance.load_scenario("cpsu", sets)
    assert len(exc.value.messages) == 1, exc.value.messages
    assert expect in exc.value.messages[0]


def test_bad_hold_in_a_file_is_one_line_from_the_cli(tmp_path):
    f = tmp_path / "h.toml"
    f.write_text('base = "cpsu"\nname = "h"\n[hold.privilege]\nfrom = "1956-02"\nvalue = 0.5\n'
                 'fro = 1\n')
    r = cli("run", str(f), "--quiet")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "hold.privilege.fro: unknown key (did you mean 'from'?" in lines[0]


def test_set_hold_from_the_cli(tmp_path):
    out = tmp_path / "r"
    r = cli("run", "cpsu", "--scale", "0.0001", "--seed", "2", "--out", str(out), "--quiet",
            "--no-figures", "--set", "run.end=1922-06", "--set", "hold.privilege.from=1921-01",
            "--set", "hold.privilege.value=0.6")
    assert r.returncode == 0, r.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["holds"][0]["overrides"][0]["event"] == "privilege_nep"
    ts = pd.read_parquet(out / "timeseries.parquet").set_index("date")
    assert (ts.loc["1921-02":, "lever_privilege"] == 0.6).all()
    assert 'from = "1921-01"' in (out / "scenario.toml").read_text()


def test_start_value_overwritten_by_an_event_is_warned(tmp_path):
    r = cli("validate", "cpsu", "--set", "levers.privilege=0.5", "--set", "levers.criticism=0.5")
    assert r.returncode == 0, r.stderr
    warn = [x for x in r.stderr.splitlines() if x.startswith("warning:")]
    assert len(warn) == 1, r.stderr  # criticism: no event changes it
    assert ("levers.privilege = 0.5 is only the start value: event 'privilege_nep' sets "
            "privilege to 0.2 in 1921-03") in warn[0]
    assert "--set hold.privilege.from=1917-11 --set hold.privilege.value=0.5" in warn[0]
    res = allegiance.run("cpsu", scale=1e-4, seed=1, threads=1,
                         overrides=["run.end=1921-06", "levers.privilege=0.5"])
    assert res.summary["warnings"][0].startswith("levers.privilege = 0.5 is only the start")
    # a hold from the start keeps the value: nothing to warn about
    sc = allegiance.load_scenario("cpsu", {"levers.privilege": 0.5,
                                           "hold.privilege.from": "1917-11",
                                           "hold.privilege.value": 0.5})
    from allegiance.models.cpsu import CpsuModel

    assert CpsuModel.warnings(sc, ["levers.privilege"]) == []


def test_events_listing_groups_by_lever():
    sc = allegiance.load_scenario("cpsu")
    groups = listing(sc)
    assert [t for t, _ in groups[: len(LEVER_NAMES)]] == list(LEVER_NAMES)
    for title, rows in groups[: len(LEVER_NAMES)]:
        assert rows[0]["event"] == "(start)" and rows[0]["value"] == getattr(sc.levers, title)
        assert {r["lever"] for r in rows} == {title}
        assert [r["event"] for r in rows[1:]] == [e for e, _ in lever_events(sc, title, False)]
    assert sum(len(rows) - 1 for _, rows in groups[: len(LEVER_NAMES)]) == sum(
        ev.type == "lever" for ev in sc.events.values())
    other_title, others = groups[-1]
    assert other_title.startswith("other") and "secret_speech" in {r["event"] for r in others}
    by_era = dict(listing(sc, by="era"))
    assert "privilege_nep" in {r["event"] for r in by_era["NEP"]}
    r = cli("events", "cpsu", "--lever", "privilege", "--markdown")
    assert r.returncode == 0, r.stderr
    assert "### privilege" in r.stdout and "privilege_nep" in r.stdout
    assert "admission_1921" not in r.stdout
