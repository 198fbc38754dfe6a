"""Each mechanism moves its outputs in the direction the essay claims, and off means off.

Runs are short (1950-1958) and small (1:5,000); comparisons use the same seed, so the two runs
share their random numbers and differences come from the lever, not from noise.
"""

from __future__ import annotations

import numpy as np
import pytest

import allegiance
from allegiance.engine import Runner
from allegiance.mechanisms._common import LAPSED
from allegiance.models.cpsu import CpsuModel

SCALE = 2e-4
BASE = {
    "run.start": "1950-01", "run.end": "1958-12", "initial.members": 6.3e6,
    "levers.admission_rate": 0.004, "levers.privilege": 0.5, "levers.ritualization": 0.4,
    "levers.openness": 0.1, "levers.selectivity": 0.5, "levers.danger": 0.0,
    "levers.cadre_stability": 0.5, "levers.performance": 0.3,
}


def scenario(**over) -> dict:
    """The cpsu scenario in 1950-1958 with the given levers held fixed (no timeline events)."""
    o = {**BASE, **{k.replace("__", "."): v for k, v in over.items()}}
    d = allegiance.load_scenario("cpsu", o).to_dict()
    d["events"] = {}
    return d


def run(**over):
    return allegiance.run(scenario(**over), scale=SCALE, seed=11, threads=1)


def last(r, col, months=12):
    return float(r.timeseries[col].iloc[-months:].mean())


def total(r, col):
    return float(r.timeseries[col].sum())


def test_m1_privilege_attracts_careerists():
    lo, hi = run(levers__privilege=0.1), run(levers__privilege=0.9)
    share = lambda r: total(r, "joins_career") / max(total(r, "joins"), 1)  # noqa: E731
    assert share(hi) > share(lo) + 0.1


def test_m1_selectivity_admits_believers():
    lo, hi = run(levers__selectivity=0.0), run(levers__selectivity=1.0)
    assert last(hi, "mean_belief_members") > last(lo, "mean_belief_members")


def test_m1_off_nobody_joins():
    r = run(mechanisms__recruitment__enabled=False)
    assert total(r, "joins") == 0


def test_m2_off_population_frozen_and_message_shapes_cohorts():
    r = run(mechanisms__demography__enabled=False)
    assert total(r, "births") == 0 and total(r, "deaths") - total(r, "war_deaths_members") == 0
    weak = run(mechanisms__demography__message_strength=0.2)
    strong = run(mechanisms__demography__message_strength=1.0)
    assert last(strong, "mean_belief_citizens") > last(weak, "mean_belief_citizens")


def test_m2_month_of_death_has_the_monthly_hazards_distribution():
    """Drawn once on entry by inverting the survival curve: the same distribution as a draw
    against the Gompertz hazard every month (also for agents entering at an age)."""
    from scipy import stats

    from allegiance.mechanisms import demography as m2

    a, b, infant = 0.0001, 0.085, 0.15
    log_s = np.empty(m2.HAZARD_TABLE_MONTHS + 1)
    m2.log_survival(a, b, infant, log_s)
    n = 40_000
    for first_age in (1, 40 * 12):
        birth = np.full(n, 100, np.int16)
        death = np.zeros(n, np.int16)
        m2.lifespans(0, n, birth, np.full(n, first_age, np.int64), np.arange(n, dtype=np.int32),
                     death, np.uint64(5), log_s)
        drawn = death.astype(np.int64) - 100
        rng = np.random.default_rng(first_age)
        ref = np.full(n, -1)
        alive = np.ones(n, bool)
        for k in range(first_age, m2.HAZARD_TABLE_MONTHS + 1):
            h = a * np.exp(b * k / 12) / 12 + (infant / 12 if k < 12 else 0.0)
            die = alive & (rng.random(n) < h)
            ref[die] = k
            alive &= ~die
            if not alive.any():
                break
        assert drawn.min() >= first_age
        assert stats.ks_2samp(drawn, ref).pvalue > 1e-3
        assert abs(drawn.mean() - ref.mean()) < 4 * ref.std() / np.sqrt(n / 2)


def test_m3_shock_lowers_trust_in_exposed_cohorts():
    # a new event needs a full table: build it through a dict scenario instead of --set
    base = scenario()
    base["events"] = {"s": {"date": "1956-02", "type": "shock", "trust": -0.3,
                            "born_before": "1940", "other_exposure": 0.0}}
    with_shock = _trust_from_dict(base)
    base["events"]["s"]["enabled"] = False
    without = _trust_from_dict(base)
    assert with_shock[0] < without[0] - 0.05  # the exposed (born before 1940) lose trust
    assert with_shock[1] == pytest.approx(without[1], abs=0.02)  # the others barely


def _trust_from_dict(d):
    d = {**d, "run": {**d["run"], "end": "1956-06"}}
    sc = allegiance.load_scenario(d)
    runner = Runner(CpsuModel(sc, seed=3, scale=SCALE))
    runner.advance()
    st = runner.model.state
    alive, born, t = st.view("alive"), st.view("birth"), st.view("trust")
    adult = alive & (born < (1956 - 18) * 12)
    return (float(t[adult & (born < 1940 * 12)].mean()),
            float(t[alive & (born >= 1940 * 12) & (born < 1956 * 12)].mean()))


def test_m4_ritualization_erodes_belief_and_off_means_off():
    lo, hi = run(levers__ritualization=0.0), run(levers__ritualization=1.0)
    assert last(hi, "mean_belief_members") < last(lo, "mean_belief_members") - 0.02
    off_lo = run(levers__ritualization=0.0, mechanisms__ritual__enabled=False)
    off_hi = run(levers__ritualization=1.0, mechanisms__ritual__enabled=False)
    # with M4 off, ritualization still shapes the climate of new cohorts (M2) but not members
    assert abs(last(off_hi, "mean_belief_members") - last(off_lo, "mean_belief_members")) < \
        abs(last(hi, "mean_belief_members") - last(lo, "mean_belief_members")) / 2


def test_m5_privilege_breeds_corruption_and_criticism_checks_it():
    lo, hi = run(levers__privilege=0.1), run(levers__privilege=0.9)
    assert last(hi, "corruption") > last(lo, "corruption") + 0.05
    crit = run(levers__privilege=0.9, levers__criticism=1.0)
    assert last(crit, "corruption") < last(hi, "corruption")
    off = run(mechanisms__privilege__enabled=False)
    assert last(off, "elites") == 0 and last(off, "corruption") == 0


def test_m5_weight_table_gives_the_weights_bit_for_bit():
    from numba import njit

    from allegiance.mechanisms import privilege as m5

    @njit
    def both(motive, join, month, table, a, b):
        for i in range(motive.shape[0]):
            a[i] = m5.promote_weight(motive[i], join[i], month, 1.3, 0.7)
            b[i] = m5.weight_of(table, motive[i], join[i], month, 1.3, 0.7)

    month = 12 * 1975
    rng = np.random.default_rng(5)
    motive = rng.integers(0, 4, 100_000).astype(np.int8)
    join = (month - rng.integers(-5, 1200, motive.size)).astype(np.int16)
    table = m5.weight_table(month, 1.3, 0.7, 1000)
    a = np.empty(motive.size)
    b = np.empty(motive.size)
    both(motive, join, month, table, a, b)
    assert np.array_equal(a, b) and np.unique(a).size > 1500


def test_m6_performance_and_corruption_move_trust():
    lo, hi = run(levers__performance=-0.8), run(levers__performance=0.8)
    assert last(hi, "mean_trust_citizens") > last(lo, "mean_trust_citizens") + 0.05
    off_lo = run(levers__performance=-0.8, mechanisms__legitimacy__enabled=False)
    off_hi = run(levers__performance=0.8, mechanisms__legitimacy__enabled=False)
    assert last(off_hi, "mean_trust_citizens") == pytest.approx(
        last(off_lo, "mean_trust_citizens"), abs=1e-3)


def test_m7_openness_reveals_private_views():
    closed, open_ = run(levers__openness=0.0), run(levers__openness=1.0)
    gap = lambda r: last(r, "expressed_trust_citizens") - last(r, "mean_trust_citizens")  # noqa: E731
    assert gap(closed) > 0.1 and gap(open_) == pytest.approx(0, abs=1e-9)
    off = run(levers__openness=0.0, mechanisms__openness__enabled=False)
    assert gap(off) == pytest.approx(0, abs=1e-9)


def test_m8_outside_option_converts_officials():
    none = run(levers__outside_option=0.0)
    big = run(levers__outside_option=1.0, levers__privilege=0.2)
    assert total(none, "conversions") == 0
    assert total(big, "conversions") > 0
    off = run(levers__outside_option=1.0, levers__privilege=0.2,
              mechanisms__elite__enabled=False)
    assert total(off, "conversions") == 0


def test_m9_cheaper_exit_more_exits_and_off_none():
    costly, cheap = run(levers__exit_cost=1.0), run(levers__exit_cost=0.0)
    assert total(cheap, "exits") > total(costly, "exits")
    off = run(levers__exit_cost=0.0, mechanisms__exit__enabled=False)
    assert total(off, "exits") == 0


#: M9 tests: exit cheap enough, trust low enough, that members leave in both ways
EXIT = {"levers__exit_cost": 0.3, "levers__performance": -0.8}


def test_m9_formal_exits_and_disengagement_both_counted_and_sum():
    """Formal exits (the register) and silent disengagement (lapsed members, still on it) are
    both counted, and the counts add up month by month: members = active + lapsed; with no
    deaths and no admissions, the register falls by the formal exits and the lapsed stock
    moves by disengaged − returned − formal exits of lapsed members."""
    r = run(**EXIT, mechanisms__demography__enabled=False,
            mechanisms__recruitment__enabled=False)
    ts = r.timeseries
    assert total(r, "exits") > 0 and total(r, "disengaged") > 0
    assert 0 < total(r, "exits_lapsed") < total(r, "exits")
    assert total(r, "reengaged") > 0
    assert (ts["members_active"] + ts["lapsed_members"] == ts["members"]).all()
    assert (ts["lapsed_members"] >= 0).all() and (ts["members_active"] >= 0).all()
    # nothing else moves anyone: no deaths, joins, drops, expulsions or conversions
    for col in ("deaths_members", "joins", "dropped_candidates", "expelled", "dissolved"):
        assert total(r, col) == 0, col
    lapsed, members = ts["lapsed_members"].to_numpy(), ts["members"].to_numpy()
    flow = (ts["disengaged"] - ts["reengaged"] - ts["exits_lapsed"]).to_numpy()
    assert np.array_equal(lapsed[1:] - lapsed[:-1], flow[:-1])
    assert np.array_equal(members[1:] - members[:-1], -ts["exits"].to_numpy()[:-1])
    # the stock is the lapsed members of the state, counted directly
    sc = allegiance.load_scenario(scenario(**EXIT, mechanisms__demography__enabled=False,
                                           mechanisms__recruitment__enabled=False))
    runner = Runner(CpsuModel(sc, seed=11, scale=SCALE))
    runner.advance()
    st = runner.model.state
    members_now = st.view("alive") & (st.view("status") > 0)
    lapsed_now = members_now & (st.view("left") == LAPSED)
    assert lapsed_now.sum() / SCALE == ts["lapsed_members"].iloc[-1] > 0
    # a member's ``left`` is 0 (active) or LAPSED, never anything else
    assert set(np.unique(st.view("left")[members_now]).tolist()) == {0, LAPSED}


def test_m9_lapsed_members_hand_in_cards_more_readily():
    """The same member, with the same draws, leaves formally more often when lapsed (the
    hazard times lapsed_factor); in a run, lapsed members leave at a higher monthly rate."""
    from numba import njit

    from allegiance.mechanisms import exit as m9

    @njit
    def shares(t, lapsed, n):
        leave = 0
        for uid in range(n):
            if m9.decide(2, 0.2, 0.2, 0.0, False, lapsed, uid, t) == m9.LEAVE:
                leave += 1
        return leave / n

    p = m9.Params()
    t = m9.Terms(0.5, 0.4, 0.1, p.w_belief, p.w_trust, p.w_privilege, p.w_stake, p.threshold,
                 p.slope, 1.0, p.converted_factor, p.lapsed_factor, 1.0, 1.0, np.uint64(1),
                 np.uint64(2), np.uint64(3))
    active, lapsed = shares(t, False, 200_000), shares(t, True, 200_000)
    assert active > 0.01
    assert lapsed == pytest.approx(min(1.0, p.lapsed_factor * active), rel=0.05)
    assert shares(t._replace(lapsed_factor=1.0), True, 200_000) == active
    r = run(**EXIT)
    ts = r.timeseries
    lapsed_rate = ts["exits_lapsed"].sum() / ts["lapsed_members"].sum()
    active_rate = (ts["exits"] - ts["exits_lapsed"]).sum() / ts["members_active"].sum()
    assert lapsed_rate > 2 * active_rate > 0


def test_m9_openness_makes_formal_exit_safe():
    """Openness lowers the cost of formal exit by the share w_safe (and not at all with
    w_safe 0); with the rest held fixed, more members hand in their cards."""
    from allegiance.mechanisms import exit as m9

    assert m9.formal_cost(1.0, 0.9, 0.0, 0.5, 3.0) < m9.formal_cost(1.0, 0.1, 0.0, 0.5, 3.0)
    assert m9.formal_cost(1.0, 0.9, 0.0, 0.0, 3.0) == m9.formal_cost(1.0, 0.1, 0.0, 0.0, 3.0)
    assert m9.formal_cost(1.0, 0.5, 0.0, 0.5, 3.0) == pytest.approx(0.75)
    # others' visible exits make it cheaper still (the cascade)
    assert m9.formal_cost(1.0, 0.5, 0.01, 0.5, 3.0) < m9.formal_cost(1.0, 0.5, 0.0, 0.5, 3.0)
    over = {**EXIT, "levers__exit_cost": 0.6, "levers__openness": 0.8}
    unsafe, safe = run(**over, mechanisms__exit__w_safe=0.0), run(**over)
    assert total(safe, "exits") > total(unsafe, "exits") > 0
    # disengagement costs quiet · cost: it too gets cheaper
    assert total(safe, "disengaged") > total(unsafe, "disengaged")


def test_m9_off_nobody_lapses():
    r = run(**EXIT, mechanisms__exit__enabled=False)
    for col in ("exits", "exits_lapsed", "disengaged", "reengaged", "lapsed_members"):
        assert total(r, col) == 0, col


def _crisis(**over):
    d = scenario(run__end="1951-06", **over)
    d["events"] = {"c": {"date": "1951-03", "type": "crisis", "defender_seed": 0.01,
                         "challenger_seed": 0.01}}
    return allegiance.run(d, scale=SCALE, seed=5, threads=1).summary["forecast"]


def test_m10_belief_and_trust_bring_defenders_and_off_nobody_acts():
    # the forecast section reads the crisis whenever it happened
    low = _crisis(levers__performance=-1.0, mechanisms__legitimacy__base=0.1)
    high = _crisis(levers__performance=1.0, mechanisms__legitimacy__base=0.9)
    d = lambda f: f["crisis"]["defenders_members"] + f["crisis"]["defenders_nonmembers"]  # noqa: E731
    assert d(high) > d(low)
    off = _crisis(mechanisms__crisis__enabled=False)
    assert d(off) == 0 and off["crisis"]["opponents_nonmembers"] == 0


def test_m11_remedies_work_only_when_switched_on():
    plain = run()
    study = run(levers__theory_study=1.0)
    assert last(study, "mean_belief_members") > last(plain, "mean_belief_members")
    contact = run(levers__contact=1.0)
    assert last(contact, "mean_trust_citizens") > last(plain, "mean_trust_citizens")
    off = run(levers__theory_study=1.0, levers__contact=1.0, levers__criticism=1.0,
              mechanisms__remedies__enabled=False)

    def no_levers(ts):
        return ts.drop(columns=[c for c in ts if c.startswith("lever_")])

    assert no_levers(off.timeseries).equals(no_levers(plain.timeseries))


def test_m12_committed_members_never_exceed_members():
    r = run()
    ts = r.timeseries
    assert (ts["committed_members"] <= ts["members"]).all()
    strict = run(mechanisms__commitment__threshold=0.9)
    assert last(strict, "committed_members") < last(r, "committed_members")
    assert np.isfinite(ts["mean_belief_members"]).all()
