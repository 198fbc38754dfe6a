"""Shared fixtures: small, fast runs of the bundled scenarios."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import allegiance

SMALL = 1e-4  # 1:10,000 — ~15-30 thousand agents


@pytest.fixture(scope="session")
def cpsu_small():
    """A full 1917-1991 cpsu run at 1:10,000 (shared by the tests that only read it)."""
    return allegiance.run("cpsu", scale=SMALL, seed=7)


def cli(*args: str, env: dict | None = None, cwd=None) -> subprocess.CompletedProcess:
    """Run ``python -m allegiance ARGS`` and capture its output."""
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "allegiance", *args], capture_output=True,
                          text=True, env=e, cwd=cwd, timeout=600, check=False)
