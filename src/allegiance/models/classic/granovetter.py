"""Granovetter (1978) threshold model of collective behaviour.

Each of N actors has a *threshold*: the number of others who must already act (riot, strike,
leave the party) before the actor joins. Starting from nobody acting, the number acting after a
round is the number of actors whose threshold is at most the number acting before it::

    r(0) = 0,    r(t+1) = #{i : threshold_i <= r(t)} = N·F(r(t))

and the equilibrium is the first fixed point of ``r = N·F(r)`` (Granovetter 1978, pp. 1424–1425).
Two crowds with almost the same thresholds can end in opposite outcomes: 0, 1, ..., 99 riots
completely; change the actor with threshold 1 to 2 and only the instigator acts (targets G1 and
G2 of ``data/classic_model_targets.csv``).

Thresholds are given explicitly (a list) or drawn with the counter-based RNG from a normal
(values below 0 are set to 0: such actors act at once, exactly like a threshold of 0), a uniform,
or a beta distribution; or, with ``sampling = "quantile"``, set deterministically to the N
quantiles of that distribution (:func:`quantile_thresholds`), Granovetter's N-actor reading of
a distribution. ``unit = "share"`` reads thresholds as shares of N and converts them to
counts (``share · N``).

The engine model runs one round of the cascade per step and records the number acting at the
start of each step; :func:`cascade`, :func:`first_fixed_point` and :func:`find_jump` are the pure
functions behind it (Granovetter's Fig. 2 sweep of the standard deviation of a normal
distribution is :func:`find_jump` over ``sd``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, ClassVar, Literal, NamedTuple

import numpy as np
from pydantic import Field, model_validator

from ...engine import Model
from ...rng import Streams
from ...scenario import Frozen, ScenarioBase
from . import FixedRun

__all__ = [
    "GranovetterModel",
    "GranovetterScenario",
    "Jump",
    "Thresholds",
    "cascade",
    "draw_thresholds",
    "find_jump",
    "first_fixed_point",
    "quantile_thresholds",
]


# ---------------------------------------------------------------------------------------------
# Pure functions


def _as_counts(thresholds: Sequence[float] | np.ndarray) -> np.ndarray:
    t = np.asarray(thresholds, dtype=np.float64).ravel()
    if t.size and not np.all(np.isfinite(t)):
        raise ValueError("thresholds must be finite numbers")
    return np.sort(t)


def cascade(thresholds: Sequence[float] | np.ndarray) -> int:
    """Equilibrium number acting, by iterating the cascade from nobody acting.

    Args:
        thresholds: one threshold per actor, as a number of *others* who must act first.

    Returns:
        The limit of ``r <- #{i: threshold_i <= r}`` from ``r = 0``.
    """
    t = _as_counts(thresholds)
    r = 0
    while True:
        nxt = int(np.searchsorted(t, r, side="right"))
        if nxt == r:
            return r
        r = nxt


def first_fixed_point(thresholds: Sequence[float] | np.ndarray) -> int:
    """Smallest ``r`` in ``0..N`` with ``r = N·F(r)``, F the empirical CDF of the thresholds.

    Because ``N·F`` is non-decreasing, the cascade from 0 stops exactly here; this computes it
    in one pass over the sorted thresholds instead of by iteration.
    """
    t = _as_counts(thresholds)
    r = np.arange(t.size + 1)
    nf = np.searchsorted(t, r, side="right")
    return int(np.flatnonzero(nf == r)[0])  # r = N is always a fixed point or is passed above


class Jump(NamedTuple):
    """Where a sweep's equilibrium outcome changes most between two neighbouring values."""

    index: int
    before: float
    after: float
    outcome_before: int
    outcome_after: int
    values: list[float]
    outcomes: list[int]

    @property
    def size(self) -> int:
        """Change of the outcome across the jump (signed)."""
        return self.outcome_after - self.outcome_before


def find_jump(
    make_thresholds: Callable[[float], Sequence[float] | np.ndarray],
    param_values: Sequence[float],
) -> Jump:
    """Sweep a distribution parameter and locate the largest discontinuity of the equilibrium.

    Args:
        make_thresholds: thresholds for a parameter value (e.g. a normal's sd at fixed mean;
            draw with the same random numbers for every value so that only the parameter moves).
        param_values: at least two parameter values, in sweep order.

    Returns:
        The :class:`Jump` between the two neighbouring values with the largest change.
    """
    vals = [float(v) for v in param_values]
    if len(vals) < 2:
        raise ValueError("find_jump needs at least two parameter values")
    out = [cascade(make_thresholds(v)) for v in vals]
    i = int(np.argmax(np.abs(np.diff(out))))
    return Jump(i, vals[i], vals[i + 1], out[i], out[i + 1], vals, out)


# ---------------------------------------------------------------------------------------------
# Scenario schema

PARAMS = ("mean", "sd", "low", "high", "a", "b")


class Thresholds(Frozen):
    """Where the actors' thresholds come from."""

    distribution: Literal["list", "normal", "uniform", "beta"] = Field(
        "list", description="'list': the values below; else drawn from this distribution")
    values: list[float] = Field(default_factory=list, description="explicit thresholds (list)")
    unit: Literal["count", "share"] = Field(
        "count", description="thresholds as numbers of others acting, or as shares of N")
    n: int = Field(100, ge=1, le=10_000_000, description="actors (drawn distributions)")
    mean: float = Field(25.0, description="normal: mean")
    sd: float = Field(10.0, ge=0, description="normal: standard deviation (values < 0 set to 0)")
    low: float = Field(0.0, description="uniform: lower bound")
    high: float = Field(100.0, description="uniform: upper bound")
    a: float = Field(2.0, gt=0, description="beta: first shape (draws in [0, 1])")
    b: float = Field(2.0, gt=0, description="beta: second shape")
    sampling: Literal["random", "quantile"] = Field(
        "random", description="random: N keyed draws; quantile: the deterministic N-actor "
                              "version, actor i at the quantile q_i of the distribution")
    quantile: Literal["lower", "mid"] = Field(
        "lower", description="quantile sampling: q_i = i/N ('lower', i = 0..N-1: uniform "
                             "0..100 with N = 100 gives 0, 1, ..., 99) or (i + 1/2)/N ('mid')")

    @model_validator(mode="after")
    def _consistent(self):
        if self.distribution == "list" and not self.values:
            raise ValueError("distribution = 'list' needs a non-empty 'values' list")
        if self.distribution == "uniform" and self.high < self.low:
            raise ValueError(f"uniform: high {self.high} is below low {self.low}")
        return self


class Sweep(Frozen):
    """An optional sweep of one distribution parameter (Granovetter's Fig. 2), same draws."""

    parameter: Literal[PARAMS] | None = None  # type: ignore[valid-type]
    start: float = 0.0
    stop: float = 20.0
    points: int = Field(201, ge=2, le=100_000)


class GranovetterScenario(ScenarioBase):
    """A scenario of the Granovetter threshold model."""

    model: Literal["granovetter"]
    run: FixedRun = FixedRun(seed=1978, steps=120)
    thresholds: Thresholds
    sweep: Sweep = Sweep()


@lru_cache(maxsize=8)
def _standard_draws(kind: str, n: int, seed: int) -> np.ndarray:
    """Standard normal (``kind = "z"``) or uniform (``"u"``) draws of actors ``0..n-1``.

    Cached because a sweep redraws the same actors for every parameter value (read-only copy).
    """
    ids = np.arange(n, dtype=np.int64)
    rng = Streams(seed)
    out = rng.normals("granovetter.z", 0, ids) if kind == "z" else rng.uniforms(
        "granovetter.u", 0, ids)
    out.setflags(write=False)
    return out


def draw_thresholds(spec: Thresholds, seed: int) -> np.ndarray:
    """Thresholds in counts of others acting, one per actor (deterministic given ``seed``).

    Draws use the counter-based streams ``granovetter.u`` / ``granovetter.z`` keyed by actor id,
    so changing one parameter (sd, say) moves every threshold continuously (common draws).
    """
    if spec.distribution == "list":
        t = np.asarray(spec.values, dtype=np.float64)
    elif spec.sampling == "quantile":
        t = quantile_thresholds(spec)
    elif spec.distribution == "normal":
        t = np.maximum(spec.mean + spec.sd * _standard_draws("z", spec.n, seed), 0.0)
    elif spec.distribution == "uniform":
        t = spec.low + (spec.high - spec.low) * _standard_draws("u", spec.n, seed)
    else:
        from scipy.stats import beta

        t = beta.ppf(_standard_draws("u", spec.n, seed), spec.a, spec.b)
    if spec.unit == "share":
        t = t * t.size
    return t


def quantile_thresholds(spec: Thresholds) -> np.ndarray:
    """The deterministic N-actor version of a distribution: actor ``i`` gets its quantile
    ``F^-1(q_i)``, ``q_i = i/N`` (``lower``) or ``(i + 1/2)/N`` (``mid``), in the spec's unit.

    No random numbers: the same N gives the same crowd, so a result is a property of the
    distribution at that N, not of a sample. Normal quantiles below 0 (and ``F^-1(0) = -inf``)
    become 0, as drawn values do.
    """
    n = spec.n
    i = np.arange(n, dtype=np.float64) + (0.5 if spec.quantile == "mid" else 0.0)
    if spec.distribution == "uniform":
        # (width x i) / N before adding low: exact integers where the paper has them
        return spec.low + (spec.high - spec.low) * i / n
    from scipy.stats import beta, norm

    q = i / n
    if spec.distribution == "normal":
        z = norm.ppf(q)
        with np.errstate(invalid="ignore"):
            t = np.where(np.isneginf(z), 0.0, spec.mean + spec.sd * z)
        return np.maximum(t, 0.0)
    return beta.ppf(q, spec.a, spec.b)


def sweep_thresholds(sc: GranovetterScenario, seed: int) -> Jump | None:
    """Run the scenario's sweep (if any) through :func:`find_jump`."""
    sw = sc.sweep
    if sw.parameter is None:
        return None
    values = np.linspace(sw.start, sw.stop, sw.points)

    def make(v: float) -> np.ndarray:
        return draw_thresholds(sc.thresholds.model_copy(update={sw.parameter: float(v)}), seed)

    return find_jump(make, values)


# ---------------------------------------------------------------------------------------------
# The engine model


class GranovetterModel(Model):
    """One round of the threshold cascade per step; records the number acting.

    Phase order of a step: ``cascade`` — every actor not yet acting joins if its threshold is at
    most the number of others acting at the start of the step (synchronous rounds; actors never
    stop acting, as in Granovetter's model).
    """

    name: ClassVar[str] = "granovetter"
    scenario_class = GranovetterScenario

    def n_steps(self) -> int:
        return self.scenario.run.steps

    def work_size(self) -> int:
        """Agents a step's kernels loop over: a small population runs on one thread (the
        engine's ``threads_for``), where more threads only wait on each other."""
        return int(self.n)

    def setup(self) -> None:
        self.thresholds = draw_thresholds(self.scenario.thresholds, self.seed)
        self.n = int(self.thresholds.size)
        self.acting = np.zeros(self.n, dtype=bool)
        self.joined = 0

    def phases(self):
        return [("cascade", self._round)]

    def _round(self, step: int) -> None:
        r = int(self.acting.sum())
        new = ~self.acting & (self.thresholds <= r)
        self.joined = int(new.sum())
        self.acting |= new

    def record_stocks(self, step: int) -> dict[str, Any]:
        r = int(self.acting.sum())
        return {"acting": r, "share_acting": r / self.n}

    def record_flows(self, step: int) -> dict[str, Any]:
        return {"joined": self.joined}

    def summarize(self, ts, events) -> dict[str, Any]:
        final = int(self.acting.sum())
        eq = cascade(self.thresholds)
        still = ts.index[ts["joined"] > 0]
        out: dict[str, Any] = {
            "n": self.n,
            "final_acting": final,
            "equilibrium_cascade": eq,
            "equilibrium_first_fixed_point": first_fixed_point(self.thresholds),
            "converged": bool(final == eq and (ts["joined"].iloc[-1] == 0)),
            "rounds_with_joiners": len(still),
        }
        jump = sweep_thresholds(self.scenario, self.seed)
        if jump is not None:
            out["sweep"] = {
                "parameter": self.scenario.sweep.parameter,
                "jump_between": [jump.before, jump.after],
                "outcome_before": jump.outcome_before,
                "outcome_after": jump.outcome_after,
                "values": jump.values,
                "outcomes": jump.outcomes,
            }
        out["headline"] = {"actors": self.n, "final acting": final,
                           "equilibrium (first fixed point)": out["equilibrium_first_fixed_point"]}
        if jump is not None:
            out["headline"][f"jump in {self.scenario.sweep.parameter}"] = (
                f"{jump.before:.4g} -> {jump.after:.4g}: {jump.outcome_before} -> "
                f"{jump.outcome_after}")
        return out

    @classmethod
    def memory_estimate(cls, scenario: GranovetterScenario, scale: float) -> int:
        n = len(scenario.thresholds.values) if scenario.thresholds.distribution == "list" \
            else scenario.thresholds.n
        return int(n * 40 + 50 * 2**20)

    @classmethod
    def figures(cls, result, outdir) -> list:
        """The cascade by round, and the N·F(r) diagram with its first fixed point."""
        from pathlib import Path

        from ...plotting import PALETTE, save
        from ...plotting import plt as _plt

        outdir = Path(outdir)
        sc = result.scenario
        seed = result.manifest["seed"]
        t = np.sort(draw_thresholds(sc.thresholds, seed))
        n = t.size
        ts = result.timeseries
        plt = _plt()
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3.6))
        ax1.step(ts["step"], ts["acting"], where="post", color=PALETTE["acting"])
        ax1.set_xlabel("round")
        ax1.set_ylabel("actors acting")
        ax1.set_title("Cascade by round")
        r = np.arange(n + 1)
        ax2.step(r, np.searchsorted(t, r, side="right"), where="post", color="#2166ac",
                 label="N·F(r): actors with threshold ≤ r")
        ax2.plot([0, n], [0, n], color="0.4", lw=0.8, ls="--", label="r")
        eq = first_fixed_point(t)
        ax2.scatter([eq], [eq], color="black", zorder=3, label=f"first fixed point r* = {eq}")
        ax2.set_xlabel("r: others acting")
        ax2.set_ylabel("actors willing to act")
        ax2.set_title("Threshold diagram")
        ax2.legend(fontsize=7, frameon=False)
        fig.suptitle(f"Granovetter (1978) threshold model: {sc.name}, N = {n}")
        cap = (f"Model: allegiance {sc.name} (Granovetter 1978, AJS 83(6):1420-1443); "
               f"thresholds: {sc.thresholds.distribution}; seed {seed}.")
        fig.tight_layout(rect=(0, 0.06, 1, 1))  # room for the caption
        paths = save(fig, outdir, "granovetter_cascade", cap)
        sweep = result.summary.get("sweep")
        if sweep:
            fig, ax = plt.subplots(figsize=(6, 3.6))
            ax.plot(sweep["values"], sweep["outcomes"], color=PALETTE["acting"], marker=".", ms=3)
            ax.axvspan(*sweep["jump_between"], color="0.85")
            ax.set_xlabel(f"threshold distribution parameter: {sweep['parameter']}")
            ax.set_ylabel("equilibrium number acting")
            ax.set_title("Equilibrium outcome across the sweep (same random draws)")
            cap = (f"Model: allegiance {sc.name}; cf. Granovetter (1978) Fig. 2 (normal thresholds,"
                   " "
                   f"mean 25, N = 100); seed {seed}. Shaded: the largest jump.")
            fig.tight_layout(rect=(0, 0.06, 1, 1))  # room for the caption
            paths += save(fig, outdir, "granovetter_sweep", cap)
        return paths
