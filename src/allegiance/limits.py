"""The limits of what a command or the API may be asked for, in one place: seeds, thread
counts and the number of runs of an experiment. Each is checked before anything is allocated
or run, and a value outside is an :class:`~allegiance.errors.AllegianceError` (one line,
exit 2). Imports nothing heavy: the CLI's option declarations use these numbers.

* a seed is an integer with ``0 <= seed <= SEED_MAX`` (2^63 - 1): what the scenarios'
  ``run.seed`` allows and what the manifest records, so a seed is never reduced silently;
* a thread count is at least 1; more than the machine allows runs on what it allows, and the
  CLI says so (the manifest records the count used);
* an experiment (ensemble, sweep, sensitivity, calibration) has at most ``MAX_RUNS`` runs,
  estimated from its design before a point is drawn;
* the smallest CPSU scale is the one that leaves ``MIN_AGENTS`` agents at the start
  (:data:`allegiance.models.cpsu.schema.MIN_AGENTS`).
"""

from __future__ import annotations

from .errors import AllegianceError

#: the largest seed (seeds are 63-bit: numpy's SeedSequence and the run seeds derived from
#: them fit in a signed 64-bit integer)
SEED_MAX = 2**63 - 1

#: the most runs one experiment may have (its tasks are built in memory before it starts)
MAX_RUNS = 1_000_000


def check_seed(seed: object, key: str = "seed") -> int:
    """``seed`` as an int, or :class:`AllegianceError` naming ``key`` and the allowed range."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX:
        raise AllegianceError(f"{key} = {seed!r}: allowed: an integer from 0 to 2^63 - 1 "
                              f"({SEED_MAX})")
    return int(seed)


def check_threads(threads: object, key: str = "threads") -> int | None:
    """``threads`` (None: all cores), or :class:`AllegianceError` if it is not a count >= 1."""
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise AllegianceError(f"{key} = {threads!r}: allowed: 1 or more (more than the "
                              "machine allows run on what it allows)")
    return int(threads)


def check_runs(runs: int, what: str) -> int:
    """``runs`` if it is at most :data:`MAX_RUNS`, else :class:`AllegianceError` saying how the
    count arose (``what``)."""
    if runs > MAX_RUNS:
        raise AllegianceError(f"{what}: {runs:,} runs; allowed: at most {MAX_RUNS:,} runs in "
                              "one experiment (use fewer points, replicates or runs)")
    return runs
