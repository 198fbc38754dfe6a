"""What every command of the CLI shares: consoles, the progress bar, the one-line error, and
the options that choose where many runs execute (one set of flags for every command that
runs many: ``--workers``, ``--serial``, ``--dask``, ``--scheduler``).

Only typer and rich are imported here (lazily where possible), so ``--help`` stays fast.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer


def split_list(text: str | None) -> list[str] | None:
    """A comma-separated option (``--snapshot``, ``--params``): ``"a,b, c"`` -> ``["a", "b",
    "c"]`` (``None`` stays ``None``)."""
    if text is None:
        return None
    return [t.strip() for t in text.split(",") if t.strip()]


def stderr_console():
    """A rich console on standard error (progress, errors)."""
    from rich.console import Console

    return Console(stderr=True)


def console():
    """A rich console on standard output (tables, summaries)."""
    from rich.console import Console

    return Console(highlight=False)


class RunProgress:
    """A rich progress bar with the simulated date and ETA, shown once a run passes one second."""

    def __init__(self, title: str, quiet: bool):
        self.title = title
        self.quiet = quiet
        self.t0 = time.perf_counter()
        self.progress = None
        self.task = None

    def __call__(self, done: int, total: int, label: str) -> None:
        if self.quiet:
            return
        if self.progress is None:
            if time.perf_counter() - self.t0 < 1.0:
                return
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(
                TextColumn("[bold]{task.description}"),
                TextColumn("{task.fields[label]}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                transient=False,
                console=stderr_console(),
            )
            self.progress.start()
            self.task = self.progress.add_task(self.title, total=total, label=label)
        self.progress.update(self.task, completed=done, label=label)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that workers stop and partial output is removed."""


def stop_on_sigterm() -> None:
    """Make SIGTERM interrupt the command as Ctrl-C does (the default would end the process
    at once: pool workers left running, a partial folder left behind)."""
    import signal
    from contextlib import suppress

    def _raise(signum, frame):
        raise Terminated()

    with suppress(ValueError, OSError):  # not the main thread of the main interpreter
        signal.signal(signal.SIGTERM, _raise)


def fail_line(message: str, code: int) -> None:
    """Print ``error: message`` on standard error and exit with ``code``."""
    from rich.console import Console
    from rich.text import Text

    Console(stderr=True, highlight=False, soft_wrap=True).print(
        Text.assemble(("error: ", "bold red"), message)
    )
    sys.exit(code)


def warn_line(message: str) -> None:
    """Print ``warning: message`` on standard error."""
    from rich.console import Console
    from rich.text import Text

    Console(stderr=True, highlight=False, soft_wrap=True).print(
        Text.assemble(("warning: ", "bold yellow"), message))


def note_threads(threads: int | None) -> None:
    """Say so when ``--threads`` asks for more threads than this machine allows (the run uses
    what it allows, and the manifest records that count)."""
    if threads is None:
        return
    import numba

    top = numba.config.NUMBA_NUM_THREADS
    if threads > top:
        warn_line(f"--threads {threads}: this machine allows at most {top}; using {top}")


# ---------------------------------------------------------------------------------------------
# Where many runs execute

Workers = Annotated[int | None, typer.Option(
    min=1, help="Worker processes (default: all cores); with --dask, LocalCluster workers.")]
Scheduler = Annotated[str | None, typer.Option(
    help="Run on an existing Dask cluster: tcp://HOST:PORT.")]
Dask = Annotated[bool, typer.Option("--dask", help="Start a Dask LocalCluster of --workers.")]
Serial = Annotated[bool, typer.Option("--serial", help="Run in this process, one at a time.")]
Resume = Annotated[bool, typer.Option(
    "--resume", help="Continue an interrupted experiment in --out; finished runs are kept.")]
Force = Annotated[bool, typer.Option(help="Replace an existing output directory.")]
Quiet = Annotated[bool, typer.Option(help="No progress bar.")]
Out = Annotated[Path | None, typer.Option(help="Output directory.")]
Branch = Annotated[bool, typer.Option(
    "--branch/--no-branch",
    help="Runs with the same seed that differ only in what acts from some month on (events "
         "and holds dated then or later) go on from one run's state there instead of each "
         "running from the start; the same results (--no-branch: all from the start).")]
ShardOpt = Annotated[str | None, typer.Option(
    "--shard", metavar="I/N",
    help="Run only shard I of N (the runs whose id is I-1 modulo N), into OUT/shards/I-of-N; "
         "`allegiance merge OUT` puts the N shards together.")]
RetryFailed = Annotated[bool, typer.Option(
    "--retry-failed", help="With --resume: run again the runs recorded as failed.")]


def executor(serial: bool, workers: int | None, scheduler: str | None, dask: bool):
    from .experiments.executors import make_executor

    return make_executor(serial=serial, workers=workers, scheduler=scheduler, dask=dask)


def echo(text: str) -> None:
    from rich.console import Console

    Console(highlight=False, soft_wrap=True).print(text, markup=False)
