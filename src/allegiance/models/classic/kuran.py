"""Kuran (1991) preference falsification: revolutionary thresholds, cascades and hysteresis.

Each individual ``i`` has a *private preference* ``x_i`` in [0, 1] (1 = wholly for the
opposition) and chooses a *public preference* ``y_i``: support the regime (0) or oppose it (1).
Kuran splits the utility of a public choice into an expressive part — the cost of
misrepresenting what one wants — and a reputational part — the rewards and punishments society
hands out for the side one is seen on, which grow with that side's public size. With ``S`` the
share of society publicly opposed and ``w_i`` the weight the individual puts on expression
(relative to reputation)::

    U_i(oppose)  = -w_i·|x_i - 1| + S
    U_i(support) = -w_i·|x_i - 0| + (1 - S)

so ``i`` opposes publicly iff ``S >= tau_i`` with the *revolutionary threshold*

    tau_i = (1 - w_i·(2·x_i - 1)) / 2        (below 0: opposes whatever others do)

Thresholds are private, so nobody can tell how close a regime is to the flip. From the status quo
(nobody opposed) public opposition grows as long as some threshold is at most the current share:
``S <- #{i: tau_i <= S}/N``, the same mechanics as Granovetter's model. The ten-person society
A = (0, 20, 20, 30, 40, 50, 60, 70, 80, 100) rests at 10 %; lower one 20 to 10 and it flips to
90 % (targets K1 and K2 of ``data/classic_model_targets.csv``; :func:`equilibrium`).

*Hysteresis.* The *appeal* of the opposition ``a`` shifts every private preference,
``x_i(a) = clip(x_i + a, 0, 1)``. Raising ``a`` slowly, public opposition stays near zero until the
low equilibrium vanishes and the society flips; lowering ``a`` back, the flipped society does not
return: most people now oppose publicly, so reputation pays for opposing, and people who privately
prefer the regime falsify *against* it. The engine model sweeps ``a`` up and then down, one value
per step, letting the public choices settle within each step from where they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from ...engine import Model
from ...rng import Streams
from ...scenario import Frozen, ScenarioBase

__all__ = [
    "KuranModel",
    "KuranScenario",
    "equilibrium",
    "hysteresis",
    "revolutionary_thresholds",
    "settle",
]


# ---------------------------------------------------------------------------------------------
# Pure functions


def equilibrium(thresholds_percent: Sequence[float], start_percent: float = 0.0) -> float:
    """Equilibrium public opposition (percent) of a society with the given thresholds.

    Args:
        thresholds_percent: each person's revolutionary threshold, the percentage of society that
            must be publicly opposed before the person opposes too.
        start_percent: public opposition at the start (Kuran's examples start from 0).

    Returns:
        The percentage publicly opposed where ``S = 100·#{i: tau_i <= S}/N`` stops changing,
        iterated from ``start_percent`` (exact for integer thresholds: compared as ``tau·N <=
        100·k``).
    """
    t = np.sort(np.asarray(thresholds_percent, dtype=np.float64))
    n = t.size
    if n == 0:
        raise ValueError("equilibrium needs at least one threshold")
    k = int(np.count_nonzero(t <= start_percent))  # those whose threshold the start meets
    while True:
        nxt = int(np.count_nonzero(t * n <= 100.0 * k))
        if nxt == k:
            return 100.0 * k / n
        k = nxt


def revolutionary_thresholds(private: np.ndarray, expressive: np.ndarray,
                             appeal: float = 0.0) -> np.ndarray:
    """Thresholds ``tau_i`` (shares of society publicly opposed) at a given opposition appeal."""
    x = np.clip(np.asarray(private, dtype=np.float64) + appeal, 0.0, 1.0)
    return np.maximum((1.0 - np.asarray(expressive, dtype=np.float64) * (2.0 * x - 1.0)) / 2.0, 0.0)


def settle(tau: np.ndarray, public: np.ndarray,
           max_rounds: int = 100_000) -> tuple[np.ndarray, int]:
    """Let public choices settle from ``public`` (bool, True = opposes): rounds until none changes.

    Everyone compares the same share ``S`` with their threshold, so the share moves monotonically
    to the nearest equilibrium in the direction it starts moving.

    Returns:
        The settled public choices and the number of rounds that changed something.
    """
    n = tau.size
    y = public.copy()
    scaled = tau * n
    for rounds in range(max_rounds):
        k = int(np.count_nonzero(y))
        nxt = scaled <= k
        if np.array_equal(nxt, y):
            return y, rounds
        y = nxt
    return y, max_rounds


def hysteresis(private: np.ndarray, expressive: np.ndarray,
               appeals: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Public opposition along a slow sweep of the appeal up ``appeals`` and back down.

    Returns:
        ``(up, down)``: the share publicly opposed at each value of ``appeals``, reached going up
        from nobody opposed, and reached coming back down from the top.
    """
    y = np.zeros(np.asarray(private).size, dtype=bool)
    up, down = [], []
    for a in appeals:
        y, _ = settle(revolutionary_thresholds(private, expressive, a), y)
        up.append(y.mean())
    for a in list(appeals)[::-1]:
        y, _ = settle(revolutionary_thresholds(private, expressive, a), y)
        down.append(y.mean())
    return np.asarray(up), np.asarray(down[::-1])


# ---------------------------------------------------------------------------------------------
# Scenario schema


class KuranRun(Frozen):
    """Seed and scale (N is ``population.n``); the number of steps follows from the sweep."""

    seed: int = Field(1991, ge=0, le=2**63 - 1)
    scale: float = Field(1.0, gt=0, le=1, description="accepted but unused: N is population.n")
    max_rounds: int = Field(10_000, ge=1, description="most rounds of public revision per step")


class Population(Frozen):
    """Private preferences ``x ~ Beta(a, b)`` and expressive weights ``w ~ U(w_low, w_high)``."""

    n: int = Field(1000, ge=1, le=10_000_000)
    preference_a: float = Field(2.0, gt=0, description="Beta shape a of private preferences")
    preference_b: float = Field(3.0, gt=0, description="Beta shape b of private preferences")
    expressive_low: float = Field(0.0, ge=0, description="lowest expressive weight w")
    expressive_high: float = Field(1.5, ge=0, description="highest expressive weight w")

    @model_validator(mode="after")
    def _order(self):
        if self.expressive_high < self.expressive_low:
            raise ValueError(f"expressive_high {self.expressive_high} is below expressive_low "
                             f"{self.expressive_low}")
        return self


class AppealSweep(Frozen):
    """The opposition's appeal goes from ``low`` to ``high`` in ``points`` steps, then back."""

    low: float = Field(-0.3, ge=-1, le=1)
    high: float = Field(0.6, ge=-1, le=1)
    points: int = Field(91, ge=2, le=100_000)

    @model_validator(mode="after")
    def _order(self):
        if self.high <= self.low:
            raise ValueError(f"high {self.high} must be above low {self.low}")
        return self

    def schedule(self) -> np.ndarray:
        """Appeal at each step: up, then down (the top value once)."""
        up = np.round(np.linspace(self.low, self.high, self.points), 12)  # no -5e-17 labels
        return np.concatenate([up, up[-2::-1]])


class KuranScenario(ScenarioBase):
    """A scenario of Kuran's preference-falsification model."""

    model: Literal["kuran"]
    run: KuranRun = KuranRun()
    population: Population = Population()
    sweep: AppealSweep = AppealSweep()


def draw_population(p: Population, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Private preferences and expressive weights (counter-based streams, keyed by person id)."""
    from scipy.stats import beta

    ids = np.arange(p.n, dtype=np.int64)
    rng = Streams(seed)
    x = beta.ppf(rng.uniforms("kuran.preference", 0, ids), p.preference_a, p.preference_b)
    w = p.expressive_low + (p.expressive_high - p.expressive_low) * rng.uniforms(
        "kuran.expressive", 0, ids)
    return x, w


# ---------------------------------------------------------------------------------------------
# The engine model


class KuranModel(Model):
    """One value of the appeal per step; public choices settle within the step.

    Phase order of a step: ``appeal`` (set this step's appeal of the opposition, so every
    threshold moves), then ``expression`` (rounds of public revision from last step's choices
    until no one changes). Stocks are recorded after the step's settling, flows say how much moved.
    """

    name: ClassVar[str] = "kuran"
    scenario_class = KuranScenario

    def n_steps(self) -> int:
        return 2 * self.scenario.sweep.points - 1

    def work_size(self) -> int:
        """Agents a step's kernels loop over: a small population runs on one thread (the
        engine's ``threads_for``), where more threads only wait on each other."""
        return int(self.n)

    def setup(self) -> None:
        self.private, self.expressive = draw_population(self.scenario.population, self.seed)
        self.n = self.private.size
        self.public = np.zeros(self.n, dtype=bool)
        self.schedule = self.scenario.sweep.schedule()
        self.appeal = float(self.schedule[0])
        self.rounds = 0
        self.switched = 0

    def phases(self):
        return [("appeal", self._set_appeal), ("expression", self._express)]

    def _set_appeal(self, step: int) -> None:
        self.appeal = float(self.schedule[step])

    def _express(self, step: int) -> None:
        tau = revolutionary_thresholds(self.private, self.expressive, self.appeal)
        new, self.rounds = settle(tau, self.public, self.scenario.run.max_rounds)
        self.switched = int(np.count_nonzero(new != self.public))
        self.public = new

    def record_stocks(self, step: int) -> dict[str, Any]:
        return {"appeal": float(self.schedule[step]),
                "branch": "up" if step < self.scenario.sweep.points else "down"}

    def record_flows(self, step: int) -> dict[str, Any]:
        x = np.clip(self.private + self.appeal, 0, 1)
        privately_opposed = x > 0.5
        return {
            "public_opposition": float(self.public.mean()),
            "private_opposition": float(privately_opposed.mean()),
            "falsifying_for_regime": float(np.mean(privately_opposed & ~self.public)),
            "falsifying_for_opposition": float(np.mean((x < 0.5) & self.public)),
            "switched": self.switched,
            "rounds": self.rounds,
        }

    def summarize(self, ts, events) -> dict[str, Any]:
        out = {"n": self.n, **summarize_branches(ts)}
        out["headline"] = {
            "people": self.n,
            "flip on the way up, appeal": "{:.3g} -> {:.3g}".format(*out["flip_up_between"]),
            "collapse on the way down, appeal": "{:.3g} -> {:.3g}".format(
                *out["collapse_down_between"]),
            "largest gap between branches": round(out["max_branch_gap"], 3),
        }
        return out

    @classmethod
    def memory_estimate(cls, scenario: KuranScenario, scale: float) -> int:
        return int(scenario.population.n * 64 + 50 * 2**20)

    @classmethod
    def figures(cls, result, outdir) -> list:
        """Public opposition against the appeal, going up and coming back down."""
        from pathlib import Path

        from ...plotting import plt as _plt
        from ...plotting import save

        ts = result.timeseries
        plt = _plt()
        fig, ax = plt.subplots(figsize=(6.5, 4))
        up, down = ts[ts["branch"] == "up"], ts[ts["branch"] == "down"]
        ax.plot(up["appeal"], up["public_opposition"], color="#b2182b", lw=1.8,
                label="public opposition, appeal rising")
        ax.plot(down["appeal"], down["public_opposition"], color="#2166ac", lw=1.8, ls="--",
                label="public opposition, appeal falling")
        ax.plot(up["appeal"], up["private_opposition"], color="0.4", lw=1,
                label="private opposition (x > 0.5)")
        ax.fill_between(down["appeal"], 0, down["falsifying_for_opposition"], color="#92c5de",
                        alpha=0.6, label="falsifying for the opposition (falling branch)")
        ax.set_xlabel("appeal of the opposition (shift of every private preference)")
        ax.set_ylabel("share of society")
        ax.set_title("Preference falsification: the flip and its hysteresis")
        ax.legend(fontsize=7, frameon=False, loc="center left")
        s = result.summary
        cap = (f"Model: allegiance {result.manifest['scenario_name']} (Kuran 1991, World Politics "
               f"44(1):7-48); N = {s['n']}, seed {result.manifest['seed']}. Branches differ for "
               f"appeal in [{s['hysteresis_from']:.3g}, {s['hysteresis_to']:.3g}].")
        fig.tight_layout(rect=(0, 0.06, 1, 1))  # room for the caption
        return save(fig, Path(outdir), "kuran_hysteresis", cap)


def summarize_branches(ts) -> dict[str, Any]:
    """Where the rising branch jumps, where the falling one collapses, and where they differ."""
    up = ts[ts["branch"] == "up"]
    down = ts[ts["branch"] == "down"].iloc[::-1]  # ascending appeal, like ``up`` minus the top
    a = up["appeal"].to_numpy()[:-1]
    su = up["public_opposition"].to_numpy()[:-1]
    sd = down["public_opposition"].to_numpy()
    diff = np.abs(sd - su) > 0.05
    iu = int(np.argmax(np.diff(up["public_opposition"].to_numpy())))
    idn = int(np.argmax(np.diff(sd)))
    au = up["appeal"].to_numpy()
    out = {
        "flip_up_between": [float(au[iu]), float(au[iu + 1])],
        "collapse_down_between": [float(a[idn]), float(a[idn + 1])],
        "hysteresis_from": float(a[diff].min()) if diff.any() else float("nan"),
        "hysteresis_to": float(a[diff].max()) if diff.any() else float("nan"),
        "max_branch_gap": float(np.max(np.abs(sd - su))),
        "public_opposition_final": float(ts["public_opposition"].iloc[-1]),
        "max_falsifying_for_opposition": float(ts["falsifying_for_opposition"].max()),
    }
    return out
