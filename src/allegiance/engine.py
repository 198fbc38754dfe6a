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
    #: series that overview figures (dashboard, report, ensembles) draw together, headline first
    overview_series: ClassVar[tuple[str, ...]] = ()
    #: whether those series count persons (figures then show millions)
    in_persons: ClassVar[bool] = False
    #: decimal year from which a run is an out-of-sample forecast (shaded in figures), if any
    forecast_from: ClassVar[float | None] = None

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

    def timeseries(self, rows: list[dict[str, Any]]):
        """The run's time series so far as a ``pandas.DataFrame``, one row per step: by
        default the rows the two record hooks returned (``rows``, as :class:`Runner` keeps
        them). A model may keep its numbers per step in arrays instead and build the columns
        here (``cpsu`` does, :mod:`allegiance.models.cpsu.ledger`): no dict per step."""
        import pandas as pd

        return pd.DataFrame(rows)

    def summarize(self, timeseries, events) -> dict[str, Any]:
        """Scalar outcomes of the run (``summary.json``)."""
        return {}

    @classmethod
    def warnings(cls, scenario: ScenarioBase, keys: list[str]) -> list[str]:
        """Lines warning that values the user set (``keys``, as in ``--set``) will not do what
        they seem to (e.g. a start value a dated event overwrites); shown before a run and
        kept in ``summary.json``."""
        return []

    @classmethod
    def figures(cls, result, outdir) -> list:
        """Write the model's figures for a saved result; return their paths."""
        return []

    @classmethod
    def observed(cls, column: str) -> tuple[list[dict[str, Any]], str] | None:
        """Historical values of ``column`` to draw beside the model: ``([{"x": decimal year,
        "value": ..., "fitted": bool}, ...], source caption)``, or ``None``."""
        return None

    @classmethod
    def markers(cls) -> tuple[tuple[float | tuple[float, float], str], ...]:
        """Main historical events to mark on time-series figures: ``(year or (first, last
        year), label)``; the figures draw them without knowing the model."""
        return ()

    def agent_table(self, step: int) -> Any:
        """The agents' attributes at the start of ``step`` (the current step, before its
        stocks are recorded): one row per agent, codes decoded to labels, for ``run
        --snapshot``; ``None`` if the model has no agents to show."""
        return None

    @classmethod
    def memory_estimate(cls, scenario: ScenarioBase, scale: float) -> int:
        """Bytes the run will need at its peak (checked against available RAM)."""
        return 0

    def work_size(self) -> int:
        """Agent slots a step's kernels loop over (0: unknown); sets the threads per step."""
        return 0

    def stretch(self, step: int, until: int, max_threads: int) -> int:
        """Run steps from ``step`` (before ``until``) in one go, if the model can (e.g. quiet
        months in one compiled call), recording them itself but for the engine's rows (``step``
        and ``date``); returns how many it ran (0: none, the engine runs the step)."""
        return 0

    # -- checkpoints (allegiance.checkpoint) ---------------------------------------------
    #: the attributes of the model that are *not* the run's state: made from the scenario
    #: when the model is built (a branch makes them from its own scenario), or caches. Every
    #: other attribute is saved and restored by name, so state a model gains later is saved
    #: without naming it. ``None``: the model cannot checkpoint.
    checkpoint_derived: ClassVar[tuple[str, ...] | None] = None

    def checkpoint_state(self) -> dict[str, Any]:
        """The run's state at the start of the current step (see :attr:`checkpoint_derived`);
        values that :class:`allegiance.checkpoint.Packer` can save."""
        if self.checkpoint_derived is None:
            from .errors import AllegianceError

            raise AllegianceError(f"model {self.name!r} cannot write checkpoints")
        return {k: v for k, v in vars(self).items() if k not in self.checkpoint_derived}

    def restore_state(self, state: dict[str, Any]) -> None:
        """Put back what :meth:`checkpoint_state` returned (after :meth:`setup`)."""
        for k, v in state.items():
            setattr(self, k, v)

    def checkpoint_refs(self) -> dict[int, str]:
        """Objects of the scenario that the state refers to, saved by name (``id -> name``):
        the run resuming takes them from its own scenario (:meth:`resolve_ref`)."""
        return {}

    def resolve_ref(self, name: str) -> Any:
        """The object of this model's scenario that :meth:`checkpoint_refs` called ``name``."""
        raise KeyError(name)

    #: what :meth:`branch_key` lets a branch change, in words (for the error refusing one)
    branch_note: ClassVar[str] = ""

    @classmethod
    def branch_key(cls, scenario: dict[str, Any], label: str) -> dict[str, Any]:
        """The part of a resolved scenario (``to_dict()``) that acts before step ``label``: a
        run resumed from a checkpoint taken there must have the same (a branch may change
        the rest). By default everything but the name, description, provenance and ranges."""
        return {k: v for k, v in scenario.items()
                if k not in ("name", "description", "provenance", "ranges")}


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


class Runner:
    """Steps a model one step at a time (``simulate`` runs it to the end).

    Calibration uses it to advance to a date, copy the runner (``copy.deepcopy``) and try
    alternatives from that state.
    """

    def __init__(self, model: Model):
        t0 = time.perf_counter()
        self.model = model
        model.setup()
        self.setup_seconds = time.perf_counter() - t0
        self.phases = model.phases()
        self.timing = {name: 0.0 for name, _ in self.phases}
        self.timing["events"] = 0.0
        self.timing["record"] = 0.0
        self.rows: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.step = 0
        self.n_steps = model.n_steps()

    def __deepcopy__(self, memo):
        import copy

        new = object.__new__(Runner)
        memo[id(self)] = new
        for k, v in self.__dict__.items():
            if k != "phases":
                setattr(new, k, copy.deepcopy(v, memo))
        new.phases = new.model.phases()
        return new

    def advance(self, until: int | None = None, progress: ProgressFn | None = None) -> None:
        """Run steps up to (not including) ``until`` (default: to the end).

        Each step runs on as many threads as its population warrants (``threads_for``), never
        more than the count set by the caller; results do not depend on it.
        """
        import numba

        n = self.n_steps
        until = n if until is None else min(until, n)
        max_threads = numba.get_num_threads()
        used = max_threads
        try:
            while self.step < until:
                want = threads_for(self.model.work_size(), max_threads)
                if want != used:
                    numba.set_num_threads(want)
                    used = want
                t = time.perf_counter()
                done = self.model.stretch(self.step, until, max_threads)
                if done:
                    self.timing["stretch"] = (self.timing.get("stretch", 0.0)
                                              + time.perf_counter() - t)
                    for step in range(self.step, self.step + done):
                        label = self.model.step_label(step)
                        self.rows.append({"step": step, "date": label})
                        if progress is not None:
                            progress(step + 1, n, label)
                    self.step += done
                    continue
                _one_step(self.model, self.step, n, self.phases, self.timing, self.rows,
                          self.events, progress)
                self.step += 1
        finally:
            numba.set_num_threads(max_threads)

    def _checkpoint_parts(self) -> tuple[dict[str, Any], dict[str, Any]]:
        from .version import __version__

        m = self.model
        meta = {"allegiance_version": __version__, "model": m.name, "seed": m.seed,
                "scale": m.scale, "step": self.step, "label": m.step_label(self.step),
                "scenario": m.scenario.to_dict(), "scenario_sha256": m.scenario.digest()}
        state = {"rows": self.rows, "events": self.events, "model": m.checkpoint_state()}
        return meta, state

    def checkpoint(self, path) -> Any:
        """Write the run's state at the start of the current step to ``path``
        (:mod:`allegiance.checkpoint`); returns the path."""
        from .checkpoint import write

        meta, state = self._checkpoint_parts()
        return write(path, meta, state, self.model.checkpoint_refs())

    def snapshot(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """What :meth:`checkpoint` writes, kept in memory (the arrays copied): ``(meta,
        arrays)`` as :func:`allegiance.checkpoint.read` returns them, except that the rows and
        events so far are kept as they are (``meta["recorded"]``, each row copied), not packed:
        a run records them once and never changes them, and packing every month's row again
        at each snapshot would cost more than the agents' arrays."""
        from .checkpoint import pack

        meta, state = self._checkpoint_parts()
        rows, events = state.pop("rows"), state.pop("events")
        doc, arrays = pack(meta, state, self.model.checkpoint_refs(), copy=True)
        doc["recorded"] = ([dict(r) for r in rows], [dict(e) for e in events])
        return doc, arrays

    def restore(self, meta: dict[str, Any], arrays: dict[str, Any]) -> None:
        """Continue from a checkpoint read by :func:`allegiance.checkpoint.read` (the model
        was built and set up for the scenario resuming, which the caller has checked)."""
        from .checkpoint import Packer

        state = Packer(resolve=self.model.resolve_ref, arrays=arrays).unpack(meta["state"])
        self.model.restore_state(state["model"])
        if "recorded" in meta:  # a snapshot in memory (:meth:`snapshot`)
            rows, events = meta["recorded"]
            self.rows = [dict(r) for r in rows]
            self.events = [dict(e) for e in events]
        else:
            self.rows = state["rows"]
            self.events = state["events"]
        self.step = int(meta["step"])

    def timeseries(self):
        """The time series so far (:meth:`Model.timeseries`)."""
        return self.model.timeseries(self.rows)

    def output(self) -> dict[str, Any]:
        """Rows, events and timings so far (the rows as the engine keeps them: the time
        series is :meth:`timeseries`)."""
        return {"rows": self.rows, "events": self.events, "phase_seconds": self.timing,
                "setup_seconds": self.setup_seconds}


def simulate(model: Model, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Run ``model`` from setup to its last step.

    Returns:
        ``{"rows": [...], "events": [...], "phase_seconds": {...}, "setup_seconds": float}``.
    """
    runner = Runner(model)
    runner.advance(progress=progress)
    return runner.output()


def _one_step(model, step, n, phases, timing, rows, events, progress) -> None:
    """One step: record stocks, apply events, run the phases (each timed), record flows."""
    t = time.perf_counter()
    label = model.step_label(step)
    row: dict[str, Any] = {"step": step, "date": label}
    row.update(model.record_stocks(step))
    timing["record"] += time.perf_counter() - t
    t = time.perf_counter()
    for ev_id, ev in model.events_at(step):
        effect = model.apply_event(step, ev_id, ev)
        events.append(
            {"step": step, "date": label, "event": ev_id,
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
        progress(step + 1, n, label)


#: uids per chunk of the deterministic reductions (``AgentState.chunk_bounds``: a chunk is a
#: uid range, so its sums do not depend on threads or compaction); tests lower it to get
#: several chunks
CHUNK = 1 << 16
