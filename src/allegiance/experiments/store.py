"""The run store: one directory per experiment that never loses a finished run.

Layout of an experiment directory::

    experiment.json          what was asked (kind, spec, its digest, number of runs, batch)
    index.jsonl              one line per finished run (ok or failed), appended and flushed
    timeseries/run-000042.parquet           a run's time series, long format (batch 1)
    timeseries/runs-000064-000127.parquet   the time series of runs 64..127 (batch 64)
    snapshots/run-000042.parquet            the agents' attributes at the ``snapshots`` dates
                                            (only when asked for), ids and parameters first;
                                            named and batched as the time series
    runs.parquet             one row per run: ids, seed, status, error, parameters, outcomes

Runs are executed in **batches**: the runs whose ids fall in one range of ``batch`` ids
(:func:`batch_size`: one run per part for experiments of up to 255 runs, up to
:data:`BATCH_MAX` for large ones; a spec's ``batch`` sets it). A worker runs a batch, writes
the batch's time series (and snapshots) as one Parquet part each itself (to a temporary name,
renamed into place; the client writes them only when the worker cannot see the directory)
and hands back the runs' summaries, which the client appends to ``index.jsonl`` in one write.
An 11,000-run analysis thus writes some 180 parts instead of 11,000 files, and its time
series never pass through the client.

A run counts as finished only once its line is in ``index.jsonl``; the part holding it is
renamed into place *before* its line is appended. A SIGKILL therefore leaves at worst a part
without lines (removed and redone on ``--resume``; a part some of whose runs have lines is
kept, and rewritten with the same rows when the others are redone) or a truncated last line
(dropped on ``--resume``), never a half-written run that looks complete, and no run appears
twice. ``runs.parquet`` and every part hold only deterministic values, rows in run-id order,
so an experiment interrupted and resumed gives byte-identical files to one run straight
through; timings and host names live in ``index.jsonl`` only.
"""

from __future__ import annotations

import functools
import json
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import AllegianceError
from ..outdir import atomic_file
from ..results import dump_json, write_parquet
from .executors import Executor

EXPERIMENT = "experiment.json"
INDEX = "index.jsonl"
PARTS = "timeseries"
SNAPSHOT_PARTS = "snapshots"
RUNS = "runs.parquet"
_RUN_LOCK = threading.Lock()
#: the most runs in one part of the time-series dataset (and one batch of work)
BATCH_MAX = 64
#: an experiment of ``n`` runs is cut into batches of ``n // BATCH_SPREAD`` runs (at least 1,
#: at most :data:`BATCH_MAX`): at least this many batches to share among the workers
BATCH_SPREAD = 128


def batch_size(n_runs: int) -> int:
    """Runs per batch (and per time-series part) of an experiment of ``n_runs`` runs: 1 up
    to 255 runs (a part per run), then ``n_runs // 128``, at most 64 (11,264 runs: 176 parts).
    """
    return max(1, min(BATCH_MAX, int(n_runs) // BATCH_SPREAD))


@dataclass(frozen=True)
class RunTask:
    """One run of an experiment: everything a worker needs, nothing about scheduling."""

    run_id: int
    point: int
    replicate: int
    seed: int
    scale: float | None
    scenario: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)
    keep_timeseries: bool = True
    #: the step (month) up to which the runs of this task's group are one run
    #: (:mod:`allegiance.experiments.branching`), and the group's number; ``None``, -1: none
    branch_at: str | None = None
    branch_group: int = -1
    #: months at whose start the agents' attributes are kept (``run --snapshot``)
    snapshots: tuple[str, ...] = ()


@functools.lru_cache(maxsize=1)
def _snapshot_cache():
    """This worker process's snapshots of the prefixes its runs share (bounded: one cache a
    process, made on the first run that branches)."""
    from ..checkpoint import SnapshotCache

    return SnapshotCache()


def execute(task: RunTask) -> dict[str, Any]:
    """Run one task (in a worker); exceptions become a failed record, never escape."""
    import platform

    from ..api import run

    t0 = time.perf_counter()
    out: dict[str, Any] = {"run_id": task.run_id, "host": platform.node(), "pid": os.getpid()}

    def go():
        branch = ({} if task.branch_at is None else
                  {"snapshot_cache": _snapshot_cache(), "branch_points": [task.branch_at]})
        if task.snapshots:
            branch["snapshots"] = task.snapshots
        return run(task.scenario, seed=task.seed, scale=task.scale, overrides=task.params,
                   threads=1, **branch)

    try:
        if threading.current_thread() is threading.main_thread():
            res = go()
        else:
            # threaded workers (a Dask LocalCluster with processes=False): numba's workqueue
            # threading layer is not thread-safe, so runs in one process take turns (and
            # share the process's snapshots)
            with _RUN_LOCK:
                res = go()
    except Exception as exc:  # recorded, not raised: one bad point must not stop the sweep
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        out.update(status="failed", error=f"{type(exc).__name__}: {msg}" if msg
                   else type(exc).__name__, summary=None, timeseries=None, snapshots=None)
    else:
        out.update(status="ok", error="", summary=res.summary,
                   timeseries=res.timeseries if task.keep_timeseries else None,
                   snapshots=res.snapshots if task.snapshots else None)
        if "snapshot_cache" in res.manifest:  # where it branched, what it kept for others
            out["branch"] = res.manifest["snapshot_cache"]
    out["wall_seconds"] = round(time.perf_counter() - t0, 4)
    return out


def long_frame(task: RunTask, ts: Any) -> Any:
    """A run's table (time series, snapshots) in the dataset's long format: its ids, seed and
    parameters in front of every row."""
    import pandas as pd

    front = pd.DataFrame({"run_id": task.run_id, "point": task.point,
                          "replicate": task.replicate, "seed": task.seed,
                          **{k: [v] * len(ts) for k, v in task.params.items()}},
                         index=ts.index)
    return pd.concat([front, ts], axis=1)


def part_name(run_id: int, batch: int, n_runs: int | None) -> str:
    """File name of the part holding run ``run_id``'s time series in an experiment of
    ``n_runs`` runs (if known) cut into batches of ``batch`` runs."""
    if batch == 1:
        return f"run-{run_id:06d}.parquet"
    first = run_id // batch * batch
    last = first + batch - 1
    if n_runs is not None:
        last = min(last, int(n_runs) - 1)
    return f"runs-{first:06d}-{last:06d}.parquet"


def part_runs(name: str) -> tuple[int, int] | None:
    """The run ids ``(first, last)`` a part's file name covers (``run-000042.parquet``,
    ``runs-000064-000127.parquet``); ``None`` for another name."""
    stem = name.removesuffix(".parquet")
    head, _, rest = stem.partition("-")
    try:
        if head == "run":
            first = last = int(rest)
        elif head == "runs":
            a, b = rest.split("-")
            first, last = int(a), int(b)
        else:
            return None
    except ValueError:
        return None
    return (first, last) if name.endswith(".parquet") and first <= last else None


def write_part(path: Path, frames: Sequence[Any], redone: set[int]) -> None:
    """Write a part holding ``frames`` (long tables of the runs ``redone``, in any order) and
    whatever rows of other runs the part at ``path`` already holds, in run-id order
    (atomically).
    Rows of ``redone`` runs already there are replaced (a run redone gives the same rows)."""
    import pandas as pd

    old = []
    if path.is_file():
        first_last = part_runs(path.name)
        covered = set(range(first_last[0], first_last[1] + 1)) if first_last else set()
        if not covered <= redone:  # other runs' rows are in it: keep them
            have = pd.read_parquet(path)
            old = [have[~have["run_id"].isin(redone)]]
    # run-id order whatever order the runs came in (stable: each run's rows keep theirs)
    df = pd.concat([*old, *frames], ignore_index=True).sort_values("run_id", kind="stable",
                                                                    ignore_index=True)
    write_parquet(df, path)


@dataclass(frozen=True)
class RunBatch:
    """Runs done by one worker in one go, the experiment's directory, and the name of the
    part their time series (``timeseries/NAME``) and snapshots (``snapshots/NAME``) go to."""

    tasks: tuple[RunTask, ...]
    root: str
    name: str


def execute_batch(batch: RunBatch) -> dict[str, Any]:
    """Run a batch (in a worker): each task by :func:`execute`; the time series (and
    snapshots) of the runs that ended well are written as the batch's parts here, where the
    worker sees the experiment's directory (else handed back for the client to write).
    Returns ``{"outs": [...], "frames": None or {folder: [...]}}``, the outs without their
    tables."""
    outs = [execute(t) for t in batch.tasks]
    frames: dict[str, list[Any]] = {}
    for t, o in zip(batch.tasks, outs, strict=True):
        for folder, key in ((PARTS, "timeseries"), (SNAPSHOT_PARTS, "snapshots")):
            table = o.pop(key, None)
            o[key] = None
            if o["status"] == "ok" and table is not None:
                frames.setdefault(folder, []).append(long_frame(t, table))
    root = Path(batch.root)
    redone = {t.run_id for t in batch.tasks}
    for folder in list(frames):
        if (root / folder).is_dir():
            write_part(root / folder / batch.name, frames.pop(folder), redone)
    return {"outs": outs, "frames": frames or None}


def extract(summary: Any, path: str) -> Any:
    """The value at a dotted ``path`` of a run summary (``None`` along the way gives NaN).

    Raises:
        AllegianceError: the path names a key the summary does not have, or a table.
    """
    node = summary
    parts = path.split(".")
    for i, part in enumerate(parts):
        if node is None:
            return math.nan
        if not isinstance(node, dict) or part not in node:
            where = ".".join(parts[:i]) or "the summary"
            keys = ", ".join(sorted(node)) if isinstance(node, dict) else "(not a table)"
            raise AllegianceError(f"outcome '{path}': no key '{part}' in {where} (keys: {keys})")
        node = node[part]
    if node is None:
        return math.nan
    if isinstance(node, dict | list):
        raise AllegianceError(f"outcome '{path}' is a table or list, not a number; name a "
                              f"value inside it")
    return node


class RunStore:
    """An experiment directory (see the module docstring).

    Args:
        outdir: the directory.
        meta: what the experiment is (stored in ``experiment.json``; ``digest`` must match on
            resume).
        resume: continue an existing directory.
        force: replace an existing directory.
    """

    def __init__(self, outdir: str | Path, meta: dict[str, Any], *, resume: bool = False,
                 force: bool = False):
        import weakref

        from ..outdir import EXPERIMENT_HINT, hold_output

        self.dir = Path(outdir)
        self.meta = meta
        # the command holds the directory already (locked, checked, an old one removed with
        # --force); a store made on its own claims it for its lifetime
        give_back = hold_output(self.dir, force=force, resume=resume, atomic=False,
                                hint=EXPERIMENT_HINT)
        self._finalizer = weakref.finalize(self, give_back)
        exists = (self.dir / EXPERIMENT).is_file()
        layout = meta
        if exists:
            layout = json.loads((self.dir / EXPERIMENT).read_text())
            self._check_same(layout)
        else:
            other = sorted(p.name for p in self.dir.iterdir()
                           if not p.name.startswith(".")
                           and p.name not in ("shards", PARTS, SNAPSHOT_PARTS))
            if other:  # --resume into a run, a comparison...: never write over it
                raise AllegianceError(
                    f"--resume {self.dir}: not an experiment directory (no {EXPERIMENT}; it "
                    f"holds {', '.join(other[:3])}{', ...' if len(other) > 3 else ''}); "
                    "choose another --out")
        (self.dir / PARTS).mkdir(parents=True, exist_ok=True)
        if meta.get("snapshots"):
            (self.dir / SNAPSHOT_PARTS).mkdir(exist_ok=True)
        if not exists:
            dump_json(meta, self.dir / EXPERIMENT)
        #: runs per batch and per time-series part (1: a part per run, as before 0.5)
        self.batch = int(layout.get("batch", 1))
        #: the experiment's number of runs (the last part is cut there), if known
        self.n_runs = layout.get("runs")
        self.records = self._load_index()

    def close(self) -> None:
        """Give the directory back if this store claimed it (the command's claim otherwise)."""
        self._finalizer()

    def _check_same(self, old: dict[str, Any]) -> None:
        """Resume only the same kind of experiment made from the same specification."""
        kind, was = self.meta.get("kind"), old.get("kind")
        if kind is not None and was != kind:
            was = str(was or "different experiment")
            raise AllegianceError(
                f"--resume {self.dir}: it holds {'an' if was[0] in 'aeiou' else 'a'} {was}, "
                f"not this {kind}; use another --out or --force")
        if old.get("digest") != self.meta.get("digest"):
            raise AllegianceError(
                f"--resume {self.dir}: the experiment there was made from a different "
                f"specification (digest {str(old.get('digest'))[:12]} vs "
                f"{str(self.meta.get('digest'))[:12]}); use another --out or --force")

    # -- index ------------------------------------------------------------------------------
    def _load_index(self) -> dict[int, dict[str, Any]]:
        path = self.dir / INDEX
        records, good, dirty = read_index(path)
        if dirty:
            with atomic_file(path) as tmp:
                tmp.write_text("".join(g + "\n" for g in good))
        # parts none of whose runs has an index line are runs cut short: drop them, they
        # will be redone (a part some of whose runs have lines is rewritten when the others
        # are redone: see the module docstring)
        for folder in (PARTS, SNAPSHOT_PARTS):
            if not (self.dir / folder).is_dir():
                continue
            for p in (self.dir / folder).iterdir():
                if p.name.startswith("."):
                    p.unlink(missing_ok=True)
                    continue
                span = part_runs(p.name)
                if span is None:
                    continue
                if not any(rid in records for rid in range(span[0], span[1] + 1)):
                    p.unlink(missing_ok=True)
        return records

    def part_name(self, run_id: int) -> str:
        """File name of the part holding run ``run_id``'s time series."""
        return part_name(run_id, self.batch, self.n_runs)

    def part_path(self, run_id: int) -> Path:
        """Path of the part holding run ``run_id``'s time series."""
        return self.dir / PARTS / self.part_name(run_id)

    def batches(self, tasks: Sequence[RunTask]) -> list[RunBatch]:
        """``tasks`` grouped by the part they write, in the order of their first task."""
        groups: dict[str, list[RunTask]] = {}
        for t in tasks:
            groups.setdefault(self.part_name(t.run_id), []).append(t)
        return [RunBatch(tuple(ts), str(self.dir), name) for name, ts in groups.items()]

    def snapshot_path(self, run_id: int) -> Path:
        """Path of the part holding run ``run_id``'s snapshots."""
        return self.dir / SNAPSHOT_PARTS / self.part_name(run_id)

    def adopt(self, rec: dict[str, Any], part: Path | None,
              snapshots: Path | None = None) -> dict[str, Any]:
        """Store a run finished in another store (a shard): its parts copied in atomically,
        then its index line."""
        import shutil

        rid = int(rec["run_id"])
        for src, dst in ((part, self.part_path(rid)), (snapshots, self.snapshot_path(rid))):
            if src is not None:
                dst.parent.mkdir(exist_ok=True)
                with atomic_file(dst) as tmp:
                    shutil.copyfile(src, tmp)
        return self._append(rec)[0]

    def record_batch(self, batch: RunBatch, result: dict[str, Any], meta: dict[str, Any]
                     ) -> list[dict[str, Any]]:
        """Store a finished batch: its parts (written by the worker, or here with the frames
        it handed back), then its runs' index lines in one write."""
        for folder, frames in (result.get("frames") or {}).items():
            write_part(self.dir / folder / batch.name, frames,
                       {t.run_id for t in batch.tasks})
        recs = [{"run_id": task.run_id, "point": task.point, "replicate": task.replicate,
                 "seed": task.seed, "params": task.params, "status": out["status"],
                 "error": out["error"], "summary": out["summary"],
                 "wall_seconds": out.get("wall_seconds"), "host": out.get("host"),
                 "pid": out.get("pid"), **meta,
                 **({"branch": out["branch"]} if out.get("branch") is not None else {})}
                for task, out in zip(batch.tasks, result["outs"], strict=True)]
        return self._append(*recs)

    def _append(self, *recs: dict[str, Any]) -> list[dict[str, Any]]:
        """Append finished runs' lines to the index (the moment they count as finished)."""
        # strict JSON (NaN/inf -> null) so DuckDB and polars read the index too
        lines = [json.dumps(_finite(rec), sort_keys=True, default=_default, allow_nan=False)
                 for rec in recs]
        with (self.dir / INDEX).open("a") as fh:
            # one write of whole lines, flushed: a killed process loses at most these lines
            # (no fsync per run: that guards against power loss, at ~6 ms a run)
            fh.write("".join(line + "\n" for line in lines))
            fh.flush()
        out = []
        for line in lines:
            rec = json.loads(line)
            self.records[int(rec["run_id"])] = rec
            out.append(rec)
        return out

    # -- tables -----------------------------------------------------------------------------
    def runs_table(self, tasks: Sequence[RunTask], outcomes: Sequence[str]):
        """One row per finished run, in run-id order (deterministic content only)."""
        import numpy as np
        import pandas as pd

        rows = []
        for t in sorted(tasks, key=lambda t: t.run_id):
            rec = self.records.get(t.run_id)
            if rec is None:
                continue
            row: dict[str, Any] = {"run_id": t.run_id, "point": t.point,
                                   "replicate": t.replicate, "seed": t.seed,
                                   "status": rec["status"], "error": rec["error"]}
            row.update(t.params)
            for o in outcomes:
                row[o] = (extract(rec["summary"], o) if rec["status"] == "ok" else np.nan)
            rows.append(row)
        df = pd.DataFrame(rows)
        for o in outcomes:
            if o in df and df[o].dtype == object:
                try:
                    df[o] = df[o].astype(float)
                except (TypeError, ValueError):
                    df[o] = df[o].astype(str)
        return df

    def write_runs(self, tasks: Sequence[RunTask], outcomes: Sequence[str]):
        """Write ``runs.parquet`` atomically and return the table."""
        df = self.runs_table(tasks, outcomes)
        write_parquet(df, self.dir / RUNS)
        return df

    def read_timeseries(self):
        """All stored parts as one long DataFrame, in run-id order."""
        return read_parts(self.dir / PARTS)

    def read_snapshots(self):
        """All stored snapshots parts as one DataFrame, in run-id order."""
        return read_parts(self.dir / SNAPSHOT_PARTS)


def read_parts(folder: Path):
    """The parts of ``folder`` as one DataFrame, in run-id order (parts cover disjoint ranges
    of run ids, and their names sort as their ranges; empty if none)."""
    import pandas as pd

    parts = sorted(p for p in Path(folder).glob("run*.parquet") if part_runs(p.name) is not None)
    if not parts:
        return pd.DataFrame()
    return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)


def read_index(path: Path) -> tuple[dict[int, dict[str, Any]], list[str], bool]:
    """An ``index.jsonl`` read back: the records by run id, the good lines, and whether any
    line was cut short by a kill or repeated (``dirty``). Reads only; repairs nothing."""
    records: dict[int, dict[str, Any]] = {}
    good: list[str] = []
    dirty = False
    if not path.is_file():
        return records, good, dirty
    for line in path.read_text().splitlines():
        try:
            rec = json.loads(line)
            rid = int(rec["run_id"])
        except (ValueError, KeyError, TypeError):
            dirty = True  # a line cut short by a kill: that run is redone
            continue
        if rid in records:
            dirty = True
            continue
        records[rid] = rec
        good.append(line)
    return records, good, dirty


def _finite(o: Any) -> Any:
    """``o`` with every NaN or infinite float replaced by ``None``."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_finite(v) for v in o]
    try:
        import numpy as np

        if isinstance(o, np.floating):
            return float(o) if np.isfinite(o) else None
    except ImportError:  # pragma: no cover
        pass
    return o


def _default(o: Any):
    """NumPy scalars and arrays as the results writer does; anything else as its text."""
    from ..results import _json_default

    try:
        return _json_default(o)
    except TypeError:
        return str(o)


class Progress:
    """Runs done/total, failures and ETA on stderr (rich); silent when ``quiet``."""

    def __init__(self, title: str, total: int, done: int = 0, failed: int = 0,
                 quiet: bool = False):
        self.quiet = quiet
        self.failed = failed
        self._p = None
        if quiet:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        self._p = RichProgress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("runs, {task.fields[failed]} failed"), TimeElapsedColumn(),
            TextColumn("ETA"), TimeRemainingColumn(),
            console=Console(stderr=True), transient=False)
        self._p.start()
        self._task = self._p.add_task(title, total=total, completed=done, failed=failed)

    def advance(self, failed: bool) -> None:
        """One more run finished."""
        self.failed += int(failed)
        if self._p is not None:
            self._p.update(self._task, advance=1, failed=self.failed)

    def close(self) -> None:
        """Stop drawing."""
        if self._p is not None:
            self._p.stop()
            self._p = None


def run_tasks(store: RunStore, tasks: Sequence[RunTask], executor: Executor, *,
              outcomes: Sequence[str] = (), title: str = "runs", quiet: bool = False,
              retry_failed: bool = False, meta: dict[str, Any] | None = None,
              on_record: Callable[[RunTask, dict[str, Any]], None] | None = None
              ) -> dict[int, dict[str, Any]]:
    """Run the tasks not yet finished in ``store`` and record each as it finishes.

    Returns:
        the index records of ``tasks`` by run id.
    """
    def pending(t: RunTask) -> bool:
        rec = store.records.get(t.run_id)
        return rec is None or (retry_failed and rec["status"] == "failed")

    todo = [t for t in tasks if pending(t)]
    ids = {t.run_id for t in tasks}
    failed_before = sum(1 for r, rec in store.records.items()
                        if r in ids and rec["status"] == "failed" and not retry_failed)
    prog = Progress(title, total=len(tasks), done=len(tasks) - len(todo),
                    failed=failed_before, quiet=quiet)
    try:
        if todo:
            batches = store.batches(todo)
            with executor:
                for i, res in _guarded(executor.imap_unordered(execute_batch, batches), store):
                    recs = store.record_batch(batches[i], res,
                                              {"executor": executor.kind, **(meta or {})})
                    for task, rec in zip(batches[i].tasks, recs, strict=True):
                        if rec["status"] == "ok":
                            for o in outcomes:
                                extract(rec["summary"], o)  # a wrong path fails fast, run kept
                        if on_record is not None:
                            on_record(task, rec)
                        prog.advance(rec["status"] == "failed")
    finally:
        prog.close()
    return {t.run_id: store.records[t.run_id] for t in tasks if t.run_id in store.records}


def _guarded(results, store: RunStore):
    """Turn a dead worker (killed, out of memory) into a one-line error; finished runs stay."""
    try:
        yield from results
    except Exception as exc:
        if type(exc).__name__ not in ("BrokenProcessPool", "KilledWorker"):
            raise
        raise AllegianceError(
            f"a worker process died ({type(exc).__name__}: {exc}); the "
            f"{len(store.records)} finished runs are saved in {store.dir}; continue with "
            "--resume (fewer --workers or a smaller --scale if memory ran out)") from None
