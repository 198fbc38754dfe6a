"""The Ishigami function as a one-step model: the known answer for sensitivity analysis.

``y = sin(x1) + a sin(x2)^2 + b x3^4 sin(x1)`` (Ishigami & Homma 1990). With inputs uniform on
``[-pi, pi]^3``, ``a = 7`` and ``b = 0.1`` its Sobol indices are known in closed form
(:func:`analytic_indices`), so running a Sobol design of this model through the experiment
machinery (design -> executor -> run store -> SALib analysis) checks the whole pipeline against
exact values. An optional Gaussian ``noise`` term, drawn from the run's keyed random stream,
makes the output depend on the seed, which is what reproducibility tests need.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from ..engine import Model
from ..errors import AllegianceError
from ..scenario import Frozen, ScenarioBase


class IshigamiRun(Frozen):
    """Run settings (one step; ``scale`` is accepted for uniformity and unused)."""

    seed: int = Field(1, ge=0, le=2**63 - 1)
    scale: float = Field(1.0, gt=0, le=1)


class Inputs(Frozen):
    """The three inputs (the usual domain is [-pi, pi])."""

    x1: float = 0.0
    x2: float = 0.0
    x3: float = 0.0


class Constants(Frozen):
    """The function's constants and the optional noise."""

    a: float = 7.0
    b: float = 0.1
    noise: float = Field(0.0, ge=0, description="sd of Gaussian noise added to y")
    fail_above: float | None = Field(None, description=(
        "a run whose x1 is above this raises an error instead of reporting y (how the tests "
        "make runs of an experiment fail on purpose, now that every input is finite)"))


class IshigamiScenario(ScenarioBase):
    """A scenario of the Ishigami model."""

    model: Literal["ishigami"]
    run: IshigamiRun = IshigamiRun()
    inputs: Inputs = Inputs()
    constants: Constants = Constants()


def ishigami(x1: float, x2: float, x3: float, a: float = 7.0, b: float = 0.1) -> float:
    """The Ishigami function."""
    return math.sin(x1) + a * math.sin(x2) ** 2 + b * x3**4 * math.sin(x1)


def analytic_indices(a: float = 7.0, b: float = 0.1) -> dict[str, list[float]]:
    """Exact first-order and total Sobol indices for inputs uniform on [-pi, pi]^3."""
    pi = math.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return {"S1": [v1 / v, v2 / v, 0.0], "ST": [(v1 + v13) / v, v2 / v, v13 / v]}


class IshigamiModel(Model):
    """One step: evaluate the function (plus optional noise) and report ``y``."""

    name = "ishigami"
    scenario_class: ClassVar[type[ScenarioBase]] = IshigamiScenario

    def n_steps(self) -> int:
        return 1

    def setup(self) -> None:
        self.y = float("nan")

    def phases(self):
        return [("evaluate", self._evaluate)]

    def _evaluate(self, step: int) -> None:
        sc = self.scenario
        x, c = sc.inputs, sc.constants
        y = ishigami(x.x1, x.x2, x.x3, c.a, c.b)
        if c.noise > 0:
            y += c.noise * float(self.rng.normals("noise", step, np.zeros(1, np.int64))[0])
        if c.fail_above is not None and x.x1 > c.fail_above:
            raise AllegianceError(f"ishigami: x1 = {x.x1} is above constants.fail_above = "
                                  f"{c.fail_above} (a run made to fail)")
        if not math.isfinite(y):  # cannot happen with finite inputs; kept as a guard
            raise AllegianceError(
                f"ishigami: y = {y} is not finite for inputs x1={x.x1}, x2={x.x2}, x3={x.x3}"
            )
        self.y = y

    def record_flows(self, step: int) -> dict[str, Any]:
        return {"y": self.y}

    def summarize(self, timeseries, events) -> dict[str, Any]:
        return {"y": self.y}
