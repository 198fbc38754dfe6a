"""Summary of a CPSU run: the in-sample fit (≤ 1988) and the out-of-sample forecast (1989–1991)."""

from __future__ import annotations

import math
from typing import Any

from ... import data
from ...calendar import month_label, parse_month
from . import waves


class Rows:
    """A run's time series with its rows found by date once (a summary looks up some fifty
    stocks: one comparison of the whole date column each would cost more than the rest)."""

    def __init__(self, ts):
        self.ts = ts
        self._at: dict[str, int] = {}
        for i, label in enumerate(ts["date"].tolist()):
            self._at.setdefault(label, i)
        self._columns: dict[str, Any] = {}

    def stock(self, date: str, column: str) -> float | None:
        i = self._at.get(month_label(parse_month(date)))
        if i is None:
            return None
        col = self._columns.get(column)
        if col is None:
            col = self._columns[column] = self.ts[column].to_numpy()
        return float(col[i])

    def flow(self, first: str, last: str, column: str) -> float | None:
        lo = self._at.get(month_label(parse_month(first)))
        hi = self._at.get(month_label(parse_month(last)))
        if lo is None or hi is None:  # the rows are the run's months, one each, in order
            return None
        return float(self.ts[column].iloc[lo: hi + 1].sum())


def stock_at(ts, date: str, column: str = "members") -> float | None:
    """A stock on the 1st of ``date``'s month (rows hold start-of-month stocks); ``ts``: the
    time series, or its :class:`Rows`."""
    if isinstance(ts, Rows):
        return ts.stock(date, column)
    label = month_label(parse_month(date))
    hit = ts.loc[ts["date"] == label, column]
    return None if hit.empty else float(hit.iloc[0])


def flow_during(ts, first: str, last: str, column: str) -> float | None:
    """Sum of a flow over the months ``first``..``last`` (inclusive), if all are in the run;
    ``ts``: the time series, or its :class:`Rows`."""
    if isinstance(ts, Rows):
        return ts.flow(first, last, column)
    lo, hi = month_label(parse_month(first)), month_label(parse_month(last))
    sel = ts[(ts["date"] >= lo) & (ts["date"] <= hi)]
    months = parse_month(last) - parse_month(first) + 1
    return float(sel[column].sum()) if len(sel) == months else None


def membership_fit(ts, end: str = data.CALIBRATION_END) -> dict[str, Any]:
    """Error of modelled members + candidates against the historical series up to ``end``.

    Measured as the root-mean-square of log(model / data) over every dated row (V, D, L; not E)
    within the run and the window: 0.1 means typically about 10 % off.
    """
    points = []
    rows = ts if isinstance(ts, Rows) else Rows(ts)
    for r in data.in_sample(data.membership_series(), end):
        model = stock_at(rows, month_label(r["month"]))
        if model is None or model <= 0:
            continue
        points.append({"date": r["date"], "data": r["value"], "model": round(model),
                       "log_error": math.log(model / r["value"]),
                       "verification": r["verification"]})
    errs = [p["log_error"] for p in points]
    early = [p["log_error"] for p in points if p["date"] < FIT_SPLIT]
    late = [p["log_error"] for p in points if p["date"] >= FIT_SPLIT]
    return {"metric": "rmse of log(model/data), members + candidates",
            "window": f"start..{end}",
            "value": _rmse(errs) if errs else float("nan"), "n_points": len(points),
            "value_before_1941": _rmse(early), "n_points_before_1941": len(early),
            "value_from_1941": _rmse(late), "n_points_from_1941": len(late),
            "points": points}


#: the fit is also reported before and from this date: the pre-war party, whose shape the
#: mechanisms (civil-war drives, purges, the admission stop) must carry, and the rest
FIT_SPLIT = "1941-01"


def _rmse(errs: list[float]) -> float | None:
    """RMSE of log errors; ``None`` without points (a run that ends before them)."""
    return math.sqrt(sum(e * e for e in errs) / len(errs)) if errs else None


def summarize(model, ts, events) -> dict[str, Any]:
    """Build ``summary.json`` for a CPSU run."""
    crisis = model.crisis
    rows = Rows(ts)  # the stocks looked up by date
    fc = {
        "note": ("OUT-OF-SAMPLE FORECAST. Calibration used data up to 1988-12-31 only; these "
                 "numbers are what the model says about 1989-1991, reported as they came out."),
        "members_1990_01_01": stock_at(rows, "1990-01"),
        "members_1991_01_01": stock_at(rows, "1991-01"),
        "members_1991_07_01": stock_at(rows, "1991-07"),
        "exits_1990": flow_during(rows, "1990-01", "1990-12", "exits"),
        "expelled_1990": flow_during(rows, "1990-01", "1990-12", "expelled"),
        "joins_1990": flow_during(rows, "1990-01", "1990-12", "joins"),
        "committed_members_1991_07_01": stock_at(rows, "1991-07", "committed_members"),
        # M9's two kinds of exit: ``exits`` above are formal (the register counts them);
        # members who stopped paying dues and attending stay on the register, lapsed
        "exits_lapsed_1990": flow_during(rows, "1990-01", "1990-12", "exits_lapsed"),
        "disengaged_1990": flow_during(rows, "1990-01", "1990-12", "disengaged"),
        "reengaged_1990": flow_during(rows, "1990-01", "1990-12", "reengaged"),
        "lapsed_members_1990_01_01": stock_at(rows, "1990-01", "lapsed_members"),
        "lapsed_members_1991_01_01": stock_at(rows, "1991-01", "lapsed_members"),
        "lapsed_members_1991_07_01": stock_at(rows, "1991-07", "lapsed_members"),
        "members_active_1991_07_01": stock_at(rows, "1991-07", "members_active"),
        "crisis": None,
    }
    if crisis is not None:
        fc["crisis"] = {k: crisis[k] for k in (
            "date", "defenders_members", "passive_members", "opponents_members",
            "defenders_lapsed", "passive_lapsed", "opponents_lapsed",
            "defenders_nonmembers", "passive_nonmembers", "opponents_nonmembers",
            "iterations", "by_tier", "security_forces", "security_obeyed", "security_refused",
            "security_obey_share", "instigators_regime", "instigators_regime_elite",
            "instigators_regime_security", "instigators_challenger", "regime_side",
            "challenger_side")}
    fit = membership_fit(rows)
    boundary = stock_at(rows, "1989-01")
    peak = next((r for r in data.membership_series() if r["date"].startswith("1989-01")), None)
    fit["boundary_check_1989_01_01"] = (
        None if boundary is None or peak is None else
        {"data": peak["value"], "model": round(boundary),
         "log_error": math.log(boundary / peak["value"]) if boundary > 0 else None,
         "note": "1 Jan 1989 peak: not used in the fit (it is the first month outside it)"})
    fit["seniority_1983"] = _seniority_check(model)
    fit["share_of_adults"] = _share_check(rows)
    fit["attitude_waves"] = waves.check(model.attitude_waves) if model.attitude_waves else None
    fit["purges"] = _purge_check(rows)
    headline = {
        "members_1989_01_01": boundary,
        "committed_members_1989_01_01": stock_at(rows, "1989-01", "committed_members"),
        "members_1990_01_01": fc["members_1990_01_01"],
        "members_1991_07_01": fc["members_1991_07_01"],
        "exits_1990": fc["exits_1990"],
        "lapsed_members_1991_07_01": fc["lapsed_members_1991_07_01"],
        "fit_rmse_log_members_to_1988": fit["value"],
    }
    if crisis is not None:
        headline["crisis_defenders_members"] = crisis["defenders_members"]
        headline["crisis_opponents_nonmembers"] = crisis["opponents_nonmembers"]
    # belief and trust on the eve of the forecast and of the crisis (sensitivity outcomes)
    attitudes = {f"{col}_{d.replace('-', '_')}_01": stock_at(rows, d, col)
                 for d in ("1989-01", "1991-07")
                 for col in ("mean_belief_members", "mean_trust_members", "mean_belief_adults",
                             "mean_trust_adults")}
    return {"model": "cpsu", "headline": headline, "forecast": fc, "fit": fit,
            "attitudes": attitudes,
            "peak_members": float(ts["members"].max()),
            "peak_members_date": str(ts.loc[ts["members"].idxmax(), "date"])}


def _seniority_check(model) -> dict[str, Any] | None:
    snap = model.seniority_1983
    if snap is None:
        return None
    d = data.seniority_1983()
    observed = {
        "before 1917": d["before 1917"], "1917": d["1917"],
        "1918-24": d["1918-21"] + d["1922"] + d["1923"] + d["1924"],
        "1925-40": d["1925-40"], "1941-45": d["1941-45"], "after 1945": d["after 1945"],
    }
    tot_o = sum(observed.values())
    tot_m = sum(snap.values()) or 1.0
    rows = {k: {"data_share": observed[k] / tot_o, "model_share": snap[k] / tot_m}
            for k in observed}
    return {"note": "full members on 1 Jan 1983 by period of joining (aif.ru, V)", "bins": rows}


def _share_check(ts) -> list[dict[str, Any]]:
    out = []
    for r in data.rows("party_saturation.csv"):
        if "adult" not in r["measure"] or r["verification"] == "E":
            continue
        m = parse_month(r["date"].strip()[:7])
        if m > parse_month(data.CALIBRATION_END):
            continue
        model = stock_at(ts, month_label(m), "share_of_adults")
        if model is not None:
            out.append({"date": r["date"], "data_percent": float(r["percent"]),
                        "model_percent": 100 * model})
    return out


PURGE_RECORDS = (  # data/cpsu_purges.csv: persons removed (V rows; ranges where sources differ)
    {"purge": "1921 purge", "first": "1921-06", "last": "1921-12", "low": 170_000, "high": 220_000},
    {"purge": "1933-35 chistka", "first": "1933-04", "last": "1935-04", "low": 350_000,
     "high": 350_000},
)


def _purge_check(ts) -> list[dict[str, Any]]:
    """Members expelled during the purge windows vs the recorded numbers (cpsu_purges.csv)."""
    out = []
    for rec in PURGE_RECORDS:
        got = flow_during(ts, rec["first"], rec["last"], "expelled")
        if got is not None:
            out.append({**rec, "model": got})
    return out
