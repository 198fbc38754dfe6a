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
