"""Checkpoints: a run's whole state at the start of a step, in one file, to resume or branch.

``allegiance run SCENARIO --checkpoint-at 1956-01`` writes, when the run reaches January 1956
(before that month's stocks and events), everything the rest of the run depends on: every
agent array, the model's counters, levers, ongoing events and what one month hands to the next
(the CPSU model's :class:`~allegiance.models.cpsu.carry.Carry`), the rows and events recorded
so far, the step, the seed and scale, the scenario (and its SHA-256) and the package version.
``allegiance run SCENARIO --from CHECKPOINT`` builds the model again and puts that state back;
since every random draw is keyed by (seed, stream, step, agent), the resumed run is the
unbroken run, byte for byte.

A resumed run may be a *branch*: its scenario may change what has not acted yet — for the
CPSU model the events and holds dated at or after the checkpoint's month, and the end of the
run (:meth:`allegiance.engine.Model.branch_key`). Any other difference is refused with one
line naming the first key that differs.

The file is one ``.npz`` (NumPy's zip of arrays, read with ``allow_pickle=False``): the arrays
under generated names and, under ``meta``, a JSON document that holds the rest, with
references to the arrays. It is written under a temporary name and renamed into place.
Values are encoded by :class:`Packer`: numbers, text, ``None``, lists, tuples, dicts,
NumPy arrays and scalars, named tuples and dataclasses of those — so a model's new state
(another agent array, another field of a carry) is saved without naming it here; a value of
any other type stops the checkpoint with an error naming where it is.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import os
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CheckpointError

#: the layout of the file (bumped when it changes; an older file is refused)
FORMAT = 1
#: modules whose classes a checkpoint may name (dataclasses, named tuples)
TRUSTED = ("allegiance.",)


class Packer:
    """Turns a value into JSON-ready data plus a dict of arrays (and back: :meth:`unpack`).

    Args:
        refs: objects written as a reference by name (``id(obj) -> name``), e.g. the
            scenario's events, which the run resuming takes from its own scenario.
        resolve: on unpacking, the object a reference names.
    """

    def __init__(self, refs: Mapping[int, str] | None = None,
                 resolve: Callable[[str], Any] | None = None,
                 arrays: Mapping[str, np.ndarray] | None = None):
        self.refs = dict(refs or {})
        self.resolve = resolve
        self.arrays: dict[str, np.ndarray] = dict(arrays or {})

    # -- packing ------------------------------------------------------------------------
    def pack(self, v: Any, where: str = "state") -> Any:
        """``v`` as JSON-ready data; arrays go to :attr:`arrays`."""
        name = self.refs.get(id(v))
        if name is not None:
            return {"$ref": name}
        for accepts, pack in _PACKERS:
            if accepts(v):
                return pack(self, v, where)
        raise CheckpointError(
            f"checkpoint: {where} holds a {type(v).__module__}.{type(v).__qualname__}, which a "
            "checkpoint cannot save (it saves numbers, text, arrays, and lists, tuples, dicts "
            "and dataclasses of them)")

    def _array(self, v: np.ndarray, where: str) -> dict[str, str]:
        if v.dtype.hasobject:
            raise CheckpointError(f"checkpoint: {where} is an array of Python objects")
        key = f"a{len(self.arrays)}"
        self.arrays[key] = v
        return {"$array": key}

    def _dict(self, v: dict, where: str) -> dict[str, Any]:
        if all(type(k) is str and not k.startswith("$") for k in v):
            return {k: self.pack(x, f"{where}.{k}") for k, x in v.items()}
        return {"$dict": [[self.pack(k, where), self.pack(x, f"{where}[{k!r}]")]
                          for k, x in v.items()]}

    # -- unpacking ----------------------------------------------------------------------
    def unpack(self, d: Any) -> Any:
        """The value :meth:`pack` turned into ``d``."""
        if isinstance(d, list):
            return [self.unpack(x) for x in d]
        if not isinstance(d, dict):
            return d
        for tag, unpack in _UNPACKERS.items():
            if tag in d:
                return unpack(self, d)
        return {k: self.unpack(x) for k, x in d.items()}

    def _ref(self, d: dict) -> Any:
        if self.resolve is None:
            raise CheckpointError(f"checkpoint: a reference to {d['$ref']} cannot be resolved")
        return self.resolve(d["$ref"])


def _is_namedtuple(v: Any) -> bool:
    return isinstance(v, tuple) and hasattr(v, "_fields")


#: (accepts, pack) in order: the first that accepts a value packs it
_PACKERS: list[tuple[Callable[[Any], bool], Callable[[Packer, Any, str], Any]]] = [
    (lambda v: v is None or type(v) in (bool, str, int), lambda p, v, w: v),
    (lambda v: type(v) is float,
     lambda p, v, w: v if math.isfinite(v) else {"$float": repr(v)}),
    (lambda v: isinstance(v, np.ndarray), Packer._array),
    (lambda v: isinstance(v, np.generic),
     lambda p, v, w: {"$np": v.dtype.str, "v": p.pack(v.item(), w)}),
    (_is_namedtuple, lambda p, v, w: {
        "$namedtuple": _path(type(v)),
        "items": [p.pack(x, f"{w}.{f}") for f, x in zip(v._fields, v, strict=True)]}),
    (lambda v: isinstance(v, tuple),
     lambda p, v, w: {"$tuple": [p.pack(x, f"{w}[{i}]") for i, x in enumerate(v)]}),
    (lambda v: isinstance(v, list),
     lambda p, v, w: [p.pack(x, f"{w}[{i}]") for i, x in enumerate(v)]),
    (lambda v: isinstance(v, dict), Packer._dict),
    (lambda v: dataclasses.is_dataclass(v) and not isinstance(v, type), lambda p, v, w: {
        "$dataclass": _path(type(v)),
        "fields": {f.name: p.pack(getattr(v, f.name), f"{w}.{f.name}")
                   for f in dataclasses.fields(v)}}),
]

#: tag -> unpack, for the tagged objects :data:`_PACKERS` writes
_UNPACKERS: dict[str, Callable[[Packer, dict], Any]] = {
    # arrays come back as writable copies, as the run had them
    "$array": lambda p, d: np.array(p.arrays[d["$array"]]),
    "$float": lambda p, d: float(d["$float"]),
    "$np": lambda p, d: np.dtype(d["$np"]).type(p.unpack(d["v"])),
    "$tuple": lambda p, d: tuple(p.unpack(x) for x in d["$tuple"]),
    "$namedtuple": lambda p, d: _class(d["$namedtuple"])(*[p.unpack(x) for x in d["items"]]),
    "$dict": lambda p, d: {p.unpack(k): p.unpack(x) for k, x in d["$dict"]},
    "$dataclass": lambda p, d: _class(d["$dataclass"])(
        **{k: p.unpack(x) for k, x in d["fields"].items()}),
    "$ref": Packer._ref,
}


def _path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _class(path: str) -> type:
    mod, _, qual = path.partition(":")
    if not mod.startswith(TRUSTED):
        raise CheckpointError(f"checkpoint: class {path} is not one of allegiance's")
    obj: Any = importlib.import_module(mod)
    for part in qual.split("."):
        obj = getattr(obj, part)
    return obj


# ---------------------------------------------------------------------------------------------
# The file

def pack(meta: dict[str, Any], state: Any, refs: Mapping[int, str], *, copy: bool = False
         ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``meta`` with ``state`` packed into it, and the arrays (copies if ``copy``: the run
    goes on changing its own)."""
    packer = Packer(refs)
    doc = {**meta, "format": FORMAT, "state": packer.pack(state)}
    arrays = {k: a.copy() for k, a in packer.arrays.items()} if copy else packer.arrays
    return doc, arrays


def write(path: str | Path, meta: dict[str, Any], state: Any, refs: Mapping[int, str]) -> Path:
    """Write a checkpoint atomically: ``meta`` (JSON-ready) and ``state`` (packed)."""
    path = Path(path)
    doc, arrays = pack(meta, state, refs)
    blob = json.dumps(doc, allow_nan=False, separators=(",", ":")).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    try:
        with tmp.open("wb") as fh:  # a file object: numpy adds no ".npz" to the name
            np.savez(fh, meta=np.frombuffer(blob, dtype=np.uint8), **arrays)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A checkpoint's meta (state still packed) and its arrays.

    Raises:
        CheckpointError: no such file, not a checkpoint, or another format.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"--from {path}: file not found")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(arrays.pop("meta").tobytes())
    except (OSError, ValueError, KeyError) as exc:
        raise CheckpointError(f"--from {path}: not a checkpoint ({exc})") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"--from {path}: checkpoint format {meta.get('format')} "
                              f"(this version reads format {FORMAT})")
    return meta, arrays


class _Absent:
    def __repr__(self) -> str:
        return "absent"


#: what :func:`first_difference` reports for a key one side does not have
ABSENT = _Absent()


def first_difference(a: Any, b: Any, where: str = "") -> tuple[str, Any, Any] | None:
    """The first key path at which two JSON-like values differ, with both values there
    (:data:`ABSENT` for a key one side lacks)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                return (f"{where}{k}", a.get(k, ABSENT), b.get(k, ABSENT))
            d = first_difference(a[k], b[k], f"{where}{k}.")
            if d is not None:
                return d
        return None
    same = a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a)
                      and math.isnan(b))
    return None if same else (where.rstrip(".") or "(the scenario)", a, b)


# ---------------------------------------------------------------------------------------------
# Branching from a shared prefix, in memory

def prefix_key(cls: Any, scenario: Mapping[str, Any], label: str) -> str:
    """What makes two runs the same run up to the start of step ``label``: a hash of the
    model's name, the label and :meth:`~allegiance.engine.Model.branch_key` of the resolved
    scenario (``to_dict()`` of the scenario as it runs, seed and scale in it). Two runs with
    the same key have the same state at that step, so either may go on from the other's."""
    import hashlib

    blob = json.dumps([cls.name, label, cls.branch_key(dict(scenario), label)], sort_keys=True,
                      default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def common_prefix(cls: Any, model: Any, scenarios: list[Mapping[str, Any]]) -> int:
    """The latest step ``k`` of ``model`` (built for one of the scenarios) at whose start all
    ``scenarios`` are the same run (their :meth:`~allegiance.engine.Model.branch_key` agree);
    0 when they differ from the first step, or the model cannot checkpoint. Branch keys leave
    out fewer events at a later step, so once the scenarios differ they differ after: a
    binary search."""
    if cls.checkpoint_derived is None or len(scenarios) < 2:
        return 0

    def same(k: int) -> bool:
        label = model.step_label(k)
        first = json.dumps(cls.branch_key(dict(scenarios[0]), label), sort_keys=True,
                           default=str)
        return all(json.dumps(cls.branch_key(dict(s), label), sort_keys=True, default=str)
                   == first for s in scenarios[1:])

    lo, hi = 0, model.n_steps() - 1
    if hi < 1 or not same(1):
        return 0
    lo = 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if same(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


#: the memory a :class:`SnapshotCache` may hold by default (per process)
CACHE_BYTES = 512 * 2**20


def snapshot_bytes(snapshot: tuple[dict[str, Any], dict[str, np.ndarray]]) -> int:
    """About the memory a snapshot (``Runner.snapshot``) holds: its arrays, its document, and
    about 60 bytes a value of the rows and events it keeps as they are."""
    meta, arrays = snapshot
    rows, events = meta.get("recorded", ((), ()))
    doc = {k: v for k, v in meta.items() if k != "recorded"}
    return (sum(int(a.nbytes) for a in arrays.values())
            + len(json.dumps(doc, separators=(",", ":"), default=str))
            + 60 * sum(len(r) for r in (*rows, *events)))


class SnapshotCache:
    """Snapshots of runs (``Runner.snapshot``) kept in memory by :func:`prefix_key`, least
    recently used dropped first once they hold more than ``max_bytes`` or ``max_items``.

    ``allegiance.run(..., snapshot_cache=cache, branch_points=...)`` looks in it for the
    latest of its branch points it shares with a run computed before and goes on from there;
    it keeps its own state at the branch points after that one. A snapshot larger than the
    whole budget is not kept (the run then simply runs from the start). Nothing in it is
    changed by a run resuming from it, so one snapshot serves any number of branches.
    """

    def __init__(self, max_bytes: int = CACHE_BYTES, max_items: int = 64):
        from collections import OrderedDict

        self.max_bytes = int(max_bytes)
        self.max_items = int(max_items)
        self._items: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self.nbytes = 0
        self.hits = 0
        self.stored = 0

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: str) -> Any:
        """The snapshot under ``key`` (now the most recently used), or ``None``."""
        item = self._items.get(key)
        if item is None:
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return item[0]

    def put(self, key: str, snapshot: Any) -> bool:
        """Keep ``snapshot`` under ``key`` (dropping the least recently used to make room);
        ``False`` when it alone is larger than the budget."""
        size = snapshot_bytes(snapshot)
        if size > self.max_bytes or self.max_items < 1:
            return False
        old = self._items.pop(key, None)
        if old is not None:
            self.nbytes -= old[1]
        self._items[key] = (snapshot, size)
        self.nbytes += size
        self.stored += 1
        while self.nbytes > self.max_bytes or len(self._items) > self.max_items:
            _, (_, dropped) = self._items.popitem(last=False)
            self.nbytes -= dropped
        return True

    def clear(self) -> None:
        """Drop every snapshot."""
        self._items.clear()
        self.nbytes = 0
