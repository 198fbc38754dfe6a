"""Keep numba's on-disk cache consistent with the package's sources.

numba caches each compiled function and checks only the function's own source file. Our
kernels inline functions from other modules (every random draw inlines
:func:`allegiance.rng.uniform`; the fused month inlines the mechanisms' per-agent functions),
so after an edit to one of those a cached kernel would silently keep the old code. Before
anything is compiled, :func:`check` hashes the sources that define kernels and, in every
directory where numba may keep this package's cache, deletes the cache files if they were
written for other sources; the next calls recompile.

numba keeps the cache of a source directory ``d`` in ``d/__pycache__``; or, when
``NUMBA_CACHE_DIR`` is set, in a subdirectory of it named after ``d``; or, when ``d`` is not
writable (a read-only install), in a subdirectory of the user-wide cache (``~/.cache/numba``)
named the same way. Each such directory gets its own stamp (``numba-sources.sha256``), so a
cache is trusted only if it was written for the current sources.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

_PKG = Path(__file__).resolve().parent
STAMP_NAME = "numba-sources.sha256"
_done = False


def kernel_sources() -> dict[Path, bytes]:
    """The package's source files that define compiled kernels or functions compiled into
    them (``register_jitable``), with their contents."""
    out = {}
    for f in sorted(_PKG.rglob("*.py")):
        data = f.read_bytes()
        if b"njit" in data or b"register_jitable" in data:
            out[f] = data
    return out


def sources_digest(sources: dict[Path, bytes]) -> str:
    """SHA-256 over the kernel sources (:func:`kernel_sources`)."""
    h = hashlib.sha256()
    for f, data in sources.items():
        h.update(f.relative_to(_PKG).as_posix().encode())
        h.update(data)
    return h.hexdigest()


def cache_dirs(sources: dict[Path, bytes]) -> list[tuple[Path, bool]]:
    """Every directory where numba may keep the cache of the kernels of ``sources``
    (:func:`kernel_sources`), and whether numba uses it now (its first choice that it can
    write: ``NUMBA_CACHE_DIR``, else ``__pycache__``, else the user-wide cache)."""
    from numba.core import config
    from numba.core.caching import _CacheLocator
    from numba.misc.appdirs import AppDirs

    user_wide = Path(AppDirs(appname="numba", appauthor=False).user_cache_dir)
    out = []
    for d in sorted({f.parent for f in sources}):
        sub = _CacheLocator.get_suitable_cache_subpath(str(d / "_.py"))
        cands = [d / "__pycache__", user_wide / sub]
        if config.CACHE_DIR:
            cands.insert(0, Path(config.CACHE_DIR) / sub)
        active = None
        for c in cands:
            try:
                c.mkdir(parents=True, exist_ok=True)
            except OSError:
                continue
            if os.access(c, os.W_OK):
                active = c
                break
        out += [(c, c == active) for c in cands]
    return out


def _refresh(cache: Path, digest: str) -> None:
    """Delete ``cache``'s numba files unless its stamp says they were written for
    ``digest``; then stamp it."""
    stamp = cache / STAMP_NAME
    if stamp.exists() and stamp.read_text() == digest:
        return
    for pattern in ("*.nbi", "*.nbc"):
        for p in cache.glob(pattern):
            p.unlink(missing_ok=True)
    tmp = stamp.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(digest)
    tmp.replace(stamp)


def check() -> None:
    """Delete numba's cache files of the package wherever numba may keep them, if any kernel
    source changed since they were written (once per process; a directory that cannot be
    written is left alone: numba then does not cache there either)."""
    global _done  # noqa: PLW0603 (once per process)
    if _done:
        return
    _done = True
    try:
        sources = kernel_sources()
        digest = sources_digest(sources)
        dirs = cache_dirs(sources)
    except OSError:
        return
    for cache, active in dirs:
        if not (active or cache.is_dir()):
            continue
        with contextlib.suppress(OSError):
            _refresh(cache, digest)
