"""Synchronous M7 (issue 18): what the one-pass month learns from, and when it is exact.

Each month's pass adds every living agent's new trust to next month's workplace sums; the next
month's pass learns from them, leaving out an agent's own term (its trust when the pass
began, which nothing changed in between). A shock changes trust in between: the sums are then
taken again before the pass (as in the first month). The sequential order stays selectable.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import allegiance
from allegiance.mechanisms._common import COUNT_BITS, packed
from allegiance.models.cpsu import month as cpsu_month
from allegiance.models.cpsu import reference as cpsu_reference

SHORT = {"run.end": "1957-06"}  # the war losses and two shocks (1945, 1956)


def _run(**over):
    return allegiance.run("cpsu", scale=1e-4, seed=11, threads=1, overrides={**SHORT, **over})


def _cell_sums(cell, trust, n_cells):
    """Packed workplace sums of ``trust`` (``_common.packed``, in numpy)."""
    fixed = (trust.astype(np.float64) * 2.0**32 + 0.5).astype(np.int64)
    out = np.zeros(n_cells, dtype=np.int64)
    np.add.at(out, cell, (fixed << COUNT_BITS) + 1)
    return out


def test_cell_sums_is_packed():
    t = np.array([0.0, 0.3, 1.0, 0.7], np.float32)
    want = sum(packed(x) for x in t[[1, 3]])
    assert _cell_sums(np.array([0, 1, 0, 1]), t, 2)[1] == want


@pytest.mark.parametrize("engine", ["fused", "reference"])
def test_the_sums_handed_on_are_last_months_and_exact(monkeypatch, engine):
    """At each pass: the sums last month's pass handed on are those of the agents alive at
    its end (compaction, deaths and war losses since change nothing: the sums are per
    workplace, and the dead stay in them); every agent below the mark is one of them, in the
    same workplace and with the same trust (so leaving its own term out is exact); newcomers
    are above the mark. The sums are taken again only in the first month and after shocks."""
    cls = cpsu_reference.ReferenceMonth if engine == "reference" else cpsu_month.Month
    monkeypatch.setattr(cpsu_month, "ONE_CALL_MAX_SLOTS", 0)  # the phases one at a time
    f = cls.adults
    seen = {"checked": 0, "taken": [], "last": None}

    def checked(self, step):
        st = self.m.state
        ts = self.carry.trust_sums
        prev = seen["last"]
        if ts is not None and ts.key == step:
            uid, cell, trust = prev
            assert np.array_equal(ts.sums, _cell_sums(cell, trust, self.m.n_cells))
            alive = st.view("alive")
            here = np.flatnonzero(alive & (st.view("uid") < ts.mark))
            pos = np.searchsorted(uid, st.view("uid")[here])
            assert np.array_equal(uid[pos], st.view("uid")[here])
            assert np.array_equal(cell[pos], st.view("cell")[here])
            assert np.array_equal(trust[pos], st.view("trust")[here])
            assert ts.mark > uid[-1]  # the agents alive then are below the mark
            seen["checked"] += 1
        else:
            seen["taken"].append(step)
        f(self, step)
        alive = st.view("alive")
        seen["last"] = (st.view("uid")[alive].copy(), st.view("cell")[alive].copy(),
                        st.view("trust")[alive].copy())

    monkeypatch.setattr(cls, "adults", checked)
    r = _run(**{"run.engine": engine})
    shocks = sorted({int(s) for s in r.events.loc[r.events["type"] == "shock", "step"]})
    assert seen["taken"] == [0, *shocks] and len(shocks) >= 2
    assert seen["checked"] > 400
    assert r.timeseries["war_deaths_members"].sum() > 0


def test_the_orders_differ_and_sequential_is_kept():
    """The option selects the month: synchronous (the default) and sequential give different
    runs, each the same on both engines (tests/test_reference.py), with their own phases."""
    sync, seq = _run(), _run(**{"run.m7_order": "sequential"})
    assert sync.manifest["scenario"]["run"]["m7_order"] == "synchronous"
    assert "applications" in sync.manifest["phase_seconds"]
    assert "learning" in seq.manifest["phase_seconds"]
    a, b = sync.timeseries["mean_trust_citizens"], seq.timeseries["mean_trust_citizens"]
    assert a.iloc[0] == b.iloc[0] and (a != b).sum() > 100
    with pytest.raises(allegiance.ScenarioError, match=r"run\.m7_order"):
        allegiance.load_scenario("cpsu", {"run.m7_order": "random"})


def test_without_openness_the_orders_agree():
    """With M7 off nobody learns, so the order of learning cannot matter: the two months give
    the same run (they differ only in when M7 reads the workplace means)."""
    off = {"mechanisms.openness.enabled": False}
    pd.testing.assert_frame_equal(_run(**off).timeseries,
                                  _run(**off, **{"run.m7_order": "sequential"}).timeseries,
                                  check_exact=True)
