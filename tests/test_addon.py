"""Adding a mechanism through the documented interface (docs/ARCHITECTURE.md) works without
touching the model's month: the worked example ``allegiance.examples.nostalgia``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import allegiance
from allegiance.examples import nostalgia
from cli_errors import one_line_error
from conftest import cli

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
    ({"rate": 0.5}, "mechanisms.nostalgia: not a mechanism (built in: recruitment, "),
    ({"module": "allegiance.no_such_module"},
     "mechanisms.nostalgia.module = 'allegiance.no_such_module': cannot import it"),
    ({"module": "allegiance.calendar"},
     "mechanisms.nostalgia.module = 'allegiance.calendar': not a mechanism (it lacks"),
    # the module's parameters: named under the mechanism, with what is allowed, as for the
    # built-in mechanisms' (these were at mechanisms.rate, mechanisms.speed, ...)
    ({"module": MODULE, "rate": -1.0},
     "mechanisms.nostalgia.rate = -1.0: Input should be greater than or equal to 0"),
    ({"module": MODULE, "rate": "fast"},
     "mechanisms.nostalgia.rate = 'fast': Input should be a valid number"),
    ({"module": MODULE, "min_age": 101},
     "mechanisms.nostalgia.min_age = 101: Input should be less than or equal to 100"),
    ({"module": MODULE, "speed": 1.0},
     "mechanisms.nostalgia.speed: unknown key (allowed: enabled, rate, min_age, module)"),
    ({"module": MODULE, "min_ag": 70},
     "mechanisms.nostalgia.min_ag: unknown key (did you mean 'min_age'? allowed: enabled, "
     "rate, min_age, module)"),
])
def test_bad_tables_are_clear_errors(table, message):
    with pytest.raises(allegiance.ScenarioError) as exc:
        allegiance.load_scenario(_scenario(**table))
    assert len(exc.value.messages) == 1, exc.value.messages
    assert exc.value.messages[0].startswith(message), exc.value.messages


def test_every_bad_parameter_of_an_added_mechanism_is_named(tmp_path):
    with pytest.raises(allegiance.ScenarioError) as exc:
        allegiance.load_scenario(_scenario(module=MODULE, rate=-1.0, enabled="maybe",
                                           speed=1.0))
    assert sorted(m.split(" ")[0].rstrip(":") for m in exc.value.messages) == [
        "mechanisms.nostalgia.enabled", "mechanisms.nostalgia.rate",
        "mechanisms.nostalgia.speed"]
    # and through --set on a scenario that has the mechanism
    sc = tmp_path / "mine.toml"
    sc.write_text(f'base = "cpsu"\nname = "mine"\n[mechanisms.nostalgia]\nmodule = "{MODULE}"\n')
    with pytest.raises(allegiance.ScenarioError) as exc:
        allegiance.load_scenario(str(sc), ["mechanisms.nostalgia.rate=-0.5"])
    assert exc.value.messages == ["after --set: mechanisms.nostalgia.rate = -0.5: Input should "
                                  "be greater than or equal to 0"]


@pytest.mark.parametrize(("line", "said"), [
    ("rate = -1.0", "mechanisms.nostalgia.rate = -1.0: Input should be greater than or equal "
                    "to 0"),
    ('rate = "fast"', "mechanisms.nostalgia.rate = 'fast': Input should be a valid number"),
    ("speed = 1.0", "mechanisms.nostalgia.speed: unknown key (allowed: enabled, rate, min_age, "
                    "module)"),
])
def test_a_bad_parameter_of_an_added_mechanism_is_one_line_on_the_command_line(tmp_path, line,
                                                                               said):
    sc = tmp_path / "mine.toml"
    sc.write_text(f'base = "cpsu"\nname = "mine"\n[mechanisms.nostalgia]\nmodule = "{MODULE}"\n'
                  f"{line}\n")
    got = one_line_error(cli("validate", str(sc)))
    assert got.startswith(f"error: {sc}: {said}"), got


def test_state_is_owned_and_declared():
    from allegiance.models.cpsu import CpsuModel

    sc = allegiance.load_scenario(_scenario(module=MODULE))
    m = CpsuModel(sc, seed=1, scale=1e-5)
    m.setup()
    assert m.state.fields["nostalgia_months"].owner == "nostalgia"
    assert np.all(m.state.view("nostalgia_months") == 0)
    assert CpsuModel._bytes_per_slot(sc) == CpsuModel._bytes_per_slot() + 2

