"""Runs for the dashboard in a worker process: progress, cancellation, a page that never blocks.

The simulation runs in a separate process (``spawn``), so a long run at a large scale holds
neither the web server's GIL nor its memory. The worker stays up between runs, so compiled
kernels are loaded once per session. It reports ``(done, total, label)`` each month through a
queue; a cancel request is seen by the run's progress callback, which raises, and a worker that
does not answer within a few seconds (still allocating, say) is terminated. Results travel as
result directories (:meth:`allegiance.results.Result.save`), the same files a user downloads.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import queue
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import AllegianceError


class RunCancelledError(AllegianceError):
    """Raised from a run's progress callback when the user cancels it."""


@dataclass
class RunRequest:
    """One run: a resolved scenario table (seed and scale inside), its label and threads, the
    user's changes as ``--set`` pairs (already in the table; passed again so that the run's
    summary warns about them as ``allegiance run --set`` does), and the months at which to keep
    snapshots of the agents (``--snapshot``, checked already)."""

    label: str
    scenario: dict[str, Any]
    threads: int | None = None
    sets: dict[str, Any] = field(default_factory=dict)
    snapshots: list[str] = field(default_factory=list)


#: steps (months) between the states a dashboard run keeps for later runs to branch from
BRANCH_EVERY = 36


def run_request(req: RunRequest, outdir: str | Path, progress=None, cache=None,
                every: int = BRANCH_EVERY) -> Path:
    """Run one request and save its result under ``outdir/label``; returns the directory.

    With ``cache`` (a :class:`~allegiance.checkpoint.SnapshotCache`: the worker keeps one for
    the session), the run keeps its state every ``every`` steps, and starts from the latest
    such state of an earlier run that is the same run up to there (a change of events or holds
    dated later, of the end, or nothing) instead of from the start: the same results.
    """
    from ..api import run

    branch = {} if cache is None else {"snapshot_cache": cache, "branch_points": every}
    result = run(req.scenario, overrides=req.sets, threads=req.threads, progress=progress,
                 snapshots=req.snapshots, **branch)
    return result.save(Path(outdir) / req.label, force=True)


def auto_threads(scale: float) -> int | None:
    """Compute threads for a run: 1 below about a million agents (numba's parallel start-up
    costs more than it saves there, and much more on a busy machine), else all cores."""
    return 1 if scale <= 3e-3 else None


IDLE_EXIT = 600.0  # seconds: a closed tab's worker goes away; the next run starts a new one


def _worker(inbox, outbox, cancel) -> None:  # pragma: no cover - runs in the child process
    """Serve run requests until told to stop, idle too long, or the parent goes away."""
    from ..checkpoint import SnapshotCache

    parent = mp.parent_process()
    idle_since = time.monotonic()
    cache = SnapshotCache()  # the session's runs' states, to branch later runs from
    while True:
        try:
            msg = inbox.get(timeout=1.0)
        except queue.Empty:
            if parent is not None and not parent.is_alive():
                return
            if time.monotonic() - idle_since > IDLE_EXIT:
                return
            continue
        if msg is None:
            return
        job_id, requests, outdir = msg
        cancel.clear()
        for req in requests:
            last = [0.0]

            def progress(done, total, label, _req=req, _last=last, _id=job_id):
                if cancel.is_set():
                    raise RunCancelledError("cancelled")
                now = time.monotonic()
                if now - _last[0] > 0.1 or done == total:
                    _last[0] = now
                    outbox.put(("progress", _id, _req.label, done, total, label))

            try:
                outbox.put(("started", job_id, req.label, 0, 0, ""))
                path = run_request(req, outdir, progress, cache)
                outbox.put(("done", job_id, req.label, str(path)))
            except RunCancelledError:
                outbox.put(("cancelled", job_id))
                break
            except AllegianceError as exc:
                msgs = getattr(exc, "messages", None) or [str(exc)]
                outbox.put(("failed", job_id, msgs))
                break
            except Exception as exc:  # a bug: show it in the page instead of a dead worker
                outbox.put(("failed", job_id, [f"{type(exc).__name__}: {exc}",
                                               traceback.format_exc(limit=3)]))
                break
        else:
            outbox.put(("finished", job_id))
        idle_since = time.monotonic()


@dataclass
class Job:
    """What the page shows about one submitted run (updated by :meth:`Worker.poll`)."""

    id: int
    labels: list[str]
    state: str = "running"  # running | finished | failed | cancelled
    current: str = ""
    done: int = 0
    total: int = 0
    month: str = ""
    paths: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    cancel_requested_at: float | None = None

    @property
    def finished(self) -> bool:
        return self.state != "running"

    @property
    def fraction(self) -> float:
        """Share of all requested months done (runs of the job counted one after another)."""
        n = len(self.labels)
        i = self.labels.index(self.current) if self.current in self.labels else 0
        part = self.done / self.total if self.total else 0.0
        return min(1.0, (i + part) / n) if n else 0.0


class Worker:
    """A session's worker process (started on the first submit, restarted after a kill)."""

    def __init__(self, cancel_grace: float = 5.0):
        self._ctx = mp.get_context("spawn")  # never fork a web server with threads
        self._proc = None
        self._lock = threading.Lock()
        self._next = 0
        self.job: Job | None = None
        self.cancel_grace = cancel_grace

    def _ensure(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            return
        self._inbox = self._ctx.Queue()
        self._outbox = self._ctx.Queue()
        self._cancel = self._ctx.Event()
        self._proc = self._ctx.Process(target=_worker, args=(self._inbox, self._outbox,
                                                              self._cancel),
                                       name="allegiance-dashboard-worker", daemon=True)
        self._proc.start()

    def submit(self, requests: list[RunRequest], outdir: str | Path) -> Job:
        """Start runs one after another; returns the job to :meth:`poll`."""
        with self._lock:
            if self.job is not None and not self.job.finished:
                raise AllegianceError("a run is in progress; cancel it first")
            self._ensure()
            self._next += 1
            self.job = Job(self._next, [r.label for r in requests])
            self._inbox.put((self._next, requests, str(outdir)))
            return self.job

    def cancel(self) -> None:
        """Ask the running job to stop (it stops at the end of the current month)."""
        with self._lock:
            if self.job is not None and not self.job.finished:
                self._cancel.set()
                self.job.cancel_requested_at = time.monotonic()

    def poll(self) -> Job | None:
        """Apply the worker's messages to the current job and return it."""
        with self._lock:
            job = self.job
            if job is None or job.finished:
                return job
            while True:
                try:
                    msg = self._outbox.get_nowait()
                except queue.Empty:
                    break
                except (EOFError, OSError):
                    break
                if msg[1] != job.id:
                    continue  # a late message of an earlier, cancelled job
                kind = msg[0]
                if kind in ("started", "progress"):
                    _, _, job.current, job.done, job.total, job.month = msg
                elif kind == "done":
                    job.paths[msg[2]] = msg[3]
                elif kind == "finished":
                    job.state = "finished"
                elif kind == "cancelled":
                    job.state = "cancelled"
                elif kind == "failed":
                    job.state, job.errors = "failed", list(msg[2])
                if job.finished:
                    return job
            alive = self._proc is not None and self._proc.is_alive()
            if not alive:
                job.state = "cancelled" if job.cancel_requested_at else "failed"
                if job.state == "failed":
                    job.errors = ["the worker process ended unexpectedly (out of memory?)"]
            elif (job.cancel_requested_at is not None
                  and time.monotonic() - job.cancel_requested_at > self.cancel_grace):
                self._kill()
                job.state = "cancelled"
            return job

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.join(5)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join(5)
        self._proc = None

    def close(self) -> None:
        """Stop the worker process."""
        with self._lock:
            if self._proc is not None and self._proc.is_alive():
                with contextlib.suppress(Exception):
                    self._cancel.set()
                    self._inbox.put(None)
                self._proc.join(2)
            self._kill()
