"""Run results: a directory with manifest.json, timeseries.parquet, events.parquet, summary.json.

Results are written to a hidden temporary directory beside the target and renamed into place
only when every file is complete, so an interrupted run never leaves something that looks like
a finished result (:func:`allegiance.outdir.claim_output` decides where a command may
write). Every file is written under a temporary name and renamed, so none is ever half there.
Parquet files are written without timestamps, so the same run gives the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import AllegianceError
from .outdir import atomic_directory, atomic_file

__all__ = ["Result", "atomic_directory", "dump_json", "load", "write_parquet"]

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
    """Write JSON with stable key order, atomically (a kill never leaves half a file)."""
    text = json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n"
    with atomic_file(path) as tmp:
        tmp.write_text(text)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."


def read_json(path: Path) -> Any:
    """Read a JSON file of a result; a missing, unreadable or malformed one is an
    :class:`AllegianceError` naming the file."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AllegianceError(f"'{path}': missing (not a complete allegiance result)") from None
    except OSError as exc:
        raise AllegianceError(f"'{path}': cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise AllegianceError(f"'{path}': not a text file in UTF-8 (a damaged result?)"
                              ) from None
    except json.JSONDecodeError as exc:
        raise AllegianceError(f"'{path}': malformed JSON ({exc.msg} at line {exc.lineno}); "
                              "a damaged result?") from None
    except RecursionError:
        raise AllegianceError(f"'{path}': JSON nested too deep (a damaged result?)") from None


def read_parquet(path: Path):
    """Read a Parquet file of a result as a DataFrame; a missing, truncated or otherwise
    unreadable one is an :class:`AllegianceError` naming the file."""
    import pandas as pd
    import pyarrow as pa

    try:
        return pd.read_parquet(path)
    except FileNotFoundError:
        raise AllegianceError(f"'{path}': missing (not a complete allegiance result)") from None
    except OSError as exc:
        if exc.strerror:
            raise AllegianceError(f"'{path}': cannot read: {exc.strerror}") from None
        raise AllegianceError(f"'{path}': not a readable Parquet file ({_one_line(exc)}); "
                              "a damaged result?") from None
    except (pa.ArrowException, ValueError) as exc:
        raise AllegianceError(f"'{path}': not a readable Parquet file ({_one_line(exc)}); "
                              "a damaged result?") from None


@contextmanager
def reading(path: Path) -> Iterator[None]:
    """What a reader of a result directory does inside this block: a file that is not what a
    result holds (a key missing from its JSON, a value of another type) is an
    :class:`AllegianceError` naming the directory, not a traceback."""
    try:
        yield
    except AllegianceError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        what = f"no {exc}" if isinstance(exc, KeyError) else _one_line(exc)
        raise AllegianceError(f"'{path}': not a readable allegiance result ({what}); "
                              "a damaged or edited result?") from None


def write_parquet(df, path: Path) -> None:
    """Write a DataFrame as Parquet, deterministically (no pandas index, fixed settings)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    with atomic_file(path) as tmp:  # a kill or a full disk never leaves a 0-byte file
        pq.write_table(table, tmp, compression="zstd", write_statistics=True)


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
    p = Path(path)
    if not (p / MANIFEST).is_file():
        raise AllegianceError(f"'{p}' is not a complete allegiance result (no {MANIFEST})")
    manifest = read_json(p / MANIFEST)
    summary = read_json(p / SUMMARY)
    if not isinstance(manifest, dict) or not isinstance(summary, dict):
        raise AllegianceError(f"'{p}': {MANIFEST} and {SUMMARY} must each hold a JSON object "
                              "(a damaged result?)")
    return Result(
        timeseries=read_parquet(p / TIMESERIES),
        events=read_parquet(p / EVENTS),
        summary=summary,
        manifest=manifest,
        path=p,
        snapshots=read_parquet(p / SNAPSHOTS) if (p / SNAPSHOTS).is_file() else None,
    )
