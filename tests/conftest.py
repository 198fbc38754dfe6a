"""Shared fixtures: small, fast runs of the bundled scenarios; tests kept out of the tree.

Every test runs in its own empty temporary directory (``_run_in_tmp_path``), so a default
output such as ``runs/<scenario>`` never lands in, or collides with, the working tree; and the
session fails if a new entry appeared at the top of the working tree or under its `runs/`
(``_working_tree_untouched``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import allegiance

SMALL = 1e-4  # 1:10,000 — ~15-30 thousand agents
ROOT = Path(__file__).resolve().parents[1]

#: a small sweep shared by the experiment and shard tests: 3 x 2 points x 2 replicates = 12
#: runs, 4 of which fail (x1 = 2 is above constants.fail_above: the run raises, recorded as
#: failed, and failures merge too)
NOISY_SWEEP = """
scenario = "ishigami"
seed = 3
replicates = 2
outcomes = ["y"]
set = { "constants.noise" = 0.5, "constants.fail_above" = 1.5 }
[parameters.inputs]
x1 = [0.0, 1.0, 2.0]
x2 = [0.5, 2.0]
"""
# subprocesses (the CLI, the dashboard) import the same allegiance as this session, whatever
# their working directory (a relative PYTHONPATH=src would not survive the chdir below)
SRC = Path(allegiance.__file__).resolve().parents[1]
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(SRC), *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]])


def chunked_uids(seed: int, span: int, nchunk: int) -> tuple[np.ndarray, np.ndarray]:
    """Ascending uids over ``nchunk`` chunks of ``span`` uids, and the chunks' slot bounds:
    chunks full, half full and sparse, an empty one, one whose uids start mid-chunk, one
    whose only uid is its last, and a last one whose uids stop far below its end (uids not
    issued yet)."""
    rng = np.random.default_rng(seed)
    keep = rng.random(span * nchunk) < np.repeat(rng.choice([1.0, 0.5, 0.02], nchunk), span)
    keep[2 * span: 3 * span] = False
    keep[4 * span: 4 * span + span // 2] = False
    keep[6 * span: 7 * span - 1] = False
    keep[7 * span - 1] = True
    keep[(nchunk - 1) * span + span // 10:] = False
    uid = np.flatnonzero(keep).astype(np.int32)
    bounds = np.searchsorted(uid, np.arange(0, span * nchunk + 1, span)).astype(np.uint64)
    return uid, bounds


def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto`` (the README's test command): one worker per core this process may use (its
    CPU affinity and a cgroup's CPU quota) and per 2 GB of available memory. pytest-xdist's
    own count is the host's physical cores (psutil), which a container's limits do not
    change: on a 2-core share of a large host it would start dozens of workers."""
    import math

    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:  # cgroup v2: "max 100000" or "200000 100000" (quota, period)
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            n = min(n, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    try:
        import psutil

        n = min(n, int(psutil.virtual_memory().available // 2e9))
    except ImportError:
        pass
    return max(1, n or 1)


def _tree(root: Path) -> set[str]:
    """What a test writing to a relative path would add to ``root``: its top-level entries
    and everything under ``runs/`` (hidden names, tool caches and the venv left out).

    Only these: a developer may well add source files while a long session runs.
    """
    def visible(p: Path) -> bool:
        return not p.name.startswith(".") and p.name not in ("__pycache__", "venv")

    out = {p.name for p in root.iterdir() if visible(p)}
    runs = root / "runs"
    if runs.is_dir():
        out.update(str(p.relative_to(root)) for p in runs.rglob("*") if visible(p))
    return out


@pytest.fixture(scope="session", autouse=True)
def _working_tree_untouched():
    """Fail the session if a test created anything in the working tree (e.g. ``runs/``)."""
    before = _tree(ROOT)
    yield
    new = sorted(_tree(ROOT) - before)
    assert not new, f"tests wrote into the working tree {ROOT}: {new[:10]}"


@pytest.fixture(autouse=True)
def _run_in_tmp_path(tmp_path, monkeypatch):
    """Run each test in its own empty directory, never in the working tree."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def cpsu_small():
    """A full 1917-1991 cpsu run at 1:10,000 (shared by the tests that only read it)."""
    return allegiance.run("cpsu", scale=SMALL, seed=7)


def cli(*args: str, env: dict | None = None, cwd=None,
        input: str | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m allegiance ARGS`` and capture its output (``input``: its standard
    input, through a pipe)."""
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "allegiance", *args], capture_output=True,
                          text=True, env=e, cwd=cwd, timeout=600, check=False, input=input)
