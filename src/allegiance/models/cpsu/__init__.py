"""The CPSU 1917–1991 model: the essay's system with every mechanism switchable.

The package's modules, from the outside in:

==================  ============================================================================
``schema``          the scenario: run settings, initial party, levers, mechanism parameters, events
``model``           :class:`CpsuModel`: calendar, levers and events, setup, the phase order,
                    recording a month's stocks and flows
``timeline``        the dated events by lever and era, lever holds, warnings
``memory``          the memory a run needs, known before it starts
``phases``          the month's phases, declared once (the docs and ``CpsuModel.phases``
                    follow it)
``month``           :class:`~.month.Month`: each phase of the month as calls of the kernels
``carry``           what one phase hands to a later one
``stocks``          the month's stocks (counts and fixed-point sums) and their kernels
``members``         kernels of the member phases (they loop over the member index)
``adults``          kernels of the passes over every slot, in blocks: the one-pass month
                    (``adults``), and ``adults`` and ``learning`` with sequential M7
``recruits``        kernels of M1: decisions to apply, admissions
``member_index``    the slots of the members, in slot order
``lanes``           per-thread workplace sums, added in a fixed order
``options``         compile options and block sizes of the kernels
``reference``       the reference engine: the same month as plain one-agent loops
``crisis_map``      the crisis cascade over a grid of inputs (phase diagram)
``summary``         the run's summary: the fit up to 1988 and the 1989–1991 forecast
``figures``         the run's figures
==================  ============================================================================

The equations themselves live in :mod:`allegiance.mechanisms`, one module per mechanism.
"""

from __future__ import annotations

from .model import CpsuModel
from .schema import (
    LEVER_NAMES,
    CpsuScenario,
    CrisisEvent,
    DissolutionEvent,
    Hold,
    Initial,
    LeverEvent,
    Levers,
    Mechanisms,
    MortalityEvent,
    PurgeEvent,
    RunSettings,
    ShockEvent,
)
from .stocks import AGG, AGG_SCALE, COHORT_EDGES

__all__ = [
    "AGG",
    "AGG_SCALE",
    "COHORT_EDGES",
    "LEVER_NAMES",
    "CpsuModel",
    "CpsuScenario",
    "CrisisEvent",
    "DissolutionEvent",
    "Hold",
    "Initial",
    "LeverEvent",
    "Levers",
    "Mechanisms",
    "MortalityEvent",
    "PurgeEvent",
    "RunSettings",
    "ShockEvent",
]
