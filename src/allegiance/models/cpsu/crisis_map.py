"""The crisis alone (M10) over a grid of inputs: where small, partial and total outcomes lie.

A :class:`CrisisState` is what the crisis cascade reads: the agents' arrays on the 1st of the
crisis month, the openness and the random streams of the run. It comes from a run advanced to
its crisis (:func:`capture`: every month before it as in the run itself) or is built by hand
(:func:`synthetic`). :func:`grid` then runs only the cascade (not whole runs) for every pair of
two inputs: ``shift`` (added to every adult's belief and trust), ``openness``, a field of the
crisis event (``risk_oppose``, ``challenger_seed``, ...) or a parameter of M10 (``reluctance``,
``discipline``, ...). ``benchmarks/crisis_map.py`` draws the result.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ...mechanisms import crisis as m10
from ...mechanisms._common import ADULT_MONTHS
from ...rng import Streams

#: the event fields a grid axis may name (the rest are M10 parameters, shift or openness)
EVENT_FIELDS = ("defender_seed", "challenger_seed", "risk_defend", "risk_oppose")
#: the outcome classes of one side, by the share of adults in the street for it: about the
#: instigators alone, up to Chenoweth's 3.5 % (classic_model_targets.csv C1), and beyond
SMALL, PARTIAL = 0.001, 0.035


@dataclass(frozen=True)
class CrisisState:
    """What the crisis cascade reads, as in a run's crisis month."""

    arrays: dict[str, np.ndarray]
    month: int
    openness: float
    n_cells: int
    scale: float
    keys: np.ndarray
    params: Any  # M10's Params
    event: np.ndarray  # defender_seed, challenger_seed, risk_defend, risk_oppose

    def adults(self) -> int:
        a = self.arrays
        return int((a["alive"] & (self.month - a["birth"].astype(np.int64) >= ADULT_MONTHS)).sum())

    def save(self, path) -> None:
        """An ``.npz`` file (arrays and settings; the parameters as JSON)."""
        np.savez_compressed(path, **self.arrays, month=self.month, openness=self.openness,
                            n_cells=self.n_cells, scale=self.scale, keys=self.keys,
                            event=self.event, params=self.params.model_dump_json())

    @classmethod
    def load(cls, path) -> CrisisState:
        z = np.load(path)
        return cls({k: z[k] for k in m10._ARRAYS}, int(z["month"]), float(z["openness"]),
                   int(z["n_cells"]), float(z["scale"]), z["keys"],
                   m10.Params.model_validate_json(str(z["params"])), z["event"])


def capture(scenario, *, scale: float, seed: int) -> tuple[CrisisState, dict]:
    """Advance a CPSU run to its (first) crisis event and take the state the cascade reads.

    Returns the state and the crisis as the run itself computed it (its breakdown)."""
    from ...calendar import parse_month
    from ...engine import Runner
    from .model import CpsuModel

    crises = sorted((ev.date, eid) for eid, ev in scenario.events.items()
                    if ev.enabled and ev.type == "crisis")
    if not crises:
        raise ValueError("the scenario has no crisis event")
    date, eid = crises[0]
    model = CpsuModel(scenario, seed=seed, scale=scale)
    runner = Runner(model)
    step = parse_month(date) - model.start
    runner.advance(step)
    model.record_stocks(step)
    for other, ev in model.events_at(step):  # events of the month before the crisis
        if other == eid:
            break
        model.apply_event(step, other, ev)
    ctx = model.context(step)
    ev = scenario.events[eid]
    st = model.state
    state = CrisisState({k: st.view(k).copy() for k in m10._ARRAYS}, ctx.month, ctx.openness,
                        model.n_cells, scale, m10.stream_keys(ctx), ctx.params.crisis,
                        m10.event_vector(ev))
    out, stats = m10.apply(ctx, st, ev, model.n_cells)
    return state, m10.breakdown(out, stats, scale, date, ev)


def synthetic(n: int = 20_000, *, belief: float = 0.5, trust: float = 0.5, sd: float = 0.1,
              members: float = 0.1, elite: float = 0.005, n_cells: int = 40, seed: int = 1,
              openness: float = 0.5, event=(0.01, 0.0005, 0.0, 0.05), params=None,
              month: int = 1991 * 12 + 7) -> CrisisState:
    """A population of ``n`` adults (ages 18-78) with normal belief and trust, for tests and
    maps without a run. ``members`` and ``elite`` are the shares in the party and its elite."""
    rng = np.random.default_rng(seed)
    status = np.where(rng.random(n) < members, 2, 0).astype(np.int8)
    status[(status == 2) & (rng.random(n) < elite / max(members, 1e-12))] = 4
    arrays = {
        "alive": np.ones(n, dtype=np.bool_),
        "birth": (month - rng.integers(ADULT_MONTHS, 78 * 12, n)).astype(np.int16),
        "status": status,
        "belief": np.clip(rng.normal(belief, sd, n), 0, 1).astype(np.float32),
        "trust": np.clip(rng.normal(trust, sd, n), 0, 1).astype(np.float32),
        "stake": np.where(status == 4, 0.5, 0.0).astype(np.float32),
        "converted": np.zeros(n, dtype=np.bool_),
        "cell": rng.integers(0, n_cells, n).astype(np.int32),
        "uid": np.arange(n, dtype=np.int32),
    }
    keys = np.array([Streams(seed).key(s, 0) for s in m10.STREAMS], dtype=np.uint64)
    return CrisisState(arrays, month, openness, n_cells, 1.0, keys,
                       params if params is not None else m10.Params(),
                       np.asarray(event, dtype=np.float64))


def _with(state: CrisisState, name: str, value: float) -> CrisisState:
    """The state with one input set (``shift`` adds to belief and trust)."""
    if name == "shift":
        a = dict(state.arrays)
        for k in ("belief", "trust"):
            a[k] = np.clip(state.arrays[k].astype(np.float64) + value, 0, 1).astype(np.float32)
        return replace(state, arrays=a)
    if name == "openness":
        return replace(state, openness=float(value))
    if name in EVENT_FIELDS:
        ev = state.event.copy()
        ev[EVENT_FIELDS.index(name)] = value
        return replace(state, event=ev)
    if name in m10.Params.model_fields:
        return replace(state, params=state.params.model_copy(update={name: value}))
    raise ValueError(f"unknown crisis input {name!r}: use shift, openness, "
                     f"{', '.join(EVENT_FIELDS)} or a parameter of M10")


def outcome(state: CrisisState, **inputs: float) -> dict:
    """The crisis breakdown (persons) of ``state`` with some inputs set (see :func:`grid`)."""
    for name, value in inputs.items():
        state = _with(state, name, value)
    out, stats = m10.run_arrays(state.arrays, state.month, state.params, state.event,
                                state.openness, state.keys, state.n_cells)
    return m10.breakdown(out, stats, state.scale, "", None)


def grid(state: CrisisState, x: str, xs, y: str, ys) -> dict[str, np.ndarray]:
    """Defenders, opponents and the forces over ``xs`` × ``ys`` (arrays indexed [y, x]), in
    persons, with the adults (persons) for shares."""
    keys = ("defenders", "opponents", "security_obeyed", "security_refused", "regime_side")
    res = {k: np.zeros((len(ys), len(xs))) for k in keys}
    for j, yv in enumerate(ys):
        sy = _with(state, y, yv)
        for i, xv in enumerate(xs):
            c = outcome(sy, **{x: xv})
            res["defenders"][j, i] = c["defenders_members"] + c["defenders_nonmembers"]
            res["opponents"][j, i] = c["opponents_members"] + c["opponents_nonmembers"]
            for k in keys[2:]:
                res[k][j, i] = c[k]
    res["adults"] = np.array(state.adults() / state.scale)
    return res


def regimes(persons: np.ndarray, adults: float) -> np.ndarray:
    """The outcome class of each cell: 0 near zero (under 0.1 % of adults), 1 partial (up to
    3.5 %), 2 large."""
    share = np.asarray(persons) / adults
    return np.where(share < SMALL, 0, np.where(share < PARTIAL, 1, 2))
