"""Shared by the tests of the command line's usage errors."""

from __future__ import annotations


def one_line_error(r) -> str:
    """The single line a refused command printed (exit status 2, no traceback)."""
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = [x for x in r.stderr.strip().splitlines() if x.strip()]
    assert len(lines) == 1, r.stderr
    return lines[0]
