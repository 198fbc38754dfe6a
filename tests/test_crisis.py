"""M10, the crisis: an outcome that can end any way, decided by the attitudes it is handed.

The cascade alone runs on synthetic populations (:func:`crisis_map.synthetic`, 20,000 adults);
three whole runs at 1:20,000 check that it sits in the model as documented.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import allegiance
from allegiance.mechanisms import crisis as m10
from allegiance.models.cpsu import crisis_map as cm


def _side(c, side):
    return c[f"{side}_members"] + c[f"{side}_nonmembers"]


def test_instigators_act_when_nobody_leans():
    # neutral attitudes, no spread: nobody leans to either side
    st = cm.synthetic(belief=0.5, trust=0.5, sd=0.0, event=(0.1, 0.001, 0.0, 0.05),
                      params=m10.Params(spread=0.0))
    c = cm.outcome(st)
    assert c["instigators_regime"] > 0 and c["instigators_challenger"] > 0
    assert _side(c, "defenders") >= c["instigators_regime_elite"] > 0
    assert _side(c, "opponents") == c["instigators_challenger"] > 0
    assert c["security_obeyed"] >= c["instigators_regime_security"] > 0


def test_opponents_grow_with_the_share_leaning_against():
    # no repression (with loyal forces and risk_oppose 0.05 the model lets nobody join)
    st = cm.synthetic(belief=0.5, trust=0.5, sd=0.05, event=(0.01, 0.0005, 0.0, 0.0))
    n = st.arrays["belief"].size
    u = np.random.default_rng(9).random(n)
    got = []
    for share in (0.05, 0.2, 0.4, 0.7):
        a = dict(st.arrays)
        against = u < share
        a["belief"] = np.where(against, 0.05, st.arrays["belief"]).astype(np.float32)
        a["trust"] = np.where(against, 0.05, st.arrays["trust"]).astype(np.float32)
        got.append(_side(cm.outcome(cm.replace(st, arrays=a)), "opponents"))
    assert all(b > a for a, b in itertools.pairwise(got)), got
    # not fixed by the instigators: far more than the organised opposition
    assert got[-1] > 20 * cm.outcome(st)["instigators_challenger"]


def test_the_map_has_small_partial_and_large_outcomes():
    st = cm.synthetic(belief=0.3, trust=0.2, sd=0.1, n=10_000)
    xs = np.linspace(-0.3, 0.8, 6)
    ys = (0.5, 1.0, 2.0, 4.0)
    g = cm.grid(st, "shift", xs, "reluctance", ys)
    for side in ("defenders", "opponents"):
        classes = set(cm.regimes(g[side], float(g["adults"])).ravel())
        assert classes == {0, 1, 2}, (side, g[side] / g["adults"])


def test_loyal_forces_make_the_regime_side_larger():
    st = cm.synthetic(belief=0.35, trust=0.35, sd=0.1)
    loyal = cm.outcome(st, discipline=1.5)
    disloyal = cm.outcome(st, discipline=0.0)
    assert loyal["security_obeyed"] > disloyal["security_obeyed"]
    assert loyal["regime_side"] > disloyal["regime_side"]
    # refusals lift the danger of opposing: the challenger's crowd is at least as large
    assert _side(disloyal, "opponents") >= _side(loyal, "opponents")


def _reference(st: cm.CrisisState) -> np.ndarray:
    """The cascade as the ODD states it, in float64 numpy, one round at a time."""
    from allegiance.rng import normal, uniform

    a, p = st.arrays, st.params
    k_thr, k_temper, k_sec, k_inst, k_cost = (int(k) for k in st.keys)
    ds, cs, rd, ro = st.event
    uid = a["uid"]
    age = st.month - a["birth"].astype(np.int64)
    adult = a["alive"] & (age >= 18 * 12)
    uu = lambda key: np.array([uniform(np.uint64(key), int(x)) for x in uid])  # noqa: E731
    z = np.array([normal(np.uint64(k_temper), int(x)) for x in uid])
    d = (p.w_belief * (a["belief"] - 0.5) + p.w_trust * (a["trust"] - 0.5)
         + p.w_stake * a["stake"].astype(float) * (a["status"] >= 3)
         - np.where(a["converted"], p.w_converted, 0.0) + p.spread * z)
    u = uu(k_thr)
    theta = (1 - (1 - u) ** (1 / p.threshold_b)) ** (1 / p.threshold_a)
    eff = theta * (1 - np.minimum(1, p.conviction * np.abs(d)))
    cost = -p.reluctance * np.log1p(-uu(k_cost))
    usec, uinst = uu(k_sec), uu(k_inst)
    sec = adult & (age < p.service_age_max * 12) & (usec < p.security_share)
    core = sec & (usec < p.security_share * p.security_core)
    civ = adult & ~sec
    inst_d = civ & (a["status"] == 4) & ~a["converted"] & (uinst < ds)
    inst_o = civ & ~inst_d & (uinst >= 1 - cs)
    lean = np.where(d > p.margin + cost, 1, np.where(d < -(p.margin + cost), 2, 0))
    lean[~civ | inst_d | inst_o] = 0
    act = np.where(inst_d, 1, np.where(inst_o, 2, 0))
    obey = sec.copy()
    cells, nadults = a["cell"], adult.sum()
    per_cell = np.bincount(cells[adult], minlength=st.n_cells)
    for _ in range(p.max_iterations):
        s = [(act == k).sum() / nadults for k in (1, 2)]
        cnt = [np.bincount(cells[act == k], minlength=st.n_cells) for k in (1, 2)]
        k_obey = obey.sum() / sec.sum()
        push = (p.crowd_pressure * (s[1] - s[0]) / p.crowd_mass
                + p.peer_refusal * (1 - k_obey))
        new_obey = obey & (core | (p.discipline + d >= push))
        risk = (rd * (1 - k_obey), ro * k_obey)
        new_act = act.copy()
        for side in (1, 2):
            who = (lean == side) & (act == 0)
            seen = (p.local * cnt[side - 1][cells] / np.maximum(per_cell[cells], 1)
                    + (1 - p.local) * st.openness * s[side - 1])
            new_act[who & (eff + risk[side - 1] <= seen)] = side
        if (new_act == act).all() and (new_obey == obey).all():
            break
        act, obey = new_act, new_obey
    choice = act.copy()
    choice[sec] = np.where(obey[sec], m10.OBEY, m10.REFUSE)
    return np.where(adult, choice, -1)


@pytest.mark.parametrize("belief", [0.1, 0.25, 0.75, 0.9])
def test_cascade_matches_a_float64_reference(belief):
    st = cm.synthetic(n=3000, belief=belief, trust=belief, sd=0.2, n_cells=7, seed=4,
                      event=(0.2, 0.005, 0.01, 0.01),
                      params=m10.Params(security_share=0.1, reluctance=0.3))
    want = _reference(st)
    a = st.arrays
    choice = np.zeros(a["alive"].size, dtype=np.int8)
    stats = np.zeros(m10.N_STATS, dtype=np.int64)
    m10.cascade(a["alive"], a["birth"], a["status"], a["belief"], a["trust"], a["stake"],
                a["converted"], a["cell"], a["uid"], st.month, m10.param_vector(st.params),
                st.event, st.openness, st.keys, st.n_cells, choice,
                np.empty(choice.size, dtype=np.float32), stats)
    adult = want >= 0
    assert np.array_equal(choice[adult], want[adult])
    acting = np.isin(want, (m10.DEFEND, m10.OPPOSE)).sum()
    assert acting > 100 and stats[0] > 2  # a real cascade, beyond the instigators


# -- in the model -------------------------------------------------------------------------------
SCALE = 5e-5


def _run(threads: int = 1, **over):
    o = {k.replace("__", "."): v for k, v in over.items()}
    return allegiance.run("cpsu", scale=SCALE, seed=3, threads=threads, overrides=o)


@pytest.fixture(scope="module")
def base():
    return _run()


def _crisis(r) -> dict:
    return r.summary["forecast"]["crisis"]


def test_the_crisis_does_not_depend_on_threads(base):
    two = _run(threads=2)
    assert _crisis(two) == _crisis(base)
    crisis_row = base.events["type"] == "crisis"
    assert base.events[crisis_row].equals(two.events[two.events["type"] == "crisis"])


def test_switching_off_ritual_changes_the_crisis(base):
    """Essay §2.3: ritual (M4) erodes belief. Without it the 1991 crisis differs (in whatever
    direction the model says)."""
    off = _run(mechanisms__ritual__enabled=False)
    # decisions, not head counts (membership itself differs without M4)
    keys = ("defenders_members", "defenders_nonmembers", "opponents_members",
            "opponents_nonmembers", "security_obey_share")
    assert any(_crisis(off)[k] != _crisis(base)[k] for k in keys)


def test_the_map_state_is_the_runs(base):
    sc = allegiance.load_scenario("cpsu")
    state, crisis = cm.capture(sc, scale=SCALE, seed=3)
    want = {k: v for k, v in _crisis(base).items() if k != "date"}
    assert {k: crisis[k] for k in want} == want
    assert cm.outcome(state)["opponents_nonmembers"] == want["opponents_nonmembers"]
