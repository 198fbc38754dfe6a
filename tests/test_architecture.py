"""The structure the docs promise: every mechanism has the same small interface, reads only the
month's Context, and the model's outputs cover every mechanism's flows."""

from __future__ import annotations

import typing

import numpy as np
import pytest

from allegiance.mechanisms import MODULES
from allegiance.mechanisms._common import MechanismParams
from allegiance.mechanisms.context import Context
from allegiance.models.cpsu import CpsuScenario, Levers, Mechanisms
from allegiance.models.cpsu.model import FLOWS
from allegiance.rng import Streams

#: mechanisms that act through events or measurement only: no monthly terms
EVENT_ONLY = {"shocks", "crisis", "commitment"}


@pytest.mark.parametrize("name", list(MODULES))
def test_every_mechanism_has_the_interface(name):
    mod = MODULES[name]
    assert f"M{list(MODULES).index(name) + 1}" == mod.ID
    assert mod.__doc__.startswith(f"{mod.ID} — ")
    assert issubclass(mod.Params, MechanismParams) and "enabled" in mod.Params.model_fields
    assert isinstance(mod.STATE, list)
    for attr, dtype, _fill in mod.STATE:
        assert isinstance(attr, str) and np.dtype(dtype).itemsize > 0
    assert isinstance(mod.FLOWS, tuple) and set(mod.FLOWS) <= set(FLOWS)
    if name in EVENT_ONLY:
        assert not hasattr(mod, "terms")
        return
    assert issubclass(mod.Terms, tuple) and mod.Terms._fields  # a NamedTuple
    hints = typing.get_type_hints(mod.terms)
    assert hints["return"] == (mod.Terms | None) or hints["return"] is mod.Terms


def test_ids_are_the_briefs():
    assert sorted(int(m.ID[1:]) for m in MODULES.values()) == list(range(1, 13))


def _context(**over) -> Context:
    stocks = {"adults": 1000.0, "full_members": 60.0, "cadres": 5.0, "elites": 1.0,
              "corruption": 0.2, "belief_adults": 0.5, "trust_adults": 0.6}
    kw = {"step": 3, "month": 1950 * 12, "params": Mechanisms(),
          "levers": Levers(admission_rate=0.01, privilege=0.5, openness=0.4, outside_option=0.1,
                           criticism=0.5, ritualization=0.3).model_dump(),
          "openness": 0.4, "stocks": stocks, "last_exit_rate": 0.001, "rng": Streams(5)}
    kw.update(over)
    return Context(**kw)


def test_terms_need_only_a_context():
    """A reader (or a test) can build a context by hand and get every mechanism's terms."""
    ctx = _context()
    for name, mod in MODULES.items():
        if name in EVENT_ONLY:
            continue
        t = mod.terms(ctx)
        assert isinstance(t, mod.Terms), name
        assert all(np.isfinite(float(v)) for v in t), name
    # the same context gives the same terms (and the same random keys)
    assert MODULES["exit"].terms(_context()) == MODULES["exit"].terms(ctx)


def test_switched_off_means_no_terms():
    params = Mechanisms(**{name: {"enabled": False} for name in MODULES})
    ctx = _context(params=params)
    for name, mod in MODULES.items():
        if name in EVENT_ONLY:
            continue
        if name == "recruitment":  # confirmations run even when M1 is off
            assert mod.confirm_terms(ctx) is not None
        assert mod.terms(ctx) is None, name


def test_terms_follow_the_context():
    """Terms change with what the context says, and only through it."""
    legit = MODULES["legitimacy"]
    low = legit.terms(_context(stocks={**_context().stocks, "corruption": 0.0}))
    high = legit.terms(_context(stocks={**_context().stocks, "corruption": 0.5}))
    assert high.news_citizens < low.news_citizens and high.news_members < low.news_members
    ex = MODULES["exit"]
    assert ex.terms(_context(last_exit_rate=0.01)).cost < ex.terms(_context()).cost
    assert ex.terms(_context(step=4)).key != ex.terms(_context()).key


def test_the_schema_has_every_mechanism():
    assert list(CpsuScenario.model_fields["mechanisms"].annotation.model_fields) == list(MODULES)


@pytest.mark.parametrize("order", ["synchronous", "sequential"])
def test_the_phase_table_is_the_phase_order(order):
    """The documented phases (PHASES for the default synchronous M7, rendered in the model's
    docstring and the ODD; the sequential month's in the ODD beside it) are the ones the
    model runs, in the same order."""
    import allegiance
    from allegiance.models.cpsu import model as cpsu_model
    from allegiance.models.cpsu.phases import PHASES, phases_of

    sc = allegiance.load_scenario("cpsu", {"run.end": "1917-12", "run.m7_order": order})
    m = cpsu_model.CpsuModel(sc, seed=1, scale=1e-5)
    m.setup()
    month = phases_of(order)
    assert (month is PHASES) == (order == type(sc.run)().m7_order)  # PHASES: the default
    assert month[0].name == "record"
    assert [name for name, _ in m.phases()] == [p.name for p in month[1:]]
    for p in PHASES:
        assert f"``{p.name}``" in cpsu_model.__doc__
    # every mechanism with monthly terms runs in some phase
    does = " ".join(p.does for p in month)
    for name, mod in MODULES.items():
        if name not in EVENT_ONLY:
            assert f"{mod.ID} " in does, name
