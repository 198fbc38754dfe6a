"""Agent state as struct-of-arrays with an active-index view and amortized growth.

Each attribute is one NumPy array; slot ``i`` of every array belongs to the same agent. Agents
are appended at the end (births, arrivals) and marked dead in place (deaths); when dead slots
make up more than a third of the used slots, :meth:`AgentState.compact` squeezes them out,
keeping order. Because agents keep their ``uid`` through compaction and every random draw is
keyed by ``uid`` (see :mod:`allegiance.rng`), compaction never changes results.

Growth is amortized: capacity grows by at least 50 % when full (as in Starsim).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

GROWTH = 1.5


@njit(cache=True)
def _squeeze(arr, alive, n):
    """Move the living slots of ``arr[:n]`` to its front, in order, in place."""
    j = 0
    for i in range(n):
        if alive[i]:
            arr[j] = arr[i]
            j += 1


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
        self._scratch: dict[str, np.ndarray] = {}
        self.peak_capacity = self.capacity
        self.peak_n = 0
        self.declare("uid", np.int64, -1, owner="state")
        self.declare("alive", np.bool_, False, owner="state")

    # -- declaration ---------------------------------------------------------------------
    def declare(self, name: str, dtype, fill, owner: str) -> None:
        """Declare an attribute owned by a module; each name may be declared once."""
        if name in self.fields:
            raise ValueError(f"state {name!r} already declared by {self.fields[name].owner}")
        dt = np.dtype(dtype)
        self.fields[name] = Field(name, dt, fill, owner)
        self.arrays[name] = np.full(self.capacity, fill, dtype=dt)

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
        return self.arrays[name][: self.n]

    def scratch(self, name: str, dtype) -> np.ndarray:
        """A per-step work array of ``n`` slots, reused across steps (contents undefined).

        Kernels that need a per-agent temporary (e.g. "applied this month") use this instead of
        allocating ``n`` elements every step; it is not an attribute and is not compacted.
        """
        dt = np.dtype(dtype)
        buf = self._scratch.get(name)
        if buf is None or buf.dtype != dt or buf.shape[0] < self.n:
            buf = self._scratch[name] = np.empty(max(self.capacity, self.n), dtype=dt)
        return buf[: self.n]

    @property
    def nbytes(self) -> int:
        """Bytes held by the attribute arrays and scratch buffers."""
        return int(sum(a.nbytes for a in self.arrays.values())
                   + sum(a.nbytes for a in self._scratch.values()))

    # -- growth --------------------------------------------------------------------------
    def _grow(self, needed: int) -> None:
        new_cap = max(int(self.capacity * GROWTH), needed)
        for name, arr in self.arrays.items():
            f = self.fields[name]
            grown = np.full(new_cap, f.fill, dtype=f.dtype)
            grown[: self.n] = arr[: self.n]
            self.arrays[name] = grown  # the old array is freed here: one array's copy at a time
        self.capacity = new_cap
        self.peak_capacity = max(self.peak_capacity, new_cap)
        self._scratch.clear()  # re-made at the new capacity on next use

    def add(self, count: int) -> slice:
        """Append ``count`` living agents with fresh uids; returns their slots.

        Their other attributes hold the declared fill values until the caller sets them.
        """
        count = int(count)
        if self.n + count > self.capacity:
            self._grow(self.n + count)
        s = slice(self.n, self.n + count)
        self.arrays["uid"][s] = np.arange(self.next_uid, self.next_uid + count, dtype=np.int64)
        self.arrays["alive"][s] = True
        self.next_uid += count
        self.n += count
        self.peak_n = max(self.peak_n, self.n)
        return s

    def compact(self, force: bool = False) -> bool:
        """Drop dead slots, keeping order, when they exceed a third of used slots."""
        alive = self.arrays["alive"][: self.n]
        n_alive = int(np.count_nonzero(alive))
        if not force and (self.n - n_alive) * 3 <= self.n:
            return False
        # in place, without an index array: no transient memory at any scale; the mask
        # ("alive") is squeezed last because every other array reads it
        names = [k for k in self.arrays if k != "alive"] + ["alive"]
        for name in names:
            arr = self.arrays[name]
            _squeeze(arr, alive, self.n)
            arr[n_alive : self.n] = self.fields[name].fill
        self.n = n_alive
        return True
