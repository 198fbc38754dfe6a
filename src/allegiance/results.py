"""Run results: a directory with manifest.json, timeseries.parquet, events.parquet, summary.json.

Results are written to a hidden temporary directory beside the target and renamed into place
only when every file is complete, so an interrupted run never leaves something that looks like
a finished result. Parquet files are written without timestamps, so the same run gives the
same bytes.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import AllegianceError, OutputExistsError

TIMESERIES = "timeseries.parquet"
EVENTS = "events.parquet"
SUMMARY = "summary.json"
MANIFEST = "manifest.json"
SCENARIO_TOML = "scenario.toml"
SNAPSHOTS = "snapshots.parquet"


def _json_default(o: Any):
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def dump_json(obj: Any, path: Path) -> None:
    """Write JSON with stable key order."""
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def write_parquet(df, path: Path) -> None:
    """Write a DataFrame as Parquet, deterministically (no pandas index, fixed settings)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    pq.write_table(table, path, compression="zstd", write_statistics=True)




@contextmanager
def atomic_directory(outdir: Path, *, force: bool = False) -> Iterator[Path]:
    """Write a result directory atomically: yields a hidden temporary directory beside
    ``outdir`` and renames it into place only if the block completes.

    An interrupted or failed write leaves no ``outdir`` (and removes the temporary one); an
    existing ``outdir`` is refused unless ``force``, and then replaced only at the very end.
    """
    outdir = Path(outdir)
    if outdir.exists() and not force:
        raise OutputExistsError(
            f"output directory '{outdir}' exists; choose another --out or pass --force"
        )
    parent = outdir.parent if str(outdir.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AllegianceError(
            f"--out {outdir}: cannot create directory: {exc.strerror}") from None
    tmp = parent / f".{outdir.name}.partial-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        if outdir.exists():
            trash = parent / f".{outdir.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(outdir, trash)
            os.replace(tmp, outdir)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, outdir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@dataclass
class Result:
    """What one run produced.

    Attributes:
        timeseries: one row per step (month), metrics in persons.
        events: one row per applied timeline event.
        summary: scalar outcomes (``summary.json``).
        manifest: provenance (version, resolved scenario, hash, seed, scale, threads, timings).
        snapshots: the agents' attributes at the ``--snapshot`` dates (a ``date`` column,
            then one per attribute), or ``None``.
    """

    timeseries: Any
    events: Any
    summary: dict[str, Any]
    manifest: dict[str, Any]
    path: Path | None = field(default=None)
    snapshots: Any = field(default=None)

    @property
    def scenario(self):
        """The resolved scenario this result was produced from."""
        from .scenario import load_scenario

        return load_scenario(self.manifest["scenario"])

    def save(self, outdir: str | Path, *, force: bool = False, figures: bool = False) -> Path:
        """Write the result directory atomically.

        Args:
            outdir: target directory; must not exist unless ``force``.
            force: replace an existing directory.
            figures: also draw the model's figures into ``outdir/figures``.
        """
        from .scenario import scenario_to_toml

        outdir = Path(outdir)
        with atomic_directory(outdir, force=force) as tmp:
            write_parquet(self.timeseries, tmp / TIMESERIES)
            write_parquet(self.events, tmp / EVENTS)
            dump_json(self.summary, tmp / SUMMARY)
            if self.snapshots is not None:
                write_parquet(self.snapshots, tmp / SNAPSHOTS)
            (tmp / SCENARIO_TOML).write_text(scenario_to_toml(self.scenario))
            if figures:
                from .registry import model_class

                model_class(self.manifest["model"]).figures(self, tmp / "figures")
            dump_json(self.manifest, tmp / MANIFEST)  # written last: marks completeness
        self.path = outdir
        return outdir


def load(path: str | Path) -> Result:
    """Read a result directory written by :meth:`Result.save`."""
    import pandas as pd

    p = Path(path)
    if not (p / MANIFEST).is_file():
        raise AllegianceError(f"'{p}' is not a complete allegiance result (no {MANIFEST})")
    return Result(
        timeseries=pd.read_parquet(p / TIMESERIES),
        events=pd.read_parquet(p / EVENTS),
        summary=json.loads((p / SUMMARY).read_text()),
        manifest=json.loads((p / MANIFEST).read_text()),
        path=p,
        snapshots=pd.read_parquet(p / SNAPSHOTS) if (p / SNAPSHOTS).is_file() else None,
    )
