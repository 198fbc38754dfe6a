"""Executors: where the runs of an experiment execute, behind one interface.

Every executor is a context manager with one method, :meth:`Executor.imap_unordered`, which
applies a picklable function to a list of tasks and yields ``(index, result)`` pairs as the
runs finish, in whatever order they finish (as in the EMA workbench's evaluators):

* :class:`SerialExecutor` runs in-process, in order (debugging, tiny experiments);
* :class:`PoolExecutor` (the default) runs on a local process pool, all cores by default,
  using ``concurrent.futures.ProcessPoolExecutor`` with a "forkserver" (or "spawn") context set
  on the executor itself, never globally: numba's OpenMP runtime is not fork-safe;
* :class:`DaskExecutor` runs on a Dask cluster: an existing one (``scheduler="tcp://host:port"``)
  or a ``LocalCluster`` it starts (``workers=N``).

Results never depend on the executor: each run's seed comes from the experiment's root seed and
the run's index (:func:`run_seed`), never from which worker ran it or when, and the caller writes
each run under its own id. Workers run models single-threaded (``threads=1``); parallelism comes
from running many runs at once. At most a few tasks per worker are in flight, so a long
experiment holds little memory and a Ctrl-C stops it quickly.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..errors import AllegianceError


def run_seed(root: int, index: int) -> int:
    """The seed of run ``index`` of an experiment with root seed ``root``.

    ``numpy.random.SeedSequence(root).spawn(...)[index]``, reduced to 63 bits: independent
    streams for different indices, and the same seed whatever executed the run.
    """
    import numpy as np

    ss = np.random.SeedSequence(int(root), spawn_key=(int(index),))
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


def _init_worker(parent: tuple[int, float] | None = None) -> None:
    """Pool-worker initializer: one compute thread per worker process; with ``parent``
    (pid, start time), the worker ends itself once that process is gone."""
    os.environ["NUMBA_NUM_THREADS"] = "1"
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if parent is not None:
        import threading

        threading.Thread(target=_watch_parent, args=parent, name="allegiance-parent-watch",
                         daemon=True).start()


def _process_id() -> tuple[int, float]:
    """This process's pid and start time (a pid alone may be reused)."""
    import psutil

    return os.getpid(), psutil.Process().create_time()


def _watch_parent(pid: int, started: float, every: float = 0.5) -> None:
    """End this worker as soon as the process that started the pool is gone (SIGKILL, crash):
    a pool worker otherwise waits for work forever (it holds its own task queue open), and
    with the forkserver its parent is not the command but the fork server, which lives as long
    as the workers do, so ``PR_SET_PDEATHSIG`` would not fire."""
    import time

    import psutil

    while True:
        time.sleep(every)
        try:
            p = psutil.Process(pid)
            alive = p.create_time() == started and p.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            alive = False
        if not alive:
            os._exit(1)


class Executor:
    """Base class: ``with executor: for i, out in executor.imap_unordered(fn, tasks): ...``."""

    #: short name shown in progress lines and stored in the run index
    kind = "base"
    n_workers = 1

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release workers (called by ``__exit__``)."""

    def imap_unordered(self, fn: Callable[[Any], Any], tasks: Sequence[Any]
                       ) -> Iterator[tuple[int, Any]]:
        """Yield ``(position in tasks, fn(task))`` as runs finish."""
        raise NotImplementedError

    def describe(self) -> str:
        """One line for logs: kind and number of workers."""
        return f"{self.kind} ({self.n_workers} worker{'s' if self.n_workers != 1 else ''})"


class SerialExecutor(Executor):
    """Runs every task in this process, in order."""

    kind = "serial"

    def imap_unordered(self, fn, tasks):
        for i, t in enumerate(tasks):
            yield i, fn(t)


class PoolExecutor(Executor):
    """A local process pool (``ProcessPoolExecutor`` with a forkserver/spawn context).

    Args:
        workers: processes (default: all cores).
        context: "forkserver" (default where available) or "spawn".
        window: tasks in flight per worker.
    """

    kind = "pool"

    def __init__(self, workers: int | None = None, context: str | None = None, window: int = 2):
        import multiprocessing as mp

        n = workers or os.cpu_count() or 1
        if n < 1:
            raise AllegianceError(f"--workers {n}: must be at least 1")
        self.n_workers = int(n)
        if context is None:
            context = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        if context not in ("forkserver", "spawn"):
            raise AllegianceError(f"pool context {context!r}: allowed: forkserver, spawn")
        self.context = context
        self.window = max(1, int(window))
        self._pool = None

    def __enter__(self) -> PoolExecutor:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        self._pool = ProcessPoolExecutor(max_workers=self.n_workers,
                                         mp_context=mp.get_context(self.context),
                                         initializer=_init_worker,
                                         initargs=(_process_id(),))
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is not None and self._pool is not None:
            # interrupted (Ctrl-C, SIGTERM, an error): stop the runs in flight now instead of
            # waiting for them to finish
            procs = getattr(self._pool, "_processes", None) or {}
            for proc in list(procs.values()):
                proc.terminate()
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def imap_unordered(self, fn, tasks):
        from concurrent.futures import FIRST_COMPLETED, wait

        if self._pool is None:
            raise RuntimeError("use the executor as a context manager: with PoolExecutor() as ex")
        limit = self.n_workers * self.window
        pending: dict[Any, int] = {}
        it = iter(enumerate(tasks))
        exhausted = False
        while pending or not exhausted:
            while not exhausted and len(pending) < limit:
                nxt = next(it, None)
                if nxt is None:
                    exhausted = True
                    break
                pending[self._pool.submit(fn, nxt[1])] = nxt[0]
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in sorted(done, key=pending.__getitem__):
                yield pending.pop(fut), fut.result()


class DaskExecutor(Executor):
    """Runs tasks on a Dask distributed cluster.

    Args:
        scheduler: address of a running scheduler (``tcp://host:port``); or
        workers: number of workers of a ``LocalCluster`` started for this experiment.
        processes: LocalCluster workers are processes (default) or threads of this process.
        window: tasks in flight per worker.
    """

    kind = "dask"

    def __init__(self, scheduler: str | None = None, workers: int | None = None,
                 processes: bool = True, window: int = 2):
        if (scheduler is None) == (workers is None):
            raise AllegianceError("dask: give either --scheduler ADDRESS or --workers N")
        self.scheduler = scheduler
        self.n_workers = int(workers or 0)
        self.processes = processes
        self.window = max(1, int(window))
        self._cluster = None
        self._client = None

    def __enter__(self) -> DaskExecutor:
        try:
            from distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - dask[distributed] is a dependency
            raise AllegianceError("dask: the 'distributed' package is not installed") from None
        if self.scheduler is not None:
            try:
                self._client = Client(self.scheduler, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise AllegianceError(
                    f"--scheduler {self.scheduler}: cannot connect ({exc})") from None
            info = self._client.scheduler_info()
            self.n_workers = max(1, sum(w.get("nthreads", 1)
                                        for w in info.get("workers", {}).values()))
        else:
            self._cluster = LocalCluster(n_workers=self.n_workers, threads_per_worker=1,
                                         processes=self.processes, dashboard_address=None)
            self._client = Client(self._cluster)
        if self.processes or self.scheduler is not None:
            self._client.run(_init_worker)
        return self

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def imap_unordered(self, fn, tasks):
        from distributed import as_completed

        if self._client is None:
            raise RuntimeError("use the executor as a context manager: with DaskExecutor(...)")
        limit = max(1, self.n_workers) * self.window
        it = iter(enumerate(tasks))
        index: dict[str, int] = {}

        def submit(n: int):
            futs = []
            for _ in range(n):
                nxt = next(it, None)
                if nxt is None:
                    break
                # a distinct key per task (pure=False): identical tasks must still all run
                f = self._client.submit(fn, nxt[1], pure=False)
                index[f.key] = nxt[0]
                futs.append(f)
            return futs

        ac = as_completed(submit(limit))
        for fut in ac:
            i = index.pop(fut.key)
            res = fut.result()
            fut.release()
            for f in submit(1):
                ac.add(f)
            yield i, res


def make_executor(*, serial: bool = False, workers: int | None = None,
                  scheduler: str | None = None, dask: bool = False) -> Executor:
    """The executor the CLI options ask for.

    ``--serial``: in-process. ``--scheduler ADDR``: an existing Dask cluster. ``--dask``
    with ``--workers N``: a Dask LocalCluster of N worker processes. Otherwise a local process
    pool of ``--workers`` processes (default all cores).
    """
    if serial and (scheduler or dask):
        raise AllegianceError("--serial cannot be combined with --scheduler or --dask")
    if serial:
        return SerialExecutor()
    if scheduler:
        return DaskExecutor(scheduler=scheduler)
    if dask:
        return DaskExecutor(workers=workers or os.cpu_count() or 1)
    return PoolExecutor(workers=workers)
