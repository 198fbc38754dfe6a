"""Micro-benchmarks behind three design choices in docs/PERFORMANCE.md ("What changed in 0.2.0").

    PYTHONPATH=src python benchmarks/micro.py

1. ``draw``: a keyed uniform from one SplitMix64 finalizer round (``allegiance.rng.uniform``)
   against the two rounds of 0.1.0, one thread, ns per draw.
2. ``index``: a filtered sum over chunks whose bounds are int64 (numba emits negative-index
   wraparound code) against uint64 bounds (it does not), ns per element, 1 and 2 threads.
3. ``scatter``: adding one value per agent to a random one of 463,000 workplaces (the 1:1
   count) in two arrays (sum, count) against one packed int64, ns per agent.

Medians of repeated calls after a warm-up; the numbers depend on the machine and its load.
"""

from __future__ import annotations

import statistics

import numba
import numpy as np
from _timing import call_times
from numba import njit, prange

from allegiance.mechanisms._common import packed, to_fixed
from allegiance.rng import _GOLDEN, _INV53, _S11, mix64, uniform


@njit(inline="always")
def uniform_two_rounds(key, agent):
    """0.1.0's draw: the agent id mixed on its own, then with the key."""
    h = mix64(np.uint64(key) ^ mix64(np.uint64(agent) * _GOLDEN + np.uint64(1)))
    return float(h >> _S11) * _INV53


def _draw_kernel(fn):
    @njit
    def k(uid, key):
        s = 0.0
        for i in range(uid.shape[0]):
            s += fn(key, uid[i])
        return s
    return k


@njit(parallel=True)
def _filtered_sum(alive, birth, belief, bounds, out):
    for c in prange(bounds.shape[0] - 1):
        s = 0.0
        for i in range(bounds[c], bounds[c + 1]):
            if alive[i] and 23000 - birth[i] > 216:
                s += belief[i]
        out[c] = s


@njit
def _scatter_two(cell, x, s, c):
    for i in range(cell.shape[0]):
        s[cell[i]] += to_fixed(x[i])
        c[cell[i]] += 1


@njit
def _scatter_packed(cell, x, p):
    for i in range(cell.shape[0]):
        p[cell[i]] += packed(x[i])


def _median_ns(fn, args, n, repeat=9) -> float:
    return statistics.median(call_times(fn, *args, repeat=repeat)) / n * 1e9


def main() -> None:
    rng = np.random.default_rng(1)
    n = 3_000_000
    uid = np.arange(n, dtype=np.int32)
    numba.set_num_threads(1)
    for name, fn in (("one round (0.2.0)", uniform), ("two rounds (0.1.0)", uniform_two_rounds)):
        ns = _median_ns(_draw_kernel(fn), (uid, np.uint64(5)), n)
        print(f"draw     {name:22s} {ns:5.2f} ns")

    alive = rng.random(n) < 0.97
    birth = rng.integers(21000, 23000, n).astype(np.int16)
    belief = rng.random(n).astype(np.float32)
    bounds = np.linspace(0, n, 65).astype(np.int64)
    out = np.zeros(64)
    for threads in (1, 2):
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        for name, b in (("int64 bounds", bounds), ("uint64 bounds", bounds.astype(np.uint64))):
            ns = _median_ns(_filtered_sum, (alive, birth, belief, b, out), n)
            print(f"index    {name:15s} {threads} thread(s) {ns:5.2f} ns")

    m, cells = 20_000_000, 463_000
    cell = rng.integers(0, cells, m).astype(np.int32)
    x = rng.random(m).astype(np.float32)
    two = _median_ns(_scatter_two, (cell, x, np.zeros(cells, np.int64),
                                    np.zeros(cells, np.int64)), m, repeat=3)
    one = _median_ns(_scatter_packed, (cell, x, np.zeros(cells, np.int64)), m, repeat=3)
    print(f"scatter  two arrays {two:5.2f} ns   packed {one:5.2f} ns   ({cells:,} workplaces)")


if __name__ == "__main__":
    main()
