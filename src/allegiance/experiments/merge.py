"""``allegiance merge``: the shards of a sweep, ensemble or sensitivity analysis made one.

The shards are checked (:mod:`allegiance.experiments.shards`), their runs copied into the
experiment directory, and the experiment rebuilt from its ``experiment.json`` writes what it
writes when run on one machine (``runs.parquet``; an ensemble's bands and summary; a
sensitivity analysis's indices): nothing is run again.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import AllegianceError
from .executors import Executor
from .shards import adopt_shards, check_complete, check_same, default_merge_out, find_shards
from .sweep import Plan, claim_experiment, run_plan

KINDS = ("sweep", "ensemble", "sensitivity")


class _NothingToRun(Executor):
    """The executor of a merge: every run must already be in the store."""

    kind = "merge"

    def imap_unordered(self, fn, tasks):
        ids = ", ".join(str(t.run_id) for t in list(tasks)[:5])
        raise AllegianceError(f"merge: runs {ids} have no result in any shard")


def merge(paths: Iterable[str | Path], *, out: str | Path | None = None, figures: bool = True
          ) -> tuple[Path, str, Any]:
    """Merge the shards named by ``paths`` (shard directories, or experiment directories
    holding ``shards/``) into ``out`` (default: the ``OUT`` of ``OUT/shards/I-of-N``).

    Returns:
        ``(output directory, kind, runs table)``.

    Raises:
        AllegianceError: missing, incomplete or mismatched shards (one line naming them).
    """
    paths = list(paths)
    if not paths:
        raise AllegianceError("merge: name at least one directory")
    found = find_shards(paths)
    meta = check_same(found)
    kind = meta.get("kind")
    if kind not in KINDS:
        raise AllegianceError(f"merge: shards of a {kind!r} cannot be merged (allowed: "
                              f"{', '.join(KINDS)})")
    plan = Plan.from_meta(meta, "merge")
    check_complete(found, plan.tasks, plan.spec.timeseries)
    outdir = Path(out) if out is not None else default_merge_out(found)
    with claim_experiment(outdir, resume=True):
        adopt_shards(found, meta, outdir)
        store, runs = run_plan(plan, outdir, _NothingToRun(), kind=kind, resume=True,
                               quiet=True)
        if kind == "ensemble":
            from .ensemble import write_bands

            write_bands(plan, store, runs, outdir, figures=figures)
        elif kind == "sensitivity":
            from .sensitivity import write_indices

            write_indices(plan, runs, outdir, figures=figures)
    return outdir, kind, runs
