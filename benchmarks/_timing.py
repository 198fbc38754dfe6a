"""Timing of repeated calls, shared by the kernel benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable


def call_times(fn: Callable, *args, repeat: int) -> list[float]:
    """Wall seconds of ``repeat`` calls ``fn(*args)`` after one untimed warm-up call (which
    compiles or loads the kernel and touches its memory)."""
    fn(*args)
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(*args)
        ts.append(time.perf_counter() - t)
    return ts


def medians_printed(times: dict[str, list[float]]) -> tuple[dict[str, float], float]:
    """The median of each way's times (``"from the start"``, ``"branched"``), each way's line
    printed, and the speed-up: median from the start / median branched."""
    import statistics

    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in times.items():
        print(f"  {k}: median {med[k]:.2f} s of {len(v)} ({', '.join(f'{x:.2f}' for x in v)})")
    return med, med["from the start"] / med["branched"]


def about(argv: list[str]) -> dict:
    """What a result file needs to say where it came from: the command line, the allegiance
    version and commit, the machine and its load (``benchmarks/results/*.json``; the docs'
    tables are generated from these files by ``scripts/perf_tables.py``)."""
    import os
    import platform
    import shlex

    from allegiance.api import provenance

    p = provenance()
    return {"command": "PYTHONPATH=src python " + shlex.join(argv),
            "allegiance_version": p["allegiance_version"],
            "git_commit": (p["git_commit"] or "")[:7] or None, "git_dirty": p["git_dirty"],
            "nproc": os.cpu_count(), "loadavg": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d")}
