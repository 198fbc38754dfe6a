"""Agent state as struct-of-arrays with an active-index view and amortized growth.

Each attribute is one NumPy array; slot ``i`` of every array belongs to the same agent. Agents
are appended at the end (births, arrivals) and marked dead in place (deaths); when dead slots
make up more than a third of the used slots, :meth:`AgentState.compact` squeezes them out,
keeping order. Because agents keep their ``uid`` through compaction, every random draw is
keyed by ``uid`` (see :mod:`allegiance.rng`) and reductions are chunked by uid range
(:meth:`AgentState.chunk_bounds`), compaction never changes results: how often it runs is a
memory/time trade-off only.

Uids are ``int32``: a run may create at most 2³¹ − 1 agents (the whole USSR 1917–1991 at 1:1
creates about 450 million).

Growth is amortized: capacity grows by at least 50 % when full (as in Starsim).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

GROWTH = 1.5
#: compact when more than this share of the used slots are dead
COMPACT_DEAD_SHARE = 1 / 32
#: most agents a run may ever create (uids are int32)
MAX_UIDS = 2**31 - 1
_INT32_MAX = int(np.iinfo(np.int32).max)


@njit(cache=True)
def _squeeze(arr, alive, n):
    """Move the living slots of ``arr[:n]`` to its front, in order, in place."""
    j = 0
    for i in range(n):
        if alive[i]:
            arr[j] = arr[i]
            j += 1


@njit(cache=True)
def squeeze_fill(arr, alive, n, n_alive, fill):
    """:func:`_squeeze` ``arr[:n]``, then the freed slots ``[n_alive, n)`` get ``fill``."""
    _squeeze(arr, alive, n)
    arr[n_alive:n] = fill


@njit(cache=True, inline="always")
def bisect_left(a, n, x):
    """``searchsorted(a[:n], x)`` (left) for one value (``a[:n]`` ascending)."""
    lo = 0
    hi = n
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def append_agents(uid, alive, n, next_uid, count):
    """Slots ``[n, n + count)`` become living agents with the uids ``next_uid`` on (the arrays
    have room; :meth:`AgentState.add`, and compiled code that appends agents itself)."""
    for j in range(count):
        uid[n + j] = next_uid + j
        alive[n + j] = True


@njit(cache=True)
def chunk_edges(uid, next_uid, chunk, top):
    """``searchsorted(uid, min(edges, top))`` (left) of the edges ``arange(0, next_uid +
    chunk, chunk)``, as uint64 (``uid`` ascending)."""
    m = (next_uid + chunk - 1) // chunk + 1
    out = np.empty(m, dtype=np.uint64)
    for k in range(m):
        out[k] = bisect_left(uid, uid.shape[0], min(k * chunk, top))
    return out


@dataclass(frozen=True)
class Field:
    """A declared per-agent attribute: its name, dtype, fill value and owning module."""

    name: str
    dtype: np.dtype
    fill: float | int | bool
    owner: str


class AgentState:
    """Struct-of-arrays store of all agents.

    Args:
        capacity: initial number of slots.
    """

    def __init__(self, capacity: int = 1024):
        self.capacity = max(int(capacity), 16)
        self.n = 0  # slots in use (alive or dead)
        self.next_uid = 0
        self.fields: dict[str, Field] = {}
        self.arrays: dict[str, np.ndarray] = {}
        self.peak_capacity = self.capacity
        self.peak_n = 0
        self.compactions = 0
        #: views handed out by :meth:`view`, valid while the slots in use and the arrays stay
        #: the same: ``(n, {name: view})`` (dropped when an array is replaced)
        self._views: tuple[int, dict[str, np.ndarray]] = (-1, {})
        self.declare("uid", np.int32, -1, owner="state")
        self.declare("alive", np.bool_, False, owner="state")

    # -- declaration ---------------------------------------------------------------------
    def declare(self, name: str, dtype, fill, owner: str) -> None:
        """Declare an attribute owned by a module; each name may be declared once."""
        if name in self.fields:
            raise ValueError(f"state {name!r} already declared by {self.fields[name].owner}")
        dt = np.dtype(dtype)
        self.fields[name] = Field(name, dt, fill, owner)
        self.arrays[name] = np.full(self.capacity, fill, dtype=dt)
        self._views = (-1, {})

    def __getstate__(self) -> dict:
        # a copy (deepcopy, pickle) makes its own views of its own arrays
        return {**self.__dict__, "_views": (-1, {})}

    def __getattr__(self, name: str) -> np.ndarray:
        arrays = self.__dict__.get("arrays")
        if arrays is not None and name in arrays:
            return arrays[name]
        raise AttributeError(name)

    @property
    def bytes_per_agent(self) -> int:
        """Bytes one slot costs across all declared arrays."""
        return int(sum(f.dtype.itemsize for f in self.fields.values()))

    # -- views ---------------------------------------------------------------------------
    @property
    def n_alive(self) -> int:
        """Number of living agents."""
        return int(np.count_nonzero(self.arrays["alive"][: self.n]))

    def active(self) -> np.ndarray:
        """Slot indices of the living agents (the active-index view), in slot order."""
        return np.flatnonzero(self.arrays["alive"][: self.n])

    def view(self, name: str) -> np.ndarray:
        """The used part ``[0, n)`` of an attribute array (a view, not a copy)."""
        n, views = self._views
        if n != self.n:
            n, views = self._views = (self.n, {})
        v = views.get(name)
        if v is None:
            v = views[name] = self.arrays[name][:n]
        return v

    def columns(self, names: tuple[str, ...]) -> tuple[np.ndarray, ...]:
        """:meth:`view` of each of ``names``, in order (kept as :meth:`view` keeps them: one
        call for a kernel's columns)."""
        n, views = self._views
        if n != self.n:
            n, views = self._views = (self.n, {})
        cols = views.get(names)
        if cols is None:
            arrays = self.arrays
            cols = views[names] = tuple([arrays[name][:n] for name in names])
        return cols

    @property
    def nbytes(self) -> int:
        """Bytes held by the attribute arrays."""
        return int(sum(a.nbytes for a in self.arrays.values()))

    # -- growth --------------------------------------------------------------------------
    def _grow(self, needed: int) -> None:
        new_cap = max(int(self.capacity * GROWTH), needed)
        for name, arr in self.arrays.items():
            f = self.fields[name]
            grown = np.full(new_cap, f.fill, dtype=f.dtype)
            grown[: self.n] = arr[: self.n]
            self.arrays[name] = grown  # the old array is freed here: one array's copy at a time
            self._views = (-1, {})
        self.capacity = new_cap
        self.peak_capacity = max(self.peak_capacity, new_cap)

    def reserve(self, count: int) -> None:
        """Make room for ``count`` more agents (the arrays grow if they must; nothing else
        changes): for compiled code that appends them itself, then calls :meth:`added`.

        Raises:
            OverflowError: the run would create more than ``MAX_UIDS`` agents.
        """
        count = int(count)
        if self.next_uid + count > MAX_UIDS:
            raise OverflowError(f"more than {MAX_UIDS} agents in one run (uids are int32)")
        if self.n + count > self.capacity:
            self._grow(self.n + count)

    def added(self, count: int) -> None:
        """Count ``count`` agents appended after the used slots (uids ``next_uid`` on, alive),
        as :meth:`add` appends them."""
        self.next_uid += count
        self.n += count
        self.peak_n = max(self.peak_n, self.n)

    def add(self, count: int) -> slice:
        """Append ``count`` living agents with fresh uids; returns their slots.

        Their other attributes hold the declared fill values until the caller sets them.
        """
        count = int(count)
        self.reserve(count)
        s = slice(self.n, self.n + count)
        append_agents(self.arrays["uid"], self.arrays["alive"], self.n, self.next_uid, count)
        self.added(count)
        return s

    def compact(self, force: bool = False, dead_share: float | None = None) -> bool:
        """Drop dead slots, keeping order, when they exceed ``dead_share`` of used slots
        (default ``COMPACT_DEAD_SHARE``)."""
        if dead_share is None:
            dead_share = COMPACT_DEAD_SHARE
        alive = self.arrays["alive"][: self.n]
        n_alive = int(np.count_nonzero(alive))
        if not force and (self.n - n_alive) <= dead_share * self.n:
            return False
        # in place, without an index array: no transient memory at any scale; the mask
        # ("alive") is squeezed last because every other array reads it
        names = [k for k in self.arrays if k != "alive"] + ["alive"]
        for name in names:
            squeeze_fill(self.arrays[name], alive, self.n, n_alive, self.fields[name].fill)
        self.n = n_alive
        self.compactions += 1
        return True

    # -- checkpoints ---------------------------------------------------------------------
    def checkpoint_state(self) -> dict:
        """The used slots of every declared array (whatever mechanisms declared them) and the
        counters; the rest of each array holds its fill value."""
        return {"n": self.n, "next_uid": self.next_uid, "compactions": self.compactions,
                "peak_n": self.peak_n, "peak_capacity": self.peak_capacity,
                "arrays": {name: arr[: self.n] for name, arr in self.arrays.items()}}

    def restore_state(self, saved: dict) -> None:
        """Put back :meth:`checkpoint_state` into a state with the same declarations.

        Raises:
            ValueError: the saved arrays are not the declared ones (names or dtypes).
        """
        arrays = saved["arrays"]
        if set(arrays) != set(self.fields):
            raise ValueError("the checkpoint's agent arrays are not this model's: "
                             f"missing {sorted(set(self.fields) - set(arrays))}, "
                             f"unknown {sorted(set(arrays) - set(self.fields))}")
        n = int(saved["n"])
        if n > self.capacity:
            self._grow(n)
        for name, arr in arrays.items():
            f = self.fields[name]
            if arr.dtype != f.dtype or arr.shape != (n,):
                raise ValueError(f"the checkpoint's agent array {name!r} is {arr.dtype}"
                                 f"[{arr.shape[0]}], not {f.dtype}[{n}]")
            self.arrays[name][:n] = arr
            self.arrays[name][n:] = f.fill
        self.n = n
        self.next_uid = int(saved["next_uid"])
        self.compactions = int(saved["compactions"])
        self.peak_n = int(saved["peak_n"])
        self.peak_capacity = max(self.capacity, int(saved["peak_capacity"]))

    def chunk_bounds(self, chunk: int) -> np.ndarray:
        """Slot boundaries of the uid ranges ``[k·chunk, (k+1)·chunk)`` over the used slots.

        Deterministic reductions sum within each chunk, then over chunks in order. Because a
        chunk is a fixed set of agents (a uid range) and not a range of slots, the sums do not
        depend on the number of threads *nor* on when dead slots were compacted away.
        """
        # the edges 0, chunk, 2·chunk, ... up to next_uid + chunk (clipped to the largest uid:
        # uids are < next_uid <= MAX_UIDS, so clipping keeps the order), each found by
        # bisection (as numpy's ``searchsorted``, in one compiled call: it runs every month).
        # Unsigned: a kernel's ``for i in range(bounds[c], bounds[c + 1])`` then indexes with
        # an unsigned i, and numba drops its negative-index wraparound code (~25 % faster)
        return chunk_edges(self.arrays["uid"][: self.n], self.next_uid, chunk, self.uid_top())

    def uid_top(self) -> int:
        """The largest uid the uid array's type holds (the chunk edges are clipped to it)."""
        dt = self.arrays["uid"].dtype
        return _INT32_MAX if dt == np.int32 else int(np.iinfo(dt).max)
