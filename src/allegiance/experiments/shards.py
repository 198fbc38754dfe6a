"""Shards: one experiment split over machines that never talk to each other.

``allegiance sweep SWEEP.toml --shard I/N`` (and ``ensemble``/``sensitivity`` with the same
flag) runs only the runs whose id ``k`` has ``k % N == I - 1``, into ``OUT/shards/I-of-N/``: a
run store of its own (:mod:`allegiance.experiments.store`), written atomically and resumable
with ``--resume`` like any experiment, whose ``experiment.json`` is the whole experiment's plus
``"shard": {"index": I, "count": N, "runs": ...}``. The N shards need no coordinator, no shared
scheduler and no network: a SLURM job array runs shard ``$SLURM_ARRAY_TASK_ID`` of N in each
task (``docs/examples/sweep_array.sbatch``).

``allegiance merge OUT`` (or ``merge SHARD_DIR... --out OUT``) checks that the shards come from
one specification (the digest of ``experiment.json``), that all N are there and that each
finished every one of its runs, then copies their parts and index lines into ``OUT`` and writes
``runs.parquet`` (and an ensemble's bands, a sensitivity analysis's indices) with the same code
as the experiment run on one machine: every Parquet file is byte-identical to the unsharded
experiment's, because each run's seed depends only on the root seed and the run's id.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import AllegianceError
from ..outdir import atomic_file
from .store import (
    EXPERIMENT,
    INDEX,
    PARTS,
    SNAPSHOT_PARTS,
    RunStore,
    RunTask,
    part_name,
    read_index,
    write_part,
)

SHARDS = "shards"
COPIED = ("design.parquet", "scenario.toml")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``: the runs whose id is ``index - 1`` modulo
    ``count``."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def name(self) -> str:
        """Its directory under ``OUT/shards/``."""
        return f"{self.index}-of-{self.count}"

    def owns(self, run_id: int) -> bool:
        """Whether run ``run_id`` belongs to this shard."""
        return run_id % self.count == self.index - 1

    def select(self, tasks: Sequence[RunTask]) -> list[RunTask]:
        """The tasks of this shard, in their order."""
        return [t for t in tasks if self.owns(t.run_id)]

    def meta(self, runs: int) -> dict[str, int]:
        """What ``experiment.json`` records about the shard."""
        return {"index": self.index, "count": self.count, "runs": runs}


def parse_shard(text: str | None) -> Shard | None:
    """``"2/3"`` -> ``Shard(2, 3)``; ``None`` stays ``None``.

    Raises:
        AllegianceError: anything but ``I/N`` with ``1 <= I <= N`` (one line, exit code 2).
    """
    if text is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if m is None or not 1 <= int(m[1]) <= int(m[2]):
        raise AllegianceError(
            f"--shard {text!r}: allowed: I/N with 1 <= I <= N, e.g. --shard 2/3 for the second "
            "of three shards")
    return Shard(int(m[1]), int(m[2]))


def shard_dir(outdir: Path, shard: Shard) -> Path:
    """Where shard ``shard`` of the experiment written to ``outdir`` lives."""
    return Path(outdir) / SHARDS / shard.name


@dataclass
class Found:
    """A shard directory read back: where it is, its ``experiment.json``, its index."""

    dir: Path
    meta: dict[str, Any]
    records: dict[int, dict[str, Any]]

    def part_name(self, run_id: int) -> str:
        """The shard's part holding run ``run_id`` (named as in the whole experiment)."""
        return part_name(run_id, int(self.meta.get("batch", 1)), self.meta.get("runs"))

    @property
    def shard(self) -> Shard:
        s = self.meta["shard"]
        return Shard(int(s["index"]), int(s["count"]))


def find_shards(paths: Iterable[str | Path]) -> list[Found]:
    """The shard directories named by ``paths``: each a shard directory itself or an
    experiment directory holding ``shards/I-of-N/`` (read only; nothing is repaired).

    Raises:
        AllegianceError: a path that is neither, or that holds no shard.
    """
    dirs: list[Path] = []
    for raw in paths:
        p = Path(raw)
        meta = _meta(p / EXPERIMENT) if (p / EXPERIMENT).is_file() else None
        if meta is not None and "shard" in meta:
            dirs.append(p)
        elif (p / SHARDS).is_dir():
            sub = sorted(d for d in (p / SHARDS).iterdir() if (d / EXPERIMENT).is_file())
            if not sub:
                raise AllegianceError(f"merge {p}: {p / SHARDS} holds no shard (no "
                                      f"I-of-N/{EXPERIMENT})")
            dirs.extend(sub)
        elif p.is_dir():
            raise AllegianceError(f"merge {p}: not a shard directory nor one holding "
                                  f"{SHARDS}/ (shards are written by --shard I/N)")
        else:
            raise AllegianceError(f"merge {p}: directory not found")
    found = []
    for d in dirs:
        meta = _meta(d / EXPERIMENT)
        if "shard" not in meta:
            raise AllegianceError(f"merge {d}: not a shard (its {EXPERIMENT} has no 'shard')")
        found.append(Found(d, meta, read_index(d / INDEX)[0]))
    return found


def _meta(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise AllegianceError(f"merge: cannot read {path} ({exc})") from None
    if not isinstance(meta, dict) or "digest" not in meta:
        raise AllegianceError(f"merge: {path} is not an experiment's {EXPERIMENT}")
    return meta


def check_same(found: Sequence[Found]) -> dict[str, Any]:
    """Check the shards are the N shards of one experiment; return its ``experiment.json``
    (the shard's less ``shard``: what the experiment run on one machine writes).

    Raises:
        AllegianceError: shards of different specifications or counts, one given twice, or a
            missing one (naming them).
    """
    first = found[0]
    for f in found[1:]:
        if f.meta["digest"] != first.meta["digest"]:
            raise AllegianceError(
                f"merge: shard {f.shard} ({f.dir}) comes from a different specification than "
                f"shard {first.shard} ({first.dir}): digest {f.meta['digest'][:12]} vs "
                f"{first.meta['digest'][:12]}")
        if f.shard.count != first.shard.count:
            raise AllegianceError(f"merge: shard {f.shard} ({f.dir}) and shard {first.shard} "
                                  f"({first.dir}) split the runs differently")
    seen: dict[int, Path] = {}
    for f in found:
        if f.shard.index in seen:
            raise AllegianceError(f"merge: shard {f.shard} given twice ({seen[f.shard.index]} "
                                  f"and {f.dir})")
        seen[f.shard.index] = f.dir
    n = first.shard.count
    missing = [f"{i}/{n}" for i in range(1, n + 1) if i not in seen]
    if missing:
        raise AllegianceError(f"merge: shard{'s' if len(missing) > 1 else ''} "
                              f"{', '.join(missing)} missing (found {len(seen)} of {n})")
    return {k: v for k, v in first.meta.items() if k != "shard"}


def check_complete(found: Sequence[Found], tasks: Sequence[RunTask], keep_timeseries: bool,
                   ) -> None:
    """Every run of every shard finished (ok or failed) and has its part.

    Raises:
        AllegianceError: the first incomplete shard, with how far it got and how to finish it.
    """
    for f in sorted(found, key=lambda f: f.shard.index):
        mine = f.shard.select(tasks)
        done = [t for t in mine if t.run_id in f.records]
        if len(done) < len(mine):
            others = [str(g.shard) for g in found if g is not f
                      and len([t for t in g.shard.select(tasks) if t.run_id in g.records])
                      < len(g.shard.select(tasks))]
            also = f"; also incomplete: {', '.join(others)}" if others else ""
            raise AllegianceError(
                f"merge: shard {f.shard} ({f.dir}) is incomplete: {len(done)} of {len(mine)} "
                f"runs finished; finish it with --shard {f.shard} --resume{also}")
        folders = ([PARTS] if keep_timeseries else []) + (
            [SNAPSHOT_PARTS] if any(t.snapshots for t in mine) else [])
        for t in mine:
            if f.records[t.run_id].get("status") != "ok":
                continue
            for folder in folders:
                part = f.dir / folder / f.part_name(t.run_id)
                if not part.is_file():
                    raise AllegianceError(
                        f"merge: shard {f.shard} ({f.dir}): run {t.run_id} is finished but its "
                        f"{folder}/{part.name} is missing; rerun that shard with --force")


def default_merge_out(found: Sequence[Found]) -> Path:
    """``OUT`` when every shard is ``OUT/shards/I-of-N``.

    Raises:
        AllegianceError: the shards are not under one such directory.
    """
    outs = {f.dir.resolve().parent.parent for f in found if f.dir.resolve().parent.name == SHARDS}
    if len(outs) != 1 or any(f.dir.resolve().parent.name != SHARDS for f in found):
        raise AllegianceError("merge: the shards are not all under one OUT/shards/ directory; "
                              "name where to write the merged experiment with --out")
    d = found[0].dir
    return d.parent.parent if d.parent.name == SHARDS else outs.pop()  # as the user wrote it


def adopt_shards(found: Sequence[Found], meta: dict[str, Any], outdir: Path) -> RunStore:
    """Copy the shards' runs into the experiment directory ``outdir`` (created, or continued
    when a merge was cut short or repeated: a run already there is not copied again).

    Each part (time series, and snapshots where kept) is copied under a temporary name and
    renamed into place before its index line is appended, as when a run finishes;
    ``design.parquet`` and ``scenario.toml`` are copied from the first shard (every shard
    writes the same bytes).
    """
    store = RunStore(outdir, meta, resume=True)
    first = min(found, key=lambda f: f.shard.index)
    for name in COPIED:
        src = first.dir / name
        if src.is_file() and not (store.dir / name).is_file():
            with atomic_file(store.dir / name) as tmp:
                shutil.copyfile(src, tmp)
    rows = sorted(((rid, rec, f) for f in found for rid, rec in f.records.items()
                   if f.shard.owns(rid) and rid not in store.records), key=lambda row: row[0])
    if store.batch == 1:
        for rid, rec, f in rows:
            part = f.dir / PARTS / f.part_name(rid)
            snap = f.dir / SNAPSHOT_PARTS / f.part_name(rid)
            store.adopt({**rec, "shard": str(f.shard)}, part if part.is_file() else None,
                        snap if snap.is_file() else None)
        return store
    import pandas as pd

    # batches: each part of the experiment gathers its runs' rows from the shards' parts of
    # the same name, in run-id order, before the runs' lines are appended
    groups: dict[str, list[tuple[int, dict[str, Any], Found]]] = {}
    for row in rows:
        groups.setdefault(store.part_name(row[0]), []).append(row)
    for name, group in groups.items():
        for folder in (PARTS, SNAPSHOT_PARTS):
            frames = []
            for f in sorted({id(f): f for _, _, f in group}.values(),
                            key=lambda f: f.shard.index):
                part = f.dir / folder / name
                ids = [rid for rid, _, g in group if g is f]
                if part.is_file():
                    have = pd.read_parquet(part)
                    frames.append(have[have["run_id"].isin(ids)])
            if frames:
                (store.dir / folder).mkdir(exist_ok=True)
                write_part(store.dir / folder / name, frames, {rid for rid, _, _ in group})
        store._append(*({**rec, "shard": str(f.shard)} for _, rec, f in group))
    return store
