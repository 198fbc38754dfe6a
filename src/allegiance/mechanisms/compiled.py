"""The month's :class:`~.context.Context` for compiled code: :class:`MonthContext`.

A mechanism's ``terms(ctx)`` is plain Python, written once, and callable by hand with a
:class:`~.context.Context`. The functions a month needs (every ``terms``, and what they call)
are also registered with numba (``numba.extending.register_jitable``): compiled code that
calls them compiles the same source, so a run can go through many months in one compiled
call (:mod:`allegiance.models.cpsu.stretch`) and still compute each month's terms with the
mechanisms' own code. What the mechanisms read of ``ctx`` there is a :class:`MonthContext`:
the same names (``step``, ``month``, ``params``, ``lever(name)``, ``openness``, ``stocks``,
``last_exit_rate``, ``key(stream, step=None)``), as a numba structure:

* ``params``: the scenario's mechanism parameters as named tuples (:func:`values`), one per
  mechanism, the same fields as its ``Params``;
* ``lever(name)``: the levers by name from an array (:data:`LEVERS` order);
* ``stocks``: a typed dict, name to value, as :class:`~.context.Context` has it;
* ``key(stream, step)``: the key of a named stream, the same bits as
  :meth:`allegiance.rng.Streams.key` (the stream's name hashed with CRC-32, in compiled code).

Python floats and numba's float64 are the same IEEE operations, so the compiled terms equal
the Python ones bit for bit (``tests/test_compiled.py`` compares them month by month).
"""

from __future__ import annotations

import types as pytypes
from collections import namedtuple
from typing import Any, get_args

import numpy as np
from numba import njit, types
from numba.core.extending import intrinsic, overload_method
from numba.experimental import structref
from numba.typed import Dict

from .. import rng

# -- the parameters as named tuples ---------------------------------------------------------


def _namedtuple(name: str, fields: list[str]) -> type:
    """A named tuple class importable by name from this module (numba's cache pickles the
    types of a compiled function's arguments by reference)."""
    cls = namedtuple(name, fields)
    cls.__module__ = __name__
    globals()[name] = cls
    return cls


def _coerce(annotation: Any, v: Any) -> Any:
    """A parameter value of the type its field declares (``int`` fields stay ints, numbers
    of other fields become floats), so that a value written ``12`` or ``12.0`` compiles the
    same."""
    if v is None or isinstance(v, (bool, str)):
        return v
    kinds = (annotation, *get_args(annotation))
    if int in kinds and float not in kinds:
        return int(v)
    if isinstance(v, (int, float, np.number)):
        return float(v)
    return v


_CLASSES: dict[tuple[str, tuple[str, ...]], type] = {}


def values(params: Any, modules: dict[str, pytypes.ModuleType]) -> tuple:
    """The mechanisms' parameters ``params`` (the scenario's ``mechanisms`` table) as named
    tuples: a tuple with a field per module of ``modules``, each a tuple with the fields of
    the module's ``Params``."""
    parts = []
    for name in modules:
        p = getattr(params, name)
        fields = tuple(type(p).model_fields)
        key = (name, fields)
        cls = _CLASSES.get(key)
        if cls is None:
            cls = _CLASSES[key] = _namedtuple(f"{name.capitalize()}Values", list(fields))
        parts.append(cls(*[_coerce(f.annotation, getattr(p, k))
                           for k, f in type(p).model_fields.items()]))
    key = ("", tuple(modules))
    top = _CLASSES.get(key)
    if top is None:
        top = _CLASSES[key] = _namedtuple("MechanismValues", list(modules))
    return top(*parts)


# -- stream keys in compiled code -------------------------------------------------------------


def _crc_table() -> np.ndarray:
    out = np.zeros(256, dtype=np.uint32)
    for n in range(256):
        c = n
        for _ in range(8):
            c = (0xEDB88320 ^ (c >> 1)) if c & 1 else c >> 1
        out[n] = c
    return out


_CRC = _crc_table()


@njit(cache=True)
def crc32(name):
    """``zlib.crc32(name.encode())`` of an ASCII ``name`` (stream names are)."""
    c = np.uint32(0xFFFFFFFF)
    for ch in name:
        b = ord(ch)
        if b > 127:
            raise ValueError("stream names are ASCII")
        c = _CRC[(c ^ np.uint32(b)) & np.uint32(0xFF)] ^ (c >> np.uint32(8))
    return c ^ np.uint32(0xFFFFFFFF)


@njit(cache=True, inline="always")
def _step_key(part, step):
    """The key at ``step`` of the stream whose step-free part is ``part`` (the last round of
    :func:`allegiance.rng.make_key`)."""
    return rng.mix64(part ^ (np.uint64(step) * rng._M2 + rng._GOLDEN))


@njit(cache=True)
def stream_key(ctx, stream, step):
    """:meth:`allegiance.rng.Streams.key` of ``stream`` at ``step`` for ``ctx``'s seed (the
    stream's step-free part kept in ``ctx.parts``)."""
    if stream in ctx.parts:
        part = ctx.parts[stream]
    else:
        part = rng.mix64(ctx.seed_part ^ (np.uint64(crc32(stream)) * rng._M1))
        ctx.parts[stream] = part
    return _step_key(part, step)


# -- the structure --------------------------------------------------------------------------


@structref.register
class MonthContextType(types.StructRef):
    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(typ)) for name, typ in fields)


class MonthContext(structref.StructRefProxy):
    """The month's context as compiled code reads it (see the module docstring). Made with
    :func:`month_context`; each month :func:`set_month` sets its step, month, openness and
    last month's exit rate, and its ``levers`` (an array) and ``stocks`` (a typed dict) are
    written in place."""

    @property
    def levers(self) -> np.ndarray:
        return _get_levers(self)

    @property
    def stocks(self):
        return _get_stocks(self)


@njit(cache=True)
def _get_levers(ctx):
    return ctx.levers


@njit(cache=True)
def _get_stocks(ctx):
    return ctx.stocks


@njit(cache=True)
def set_month(ctx, step, month, openness, last_exit_rate):
    """Set the month's step, month number, openness and last month's exit rate."""
    ctx.step = step
    ctx.month = month
    ctx.openness = openness
    ctx.last_exit_rate = last_exit_rate


#: its fields, in order
_FIELDS = ("step", "month", "params", "lever_index", "levers", "openness", "stocks",
           "last_exit_rate", "seed_part", "parts")
structref.define_proxy(MonthContext, MonthContextType, list(_FIELDS))


@overload_method(MonthContextType, "lever")
def _lever(ctx, name):
    def impl(ctx, name):
        return ctx.levers[ctx.lever_index[name]]
    return impl


@overload_method(MonthContextType, "key")
def _key(ctx, stream, step=None):
    if step is None or isinstance(step, (types.NoneType, types.Omitted)):
        def impl(ctx, stream, step=None):
            return stream_key(ctx, stream, ctx.step)
    else:
        def impl(ctx, stream, step=None):
            return stream_key(ctx, stream, step)
    return impl


@intrinsic
def _unwrap(typingctx, value):
    """The value of an optional (``None`` or a value) known not to be ``None``."""
    if isinstance(value, types.Optional):
        def codegen(context, builder, signature, args):
            return context.cast(builder, args[0], value, value.type)
        return value.type(value), codegen

    def same(context, builder, signature, args):
        return args[0]
    return value(value), same


@njit(cache=True, inline="always")
def or_off(value, off):
    """``value or off`` for a mechanism's terms (``None`` when it does nothing this month)
    and its ``OFF`` terms: compiled code needs the terms as one type either way."""
    if value is None:
        return off
    return _unwrap(value)


@njit(cache=True)
def _new_context(params, lever_names, seed_part):
    """A :class:`MonthContext` made in compiled code (cached: made from Python, its typed
    dicts and constructor would be compiled anew in every process, seconds each time)."""
    index = Dict.empty(key_type=types.unicode_type, value_type=types.int64)
    for j in range(len(lever_names)):
        index[lever_names[j]] = j
    return MonthContext(0, 0, params, index, np.zeros(len(lever_names)), 0.0,
                        Dict.empty(key_type=types.unicode_type, value_type=types.float64), 0.0,
                        seed_part, Dict.empty(key_type=types.unicode_type,
                                              value_type=types.uint64))


def month_context(params: tuple, lever_names: tuple[str, ...], seed: int) -> MonthContext:
    """An empty :class:`MonthContext` for a run with the mechanism parameters ``params``
    (:func:`values`), the levers ``lever_names`` and the root ``seed``."""
    seed_part = rng._mix64_int((int(seed) & rng._MASK) ^ int(rng._GOLDEN))
    return _new_context(params, tuple(lever_names), np.uint64(seed_part))

