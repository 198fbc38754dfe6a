"""The run store: one directory per experiment that never loses a finished run.

Layout of an experiment directory::

    experiment.json          what was asked (kind, spec, its digest, number of runs)
    index.jsonl              one line per finished run (ok or failed), appended and flushed
    timeseries/run-000042.parquet   the run's time series, long format, one file per run
    snapshots/run-000042.parquet    the agents' attributes at the ``snapshots`` dates (only
                             when asked for), the run's ids and parameters first
    runs.parquet             one row per run: ids, seed, status, error, parameters, outcomes

A run counts as finished only once its line is in ``index.jsonl``; its Parquet parts are written
to temporary names and renamed into place *before* that line is appended. A SIGKILL therefore
leaves at worst a part without a line (redone on ``--resume``, overwriting the same bytes) or a
truncated last line (dropped on ``--resume``), never a half-written run that looks complete,
and no run appears twice. ``runs.parquet`` and every part hold only deterministic values, so an
experiment interrupted and resumed gives byte-identical files to one run straight through;
timings and host names live in ``index.jsonl`` only.
"""

from __future__ import annotations

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
    #: months at whose start the agents' attributes are kept (``run --snapshot``)
    snapshots: tuple[str, ...] = ()


def execute(task: RunTask) -> dict[str, Any]:
    """Run one task (in a worker); exceptions become a failed record, never escape."""
    import platform

    from ..api import run

    t0 = time.perf_counter()
    out: dict[str, Any] = {"run_id": task.run_id, "host": platform.node(), "pid": os.getpid()}
    try:
        kw = {"snapshots": task.snapshots} if task.snapshots else {}
        if threading.current_thread() is threading.main_thread():
            res = run(task.scenario, seed=task.seed, scale=task.scale, overrides=task.params,
                      threads=1, **kw)
        else:
            # threaded workers (a Dask LocalCluster with processes=False): numba's workqueue
            # threading layer is not thread-safe, so runs in one process take turns
            with _RUN_LOCK:
                res = run(task.scenario, seed=task.seed, scale=task.scale,
                          overrides=task.params, threads=1, **kw)
    except Exception as exc:  # recorded, not raised: one bad point must not stop the sweep
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        out.update(status="failed", error=f"{type(exc).__name__}: {msg}" if msg
                   else type(exc).__name__, summary=None, timeseries=None, snapshots=None)
    else:
        out.update(status="ok", error="", summary=res.summary,
                   timeseries=res.timeseries if task.keep_timeseries else None,
                   snapshots=res.snapshots if task.snapshots else None)
    out["wall_seconds"] = round(time.perf_counter() - t0, 4)
    return out


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
        if exists:
            self._check_same(json.loads((self.dir / EXPERIMENT).read_text()))
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
        # parts without an index line are runs cut short: drop them, they will be redone
        for folder in (PARTS, SNAPSHOT_PARTS):
            if not (self.dir / folder).is_dir():
                continue
            for p in (self.dir / folder).iterdir():
                if p.name.startswith("."):
                    p.unlink(missing_ok=True)
                    continue
                try:
                    rid = int(p.stem.split("-")[1])
                except (IndexError, ValueError):
                    continue
                if rid not in records:
                    p.unlink(missing_ok=True)
        return records

    def part_path(self, run_id: int) -> Path:
        """Path of a run's time-series part."""
        return self.dir / PARTS / f"run-{run_id:06d}.parquet"

    def snapshot_path(self, run_id: int) -> Path:
        """Path of a run's snapshots part."""
        return self.dir / SNAPSHOT_PARTS / f"run-{run_id:06d}.parquet"

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
        return self._append(rec)

    def record(self, task: RunTask, out: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
        """Store a finished run: its parts (atomically), then its index line."""
        if out["status"] == "ok":
            for table, path in ((out.get("timeseries"), self.part_path(task.run_id)),
                                (out.get("snapshots"), self.snapshot_path(task.run_id))):
                if table is not None:
                    write_parquet(_with_ids(task, table), path)  # atomic
        rec = {"run_id": task.run_id, "point": task.point, "replicate": task.replicate,
               "seed": task.seed, "params": task.params, "status": out["status"],
               "error": out["error"], "summary": out["summary"],
               "wall_seconds": out.get("wall_seconds"), "host": out.get("host"),
               "pid": out.get("pid"), **meta}
        return self._append(rec)

    def _append(self, rec: dict[str, Any]) -> dict[str, Any]:
        """Append a finished run's line to the index (the moment it counts as finished)."""
        # strict JSON (NaN/inf -> null) so DuckDB and polars read the index too
        line = json.dumps(_finite(rec), sort_keys=True, default=_default, allow_nan=False)
        with (self.dir / INDEX).open("a") as fh:
            # one write of a whole line, flushed: a killed process loses at most this line
            # (no fsync per run: that guards against power loss, at ~6 ms a run)
            fh.write(line + "\n")
            fh.flush()
        rid = int(rec["run_id"])
        self.records[rid] = json.loads(line)
        return self.records[rid]

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


def _with_ids(task: RunTask, table):
    """A run's table with its ids and parameters as the first columns (a long-format part)."""
    import pandas as pd

    front = pd.DataFrame({"run_id": task.run_id, "point": task.point,
                          "replicate": task.replicate, "seed": task.seed,
                          **{k: [v] * len(table) for k, v in task.params.items()}},
                         index=table.index)
    return pd.concat([front, table], axis=1)


def read_parts(folder: Path):
    """The ``run-*.parquet`` parts of ``folder`` as one DataFrame, in run-id order (empty if
    none)."""
    import pandas as pd

    parts = sorted(Path(folder).glob("run-*.parquet"))
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
            with executor:
                for i, out in _guarded(executor.imap_unordered(execute, todo), store):
                    rec = store.record(todo[i], out, {"executor": executor.kind, **(meta or {})})
                    if rec["status"] == "ok":
                        for o in outcomes:
                            extract(rec["summary"], o)  # a wrong path fails fast, run kept
                    if on_record is not None:
                        on_record(todo[i], rec)
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
