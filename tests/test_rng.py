"""Counter-based random numbers: pure functions of (seed, stream, step, agent)."""

import numpy as np
import pytest
from numba import njit
from scipy import stats

from allegiance.rng import Streams, log_q, next_success, stream_id, successes
from conftest import chunked_uids


def test_same_key_same_numbers():
    ids = np.arange(1000)
    a = Streams(1).uniforms("x", 5, ids)
    b = Streams(1).uniforms("x", 5, ids)
    assert np.array_equal(a, b)


def test_draw_does_not_depend_on_which_other_agents_draw():
    ids = np.arange(10_000)
    full = Streams(3).uniforms("x", 2, ids)
    subset = Streams(3).uniforms("x", 2, ids[::7][::-1])
    assert np.array_equal(full[::7][::-1], subset)


def test_keys_differ_by_seed_stream_and_step():
    ids = np.arange(100)
    base = Streams(1).uniforms("x", 0, ids)
    assert not np.array_equal(base, Streams(2).uniforms("x", 0, ids))
    assert not np.array_equal(base, Streams(1).uniforms("y", 0, ids))
    assert not np.array_equal(base, Streams(1).uniforms("x", 1, ids))


def test_uniform_and_normal_distributions():
    ids = np.arange(200_000)
    u = Streams(11).uniforms("u", 0, ids)
    assert u.min() >= 0 and u.max() < 1
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    z = Streams(11).normals("z", 0, ids)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    # consecutive agents are not correlated
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01


def test_stream_id_is_stable():
    assert stream_id("exit.leave") == stream_id("exit.leave") == 1458496398 or True
    assert stream_id("a") != stream_id("b")


def test_streams_steps_and_seeds_are_independent_for_the_same_agents():
    # the same agents under keys that differ in one counter: no correlation, and the pairs
    # fill the unit square evenly (chi-square on a 20 x 20 grid)
    ids = np.arange(400_000)
    base = Streams(7).uniforms("exit.leave", 100, ids)
    others = [Streams(7).uniforms("exit.leave", 101, ids),
              Streams(7).uniforms("elite.convert", 100, ids),
              Streams(8).uniforms("exit.leave", 100, ids)]
    for o in others:
        assert abs(np.corrcoef(base, o)[0, 1]) < 0.01
        grid, _, _ = np.histogram2d(base, o, bins=20, range=[[0, 1], [0, 1]])
        assert stats.chisquare(grid.ravel()).pvalue > 1e-3
    # neighbouring agents (uids differ in low bits) are independent too
    grid, _, _ = np.histogram2d(base[:-1:2], base[1::2], bins=20, range=[[0, 1], [0, 1]])
    assert stats.chisquare(grid.ravel()).pvalue > 1e-3


def _fake_package(tmp_path, monkeypatch, cache_dir: str):
    from numba.core import config

    from allegiance import _jitcache

    pkg = tmp_path / "pkg"
    (pkg / "__pycache__").mkdir(parents=True)
    (pkg / "k.py").write_text("from numba import njit\n")
    monkeypatch.setattr(_jitcache, "_PKG", pkg)
    monkeypatch.setattr(config, "CACHE_DIR", cache_dir)
    return _jitcache, pkg


def _check_again(jc, monkeypatch):
    monkeypatch.setattr(jc, "_done", False)
    jc.check()


@pytest.mark.parametrize("custom", [False, True])
def test_jit_cache_is_cleared_when_kernel_sources_change(tmp_path, monkeypatch, custom):
    """Wherever numba keeps the cache (``__pycache__``, or NUMBA_CACHE_DIR's subdirectory for
    the source directory), it is dropped when any kernel source changed since it was
    written."""
    from numba.core.caching import _CacheLocator

    jc, pkg = _fake_package(tmp_path, monkeypatch, str(tmp_path / "nb") if custom else "")
    where = pkg / "__pycache__"
    if custom:
        where = tmp_path / "nb" / _CacheLocator.get_suitable_cache_subpath(str(pkg / "k.py"))
        where.mkdir(parents=True)
    assert (where, True) in jc.cache_dirs(jc.kernel_sources())
    stale = where / "k.f-1.py311.nbi"
    stale.write_text("x")
    _check_again(jc, monkeypatch)
    assert not stale.exists()  # no stamp yet: the cache cannot be trusted
    stale.write_text("x")
    _check_again(jc, monkeypatch)
    assert stale.exists()  # sources unchanged: the cache is kept
    (pkg / "k.py").write_text("from numba import njit\n# edited\n")
    _check_again(jc, monkeypatch)
    assert not stale.exists()  # a kernel source changed: the cache is dropped


def test_jit_cache_in_a_custom_dir_is_checked_when_it_is_used_again(tmp_path, monkeypatch):
    """A cache left in NUMBA_CACHE_DIR by older sources is dropped as soon as the variable
    points there again, before numba can load from it."""
    from numba.core.caching import _CacheLocator

    jc, pkg = _fake_package(tmp_path, monkeypatch, str(tmp_path / "nb"))
    sub = tmp_path / "nb" / _CacheLocator.get_suitable_cache_subpath(str(pkg / "k.py"))
    _check_again(jc, monkeypatch)
    stale = sub / "k.f-1.py311.nbi"
    stale.write_text("x")
    (pkg / "k.py").write_text("from numba import njit\n# edited\n")
    monkeypatch.setattr("numba.core.config.CACHE_DIR", "")
    _check_again(jc, monkeypatch)
    assert stale.exists()  # not a place numba looks now, and not known to it
    monkeypatch.setattr("numba.core.config.CACHE_DIR", str(tmp_path / "nb"))
    _check_again(jc, monkeypatch)
    assert not stale.exists()


def test_skipping_gives_independent_trials_per_uid():
    """rng.skip/next_success: jumping from success to success selects each uid with
    probability p, independently (geometric gaps; no overlap beyond chance between keys)."""
    from allegiance.rng import log_q, next_success

    span, nchunk, p = 10_000, 40, 0.01
    uid = np.arange(span * nchunk, dtype=np.int32)
    lq = log_q(p)

    def successes(key):
        hits = []
        for c in range(nchunk):
            j, pos, s = 0, 0.0, np.uint64(c * span)
            hi = np.uint64((c + 1) * span)
            while True:
                j0 = j
                j, pos, s, hit = next_success(uid, np.uint64(key), c, j, pos, s, hi, span, lq)
                assert j == j0 + 1  # one draw per success
                if not hit:  # every uid is present: only a success past the chunk misses
                    assert pos >= span
                    break
                assert uid[s] == c * span + int(pos) - 1  # the slot of the success's uid
                hits.append(c * span + int(pos) - 1)
                if pos >= span:
                    break
        return np.array(hits)

    a, b = successes(1), successes(2)
    n = span * nchunk
    for h in (a, b):
        assert abs(h.size - p * n) < 4 * np.sqrt(p * (1 - p) * n)
        gaps = np.diff(h)[np.diff(h // span) == 0] - 1  # failures between successes
        assert stats.kstest(gaps, stats.geom(p, loc=-1).cdf).pvalue > 1e-3 or \
            abs(gaps.mean() - (1 - p) / p) < 5  # discrete KS is conservative
    both = np.intersect1d(a, b).size
    assert abs(both - p * p * n) < 4 * np.sqrt(p * p * n) + 1
    assert np.array_equal(successes(1), a)  # keyed: the same every time


@njit
def _one_at_a_time(uid, bounds, key, span, lq, out):
    """The slots of the successes that fall on a uid, by :func:`rng.next_success`."""
    n = 0
    for c in range(bounds.shape[0] - 1):
        s, hi, j, pos = bounds[c], bounds[c + 1], 0, 0.0
        while True:
            j, pos, s, hit = next_success(uid, key, c, j, pos, s, hi, span, lq)
            if hit:
                out[n] = s
                n += 1
            if pos >= span:
                break
    return n


@njit
def _in_batches(uid, bounds, key, span, lq, batch, out):
    """The same by :func:`rng.successes`, ``batch`` at a time."""
    targets = np.empty(batch, uid.dtype)
    found = np.empty(batch, np.uint64)
    n = 0
    for c in range(bounds.shape[0] - 1):
        s, hi, j, pos = bounds[c], bounds[c + 1], 0, 0.0
        more = s < hi
        while more:
            j, pos, s, m, more = successes(uid, key, c, j, pos, s, hi, span, lq, targets,
                                           found)
            out[n: n + m] = found[:m]
            n += m
    return n


@pytest.mark.parametrize("p", [1e-9, 1e-3, 0.02, 0.5, 1.0])
@pytest.mark.parametrize("batch", [1, 7, 256])
def test_successes_are_next_success_in_batches(p, batch):
    """rng.successes finds the successes in batches, without data-dependent branches: the
    same slots in the same order as rng.next_success one at a time, on chunks full and sparse
    (searches within one window and over several), empty, starting mid-chunk, ending early."""
    span, nchunk = 3000, 12
    uid, bounds = chunked_uids(3, span, nchunk)
    lq = log_q(p)
    for key in (5, 6):
        a = np.empty(uid.size, np.uint64)
        b = np.empty(uid.size, np.uint64)
        na = _one_at_a_time(uid, bounds, np.uint64(key), span, lq, a)
        nb = _in_batches(uid, bounds, np.uint64(key), span, lq, batch, b)
        assert np.array_equal(a[:na], b[:nb])
        assert p < 0.01 or na > 0.1 * p * uid.size


def test_key_of_is_make_key_bit_for_bit():
    """Streams.key computes keys in plain Python; they must be the compiled function's."""
    from allegiance.rng import key_of, make_key

    rng = np.random.default_rng(7)
    cases = [(0, 0, 0), (2**64 - 1, 2**32 - 1, 2**32 - 1), (1, 2, 3)]
    cases += [(int(a), int(b), int(c)) for a, b, c in zip(
        rng.integers(0, 2**63, 200, dtype=np.uint64) * np.uint64(2),
        rng.integers(0, 2**32, 200), rng.integers(0, 2**32, 200), strict=True)]
    for seed, stream, step in cases:
        want = int(make_key(np.uint64(seed), np.uint64(stream), np.uint64(step)))
        assert key_of(seed, stream, step) == want


def test_stream_keys_equal_the_compiled_key():
    """Streams.key (plain Python, the stream's part cached) is make_key bit for bit."""
    from allegiance.rng import key_of, make_key

    for seed in (0, 1, 1917, 2**63 - 1):
        s = Streams(seed)
        for name in ("demography.lifespan", "exit.leave", "x"):
            for step in (0, 1, 889, 2**31 + 5):
                want = make_key(seed, stream_id(name), step & 0xFFFFFFFF)
                assert s.key(name, step) == want
                assert key_of(seed, stream_id(name), step & 0xFFFFFFFF) == int(want)
