"""The engine: runs a model's fixed phase order once per step and records what happened.

One step of any model is, in this order:

1. **record stocks** — the state at the start of the step (e.g. members on the 1st of the month);
2. **events** — timeline events dated this step are applied, in (date, id) order;
3. **phases** — the model's phases, always in the same documented order, each timed;
4. **record flows** — what happened during the step (joins, exits, ...).

So the row of month ``1990-01`` holds the members on 1 January 1990 and the exits during
January 1990. Models subclass :class:`Model`; the engine owns the loop, the timing, the random
streams and the thread count, so every model gets the same reproducibility guarantees.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from .rng import Streams
from .scenario import ScenarioBase

ProgressFn = Callable[[int, int, str], None]


class Model:
    """Base class of every model run by the engine.

    Subclasses set ``name`` and ``scenario_class`` and implement the hooks below.

    Args:
        scenario: the validated scenario.
        seed: root seed of all random streams.
        scale: agents per person (1.0 = one agent per person).
    """

    name: ClassVar[str] = ""
    scenario_class: ClassVar[type[ScenarioBase]] = ScenarioBase
    #: name of the time unit of a step ("month", "tick")
    step_unit: ClassVar[str] = "step"

    def __init__(self, scenario: ScenarioBase, *, seed: int, scale: float):
        self.scenario = scenario
        self.seed = int(seed)
        self.scale = float(scale)
        self.rng = Streams(self.seed)

    # -- hooks ---------------------------------------------------------------------------
    def n_steps(self) -> int:
        """Number of steps the run takes."""
        raise NotImplementedError

    def step_label(self, step: int) -> str:
        """Human label of a step (a date for monthly models)."""
        return str(step)

    def setup(self) -> None:
        """Allocate and initialize the agents."""

    def phases(self) -> list[tuple[str, Callable[[int], None]]]:
        """The fixed phase order of one step: ``[(name, fn(step)), ...]``."""
        raise NotImplementedError

    def events_at(self, step: int) -> list[tuple[str, Any]]:
        """Timeline events to apply at ``step``: ``[(event_id, event), ...]``."""
        return []

    def apply_event(self, step: int, event_id: str, event: Any) -> dict[str, Any]:
        """Apply one event; return what it did (a row of ``events.parquet``)."""
        return {}

    def record_stocks(self, step: int) -> dict[str, Any]:
        """Metrics of the state at the start of ``step``."""
        return {}

    def record_flows(self, step: int) -> dict[str, Any]:
        """Metrics of what happened during ``step``."""
        return {}

    def summarize(self, timeseries, events) -> dict[str, Any]:
        """Scalar outcomes of the run (``summary.json``)."""
        return {}

    @classmethod
    def figures(cls, result, outdir) -> list:
        """Write the model's figures for a saved result; return their paths."""
        return []

    @classmethod
    def memory_estimate(cls, scenario: ScenarioBase, scale: float) -> int:
        """Bytes the run will need at its peak (checked against available RAM)."""
        return 0

    def work_size(self) -> int:
        """Agent slots a step's kernels loop over (0: unknown); sets the threads per step."""
        return 0


#: slots per thread below which a step runs on fewer threads. A parallel region costs a
#: fork/join of the thread pool; on a small population (or a busy machine, where a waiting
#: thread loses its time slice) that costs more than the loop. Results do not depend on it.
PARALLEL_MIN_SLOTS = 1 << 18


def threads_for(n_slots: int, max_threads: int) -> int:
    """Threads worth using for a step over ``n_slots`` agent slots (at most ``max_threads``)."""
    if n_slots <= 0:
        return max_threads
    return max(1, min(max_threads, n_slots // PARALLEL_MIN_SLOTS))


def set_threads(threads: int | None) -> int:
    """Set numba's thread count (``None``: all cores); returns the count in use."""
    import numba

    n = numba.config.NUMBA_NUM_THREADS if threads is None else int(threads)
    n = max(1, min(n, numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(n)
    return n


def simulate(model: Model, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Run ``model`` from setup to its last step.

    Returns:
        ``{"rows": [...], "events": [...], "phase_seconds": {...}, "setup_seconds": float}``.
    """
    import numba

    max_threads = numba.get_num_threads()
    t0 = time.perf_counter()
    model.setup()
    setup_s = time.perf_counter() - t0
    phases = model.phases()
    timing = {name: 0.0 for name, _ in phases}
    timing["events"] = 0.0
    timing["record"] = 0.0
    rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    n = model.n_steps()
    used = max_threads
    try:
        for step in range(n):
            want = threads_for(model.work_size(), max_threads)
            if want != used:
                numba.set_num_threads(want)
                used = want
            _one_step(model, step, n, phases, timing, rows, events, progress)
    finally:
        numba.set_num_threads(max_threads)
    return {"rows": rows, "events": events, "phase_seconds": timing, "setup_seconds": setup_s}


def _one_step(model, step, n, phases, timing, rows, events, progress) -> None:  # noqa: PLR0917
    """One step: record stocks, apply events, run the phases (each timed), record flows."""
    t = time.perf_counter()
    row: dict[str, Any] = {"step": step, "date": model.step_label(step)}
    row.update(model.record_stocks(step))
    timing["record"] += time.perf_counter() - t
    t = time.perf_counter()
    for ev_id, ev in model.events_at(step):
        effect = model.apply_event(step, ev_id, ev)
        events.append(
            {"step": step, "date": model.step_label(step), "event": ev_id,
             "type": getattr(ev, "type", ""), **effect}
        )
    timing["events"] += time.perf_counter() - t
    for name, fn in phases:
        t = time.perf_counter()
        fn(step)
        timing[name] += time.perf_counter() - t
    t = time.perf_counter()
    row.update(model.record_flows(step))
    rows.append(row)
    timing["record"] += time.perf_counter() - t
    if progress is not None:
        progress(step + 1, n, model.step_label(step))


#: slots per chunk of the deterministic reductions (tests lower it to get several chunks)
CHUNK = 1 << 16


def chunk_bounds(n: int, chunk: int | None = None) -> np.ndarray:
    """Fixed chunk boundaries for deterministic parallel reductions.

    Kernels reduce within each chunk in parallel, then add the chunk totals in order, so a sum
    is bit-identical whatever the number of threads.
    """
    chunk = CHUNK if chunk is None else chunk
    return np.arange(0, n + chunk, chunk, dtype=np.int64).clip(max=n)
