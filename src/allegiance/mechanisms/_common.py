"""Shared constants and small compiled helpers of the CPSU mechanisms."""

from __future__ import annotations

import numpy as np
from numba import njit
from pydantic import Field

from ..scenario import Frozen

# membership status codes (agent attribute ``status``)
NONMEMBER, CANDIDATE, MEMBER, CADRE, ELITE = 0, 1, 2, 3, 4
# how a former member left (attribute ``left``); LAPSED: a member who left in fact but is
# still on the register (stopped paying dues and attending, M9) — the only code a member has
# besides NEVER, replaced by how the member leaves the register
NEVER, EXITED, EXPELLED, DISSOLVED, LAPSED = 0, 1, 2, 3, 4
# motive at joining (attribute ``motive``)
NO_MOTIVE, IDEAL, CAREER, CONFORMIST = 0, 1, 2, 3
MOTIVES = {IDEAL: "ideal", CAREER: "career", CONFORMIST: "conformist"}

ADULT_MONTHS = 18 * 12


class MechanismParams(Frozen):
    """Every mechanism can be switched off."""

    enabled: bool = True


def unit(default: float, description: str):
    """A parameter in [0, 1]."""
    return Field(default, ge=0.0, le=1.0, description=description)


def positive(default: float, description: str):
    """A non-negative parameter."""
    return Field(default, ge=0.0, description=description)


@njit(cache=True, inline="always")
def clip01(x):
    """Clip to [0, 1]."""
    return min(1.0, max(0.0, x))


@njit(cache=True, inline="always")
def logistic(x):
    """The logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


#: per-workplace sums of belief or trust are kept in fixed point, in units of 2**-32, so they
#: are exact integers: a cell's sum is the same whatever order its agents are added in (by one
#: thread or several). A value in [0, 1] is rounded to the nearest unit (error < 1.2e-10).
FIXED_ONE = 2.0**32


@njit(cache=True, inline="always")
def to_fixed(x):
    """A value in [0, 1] as an integer number of 2**-32 units."""
    return np.int64(x * FIXED_ONE + 0.5)


def _bitcast_intrinsic(src: str, dst: str):
    """A reinterpretation (not a conversion) of a 64-bit value's bits as another type."""
    from llvmlite import ir
    from numba.core import types
    from numba.core.extending import intrinsic

    llvm_dst = ir.IntType(64) if dst == "int64" else ir.DoubleType()

    @intrinsic
    def bitcast(typingctx, x):
        sig = getattr(types, dst)(getattr(types, src))

        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], llvm_dst)

        return sig, codegen

    return bitcast


#: ``f64_bits(x)``: the bits of a float64 as an int64; ``bits_f64(i)``: the reverse
f64_bits = _bitcast_intrinsic("float64", "int64")
bits_f64 = _bitcast_intrinsic("int64", "float64")
_MAGIC = 2.0**52
_MAGIC_BITS = np.int64(0x4330000000000000)  # the bits of 2.0**52


@njit(cache=True, inline="always")
def to_fixed_simd(x):
    """:func:`to_fixed`, bit for bit, without a float-to-int64 conversion instruction.

    AVX2 has no packed double→int64 conversion, so a loop calling :func:`to_fixed` does not
    vectorize. Here ``y = x·2³² + ½`` (in [½, 2³² + ½]) is added to 2⁵², which leaves
    ``round(y)`` in the low bits of the sum; one is subtracted where that rounded up, which
    gives ``floor(y)`` — what the truncating conversion in :func:`to_fixed` gives for y ≥ 0
    (``tests/test_kernels.py`` checks the two agree).
    """
    y = x * FIXED_ONE + 0.5
    t = y + _MAGIC
    r = f64_bits(t) - _MAGIC_BITS
    return r - np.int64((t - _MAGIC) > y)


@njit(cache=True, inline="always")
def int_to_f64_simd(v):
    """``float(v)`` for an int64 ``0 <= v < 2**52``, exact, without the int64-to-double
    conversion instruction AVX2 lacks (``v`` in the low bits of 2⁵², minus 2⁵²)."""
    return bits_f64(v | _MAGIC_BITS) - _MAGIC


@njit(cache=True, inline="always")
def peer_mean(cell_sum, count, own):
    """Mean of the *other* agents of a cell, from its fixed-point sum and count."""
    return (cell_sum - to_fixed(own)) / FIXED_ONE / (count - 1)


#: a workplace's sum and count are packed into one int64 (``(sum << COUNT_BITS) + count``), so
#: adding an agent touches one memory word instead of two: at 1:1 the 460,000 workplaces do not
#: fit in cache and each scattered addition is a cache miss. Exact while a workplace has fewer
#: than 2**15 agents (``demography.adults_per_cell`` is bounded accordingly).
COUNT_BITS = 15
COUNT_MASK = (1 << COUNT_BITS) - 1


@njit(cache=True, inline="always")
def packed(x):
    """One agent's contribution to a packed workplace sum (value ``x`` in [0, 1], count 1)."""
    return (to_fixed(x) << COUNT_BITS) + 1


@njit(cache=True, inline="always")
def unpack(p):
    """(fixed-point sum, count) of a packed workplace sum."""
    return p >> COUNT_BITS, p & COUNT_MASK


def _prefetch_intrinsic(write: int):
    """An ``llvm.prefetch`` of ``arr[idx]`` (a hint: no fault, no effect on results)."""
    from llvmlite import ir
    from numba.core import cgutils, types
    from numba.core.extending import intrinsic

    @intrinsic
    def prefetch(typingctx, arr, idx):
        sig = types.void(arr, idx)

        def codegen(context, builder, signature, args):
            ary = context.make_array(signature.args[0])(context, builder, args[0])
            ptr = builder.gep(ary.data, [args[1]])
            i8p = ir.IntType(8).as_pointer()
            i32 = ir.IntType(32)
            fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
            fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
            # (address, 0 read / 1 write, locality 3 = keep in all caches, 1 = data)
            builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, write),
                              ir.Constant(i32, 3), ir.Constant(i32, 1)])
            return context.get_dummy_value()

        return sig, codegen

    return prefetch


#: ``prefetch_read(a, i)`` / ``prefetch_write(a, i)``: ask the CPU to bring ``a[i]`` into cache
#: ahead of use. The scattered workplace sums at 1:1 (460,000 workplaces, 3.7 MB per array)
#: miss the cache; the passes prefetch the workplace of the agent ``PREFETCH`` slots ahead so
#: that several misses overlap instead of each stalling the loop (128 ahead: on the 1:1-size
#: state of 1985, ``adults`` took 7.8, 5.8 and 5.5 ns per agent-month with 16, 64 and 128,
#: ``benchmarks/month_phases.py --tile 100``). They do so only when one
#: workplace array exceeds ``PREFETCH_MIN_BYTES`` (the L2 cache of the development machine):
#: below it the arrays stay in cache and the hint costs ~4 ns per agent (measured at 1:100).
prefetch_read = _prefetch_intrinsic(0)
prefetch_write = _prefetch_intrinsic(1)
PREFETCH = 128
PREFETCH_MIN_BYTES = 1 << 20
