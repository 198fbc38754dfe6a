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
