"""Keep numba's on-disk cache consistent with the package's sources.

numba caches each compiled function next to its source file and checks only *that* file's
timestamp. Our kernels inline functions from other modules (every random draw inlines
:func:`allegiance.rng.uniform`; the fused month inlines the mechanisms' per-agent functions),
so after an edit to one of those a cached kernel would silently keep the old code. Before
anything is compiled, :func:`check` hashes the sources that define kernels and, if they changed
since the cache was written, deletes the cache; the next calls recompile.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

_PKG = Path(__file__).resolve().parent
_STAMP = _PKG / "__pycache__" / "numba-sources.sha256"
_done = False


def sources_digest() -> str:
    """SHA-256 over the package's source files that define compiled kernels."""
    h = hashlib.sha256()
    for f in sorted(_PKG.rglob("*.py")):
        data = f.read_bytes()
        if b"njit" in data:
            h.update(f.relative_to(_PKG).as_posix().encode())
            h.update(data)
    return h.hexdigest()


def check() -> None:
    """Delete numba's cache files of the package if any kernel source changed (once per
    process; silently does nothing on a read-only install)."""
    global _done  # noqa: PLW0603 (once per process)
    if _done:
        return
    _done = True
    try:
        digest = sources_digest()
        if _STAMP.exists() and _STAMP.read_text() == digest:
            return
        for pattern in ("*.nbi", "*.nbc"):
            for p in _PKG.rglob(pattern):
                p.unlink(missing_ok=True)
        _STAMP.parent.mkdir(exist_ok=True)
        tmp = _STAMP.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(digest)
        tmp.replace(_STAMP)
    except OSError:
        pass
