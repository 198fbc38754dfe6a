"""Lanes: workplace sums per thread, added in a fixed way.

Workplace sums (M4, M7) are integers (fixed point, :func:`~allegiance.mechanisms._common.to_fixed`),
accumulated per thread ("lane") and added: the same for any number of threads.
"""

from __future__ import annotations

import functools

import numba
import numpy as np
from numba import njit, prange

from .options import KERNEL

try:  # numba's own reader of the thread count, once its thread pool is up
    from numba.np.ufunc import parallel as _parallel
except ImportError:  # pragma: no cover
    _parallel = None


def threads_in_use() -> int:
    """``numba.get_num_threads()``, without its locks once the thread pool is started: the
    month asks every phase, and under load the locks cost more than a small pass."""
    if _parallel is not None and getattr(_parallel, "_is_initialized", False):
        n = _parallel._get_num_threads()
        if n > 0:
            return n
    return numba.get_num_threads()


@functools.lru_cache(maxsize=64)
def _one_lane(nchunk: int) -> np.ndarray:
    """The lanes of one thread over ``nchunk`` chunks (shared by every caller; the kernels
    only read it. Writable: a read-only array would be another type to compile for)."""
    return np.array([0, nchunk], dtype=np.int64)


def lane_chunks(bounds: np.ndarray) -> np.ndarray:
    """Chunk ranges of the lanes (one lane per thread in use): ``[l[k], l[k+1])``, cut so
    that each lane has about as many slots (old uid chunks are sparse, new ones full)."""
    nchunk = bounds.shape[0] - 1
    t = max(1, min(threads_in_use(), nchunk))
    if t == 1:  # one lane: every chunk (the common case of small runs and pool workers)
        return _one_lane(nchunk)
    return lane_cut(bounds, t)


@njit(cache=True)
def lane_cut(bounds, threads):
    """The lanes of :func:`lane_chunks` for ``threads`` threads (compiled: the month's one
    call cuts them after births and arrivals added slots)."""
    nchunk = bounds.shape[0] - 1
    t = max(1, min(threads, nchunk))
    out = np.empty(t + 1, dtype=np.int64)
    out[0] = 0
    out[t] = nchunk
    edges = bounds.astype(np.float64)
    top = edges[nchunk]
    for k in range(1, t):
        out[k] = min(max(np.searchsorted(edges, top * k / t), 0), nchunk)
    return out


@njit(**KERNEL)
def reduce_lanes(sums):
    """Add every lane's packed workplace sums into lane 0 (integers: any order gives the
    same; sums and counts add independently while counts stay below 2**COUNT_BITS)."""
    for j in prange(sums.shape[1]):
        s = sums[0, j]
        for lane in range(1, sums.shape[0]):
            s += sums[lane, j]
        sums[0, j] = s


@njit(cache=True)
def totals(part):
    """The column totals of integer counts or fixed-point sums per chunk or lane (``part``,
    one row each): exact in any order."""
    out = np.zeros(part.shape[1], dtype=np.int64)
    for c in range(part.shape[0]):
        for j in range(part.shape[1]):
            out[j] += part[c, j]
    return out


@njit(cache=True)
def weight_totals(wsum):
    """M5 weight totals of members and cadres, chunk by chunk (a fixed order: deterministic)."""
    tm = tc = 0.0
    for c in range(wsum.shape[0]):
        tm += wsum[c, 0]
        tc += wsum[c, 1]
    return tm, tc
