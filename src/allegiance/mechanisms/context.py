"""What a mechanism may read of the model: the month's :class:`Context`.

A mechanism never reaches into the model. Once a month, after the month's events, the model
hands every mechanism the same narrow, read-only context: the month, the mechanisms'
parameters, the levers and openness as they stand, the stocks on the 1st of the month, last
month's exit rate and the random streams. From it each mechanism computes its month's
``Terms`` (a typed record of the constants its per-agent equations need), and the kernels call
those equations with them. So a mechanism's month depends only on what is listed here, and a
reader (or a test) can build a context by hand and call any mechanism's ``terms``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..rng import Streams


@dataclass(frozen=True)
class Context:
    """The model as the mechanisms see it in one month.

    Attributes:
        step: the step (month index from the start of the run).
        month: the month number (``year · 12 + month − 1``).
        params: the scenario's ``mechanisms`` table (each mechanism's ``Params``).
        levers: every lever's current value (after this month's events and ramps).
        openness: openness as the mechanisms see it (its initial value when M7 is off).
        stocks: the stocks on the 1st of the month, in agents (``stocks.AGG`` and means).
        last_exit_rate: exits last month as a share of the members at its start (M9).
        rng: the run's random streams (draws keyed by stream, step and agent).
    """

    step: int
    month: int
    params: Any
    levers: Mapping[str, float]
    openness: float
    stocks: Mapping[str, float]
    last_exit_rate: float
    rng: Streams

    def lever(self, name: str) -> float:
        """A lever's current value."""
        return self.levers[name]

    def key(self, stream: str, step: int | None = None) -> np.uint64:
        """Key of a random stream at this month (or at ``step``, e.g. 0 for draws an agent
        keeps for life)."""
        return self.rng.key(stream, self.step if step is None else step)
