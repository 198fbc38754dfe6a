"""How much memory a CPSU run needs, known before it starts (``CpsuModel`` inherits it).

The state is allocated once at the run's peak size, so the peak is known from the scenario and
the scale; ``allegiance run`` refuses a run that would not fit (exit 2, naming the scale and
the estimate). Compared with measured peak RSS in docs/PERFORMANCE.md.
"""

from __future__ import annotations

import functools
import os

import numpy as np

from ... import data, engine
from ...calendar import parse_month
from ...mechanisms import MODULES, load_addon
from .recruits import APPLICANTS_MAX
from .schema import CpsuScenario
from .stocks import DEATH_LIST_MIN, DEATH_LIST_SHARE


@functools.cache
def _census() -> tuple[np.ndarray, np.ndarray]:
    """(month numbers, log persons) of the census series."""
    pop = data.population_series()
    return (np.array([p[0] for p in pop], dtype=np.float64),
            np.log(np.array([p[1] for p in pop], dtype=np.float64)))


@functools.lru_cache(maxsize=1 << 14)
def population_target(month: int) -> float:
    """Persons at ``month`` on the census series (log-linear; ends extrapolated). Kept for
    the process: every run asks for each of its months, and runs of a sweep share them."""
    x, y = _census()
    if month <= x[0]:
        return float(np.exp(y[0]))
    if month >= x[-1]:
        slope = (y[-1] - y[-2]) / (x[-1] - x[-2])
        return float(np.exp(y[-1] + slope * (month - x[-1])))
    return float(np.exp(np.interp(month, x, y)))


@functools.cache
def population_range(first: int, last: int) -> tuple[float, float]:
    """Persons at month ``first`` and at the peak of months ``first`` to ``last`` on the census
    series (fixed data: kept for the process, every run asks twice)."""
    return population_target(first), max(population_target(x) for x in range(first, last + 1))


class Sizing:
    """The memory estimate of the CPSU model (class attributes and class methods)."""

    #: agent slots at the peak relative to the peak population: dead slots wait for the next
    #: compaction (AgentState.compact, at 1/32 dead), and a month's newcomers are appended
    #: before it. Measured: see docs/PERFORMANCE.md (manifest ``state_peak_slots``).
    SLOTS_PER_PERSON_PEAK = 1.06
    #: members per slot at most (the party peaked at ~6.8 % of the population in 1989)
    MEMBERS_PER_SLOT_PEAK = 0.075
    #: bytes per slot that live outside the attribute arrays (none: the applicants' motive is
    #: carried in ``motive`` itself)
    SCRATCH_BYTES = 0
    #: transient bytes per slot at the crisis (cascade: choice int8, threshold bound float32)
    CRISIS_BYTES = 5
    #: initial agents set up per block, and the transient bytes per agent of a block (float64
    #: draws, scores, argpartition)
    SETUP_BLOCK = 1 << 22
    SETUP_BYTES = 48
    #: the interpreter with numpy, numba, pandas and the compiled kernels loaded
    BASE_BYTES = 240 * 2**20

    @classmethod
    def _bytes_per_slot(cls, scenario: CpsuScenario | None = None) -> int:
        mods = list(MODULES.values())
        if scenario is not None:
            mods += [load_addon(p.module, name)
                     for name, p in scenario.mechanisms.addons().items()]
        n = sum(np.dtype(dt).itemsize for mod in mods for _, dt, _ in mod.STATE)
        return n + 4 + 1 + 4 + cls.SCRATCH_BYTES  # + uid, alive, belief (declared by the model)

    @classmethod
    def _population_range(cls, scenario: CpsuScenario) -> tuple[float, float]:
        """Persons at the start and at the peak of the run (:func:`population_range`)."""
        return population_range(parse_month(scenario.run.start),
                                parse_month(scenario.run.end) + 1)

    @classmethod
    def peak_slots(cls, scenario: CpsuScenario, scale: float) -> int:
        """Agent slots the run will use at most (its state is allocated at this size)."""
        peak = cls._population_range(scenario)[1]
        return int(peak * scale * cls.SLOTS_PER_PERSON_PEAK) + 64

    @classmethod
    def memory_estimate(cls, scenario: CpsuScenario, scale: float) -> int:
        """Peak bytes: state allocated at its peak size plus the largest transient.

        Compared with measured peak RSS in docs/PERFORMANCE.md ("## CPSU at scale").
        """
        slots = cls.peak_slots(scenario, scale)
        n0, peak = cls._population_range(scenario)
        n0 *= scale
        state = slots * cls._bytes_per_slot(scenario)
        # the member index: two uint32 buffers (merge target), 12.5 % growth room
        index = 2 * 4 * 1.125 * cls.MEMBERS_PER_SLOT_PEAK * slots
        # per-thread workplace sums: 2 packed int64 arrays per lane (at most one lane per
        # core), and with synchronous M7 last month's sums of trust
        cells = peak * 0.7 * scale / scenario.mechanisms.demography.adults_per_cell
        sync = scenario.run.m7_order == "synchronous"
        lanes = 2 * 8 * cells * (os.cpu_count() or 1) + sync * 8 * cells
        # next month's natural deaths listed by the pass that takes the stocks (uint32 slots)
        lanes += 4 * (DEATH_LIST_SHARE * slots + DEATH_LIST_MIN * (os.cpu_count() or 1))
        # and the applicants listed per uid chunk (uids issued over a run: under 2 x slots)
        lanes += 4 * APPLICANTS_MAX * (2 * slots // engine.CHUNK + 1)
        k = scenario.initial.members * scale
        setup = (min(n0, cls.SETUP_BLOCK) + 2 * k) * cls.SETUP_BYTES
        transient = max(slots * cls.CRISIS_BYTES, setup)
        return int(cls.BASE_BYTES + state + index + lanes + transient)
