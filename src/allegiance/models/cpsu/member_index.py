"""The member index: the slots of the members, in slot order.

Most of a month's member phases visit only the members (~7 % of the agents). The index lists
their slots in slot order; after exits and deaths it is a superset (every loop checks
``alive`` and ``status``). It is rebuilt after a compaction and merged with the month's
admissions. Reductions over it are cut at the same uid chunks as over all slots
(:meth:`MemberIndex.bounds`), so every sum is the one a scan of all slots gives.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ...state import bisect_left
from .options import KERNEL


@njit(**KERNEL)
def _count_members(alive, status, bounds, counts):
    for c in prange(bounds.shape[0] - 1):
        k = 0
        for i in range(bounds[c], bounds[c + 1]):
            if alive[i] and status[i] > 0:
                k += 1
        counts[c] = k


@njit(**KERNEL)
def _write_members(alive, status, bounds, offsets, idx):
    for c in prange(bounds.shape[0] - 1):
        k = offsets[c]
        for i in range(bounds[c], bounds[c + 1]):
            if alive[i] and status[i] > 0:
                idx[k] = i
                k += 1


@njit(**KERNEL)
def _count_kept(idx, ib, alive, status, adm_counts, counts):
    for c in prange(ib.shape[0] - 1):
        k = adm_counts[c]
        for j in range(ib[c], ib[c + 1]):
            i = idx[j]
            if alive[i] and status[i] > 0:
                k += 1
        counts[c] = k


@njit(**KERNEL)
def _merge(idx, ib, adm, adm_off, adm_counts, alive, status, offsets, out):
    """Per chunk: the old index's living members and the admitted slots, in slot order."""
    for c in prange(ib.shape[0] - 1):
        j = np.int64(ib[c])
        j_end = np.int64(ib[c + 1])
        a = adm_off[c]
        a_end = a + adm_counts[c]
        k = offsets[c]
        while j < j_end or a < a_end:
            if a == a_end or (j < j_end and idx[j] < adm[a]):
                i = idx[j]
                j += 1
                if not (alive[i] and status[i] > 0):
                    continue
            else:
                i = adm[a]
                a += 1
            out[k] = i
            k += 1


@njit(cache=True)
def offsets(counts):
    """``[0, c0, c0 + c1, ...]``: where each chunk's entries start (``counts`` per chunk;
    compiled: numpy's cumsum and concatenation on a few numbers cost more)."""
    out = np.zeros(counts.shape[0] + 1, dtype=np.int64)
    for c in range(counts.shape[0]):
        out[c + 1] = out[c] + counts[c]
    return out


@njit(cache=True)
def _room(buf, n):
    """``buf`` if it holds ``n`` slots, else a new array with room for 1/8 more."""
    if buf.shape[0] >= n:
        return buf
    return np.empty(max(n, int(buf.shape[0] * 1.125), 1024), dtype=np.uint32)


@njit(cache=True)
def merge_index(idx, ib, adm, adm_off, adm_counts, alive, status, spare):
    """The member index ``idx`` (chunk positions ``ib``) with the admitted slots ``adm`` (per
    chunk from ``adm_off``, ``adm_counts`` of them) added and former members dropped, in slot
    order; written into ``spare`` if it holds it, else into a new array (room for 1/8 more).
    Returns (index, length)."""
    nchunk = ib.shape[0] - 1
    counts = np.zeros(nchunk, dtype=np.int64)
    _count_kept(idx, ib, alive, status, adm_counts, counts)
    starts = offsets(counts)
    n = starts[nchunk]
    out = _room(spare, n)
    _merge(idx, ib, adm, adm_off, adm_counts, alive, status, starts, out)
    return out, n


@njit(cache=True)
def build_index(alive, status, bounds, idx):
    """The slots of the living members, in slot order, in ``idx`` if it holds them (else a new
    array: :func:`_room`). Returns (index, length)."""
    nchunk = bounds.shape[0] - 1
    counts = np.zeros(nchunk, dtype=np.int64)
    _count_members(alive, status, bounds, counts)
    starts = offsets(counts)
    n = starts[nchunk]
    out = _room(idx, n)
    _write_members(alive, status, bounds, starts, out)
    return out, n


@njit(cache=True)
def positions(idx, n, bounds):
    """``searchsorted(idx[:n], bounds)`` (left) as uint64, in one compiled call: every month
    asks for it after the slots or the index changed, and the numpy calls (with the casts
    they need) cost more than the search."""
    out = np.empty(bounds.shape[0], dtype=np.uint64)
    for k in range(bounds.shape[0]):
        out[k] = bisect_left(idx, n, bounds[k])
    return out


class MemberIndex:
    """Slots of the members, in slot order (see the module docstring)."""

    def __init__(self) -> None:
        self.idx = np.empty(0, dtype=np.uint32)  # unsigned: see AgentState.chunk_bounds
        self.spare = np.empty(0, dtype=np.uint32)
        self.n = 0
        self.key: tuple | None = None
        #: incremented whenever the index changes (its chunk bounds are cached against it)
        self.version = 0

    def build(self, st, bounds: np.ndarray) -> None:
        """Index every living member (after setup and after compaction)."""
        idx, n = build_index(st.view("alive"), st.view("status"), bounds, self.idx)
        self.idx, self.n = idx, int(n)
        self.key = (st.compactions,)
        self.version += 1

    def checkpoint_state(self) -> dict:
        """The index as it stands (a superset of the members after exits and deaths)."""
        return {"idx": self.idx[: self.n], "n": self.n, "key": self.key}

    def restore_state(self, saved: dict) -> None:
        """Put back :meth:`checkpoint_state` (cached chunk bounds are found again)."""
        self.n = int(saved["n"])
        self.idx = np.ascontiguousarray(saved["idx"], dtype=np.uint32)
        self.key = saved["key"]
        self.version += 1

    def bounds(self, bounds: np.ndarray) -> np.ndarray:
        """Positions in the index of the chunk boundaries ``bounds`` (slots, uint64)."""
        return positions(self.idx, self.n, bounds)

    def merge(self, st, bounds: np.ndarray, adm: np.ndarray, adm_off: np.ndarray,
              adm_counts: np.ndarray) -> None:
        """Add the month's admissions (per-chunk lists) and drop former members."""
        out, n = merge_index(self.idx, self.bounds(bounds), adm, adm_off, adm_counts,
                             st.view("alive"), st.view("status"), self.spare)
        self.merged(out, n)

    def merged(self, out: np.ndarray, n: int) -> None:
        """Take the index that :func:`merge_index` made (``out``, in the spare buffer if it
        held it): the old one becomes the spare."""
        self.spare, self.idx, self.n = self.idx, out, int(n)
        self.version += 1
