"""Calibration of the CPSU admission policy to the membership series, up to the end of 1988.

The party set its intake: admission quotas by era (the Lenin Enrolment, the 1933–36 stop,
wartime mass admission, Brezhnev's tightening). The model treats the quota as a ceiling on
admissions (``levers.admission_rate``, a yearly share of adults); who applies, who is admitted,
who dies, is purged or leaves is the agents' doing. This module fits one quota per era so that
modelled members + candidates match ``data/cpsu_membership.csv`` (rows V, D, L; never E; only
dates ≤ 1988-12, the out-of-sample rule).

Method: *sequential shooting*. Eras are the ``admission_rate`` lever events of the scenario in
date order (plus the initial value). The run is advanced to the start of an era, copied, and
the era's quota is chosen by a bounded scalar minimization (Brent) of

    Σ_{data points p in the era} (log model_p − log data_p)²

with the random numbers held fixed (common random numbers: every trial sees the same draws),
then the run continues with the best value into the next era. Eras whose quota is fixed by the
record (the 1933–36 admission stop, value 0) are not fitted. The objective of the whole fit is
reported as the RMSE of log(model/data) over all points, those of the fixed eras included
(``summary.fit`` of a run), and before and from 1941 separately.
"""

from __future__ import annotations

import copy
import json
import math
import re
from pathlib import Path
from typing import Any

from . import data
from .calendar import parse_month
from .engine import Runner
from .scenario import load_scenario

INITIAL = "levers.admission_rate"

#: the admission events kept by the "fewer eras" fit (with the initial quota): 1917-21 (civil
#: war), 1921-32 (NEP and the first five-year plans), the 1933-36 stop (fixed at 0), 1936-41
#: (resumed), 1941-45 (war), 1945-88; every other ``admission_rate`` event is switched off, so
#: that the mechanisms, not the quotas, carry the shape within an era
FEWER_ERAS = ("admission_1921", "admission_stop_1933", "admission_resumed_1936",
              "admission_war_1941", "admission_1945")


def fewer_eras_overrides(scenario: Any = "cpsu", keep: tuple[str, ...] = FEWER_ERAS) -> list[str]:
    """``--set`` overrides that switch off every ``admission_rate`` event not in ``keep``."""
    sc = load_scenario(scenario)
    return [f"events.{eid}.enabled=false" for eid, ev in sc.events.items()
            if ev.enabled and ev.type == "lever" and ev.lever == "admission_rate"
            and eid not in keep]


def eras(scenario) -> list[dict[str, Any]]:
    """The admission eras of a scenario: id, start month, current value, fitted or fixed."""
    out = [{"id": INITIAL, "month": parse_month(scenario.run.start),
            "value": scenario.levers.admission_rate, "fixed": False}]
    for eid, ev in scenario.events.items():
        if ev.enabled and ev.type == "lever" and ev.lever == "admission_rate":
            out.append({"id": eid, "month": parse_month(ev.date), "value": ev.value,
                        "fixed": ev.value == 0.0})
    out.sort(key=lambda e: e["month"])
    return out


def _set_quota(runner: Runner, era: dict[str, Any], value: float) -> None:
    model = runner.model
    if era["id"] == INITIAL:
        model._levers["admission_rate"] = value
        return
    step = era["month"] - model.start
    items = model._timeline.get(step, [])
    model._timeline[step] = [
        (eid, ev.model_copy(update={"value": value}) if eid == era["id"] else ev)
        for eid, ev in items
    ]


def _log_errors(runner: Runner, pts: list[dict[str, Any]], floor: float = 0.0) -> list[float]:
    """log(members in the run / observed) at each point ``pts`` of the run so far (the
    members at least ``floor``)."""
    members = runner.timeseries()["members"]
    return [math.log(max(float(members.iloc[p["month"] - runner.model.start]), floor)
                     / p["value"]) for p in pts]


def fit_admissions(scenario: Any = "cpsu", *, scale: float = 5e-4, seed: int | None = None,
                   end: str = data.CALIBRATION_END, bounds: tuple[float, float] = (0.0, 0.06),
                   overrides: list[str] | tuple[str, ...] = (),
                   progress=None) -> dict[str, Any]:
    """Fit the admission quota of every era to the membership series up to ``end``.

    ``overrides``: ``--set`` overrides applied to the scenario first (e.g.
    :func:`fewer_eras_overrides`).

    Returns:
        ``{"eras": [{"id", "start", "value", "points", "log_errors"}], "rmse": ..., ...}``
        (``rmse_before_1941`` and ``rmse_from_1941`` split the points at 1941-01).
    """
    from scipy.optimize import minimize_scalar

    from .models.cpsu import CpsuModel
    from .models.cpsu.summary import FIT_SPLIT

    sc = load_scenario(scenario, list(overrides))
    seed = sc.run.seed if seed is None else seed
    last = parse_month(end)
    points = data.in_sample(data.membership_series(), end)
    runner = Runner(CpsuModel(sc, seed=seed, scale=scale))
    start = runner.model.start
    era_list = eras(sc)
    results = []
    evaluations = 0
    for k, era in enumerate(era_list):
        nxt = era_list[k + 1]["month"] if k + 1 < len(era_list) else last + 1
        nxt = min(nxt, last + 1)
        pts = [p for p in points if era["month"] < p["month"] <= nxt and p["month"] >= start]
        if era["month"] > last:
            break
        if era["fixed"] or not pts:
            _set_quota(runner, era, era["value"])
            errs = []
            if pts:  # a fixed era's points count in the reported fit too
                check = copy.deepcopy(runner)
                check.advance(max(p["month"] for p in pts) - start + 1)
                errs = _log_errors(check, pts)
            runner.advance(nxt - start)
            results.append({"id": era["id"], "start": era["month"], "value": era["value"],
                            "fitted": False, "points": [p["date"] for p in pts],
                            "log_errors": errs})
            continue
        horizon = max(p["month"] for p in pts) - start + 1
        snapshot = copy.deepcopy(runner)

        def loss(v: float, snapshot=snapshot, era=era, pts=pts, horizon=horizon) -> float:
            nonlocal evaluations
            evaluations += 1
            trial = copy.deepcopy(snapshot)
            _set_quota(trial, era, float(v))
            trial.advance(horizon)
            return sum(e ** 2 for e in _log_errors(trial, pts, floor=1.0))

        best = minimize_scalar(loss, bounds=bounds, method="bounded",
                               options={"xatol": 2e-5, "maxiter": 30})
        value = round(float(best.x), 5)
        _set_quota(runner, era, value)
        check = copy.deepcopy(runner)  # a point on the boundary month needs one step more
        check.advance(horizon)
        errs = _log_errors(check, pts)
        runner.advance(nxt - start)
        results.append({"id": era["id"], "start": era["month"], "value": value, "fitted": True,
                        "points": [p["date"] for p in pts], "log_errors": errs})
        if progress:
            progress(k + 1, len(era_list), era["id"])
    all_err = [e for r in results for e in r.get("log_errors", [])]
    dated = [(d, e) for r in results for d, e in zip(r["points"], r.get("log_errors", []),
                                                       strict=True)]
    return {"scenario": sc.name, "scale": scale, "seed": seed, "end": end,
            "method": "sequential shooting, bounded Brent per era, common random numbers",
            "objective": "sum of squared log(model/data) per era; rmse over all points reported",
            "overrides": list(overrides),
            "rmse_log_members": rmse(all_err),
            "rmse_before_1941": rmse([e for d, e in dated if d < FIT_SPLIT]),
            "rmse_from_1941": rmse([e for d, e in dated if d >= FIT_SPLIT]),
            "n_points": len(all_err), "evaluations": evaluations, "eras": results}


def rmse(errors: list[float]) -> float:
    """Root-mean-square of log errors (nan for none)."""
    return math.sqrt(sum(e * e for e in errors) / len(errors)) if errors else float("nan")


def write_to_scenario(fit: dict[str, Any], path: str | Path, command: str) -> None:
    """Write fitted quotas into a scenario TOML file in place (values only), noting the command."""
    p = Path(path)
    text = p.read_text()
    for era in fit["eras"]:
        if not era["fitted"]:
            continue
        v = f"{era['value']:.5f}".rstrip("0").rstrip(".")
        if era["id"] == INITIAL:
            text = re.sub(r"(?m)^(\[levers\]\n(?:[^\[].*\n)*?admission_rate = )[^\n]*",
                          rf"\g<1>{v}", text, count=1)
        else:
            pat = rf"(?m)^(\[events\.{re.escape(era['id'])}\]\n(?:[^\[].*\n)*?value = )[^\n]*"
            text = re.sub(pat, rf"\g<1>{v}", text, count=1)
    note = (f'"levers.admission_rate" = "calibration: admission quota by era fitted to '
            f'cpsu_membership.csv <= {fit["end"]} by `{command}` (rmse log members '
            f'{fit["rmse_log_members"]:.3f}, scale {fit["scale"]:g}, seed {fit["seed"]})"')
    text = re.sub(r'(?m)^"levers\.admission_rate" = .*$', note.replace("\\", "\\\\"), text)
    p.write_text(text)


def save(fit: dict[str, Any], out: str | Path) -> None:
    """Write the fit as JSON."""
    Path(out).write_text(json.dumps(fit, indent=2) + "\n")
