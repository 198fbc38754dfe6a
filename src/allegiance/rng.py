"""Counter-based random numbers keyed by (seed, stream, step, agent id).

Every draw is a pure function of its key: there is no generator state to advance. An agent's
draw therefore does not depend on how many threads ran, how the agents were chunked, or which
other agents drew, and two scenarios that differ in one lever see the same numbers wherever
their agents and steps coincide (common random numbers, as in Starsim).

Events that befall few agents are drawn by skipping from one success to the next over a
chunk of uids (:func:`skip`, :func:`next_success`, :func:`successes`): one draw per success
instead of one per agent, each agent still succeeding independently with the same
probability, and still a pure function of the key, the chunk and the uid.

The mixer is the SplitMix64 finalizer (Steele, Lea & Flood 2014), a bijective 64-bit hash
with full avalanche, applied to a key built from the four counters. Streams are named; the
name is hashed with CRC-32, which is stable across Python versions and platforms.
"""

from __future__ import annotations

import zlib

import numpy as np
from numba import njit, prange

from . import _jitcache

_jitcache.check()  # before any kernel is compiled or loaded from the cache

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_S32 = np.uint64(32)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


def stream_id(name: str) -> int:
    """Stable integer id of a named random stream."""
    return zlib.crc32(name.encode("utf-8"))


@njit(cache=True, inline="always")
def mix64(z):
    """SplitMix64 finalizer: a bijective avalanche hash of a uint64."""
    z = np.uint64(z)
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True)
def make_key(seed, stream, step):
    """Key of the draws of one stream at one step."""
    k = mix64(np.uint64(seed) ^ _GOLDEN)
    k = mix64(k ^ (np.uint64(stream) * _M1))
    return mix64(k ^ (np.uint64(step) * _M2 + _GOLDEN))


_MASK = (1 << 64) - 1


def _mix64_int(z: int) -> int:
    """:func:`mix64` on Python integers (the same bits)."""
    z = ((z ^ (z >> 30)) * int(_M1)) & _MASK
    z = ((z ^ (z >> 27)) * int(_M2)) & _MASK
    return z ^ (z >> 31)


#: steps whose keys :meth:`Streams.key` computes at once per stream (a run's months and more)
KEY_TABLE = 1024


def key_table(part: int, n: int) -> np.ndarray:
    """The keys at steps ``0 .. n-1`` of the stream whose step-free part (the first two
    rounds of :func:`key_of`) is ``part``: the last round of :func:`key_of` on every step at
    once, in uint64 arithmetic (which wraps as the Python rounds mask: the same bits)."""
    with np.errstate(over="ignore"):
        z = np.uint64(part) ^ (np.arange(n, dtype=np.uint64) * _M2 + _GOLDEN)
        z = (z ^ (z >> _S30)) * _M1
        z = (z ^ (z >> _S27)) * _M2
        return z ^ (z >> _S31)


def key_of(seed: int, stream: int, step: int) -> int:
    """:func:`make_key` in plain Python, bit for bit (``tests/test_rng.py`` checks): a run
    asks for a dozen keys a month, and calling the compiled function from Python costs more
    than the arithmetic."""
    g, m1, m2 = int(_GOLDEN), int(_M1), int(_M2)
    k = _mix64_int((seed & _MASK) ^ g)
    k = _mix64_int(k ^ ((stream * m1) & _MASK))
    return _mix64_int(k ^ ((step * m2 + g) & _MASK))


@njit(cache=True, inline="always")
def uniform(key, agent):
    """Uniform draw in [0, 1) for one agent under a key.

    One finalizer round on ``key XOR agent·φ`` (φ the 64-bit golden ratio, as in SplitMix64's
    Weyl sequence). The key is itself fully mixed from (seed, stream, step), so every
    (key, agent) pair maps to a distinct, avalanche-mixed input; a second round (used before
    version 0.2) halved the speed of the model's hottest loops for no measurable gain
    (tests/test_rng.py checks uniformity and independence across agents, streams and steps).
    """
    h = mix64(np.uint64(key) ^ (np.uint64(agent) * _GOLDEN))
    return float(h >> _S11) * _INV53


@njit(cache=True, inline="always")
def skip(key, chunk, j, log_q):
    """Failures before the next success in a sequence of Bernoulli(p) trials: the ``j``-th
    geometric draw of uid chunk ``chunk`` under ``key`` (``log_q = log(1 − p)``, < 0).

    A float (it may exceed any integer). Jumping from success to success over a chunk's uids
    selects each uid independently with probability ``p`` — the same distribution as one
    uniform draw per agent, for the cost of one draw per success: the way to draw events that
    befall few agents (see :func:`next_success`)."""
    u = uniform(key, (np.uint64(chunk) << _S32) | np.uint64(j))
    return np.floor(np.log1p(-u) / log_q)


@njit(cache=True, inline="always")
def seek(uid, s, hi, target):
    """First slot in ``[s, hi)`` whose uid is ``>= target`` (``hi`` if none); ``uid`` ascends
    over slots. Gallops from ``s``: cheap when the target is near, as the next success is."""
    s = np.uint64(s)  # slots are unsigned (see AgentState.chunk_bounds); int64 + uint64 is a
    hi = np.uint64(hi)  # float in numba
    if s >= hi or uid[s] >= target:
        return s
    lo = s  # uid[lo] < target
    step = np.uint64(1)
    while lo + step < hi and uid[lo + step] < target:
        lo += step
        step *= np.uint64(2)
    top = min(lo + step, hi)  # uid[top] >= target, or top == hi
    while top - lo > 1:
        mid = lo + (top - lo) // np.uint64(2)
        if uid[mid] < target:
            lo = mid
        else:
            top = mid
    return top


@njit(cache=True, inline="always")
def log_q(p):
    """``log(1 − p)``, the argument :func:`skip` takes (``-inf`` at ``p = 1``: every trial
    succeeds)."""
    return np.log1p(-p) if p < 1.0 else -np.inf


@njit(cache=True, inline="always")
def next_success(uid, key, chunk, j, pos, s, hi, span, lq):
    """The next success of uid chunk ``chunk``'s Bernoulli trials at or after offset ``pos``.

    The chunk holds the uids ``[chunk·span, (chunk+1)·span)``, in slots ``[s, hi)`` (uids
    ascending; dead and removed uids are simply absent). Returns ``(j, pos, slot, hit)``: the
    next draw's number, the offset to continue from (past the success; ``>= span``: the chunk
    is done once ``hit`` is handled), the slot where the search stopped and ``hit``, whether
    that slot holds the success's uid. Each uid succeeds independently with
    ``p = 1 − exp(lq)`` (:func:`log_q`). Callers loop::

        while True:
            j, pos, i, hit = next_success(uid, key, c, j, pos, i, hi, span, lq)
            if hit: ...  # the agent in slot i
            if pos >= span: break
    """
    s = np.uint64(s)
    pos += skip(key, chunk, j, lq)
    if pos >= span:
        return j + 1, pos, s, False
    target = np.int64(chunk) * np.int64(span) + np.int64(pos)
    s = seek(uid, s, hi, target)
    return j + 1, pos + 1.0, s, s < hi and uid[s] == target


#: slots of ``uid`` that :func:`successes` compares with a success's uid at once (in a loop
#: that vectorizes). A search starts at the slot of the success before last, ~2 / p uids
#: back: mostly within reach of one window (128 and two searches at once: ~5 % faster than 64
#: and one at a time, ``apply_pass`` at 1:10,000 on one thread)
WINDOW = 128


@njit(cache=True, inline="always")
def successes(uid, key, chunk, j, pos, s, hi, span, lq, targets, found):
    """The next successes of uid chunk ``chunk``'s Bernoulli trials, at most
    ``targets.size`` of them: those that :func:`next_success` called again and again finds,
    in the same order, without its data-dependent branches.

    ``uid``, ``key``, ``chunk``, ``j``, ``pos``, ``s``, ``hi``, ``span``, ``lq`` as in
    :func:`next_success`, with ``s < hi``. ``targets``: room for the successes' uids (of
    ``uid``'s type), ``found``: for their slots (as large). Returns ``(j, pos, s, n, more)``:
    the next draw's number and the offset to continue from, the slot where the search
    stopped, how many successes fall on a uid that an agent holds (their slots in
    ``found[:n]``, ascending) and whether the chunk has trials left to draw.

    (1) The successes' uids: the offsets cumulated draw after draw until ``targets`` is full
    or an offset falls past ``span`` or past the uid of the chunk's last slot (no agent holds
    the later ones: of the last chunk, mostly uids not issued yet). (2) The slot of each: the
    first in ``[s, hi)`` whose uid is not below it (there is one: no success's uid is past the
    last slot's), found by counting the uids below it ``WINDOW`` slots at a time, again only
    while the whole window is below. The slot is stored whatever it holds, and kept if it
    holds the uid. Two searches run at once: each starts where the one before last stopped,
    so that each need not wait for the one before it. The branches of both loops are thus
    their exits, which the data seldom steer, where a search that gallops and bisects
    (:func:`seek`) branches on every comparison."""
    one = np.uint64(1)
    s = np.uint64(s)
    hi = np.uint64(hi)
    base = np.int64(chunk) * np.int64(span)
    end = min(float(span), float(np.int64(uid[hi - one]) - base + 1))
    m = 0
    more = True
    while m < targets.shape[0]:
        pos += skip(key, chunk, j, lq)
        j += 1
        if pos >= end:
            more = False
            break
        targets[m] = base + np.int64(pos)
        pos += 1.0
        m += 1
    n = 0
    w = np.uint64(WINDOW)
    before = s  # where the search before last stopped, and the last one
    last = s
    for q in range(m):
        t = targets[q]
        s = before
        while True:
            k = 0
            if s + w <= hi:
                for i in range(WINDOW):
                    k += uid[s + np.uint64(i)] < t
            else:
                for i in range(s, hi):
                    k += uid[i] < t
            s += np.uint64(k)
            if k < WINDOW:
                break
        found[n] = s
        n += uid[s] == t
        before = last
        last = s
    return j, pos, last, n, more


@njit(cache=True, inline="always")
def normal(key, agent):
    """Standard normal draw for one agent under a key (Box–Muller on two keyed uniforms)."""
    h1 = mix64(np.uint64(key) ^ (np.uint64(agent) * _GOLDEN))
    h2 = mix64(h1 ^ _M2)
    u1 = (float(h1 >> _S11) + 1.0) * _INV53  # (0, 1]: log is finite
    u2 = float(h2 >> _S11) * _INV53
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@njit(cache=True, parallel=True)
def _uniforms(key, ids, out):
    for i in prange(ids.shape[0]):
        out[i] = uniform(key, ids[i])


@njit(cache=True, parallel=True)
def _normals(key, ids, out):
    for i in prange(ids.shape[0]):
        out[i] = normal(key, ids[i])


@njit(cache=True)
def _uniforms_few(key, ids, out):
    for i in range(ids.shape[0]):
        out[i] = uniform(key, ids[i])


@njit(cache=True)
def _normals_few(key, ids, out):
    for i in range(ids.shape[0]):
        out[i] = normal(key, ids[i])


#: draws below which :meth:`Streams.uniforms` and :meth:`Streams.normals` stay on one thread
#: (a parallel loop's start costs more than a few draws; each draw is the same either way)
FEW_DRAWS = 4096


class Streams:
    """Keyed draws for one run: ``Streams(seed).uniforms("exit", step, ids)``.

    Args:
        seed: the run's seed.
    """

    def __init__(self, seed: int):
        self.seed = int(seed) & 0xFFFFFFFFFFFFFFFF
        #: per stream, the part of its keys that does not depend on the step (the first two
        #: rounds of :func:`key_of`): a key then costs one round
        self._stream_part: dict[str, int] = {}
        #: per stream, its keys at steps ``[0, KEY_TABLE)``, computed at once when first asked
        #: (a run asks for a dozen streams' keys every month: a lookup instead of the rounds)
        self._table: dict[str, np.ndarray] = {}

    def _part(self, stream: str) -> int:
        k = self._stream_part.get(stream)
        if k is None:
            g, m1 = int(_GOLDEN), int(_M1)
            k = _mix64_int((self.seed & _MASK) ^ g)
            k = self._stream_part[stream] = _mix64_int(k ^ ((stream_id(stream) * m1) & _MASK))
        return k

    def key(self, stream: str, step: int) -> np.uint64:
        """The uint64 key of ``stream`` at ``step`` (pass it to compiled kernels)."""
        t = self._table.get(stream)
        if t is None:
            t = self._table[stream] = key_table(self._part(stream), KEY_TABLE)
        if 0 <= step < KEY_TABLE:
            return t[step]
        return np.uint64(_mix64_int(self._part(stream)
                                    ^ (((step & 0xFFFFFFFF) * int(_M2) + int(_GOLDEN)) & _MASK)))

    def uniforms(self, stream: str, step: int, ids: np.ndarray) -> np.ndarray:
        """Uniform [0, 1) draws, one per agent id."""
        out = np.empty(ids.shape[0], dtype=np.float64)
        draw = _uniforms_few if ids.shape[0] < FEW_DRAWS else _uniforms
        draw(self.key(stream, step), ids.astype(np.int64, copy=False), out)
        return out

    def normals(self, stream: str, step: int, ids: np.ndarray) -> np.ndarray:
        """Standard normal draws, one per agent id."""
        out = np.empty(ids.shape[0], dtype=np.float64)
        draw = _normals_few if ids.shape[0] < FEW_DRAWS else _normals
        draw(self.key(stream, step), ids.astype(np.int64, copy=False), out)
        return out
