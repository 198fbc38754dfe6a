"""Adding a mechanism through the documented interface (docs/ARCHITECTURE.md) works without
touching the model's month: the worked example ``allegiance.examples.nostalgia``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import allegiance
from allegiance.examples import nostalgia

MODULE = "allegiance.examples.nostalgia"


def _scenario(**table) -> dict:
    d = allegiance.load_scenario("cpsu", {"run.start": "1950-01", "run.end": "1954-12",
                                          "initial.members": 6.3e6}).to_dict()
    d["events"] = {}
    if table:
        d["mechanisms"]["nostalgia"] = table
    return d


def _run(d, engine="fused"):
    d["run"]["engine"] = engine
    return allegiance.run(d, scale=2e-4, seed=5, threads=1)


def test_an_added_mechanism_runs_and_acts():
    base = _run(_scenario())
    on = _run(_scenario(module=MODULE, rate=0.5))
    ts = on.timeseries
    assert "recommitted" in ts.columns and "recommitted" not in base.timeseries.columns
    assert ts["recommitted"].sum() > 0
    assert (ts["mean_belief_members"].iloc[-12:].mean()
            > base.timeseries["mean_belief_members"].iloc[-12:].mean() + 0.01)
    assert on.manifest["phase_seconds"]["nostalgia"] >= 0
    # it ran after the phase it names, and the saved scenario names its module
    assert list(on.manifest["phase_seconds"]).index("nostalgia") == \
        list(on.manifest["phase_seconds"]).index(nostalgia.AFTER) + 1
    assert on.scenario.to_dict()["mechanisms"]["nostalgia"]["module"] == MODULE


def test_switched_off_it_changes_nothing():
    base = _run(_scenario())
    off = _run(_scenario(module=MODULE, enabled=False))
    assert (off.timeseries["recommitted"] == 0).all()
    pd.testing.assert_frame_equal(off.timeseries.drop(columns="recommitted"), base.timeseries,
                                  check_exact=True)


def test_reference_engine_runs_it_too():
    a = _run(_scenario(module=MODULE, rate=0.5))
    b = _run(_scenario(module=MODULE, rate=0.5), engine="reference")
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries, check_exact=True)


def test_a_module_file_works(tmp_path: Path):
    path = tmp_path / "my_nostalgia.py"
    text = Path(nostalgia.__file__).read_text().replace("from ..mechanisms",
                                                         "from allegiance.mechanisms")
    path.write_text(text)
    r = _run(_scenario(module=str(path), rate=0.5))
    assert r.timeseries["recommitted"].sum() > 0


@pytest.mark.parametrize(("table", "message"), [
    ({"rate": 0.5}, "not a mechanism"),
    ({"module": "allegiance.no_such_module"}, "cannot import"),
    ({"module": "allegiance.calendar"}, "lacks"),
    ({"module": MODULE, "rate": -1.0}, "rate"),
    ({"module": MODULE, "speed": 1.0}, "speed"),
])
def test_bad_tables_are_clear_errors(table, message):
    with pytest.raises(allegiance.ScenarioError, match=message):
        allegiance.load_scenario(_scenario(**table))


def test_state_is_owned_and_declared():
    from allegiance.models.cpsu import CpsuModel

    sc = allegiance.load_scenario(_scenario(module=MODULE))
    m = CpsuModel(sc, seed=1, scale=1e-5)
    m.setup()
    assert m.state.fields["nostalgia_months"].owner == "nostalgia"
    assert np.all(m.state.view("nostalgia_months") == 0)
    assert CpsuModel._bytes_per_slot(sc) == CpsuModel._bytes_per_slot() + 2

