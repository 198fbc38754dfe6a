"""M13 — Nostalgia: a worked example of adding a mechanism (not part of the CPSU model).

An invented mechanism, to show the interface: members past ``min_age`` recall the ideal of
their youth, and their belief drifts back towards 1 at ``rate`` a year,

    belief ← belief + rate/12 · (1 − belief)    (members aged ``min_age`` or more)

It owns one agent attribute (``nostalgia_months``: months an agent has reminisced) and counts
one flow (``recommitted``: members whose belief crossed the commitment threshold upwards this
month). A scenario adds it with a table::

    [mechanisms.nostalgia]
    module = "allegiance.examples.nostalgia"
    rate = 0.05

and the model runs :func:`phase` once a month, after the phase named by :data:`AFTER`.
Nothing in the model's month had to change for it (``docs/ARCHITECTURE.md``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit
from pydantic import Field

from ..mechanisms._common import MechanismParams, clip01, positive

#: the mechanism's id (the brief's are M1–M12)
ID = "M13"
#: the flows it counts (columns of ``timeseries.parquet``)
FLOWS: tuple[str, ...] = ("recommitted",)
#: the agent attributes it owns: (name, dtype, initial value)
STATE = [("nostalgia_months", np.int16, 0)]
#: the phase of the month after which it runs
AFTER = "adults"


class Params(MechanismParams):
    """Nostalgia of older members (an invented example)."""

    rate: float = positive(0.05, "yearly rate at which old members' belief returns towards 1")
    min_age: int = Field(60, ge=18, le=100, description="age from which members reminisce")


class Terms(NamedTuple):
    """This month's constants of :func:`reminisce_one`."""

    rate: float  #: monthly rate
    min_age: int  #: in months
    threshold: float  #: M12's commitment threshold


def terms(ctx) -> Terms | None:
    """This month's :class:`Terms`, or ``None`` when nobody reminisces."""
    p = ctx.params.nostalgia
    if not p.enabled or p.rate <= 0:
        return None
    return Terms(p.rate / 12.0, p.min_age * 12, ctx.params.commitment.threshold)


@njit(cache=True, inline="always")
def reminisce_one(belief, rate):
    """A reminiscing member's belief after this month."""
    return clip01(belief + rate * (1.0 - belief))


@njit(cache=True)
def _reminisce(alive, birth, status, belief, months, month, rate, min_age, threshold):
    n = 0
    for i in range(alive.shape[0]):
        if alive[i] and status[i] > 0 and month - birth[i] >= min_age:
            b = belief[i]
            belief[i] = reminisce_one(b, rate)
            months[i] += 1
            if b < threshold <= belief[i]:
                n += 1
    return n


def phase(ctx, agents) -> dict[str, int]:
    """The month's nostalgia: returns the flows it counted."""
    t = terms(ctx)
    if t is None:
        return {}
    v = agents.view
    n = _reminisce(v("alive"), v("birth"), v("status"), v("belief"), v("nostalgia_months"),
                   ctx.month, t.rate, t.min_age, t.threshold)
    return {"recommitted": n}
