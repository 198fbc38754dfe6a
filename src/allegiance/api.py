"""The Python API: ``allegiance.run`` and friends; the CLI calls these."""

from __future__ import annotations

import functools
import platform
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from .engine import ProgressFn, Runner, set_threads
from .errors import CheckpointError, ResourceError, ScenarioError
from .limits import check_seed, check_threads
from .results import Result
from .scenario import ScenarioBase, load_scenario
from .version import __version__


def available_memory() -> int:
    """Bytes of memory available to a new allocation."""
    import os

    import psutil

    forced = os.environ.get("ALLEGIANCE_AVAILABLE_MEMORY")  # for tests and shared machines
    if forced:
        return int(forced)
    return int(psutil.virtual_memory().available)


def check_memory(scenario: ScenarioBase, scale: float) -> int:
    """Raise :class:`ResourceError` if the run's memory estimate exceeds available RAM."""
    from .registry import model_class

    need = int(model_class(scenario.model).memory_estimate(scenario, scale))
    have = available_memory()
    if need > have:
        raise ResourceError(
            f"scale {scale:g} needs about {need / 2**30:.1f} GiB but only "
            f"{have / 2**30:.1f} GiB is available; choose a smaller --scale"
        )
    return need


def _git(pkg: Path, *args: str) -> str | None:
    """Output of ``git ARGS`` run in the package's directory, or None (no git, no checkout)."""
    import os
    import subprocess

    try:
        r = subprocess.run(["git", "-C", str(pkg), *args], capture_output=True, text=True,
                           timeout=10, check=False,
                           env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def provenance() -> dict[str, Any]:
    """What the code and data of this installation are, for the manifest.

    ``git_commit`` is the commit of the checkout the package was imported from (None when it is
    not a git checkout, e.g. an installed wheel); ``git_dirty`` says whether the package's
    tracked files differ from that commit. ``data_sha256`` hashes every bundled data file, so
    two runs can be checked to rest on the same data.
    """
    import copy

    return copy.deepcopy(_provenance())


@functools.lru_cache(maxsize=1)
def _provenance() -> dict[str, Any]:
    import hashlib

    pkg = Path(__file__).resolve().parent
    commit = None
    dirty = None
    # only when the package's own files are tracked: an installed copy inside some other
    # repository must not report that repository's commit
    if _git(pkg, "ls-files", "--error-unmatch", "__init__.py") is not None:
        commit = _git(pkg, "rev-parse", "HEAD")
        if commit is not None:
            dirty = _git(pkg, "status", "--porcelain", "--untracked-files=no", "--", ".") != ""
    data = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((pkg / "data").iterdir()) if p.is_file()}
    return {"allegiance_version": __version__, "git_commit": commit, "git_dirty": dirty,
            "data_sha256": data}


def _peak_rss() -> int:
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(ru if sys.platform == "darwin" else ru * 1024)


def _state_stats(model) -> dict[str, int]:
    """Peak slots and capacity of the model's agent state (for checking memory estimates)."""
    st = getattr(model, "state", None)
    if st is None or not hasattr(st, "peak_capacity"):
        return {}
    return {"state_peak_slots": int(st.peak_n), "state_peak_capacity": int(st.peak_capacity),
            "state_bytes_per_slot": int(st.bytes_per_agent),
            "state_compactions": int(getattr(st, "compactions", 0))}


def override_keys(overrides: Iterable[str] | Mapping[str, Any]) -> list[str]:
    """The keys (``levers.openness``) that ``--set`` items or an overrides table set."""
    from .scenario import parse_set

    if isinstance(overrides, Mapping):
        return [str(k) for k in overrides]
    return [".".join(parse_set(s)[0]) for s in overrides]


def _step_of(model, label: str, after: int) -> int:
    """The step whose label is ``label`` (a month for ``cpsu``), not before step ``after``."""
    n = model.n_steps()
    for k in range(after, n):
        if model.step_label(k) == label:
            return k
    first, last = model.step_label(after), model.step_label(n - 1)
    raise CheckpointError(f"--checkpoint-at {label!r}: not a step of this run still to come "
                          f"(allowed: {first} to {last})")


def _resume(runner, path, meta: dict[str, Any], arrays: dict[str, Any]) -> dict[str, Any]:
    """Put a checkpoint's state into ``runner`` after checking that its scenario may resume
    it; returns what the manifest records."""
    from .checkpoint import first_difference

    model = runner.model
    where = f"--from {path}"
    if meta.get("allegiance_version") != __version__:
        raise CheckpointError(f"{where}: written by allegiance {meta.get('allegiance_version')}, "
                              f"this is {__version__}; rerun to the checkpoint with this version")
    if meta.get("model") != model.name:
        raise CheckpointError(f"{where}: a checkpoint of model {meta.get('model')!r}, not "
                              f"{model.name!r}")
    label = meta["label"]
    step = int(meta["step"])
    if step >= model.n_steps() or model.step_label(step) != label:
        raise CheckpointError(f"{where}: the checkpoint is at {label}, after this run's last "
                              f"step ({model.step_label(model.n_steps() - 1)})")
    then = type(model).branch_key(meta["scenario"], label)
    now = type(model).branch_key(model.scenario.to_dict(), label)
    diff = first_difference(then, now)
    if diff is not None:
        key, a, b = diff
        raise CheckpointError(
            f"{where}: the scenario differs from the checkpoint's before {label}, at {key} "
            f"({_short(a)} there, {_short(b)} here); a run from a checkpoint may change only "
            f"what acts from {label} on{model.branch_note}")
    try:
        runner.restore(meta, arrays)
    except (KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{where}: cannot restore the run's state ({exc})") from None
    return {"checkpoint": str(path), "at": label, "scenario_sha256": meta["scenario_sha256"]}


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def run(
    scenario: str | Path | Mapping[str, Any] | ScenarioBase = "cpsu",
    *,
    seed: int | None = None,
    scale: float | None = None,
    overrides: Iterable[str] | Mapping[str, Any] = (),
    threads: int | None = None,
    progress: ProgressFn | None = None,
    checkpoint_at: str | None = None,
    checkpoint_path: str | Path | Callable[[Any], None] | None = None,
    resume_from: str | Path | tuple | None = None,
    snapshots: Iterable[str] = (),
    snapshot_cache: Any = None,
    branch_points: Iterable[str] | int = (),
) -> Result:
    """Run a scenario and return its :class:`~allegiance.results.Result`.

    Args:
        scenario: bundled name, TOML path, table, or validated scenario.
        seed: root seed (default: the scenario's ``run.seed``, or the checkpoint's).
        scale: agents per person (default: the scenario's ``run.scale``, or the checkpoint's).
        overrides: ``["key.path=value"]`` or ``{"key.path": value}``.
        threads: numba threads (default: all cores). Results do not depend on it.
        progress: called as ``progress(done, total, label)`` after each step.
        checkpoint_at: write the run's whole state at the start of this step (a month,
            ``"1956-01"``) to ``checkpoint_path``, and go on (:mod:`allegiance.checkpoint`);
            a callable ``checkpoint_path`` gets it in memory (``Runner.snapshot``) instead.
        resume_from: a checkpoint (a file, or a snapshot in memory) to continue from instead
            of starting: the same run, byte
            for byte, or a branch whose scenario differs only in what acts from the
            checkpoint's step on (for ``cpsu``: events and holds dated then or later, and
            ``run.end``).
        snapshots: steps (months, ``["1956-01", "1985-03"]``) at whose start the agents'
            attributes are kept (``Result.snapshots``, one table with a ``date`` column;
            ``snapshots.parquet`` when saved); the same state the step's stocks are taken
            from, and the run's results do not change.
        snapshot_cache: a :class:`~allegiance.checkpoint.SnapshotCache`: with
            ``branch_points``, the run starts from the latest of those steps at which a run
            kept in the cache is the same run (:func:`~allegiance.checkpoint.prefix_key`)
            instead of from the start, and keeps its own state at the later ones. The
            results are the same byte for byte; the manifest's ``snapshot_cache`` says where
            the run branched (``branched_at``, ``None`` if from the start) and what it kept.
        branch_points: steps (months) at which to look for and keep snapshots, or an int
            ``n``: every ``n`` steps from the start.

    Raises:
        CheckpointError: a checkpoint that cannot be read, or a scenario that differs from the
            checkpoint's before its step (naming the first key that differs).
    """
    import pandas as pd

    from .registry import model_class

    if not isinstance(overrides, Mapping):
        overrides = list(overrides)  # read twice: the scenario, then the warnings
    sc = load_scenario(scenario, overrides)
    ck = None
    if isinstance(resume_from, tuple):  # a snapshot kept in memory (Runner.snapshot)
        ck, resume_from = resume_from, "(a snapshot in memory)"
    elif resume_from is not None:
        from .checkpoint import read

        ck = read(resume_from)
        seed = ck[0]["seed"] if seed is None else seed
        scale = ck[0]["scale"] if scale is None else scale
    seed = check_seed(sc.run.seed if seed is None else seed)
    threads = check_threads(threads)
    scale = float(sc.run.scale if scale is None else scale)
    if not 0 < scale <= 1:
        raise ResourceError(f"scale = {scale!r}: allowed 0 < scale <= 1 (1 = one agent per person)")
    if (sc.run.seed, sc.run.scale) != (seed, scale):
        # the recorded scenario is what ran: re-running the saved scenario.toml alone
        # reproduces this run bit for bit
        try:
            sc = load_scenario(sc, {"run.seed": seed, "run.scale": scale})
        except ScenarioError as exc:  # e.g. a scale too small for the model: name run.scale
            raise ScenarioError([m.removeprefix("after --set: ") for m in exc.messages]
                                ) from None
    estimate = check_memory(sc, scale)
    n_threads = set_threads(threads)
    cls = model_class(sc.model)
    if checkpoint_at is not None and cls.checkpoint_derived is None:
        raise CheckpointError(f"--checkpoint-at: model {sc.model!r} cannot write checkpoints")
    model = cls(sc, seed=seed, scale=scale)
    t0 = time.perf_counter()
    runner = Runner(model)
    resumed = None
    cached: dict[str, Any] | None = None
    cache_stops: list[tuple[int, str, str]] = []
    if snapshot_cache is not None and ck is None and cls.checkpoint_derived is not None:
        # a run that keeps its agents at some months branches no later than the first
        first = min((k for k, _ in _snapshot_steps(model, snapshots, 0)), default=None)
        ck, cache_stops, cached = _from_cache(model, sc.to_dict(), snapshot_cache, branch_points,
                                              first)
        if ck is not None:
            resume_from = "(a snapshot in memory)"
    if ck is not None:
        resumed = _resume(runner, resume_from, *ck)
    written = None
    stops: list[tuple[int, str, str]] = [(s, "snapshot", label)
                                         for s, label in _snapshot_steps(model, snapshots,
                                                                         runner.step)]
    stops += cache_stops
    if checkpoint_at is not None:
        at = _step_of(model, checkpoint_at, runner.step)
        if checkpoint_path is None:
            raise CheckpointError("--checkpoint-at: name the file to write (checkpoint_path)")
        stops.append((at, "checkpoint", checkpoint_at))
    frames = []
    for at, what, label in sorted(stops):
        runner.advance(until=at, progress=progress)
        if what == "snapshot":
            frames.append(_agents_at(model, at, label))
        elif what == "cache":  # label holds the snapshot's key here
            if snapshot_cache.put(label, runner.snapshot()):
                cached["kept"].append(model.step_label(at))
        elif callable(checkpoint_path):  # kept in memory, handed over
            checkpoint_path(runner.snapshot())
            written = {"at": label, "path": "(in memory)"}
        else:
            written = {"at": label, "path": str(runner.checkpoint(checkpoint_path))}
    runner.advance(progress=progress)
    out = runner.output()
    wall = time.perf_counter() - t0
    ts = model.timeseries(out["rows"])
    ev = pd.DataFrame(out["events"])
    if ev.empty:
        ev = pd.DataFrame({"step": pd.Series(dtype="int64"), "date": pd.Series(dtype="str"),
                           "event": pd.Series(dtype="str"), "type": pd.Series(dtype="str")})
    summary = model.summarize(ts, ev)
    warnings = cls.warnings(sc, override_keys(overrides))
    if warnings:
        summary["warnings"] = warnings
    import numba
    import numpy as np

    manifest = {
        **provenance(),
        "model": sc.model,
        "scenario_name": sc.name,
        "scenario": sc.to_dict(),
        "scenario_sha256": sc.digest(),
        "seed": seed,
        "scale": scale,
        "threads": n_threads,
        "wall_seconds": round(wall, 3),
        "setup_seconds": round(out["setup_seconds"], 3),
        "phase_seconds": {k: round(v, 4) for k, v in out["phase_seconds"].items()},
        "peak_rss_bytes": _peak_rss(),
        "memory_estimate_bytes": estimate,
        **_state_stats(model),
        **({"resumed_from": resumed} if resumed else {}),
        **({"checkpoint": written} if written else {}),
        **({"snapshot_cache": cached} if cached is not None else {}),
        **({"snapshots": [f[1] for f in frames]} if frames else {}),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "platform": platform.platform(),
    }
    snaps = pd.concat([f[0] for f in frames], ignore_index=True) if frames else None
    return Result(timeseries=ts, events=ev, summary=summary, manifest=manifest,
                  snapshots=snaps)


def _from_cache(model, scenario: dict[str, Any], cache, points: Iterable[str] | int,
                limit: int | None = None
                ) -> tuple[tuple | None, list[tuple[int, str, str]], dict[str, Any]]:
    """Where a run may start from ``cache`` and where it keeps its own state: ``(the snapshot
    of the latest branch point a cached run shares with this one, at or before step ``limit``
    if given, or None; stops ``(step, "cache", key)`` for the branch points after it not yet
    cached; what the manifest records)``. Labels that are not steps of this run are
    ignored."""
    from .checkpoint import prefix_key

    n = model.n_steps()
    if isinstance(points, int):
        steps = list(range(points, n, points)) if points > 0 else []
    else:
        index = {model.step_label(k): k for k in range(1, n)}
        steps = sorted({index[str(p)] for p in points if str(p) in index})
    keys = {k: prefix_key(type(model), scenario, model.step_label(k)) for k in steps}
    found = max((k for k in steps if keys[k] in cache and (limit is None or k <= limit)),
                default=None)
    snap = cache.get(keys[found]) if found is not None else None
    stops = [(k, "cache", keys[k]) for k in steps
             if (found is None or k > found) and keys[k] not in cache]
    return snap, stops, {"branched_at": None if found is None else model.step_label(found),
                         "kept": []}


def snapshot_dates(scenario: str | Path | Mapping[str, Any] | ScenarioBase,
                   dates: Iterable[str] | str, *, scale: float | None = None) -> list[str]:
    """The ``--snapshot`` dates of a run of ``scenario``, checked before anything runs (as
    :func:`run` checks them) and spelled as the run labels its steps (``1956-1`` ->
    ``1956-01``); a string is split at commas. Experiments and the dashboard check their
    dates with it before they start any run.

    Raises:
        AllegianceError: a date that is not a step of the run (one line naming it and the
            steps allowed), or a model without agent attributes.
    """
    from .registry import model_class

    if isinstance(dates, str):
        dates = dates.split(",")
    wanted = [str(d).strip() for d in dates if str(d).strip()]
    if not wanted:
        return []
    sc = load_scenario(scenario)
    scale = float(sc.run.scale if scale is None else scale)
    model = model_class(sc.model)(sc, seed=sc.run.seed, scale=scale)
    return list(dict.fromkeys(label for _, label in _snapshot_steps(model, wanted, 0)))


def _snapshot_steps(model, labels: Iterable[str], after: int) -> list[tuple[int, str]]:
    """``(step, label)`` of each ``--snapshot`` date, checked before the run starts: a step of
    this run still to come (a month given as ``1956`` or ``1956-1`` is read as ``1956-01``)."""
    import contextlib

    from .calendar import month_label, parse_month
    from .engine import Model
    from .errors import AllegianceError

    labels = list(labels)
    if labels and type(model).agent_table is Model.agent_table:
        raise AllegianceError(f"--snapshot: model {model.name!r} has no agent attributes to "
                              "write")
    out = []
    monthly = _is_month(model.step_label(0))
    for raw in labels:
        label = str(raw).strip()
        if monthly:  # not a date: reported below as not a step of the run
            with contextlib.suppress(ValueError, TypeError, AllegianceError):
                label = month_label(parse_month(label))
        n = model.n_steps()
        k = next((k for k in range(after, n) if model.step_label(k) == label), None)
        if k is None:
            raise AllegianceError(
                f"--snapshot {raw}: not a step of this run (allowed: {model.step_label(after)} "
                f"to {model.step_label(n - 1)}{', as YYYY-MM' if monthly else ''})")
        out.append((k, label))
    return out


def _is_month(label: str) -> bool:
    from .calendar import parse_month

    try:
        parse_month(label)
    except Exception:
        return False
    return "-" in label


def _agents_at(model, step: int, label: str):
    """The model's agent table at ``step`` with its ``date`` first; ``(table, label)``."""
    t = model.agent_table(step)
    t.insert(0, "date", label)
    return t, label
