"""Claiming an output directory: the one way every command decides where it may write.

``claim_output(OUT)`` is used by ``run``, ``compare``, ``ablate``, ``ensemble``, ``sweep``,
``sensitivity``, ``calibrate`` and ``merge`` (and by :meth:`allegiance.results.Result.save`).
Before anything is simulated or moved it

1. resolves ``OUT`` (``..`` and symbolic links of its parent included), so the directory
   checked is the one that will be written, however it was spelled; it refuses the current
   directory, the home directory and any directory holding them;
2. takes an exclusive lock, ``fcntl.flock`` on ``.NAME.lock`` beside ``OUT``, held until the
   command ends (the kernel drops it when the process dies, so a lock is never stale): a second
   process writing the same ``OUT`` is refused (exit code 2) instead of silently replacing it;
3. removes what interrupted runs to the same ``OUT`` left (hidden ``.NAME.partial-*`` folders,
   ``.NAME.old-*``, temporary files inside a resumable experiment) and says so on stderr;
4. refuses an existing ``OUT`` unless ``--force`` (or ``--resume`` for an experiment); even
   with ``--force`` it replaces only an empty directory or one an allegiance command wrote;
5. checks that ``OUT`` can be written (a hidden partial folder is created, a probe file
   written) before the simulation starts.

Outputs written at the end (a run, a comparison, an ablation) go to the partial folder, which
is renamed into place only when complete (:func:`atomic_directory`); experiments are written
in place, each file atomically (:func:`atomic_file`). A write that fails because the disk is
full or read-only becomes one line naming ``OUT`` (exit code 2), and leaves nothing that looks
finished.

Only the standard library is imported here.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from .errors import AllegianceError, OutputExistsError

#: what a name that becomes a directory (``runs/<name>``) may be
SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
SLUG_RULE = ("allowed: a name of letters, digits, '.', '_' and '-' (at most 100, starting "
             "with a letter or digit, no '/' or '..')")
#: files any allegiance command writes at the top of its output directory: with --force, an
#: existing directory is replaced only if it holds one of them (or nothing at all)
MARKERS = ("manifest.json", "experiment.json", "comparison.json", "ablation.json",
           "summary.json", "calibration.json", "shards")
#: temporary files of an atomic write (``.NAME.tmp-1a2b3c4d``; the run store's
#: ``.NAME.1a2b3c4d``)
_TEMP = re.compile(r"\..+\.(tmp-)?[0-9a-f]{8}")
#: errors of a write that the disk refused (full, read-only, too large, failing)
_DISK = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO}

_HELD: dict[Path, Claim] = {}


def check_slug(name: str) -> str:
    """``name`` if it is a safe directory name (see :data:`SLUG_RULE`).

    Raises:
        ValueError: it is not (the scenario and spec validators show it as one line naming
            the key and its value).
    """
    if not isinstance(name, str) or not SLUG.fullmatch(name) or ".." in name:
        raise ValueError(SLUG_RULE)
    return name


def slugify(text: str) -> str:
    """``text`` made a safe name (a file's stem used as a default name)."""
    s = re.sub(r"[^A-Za-z0-9._-]", "_", text).replace("..", "_").lstrip("._-")[:100]
    return s or "unnamed"


def resolve(path: str | Path) -> Path:
    """The absolute path ``path`` names once ``..`` and symbolic links are followed, except a
    link in the last place, which is the name written (or replaced), not what it points to."""
    p = Path(path)
    if p.name in ("", ".", ".."):
        return Path(os.path.realpath(p))
    return Path(os.path.realpath(p.parent if str(p.parent) else ".")) / p.name


def _looks_ours(d: Path) -> bool:
    try:
        entries = list(d.iterdir())
    except OSError:
        return False
    names = {e.name for e in entries if not e.name.startswith(".")}
    return not names or any(m in names for m in MARKERS)


def _write_error(exc: BaseException) -> str | None:
    """The reason, when ``exc`` is a write the disk refused (full, read-only...)."""
    if not isinstance(exc, OSError):
        return None
    if exc.errno in _DISK:
        return exc.strerror or os.strerror(exc.errno)
    text = str(exc)
    for e in _DISK:
        if os.strerror(e) in text:
            return os.strerror(e)
    return None


class Claim:
    """An output directory this process holds (see the module docstring).

    Attributes:
        path: the directory as the user wrote it (for messages).
        target: the resolved directory.
        partial: the hidden folder the output is written to (atomic claims), until committed.
    """

    def __init__(self, out: str | Path, *, force: bool, resume: bool, atomic: bool,
                 flag: str, hint: str):
        self.path = Path(out)
        self.target = resolve(out)
        self.force, self.resume, self.atomic = force, resume, atomic
        self.flag, self.hint = flag, hint
        self.partial: Path | None = None
        self._fd: int | None = None
        self._lock: Path | None = None
        self._made: list[Path] = []  # parent directories this claim created
        self.committed = False

    @property
    def parent(self) -> Path:
        return self.target.parent

    def _say(self) -> str:
        return f"{self.flag} {self.path}"

    # -- taking and giving back -------------------------------------------------------------
    def acquire(self) -> None:
        self._check_place()
        p = self.parent
        while not p.exists() and p != p.parent:
            self._made.append(p)
            p = p.parent
        try:
            self.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise AllegianceError(f"{self._say()}: cannot create directory {self.parent}: "
                                  f"{exc.strerror or exc}") from None
        self._take_lock()
        try:
            self._clean_stale()
            self._check_existing()
            self._probe()
        except BaseException:
            self.release()
            raise

    def _check_place(self) -> None:
        cwd = Path(os.path.realpath(os.getcwd()))
        home = Path(os.path.realpath(os.path.expanduser("~")))
        for what, p in (("the current directory", cwd), ("the home directory", home)):
            if self.target == p or self.target in p.parents:
                raise AllegianceError(f"{self._say()}: is {what} or holds it "
                                      f"({self.target}); choose a new directory")

    def _take_lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no lock, the other checks hold
            return
        lock = self.parent / f".{self.target.name}.lock"
        for _ in range(20):
            try:
                fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise AllegianceError(f"{self._say()}: cannot write there: "
                                      f"{exc.strerror or exc}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise AllegianceError(
                        f"another allegiance process is writing {self.path}; wait for it to "
                        f"finish or choose another {self.flag}") from None
                raise AllegianceError(f"{self._say()}: cannot lock {lock}: "
                                      f"{exc.strerror or exc}") from None
            # the holder before us may have removed the file between our open and our lock:
            # then we hold a lock on a file nobody else can see; take the one at the path
            try:
                same = os.stat(lock).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._fd, self._lock = fd, lock
                return
            os.close(fd)
        raise AllegianceError(f"{self._say()}: cannot lock {lock}: it keeps changing")

    def release(self) -> None:
        if self.partial is not None:
            shutil.rmtree(self.partial, ignore_errors=True)
            self.partial = None
        if self._fd is not None:
            if self._lock is not None:
                with suppress(OSError):  # removed while held: the next process makes a new one
                    self._lock.unlink()
            os.close(self._fd)
            self._fd = None
        if self.atomic and not self.committed:  # nothing written: leave no empty runs/ either
            for d in self._made:
                with suppress(OSError):
                    d.rmdir()

    def _clean_stale(self) -> None:
        """Remove what interrupted writes to this target left: we hold its lock, so no live
        process is writing them."""
        name = self.target.name
        stale = [p for p in self.parent.glob(f".{glob_escape(name)}.*")
                 if p.name.startswith((f".{name}.partial-", f".{name}.old-"))]
        t = self.target
        if t.is_dir() and not t.is_symlink() and any((t / m).exists() for m in MARKERS):
            for d in (t, t / "figures"):  # only in a directory we wrote: never a user's files
                if d.is_dir():
                    stale += [p for p in d.iterdir() if _TEMP.fullmatch(p.name)]
        for p in stale:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
        if stale:
            shown = ", ".join(p.name for p in stale[:3]) + (", ..." if len(stale) > 3 else "")
            print(f"note: removed what an interrupted run left of {self.path} "
                  f"({len(stale)}: {shown})", file=sys.stderr)

    def _check_existing(self) -> None:
        t = self.target
        if not (t.exists() or t.is_symlink()):
            return
        if self.resume and t.is_dir() and not t.is_symlink():
            return  # the caller checks that it is the same experiment
        if not self.force:
            raise OutputExistsError(f"output directory '{self.path}' exists; {self.hint}")
        if t.is_symlink() or not t.is_dir() or not _looks_ours(t):
            raise OutputExistsError(
                f"{self._say()}: exists and is not an allegiance output directory (none of "
                f"{', '.join(MARKERS)}); not replaced even with --force: remove it yourself "
                f"or choose another {self.flag}")
        if not self.atomic:  # an experiment written in place starts again from nothing
            self._move_aside_and_remove()

    def _move_aside_and_remove(self) -> None:
        trash = self.parent / f".{self.target.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(self.target, trash)
        shutil.rmtree(trash, ignore_errors=True)

    def _probe(self) -> None:
        """Fail now, not after the simulation, where nothing can be written."""
        try:
            if self.atomic:
                self.partial = self.parent / \
                    f".{self.target.name}.partial-{uuid.uuid4().hex[:8]}"
                self.partial.mkdir()
                where = self.partial
            else:
                self.target.mkdir(exist_ok=True)
                where = self.target
            probe = where / f".probe.tmp-{uuid.uuid4().hex[:8]}"
            with open(probe, "wb") as fh:
                fh.write(b"allegiance")
                fh.flush()
                os.fsync(fh.fileno())
            probe.unlink()
        except OSError as exc:
            raise AllegianceError(f"{self._say()}: cannot write there: "
                                  f"{exc.strerror or exc}") from None

    # -- the atomic output ------------------------------------------------------------------
    def take_partial(self) -> Path:
        """The hidden folder to write the output into (a new one if the first was used)."""
        if self.partial is None:
            self.partial = self.parent / f".{self.target.name}.partial-{uuid.uuid4().hex[:8]}"
            self.partial.mkdir()
        return self.partial

    def commit(self) -> None:
        """Rename the partial folder into place (replacing the old output with --force)."""
        tmp, t = self.partial, self.target
        assert tmp is not None
        if t.exists() or t.is_symlink():
            if not self.force:  # appeared while we ran (not written by allegiance: locked)
                raise OutputExistsError(f"output directory '{self.path}' exists; {self.hint}")
            trash = self.parent / f".{t.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(t, trash)
            os.rename(tmp, t)
            if trash.is_dir() and not trash.is_symlink():
                shutil.rmtree(trash, ignore_errors=True)
            else:
                trash.unlink(missing_ok=True)
        else:
            try:
                os.rename(tmp, t)
            except OSError as exc:
                if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                    raise OutputExistsError(
                        f"output directory '{self.path}' exists; {self.hint}") from None
                raise
        self.partial = None
        self.committed = True


def glob_escape(name: str) -> str:
    """``name`` with the glob characters escaped."""
    return re.sub(r"([*?\[])", r"[\1]", name)


EXISTS_HINT = "choose another --out or pass --force"
EXPERIMENT_HINT = "pass --resume to continue it or --force to start again"


@contextmanager
def claim_output(out: str | Path, *, force: bool = False, resume: bool = False,
                 atomic: bool = True, flag: str = "--out", hint: str = EXISTS_HINT
                 ) -> Iterator[Claim]:
    """Hold the output directory ``out`` for the block (see the module docstring).

    Args:
        force: replace an existing output directory (only one an allegiance command wrote).
        resume: an existing directory is continued (an experiment; the caller checks it).
        atomic: the output is written to ``claim.partial`` and renamed into place by
            ``claim.commit()`` (else the directory is created and written in place).
        flag: the option named in messages.
        hint: what the "exists" message suggests.

    A claim of a directory this process already holds is the same claim (nothing is checked
    again): a command claims its output before simulating, and saving it later finds it held.

    Raises:
        AllegianceError: an unsafe or unwritable path, another process writing it, or an
            existing directory (one line, exit code 2). A write the disk refuses inside the
            block is raised as one line naming ``out`` too.
    """
    target = resolve(out)
    held = _HELD.get(target)
    if held is not None:
        yield held
        return
    claim = Claim(out, force=force, resume=resume, atomic=atomic, flag=flag, hint=hint)
    claim.acquire()
    _HELD[target] = claim
    try:
        yield claim
    except BaseException as exc:
        reason = _write_error(exc)
        if reason is None:
            raise
        what = ("nothing was written" if atomic else
                "the runs finished so far are kept; free space and continue with --resume")
        raise AllegianceError(f"{claim._say()}: cannot write: {reason}; {what}") from None
    finally:
        _HELD.pop(target, None)
        claim.release()


def hold_output(out: str | Path, **options) -> Callable[[], None]:
    """Claim ``out`` (as :func:`claim_output`, same options) unless this process holds it
    already; returns what gives it back (nothing to do for a claim held by a caller)."""
    target = resolve(out)
    if target in _HELD:
        return lambda: None
    claim = Claim(out, **{"force": False, "resume": False, "atomic": True, "flag": "--out",
                          "hint": EXISTS_HINT, **options})
    claim.acquire()
    _HELD[target] = claim

    def give_back() -> None:
        if _HELD.get(target) is claim:
            del _HELD[target]
            claim.release()

    return give_back


@contextmanager
def atomic_directory(outdir: str | Path, *, force: bool = False) -> Iterator[Path]:
    """Write a result directory atomically: yields a hidden partial folder beside ``outdir``
    (claimed with :func:`claim_output`) and renames it into place only if the block completes.

    An interrupted or failed write leaves no ``outdir`` (and removes the partial folder); an
    existing ``outdir`` is refused unless ``force``, and then replaced only at the very end.
    """
    with claim_output(outdir, force=force) as claim:
        tmp = claim.take_partial()
        try:
            yield tmp
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            claim.partial = None
            raise
        claim.commit()


@contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Write one file atomically: yields a hidden temporary path beside ``path``, renamed over
    it only if the block completes (a kill or a full disk never leaves a half file)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
