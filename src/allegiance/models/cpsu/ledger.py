"""The CPSU run's monthly record, kept as numbers: each month's stocks (:data:`.stocks.AGG`),
levers and flows go into arrays, and the time series is built from them once, column by
column, when it is asked for (:func:`timeseries`).

A month used to build its row as a dict of some hundred values, and the run's table was made
from 890 such dicts; at 1:10,000 that cost about a tenth of a run. The columns here are the
same numbers, computed by the same operations in the same order (one float64 operation per
month and column, now over all months at once), so the table is the same bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .schema import LEVER_NAMES
from .stocks import AGG

_A = {k: i for i, k in enumerate(AGG)}
#: the tiers of the means by tier: (name, its count, its sum of belief, its sum of trust)
_TIERS = tuple((t, n, f"belief_t{j}", f"trust_t{j}") for j, (t, n) in enumerate(
    (("nonmembers", "nonmember_adults"), ("candidates", "candidates"),
     ("rank_and_file", "full_members"), ("cadres", "cadres"), ("elite", "elites"))))
#: the crisis outputs put into the time series at the crisis month (``crisis_`` + key)
CRISIS_KEYS = ("defenders_members", "passive_members", "opponents_members",
               "defenders_nonmembers", "opponents_nonmembers", "security_obeyed",
               "security_refused")


@dataclass
class Ledger:
    """The monthly record of a run of ``n`` months: ``stocks[step]`` the stocks on the 1st of
    the month (:data:`.stocks.AGG`, as the stocks pass returns them), ``levers[step]`` the
    levers then (:data:`.schema.LEVER_NAMES`), ``flows[step]`` the month's flows in agents
    (the model's ``flow_names``), and ``crisis`` the crisis outputs by step."""

    stocks: np.ndarray
    levers: np.ndarray
    flows: np.ndarray
    crisis: dict[int, dict[str, float]] = field(default_factory=dict)

    @classmethod
    def empty(cls, n: int, n_flows: int) -> Ledger:
        return cls(np.zeros((n, len(AGG))), np.zeros((n, len(LEVER_NAMES))),
                   np.zeros((n, n_flows), dtype=np.int64))

    def resized(self, n: int) -> Ledger:
        """The same record for a run of ``n`` months (a branch may end elsewhere): the months
        both have are kept."""
        if self.stocks.shape[0] == n:
            return self
        out = Ledger.empty(n, self.flows.shape[1])
        k = min(n, self.stocks.shape[0])
        for mine, new in ((self.stocks, out.stocks), (self.levers, out.levers),
                          (self.flows, out.flows)):
            new[:k] = mine[:k]
        out.crisis = {s: c for s, c in self.crisis.items() if s < n}
        return out


def _div(num: np.ndarray, den: np.ndarray, where: np.ndarray) -> np.ndarray:
    """``num / den`` where ``where`` holds, NaN elsewhere."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(where, num / den, np.nan)


def timeseries(ledger: Ledger, rows: list[dict[str, Any]], scale: float,
               flow_names: tuple[str, ...]):
    """The run's time series: one row per recorded month (``rows``: the engine's, with its
    ``step`` and ``date``), the columns in the order a month's row always had them: the
    stocks, their spreads and survey shares, the means by tier, the levers, the flows, and
    the crisis outputs (present only if a crisis was recorded; NaN in other months)."""
    import pandas as pd

    steps = np.fromiter((r["step"] for r in rows), dtype=np.int64, count=len(rows))
    s = ledger.stocks[steps]

    def a(key: str) -> np.ndarray:
        return s[:, _A[key]]

    k = 1.0 / scale
    # the totals and means of the stocks (as :func:`.stocks.with_means` takes them)
    members = a("candidates") + a("full_members") + a("cadres") + a("elites")
    adults_1 = np.maximum(a("adults"), 1.0)
    office = a("cadres") + a("elites")
    belief_adults = a("sum_belief_adults") / adults_1
    trust_adults = a("sum_trust_adults") / adults_1
    corruption = np.where(office != 0, _div(a("sum_stake_office"), office, office > 0), 0.0)
    nonmembers_1 = np.maximum(a("nonmember_adults"), 1.0)
    cols: dict[str, Any] = {
        "step": steps,
        "date": [r["date"] for r in rows],
        "population": a("alive") * k,
        "adults": a("adults") * k,
        "members": members * k,
        "candidates": a("candidates") * k,
        "full_members": (a("full_members") + a("cadres") + a("elites")) * k,
        "cadres": a("cadres") * k,
        "elites": a("elites") * k,
        "members_active": (members - a("lapsed_members")) * k,
        "lapsed_members": a("lapsed_members") * k,
        "committed_members": a("committed") * k,
        "committed_adults": a("committed_adults") * k,
        "share_of_adults": members / adults_1,
        "mean_belief_members": _div(a("sum_belief_members"), members, members > 0),
        "mean_trust_members": _div(a("sum_trust_members"), members, members > 0),
        "mean_trust_citizens": a("sum_trust_nonmembers") / nonmembers_1,
        "mean_belief_citizens": a("sum_belief_nonmembers") / nonmembers_1,
        "expressed_trust_citizens": a("sum_expressed_nonmembers") / nonmembers_1,
        "expressed_trust_members": _div(a("sum_expressed_members"), members, members != 0),
        "mean_belief_adults": belief_adults,
        "mean_trust_adults": trust_adults,
        "corruption": corruption,
        "converted_officials": a("converted") * k,
        "motive_ideal": a("motive_ideal") * k,
        "motive_career": a("motive_career") * k,
        "motive_conformist": a("motive_conformist") * k,
        "members_born_pre1900": a("cohort_pre1900") * k,
        "members_born_1900_1919": a("cohort_1900_1919") * k,
        "members_born_1920_1939": a("cohort_1920_1939") * k,
        "members_born_1940_1959": a("cohort_1940_1959") * k,
        "members_born_1960plus": a("cohort_1960plus") * k,
    }
    # the spreads across adults and the survey's shares (as :func:`.stocks.survey_columns`)
    n = a("adults")
    for what, mean in (("belief", belief_adults), ("trust", trust_adults)):
        with np.errstate(divide="ignore", invalid="ignore"):
            var = a(f"sumsq_{what}_adults") / n - mean * mean
        cols[f"sd_{what}_adults"] = np.where(n > 0, np.sqrt(np.maximum(0.0, var)), np.nan)
    for who, count in (("adults", n), ("members", members)):
        for how, tag in (("private", ""), ("expressed", "_ex")):
            firm, not_against = a(f"survey_firm{tag}_{who}"), a(f"survey_notagainst{tag}_{who}")
            on = count > 0
            cols[f"survey_{who}_{how}_firm"] = _div(firm, count, on)
            cols[f"survey_{who}_{how}_partial"] = _div(not_against - firm, count, on)
            cols[f"survey_{who}_{how}_against"] = np.where(
                on, 1.0 - _div(not_against, count, on), np.nan)
    for tier, count, belief, trust in _TIERS:
        c = a(count)
        cols[f"mean_belief_{tier}"] = _div(a(belief), c, c != 0)
        cols[f"mean_trust_{tier}"] = _div(a(trust), c, c != 0)
    lv = ledger.levers[steps]
    for j, name in enumerate(LEVER_NAMES):
        cols[f"lever_{name}"] = lv[:, j]
    fl = ledger.flows[steps]
    for j, name in enumerate(flow_names):
        cols[name] = fl[:, j] * k
    at = {int(st): j for j, st in enumerate(steps.tolist())}
    months = [(at[st], c) for st, c in sorted(ledger.crisis.items()) if st in at]
    if months:
        for key in CRISIS_KEYS:
            col = np.full(steps.shape[0], np.nan)
            for j, c in months:
                col[j] = c[key]
            cols[f"crisis_{key}"] = col
    return pd.DataFrame(cols)
