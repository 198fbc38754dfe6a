"""Parameter sweeps from a TOML file: ``allegiance sweep SWEEP.toml [--resume]``.

A sweep file names the scenario, fixed overrides, the design, replicates, scale, root seed and
the scalar outcomes to extract (dotted paths into each run's summary)::

    name = "selectivity"
    scenario = "cpsu"
    scale = 1e-4
    seed = 1
    replicates = 2
    outcomes = ["forecast.exits_1990", "fit.value"]
    set = { "run.end" = "1991-12" }

    [design]
    method = "factorial"            # or "lhs" / "sobol" with samples = N

    [parameters]
    "levers.selectivity" = [0.2, 0.5, 0.8]

Results go to ``runs/<name>`` (or ``out``/``--out``) in the layout of
:mod:`allegiance.experiments.store`: a long-format Parquet dataset ``timeseries/*.parquet``
(run_id, point, replicate, seed, the parameter columns, step, date, metrics) and
``runs.parquet`` (one row per run: status, error, parameters, outcomes). With ``snapshots =
["1956-01", "1985-03"]`` each run also keeps the agents' attributes at those months in
``snapshots/*.parquet`` (the same ids and parameter columns first).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from pydantic import Field, PrivateAttr, ValidationError, field_validator

from ..errors import AllegianceError, ScenarioError
from ..limits import check_runs
from ..outdir import atomic_file, slugify
from ..scenario import Frozen, format_errors, load_scenario, read_toml
from .design import (
    Design,
    Range,
    Value,
    build_points,
    check_design,
    design_size,
    flatten_parameters,
)
from .executors import Executor, run_seed
from .shards import Shard, parse_shard, shard_dir
from .store import RunStore, RunTask, batch_size, run_tasks


class SensitivityOptions(Frozen):
    """Options of the Sobol analysis (``allegiance sensitivity``)."""

    conf_level: float = Field(0.95, gt=0, lt=1)
    resamples: int = Field(200, ge=10, description="bootstrap resamples for the intervals")


class ExperimentHeader(Frozen):
    """Keys every experiment file has: which scenario, at what scale and seed, with what
    overrides, written where (shared by sweep and calibration files)."""

    name: str = ""
    description: str = ""
    scenario: str
    scale: float | None = Field(None, gt=0, le=1)
    seed: int = Field(0, ge=0, le=2**63 - 1)
    set: dict[str, Any] = Field(default_factory=dict)
    out: str | None = None
    #: ``((scenario, set), the scenario loaded with them)`` when the spec is made from a
    #: scenario loaded already (``--assumed``): :func:`resolve_scenario` gives it, so that a
    #: scenario file is read once (it may be a pipe, read only once)
    _loaded: Any = PrivateAttr(default=None)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        from ..outdir import check_slug

        return v if v == "" else check_slug(v)  # the default output is runs/<name>


class SweepSpec(ExperimentHeader):
    """A sweep (or ensemble, or sensitivity analysis) file."""

    replicates: int = Field(1, ge=1)
    common_random_numbers: bool = Field(
        False, description="replicate r of every point uses the same seed")
    outcomes: list[str] = Field(default_factory=list)
    timeseries: bool = Field(True, description="keep each run's time series")
    batch: int | None = Field(
        None, ge=1, le=4096,
        description="runs per batch of work and per part of the time-series dataset (default: "
                    "1 up to 255 runs, then runs // 128, at most 64)")
    snapshots: list[str] = Field(
        default_factory=list, description="months (YYYY-MM) at whose start every run keeps the "
        "agents' attributes (snapshots/*.parquet), as `allegiance run --snapshot`")
    design: Design = Design()
    parameters: dict[str, list[Value] | Range] = Field(default_factory=dict)
    sensitivity: SensitivityOptions | None = None

    @field_validator("outcomes")
    @classmethod
    def _outcomes(cls, v: list[str]) -> list[str]:
        for o in v:
            if not o or any(not p for p in o.split(".")):
                raise ValueError(f"outcome {o!r} is not a dotted path like 'forecast.exits_1990'")
        return v


def parse_spec(raw: dict[str, Any], source: str, cls: type[Frozen] = SweepSpec) -> Any:
    """Validate a spec table; every problem on one line, naming its key."""
    raw = dict(raw)
    if "parameters" in raw:
        raw["parameters"] = flatten_parameters(raw["parameters"])
    try:
        spec = cls.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError([f"{source}: {m}" for m in format_errors(cls, raw, exc)]) from None
    problems = check_design(spec.design, spec.parameters) if hasattr(spec, "design") else []
    if problems:
        raise ScenarioError([f"{source}: {p}" for p in problems])
    if hasattr(spec, "design") and hasattr(spec, "replicates"):
        points = design_size(spec.design, spec.parameters)
        try:
            check_runs(points * spec.replicates,
                       f"design: {points:,} points x {spec.replicates:,} replicates")
        except AllegianceError as exc:
            raise ScenarioError(f"{source}: {exc}") from None
    return spec


def load_spec(path: str | Path, cls: type[Frozen] = SweepSpec,
              defaults: dict[str, Any] | None = None) -> tuple[Any, Path]:
    """Read and validate a spec file; returns ``(spec, directory of the file)``."""
    p = Path(path)
    if not p.is_file():
        raise ScenarioError(f"file '{p}' not found")
    raw = {**(defaults or {}), **read_toml(p)}
    raw.setdefault("name", slugify(p.stem))
    return parse_spec(raw, p.name, cls), p.parent


def resolve_scenario(spec: Any, base_dir: Path | None, source: str = "scenario"):
    """The scenario with the spec's fixed overrides applied (a validated scenario)."""
    loaded = getattr(spec, "_loaded", None)
    if loaded is not None and loaded[0] == (spec.scenario, spec.set):
        return loaded[1]
    name = spec.scenario
    if base_dir is not None and not Path(name).is_absolute() and (base_dir / name).is_file():
        name = str(base_dir / name)
    try:
        return load_scenario(name, spec.set)
    except ScenarioError as exc:
        raise ScenarioError([f"{source}: {m}" for m in exc.messages]) from None


def check_parameters(scenario_dict: dict[str, Any], parameters: dict[str, Any],
                     source: str) -> None:
    """Every parameter names a scenario key and its values (or range ends) validate."""
    for key, vals in parameters.items():
        probe = vals if isinstance(vals, list) else [vals.low, vals.high]
        for v in probe:
            value = round(v) if isinstance(vals, Range) and vals.integer else v
            try:
                load_scenario(scenario_dict, {key: value})
            except ScenarioError as exc:
                msg = re.sub(r"^(after --set: )?(--set [^:]*: )?", "", exc.messages[0])
                raise ScenarioError(f"{source}: parameters.{key}: {msg}") from None


def digest(*parts: Any) -> str:
    """SHA-256 of JSON-serialized parts (what makes two experiments the same)."""
    blob = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


class Plan:
    """A sweep resolved into runs: the scenario, the design's points and one task per run."""

    def __init__(self, spec: SweepSpec, base_dir: Path | None = None, source: str = "sweep",
                 scenario: Any = None):
        self.spec = spec
        self.scenario = (resolve_scenario(spec, base_dir, source) if scenario is None
                         else scenario)
        self.scenario_dict = self.scenario.to_dict()
        check_parameters(self.scenario_dict, dict(spec.parameters), source)
        if spec.scale is not None:  # a scale the model refuses: now, not in every run
            try:
                load_scenario(self.scenario, {"run.scale": spec.scale})
            except ScenarioError as exc:
                raise ScenarioError([f"{source}: scale: {m.removeprefix('after --set: ')}"
                                     for m in exc.messages]) from None
        #: the snapshot dates as the runs label their steps, checked before any run
        self.snapshots = tuple(_snapshot_dates(self.scenario, spec, source))
        points = design_size(spec.design, dict(spec.parameters))
        check_runs(points * spec.replicates,
                   f"{source}: design: {points:,} points x {spec.replicates:,} replicates")
        self.points = build_points(spec.design, dict(spec.parameters), spec.seed)
        self.tasks = []
        r = spec.replicates
        for p, params in enumerate(self.points):
            for k in range(r):
                rid = p * r + k
                seed = run_seed(spec.seed, k if spec.common_random_numbers else rid)
                self.tasks.append(RunTask(run_id=rid, point=p, replicate=k, seed=seed,
                                          scale=spec.scale, scenario=self.scenario_dict,
                                          params=params, keep_timeseries=spec.timeseries,
                                          snapshots=self.snapshots))
        #: runs per batch and per time-series part (:func:`.store.batch_size`)
        self.batch = spec.batch or batch_size(len(self.tasks))
        # what makes two experiments the same; an experiment without snapshots or ``batch``
        # keeps the digest it had before the keys existed (so it still resumes and merges)
        skip = {"out", "description", "snapshots"} | ({"batch"} if spec.batch is None else set())
        what = spec.model_dump(mode="json", exclude=skip)
        if self.snapshots:
            what["snapshots"] = list(self.snapshots)
        self.digest = digest(what, self.scenario.digest())

    @classmethod
    def from_meta(cls, meta: dict[str, Any], source: str) -> Plan:
        """The plan an ``experiment.json`` was written from (its spec and resolved scenario),
        without the spec file: ``allegiance merge`` rebuilds the runs of shards with it.

        Raises:
            AllegianceError: the plan rebuilt has another digest (another version of the
                package, or an edited ``experiment.json``).
        """
        from ..errors import AllegianceError

        raw = dict(meta["spec"])
        # experiment.json is written with sorted keys: the design's parameter order (which
        # column of the design each is) comes from the ordered list beside the spec
        order = meta.get("parameters") or list(raw.get("parameters") or {})
        raw["parameters"] = {k: raw["parameters"][k] for k in order}
        spec = SweepSpec.model_validate(raw)
        plan = cls(spec, None, source, scenario=load_scenario(meta["scenario"]))
        if plan.digest != meta.get("digest"):
            raise AllegianceError(
                f"{source}: experiment.json does not rebuild into the same experiment (digest "
                f"{plan.digest[:12]} vs {str(meta.get('digest'))[:12]}: written by another "
                f"version of allegiance, {meta.get('allegiance_version')}?)")
        return plan

    def meta(self, kind: str) -> dict[str, Any]:
        """What ``experiment.json`` records."""
        from ..version import __version__

        return {"kind": kind, "name": self.spec.name, "digest": self.digest,
                "spec": self.spec.model_dump(mode="json"), "scenario": self.scenario_dict,
                "scenario_sha256": self.scenario.digest(), "runs": len(self.tasks),
                "batch": self.batch,
                "points": len(self.points), "parameters": list(self.spec.parameters),
                **({"snapshots": list(self.snapshots)} if self.snapshots else {}),
                "allegiance_version": __version__}

    def design_table(self):
        """One row per point: its index and parameter values."""
        import pandas as pd

        return pd.DataFrame([{"point": i, **pt} for i, pt in enumerate(self.points)])


def _snapshot_dates(scenario: Any, spec: SweepSpec, source: str) -> list[str]:
    """The spec's ``snapshots``, checked against the scenario at the spec's scale (a date
    outside the run, or a model without agents, is one line naming the key)."""
    if not spec.snapshots:
        return []
    from ..api import snapshot_dates

    try:
        return snapshot_dates(scenario, spec.snapshots, scale=spec.scale)
    except ScenarioError:
        raise
    except AllegianceError as exc:
        msg = re.sub(r"^--snapshot:? ", "", str(exc))
        raise AllegianceError(f"{source}: snapshots: {msg}") from None


def claim_experiment(outdir: Path, shard: Shard | None = None, *, resume: bool = False,
                     force: bool = False):
    """Hold an experiment's directory (the shard's, with ``shard``) for the command: locked,
    checked, writable (:func:`allegiance.outdir.claim_output`; written in place)."""
    from ..outdir import EXPERIMENT_HINT, claim_output

    target = shard_dir(outdir, shard) if shard is not None else outdir
    return claim_output(target, force=force, resume=resume, atomic=False, hint=EXPERIMENT_HINT)


def default_out(spec: Any, out: str | Path | None) -> Path:
    """``--out``, else the spec's ``out``, else ``runs/<name>``."""
    return Path(out or spec.out or Path("runs") / spec.name)


def run_plan(plan: Plan, outdir: Path, executor: Executor, *, kind: str = "sweep",
             resume: bool = False, force: bool = False, retry_failed: bool = False,
             quiet: bool = False, shard: Shard | None = None, branch: bool = True
             ) -> tuple[RunStore, Any]:
    """Run (or continue) a plan into ``outdir``; returns the store and ``runs.parquet``.

    With ``shard``, only that shard's runs, into ``outdir/shards/I-of-N``
    (:mod:`allegiance.experiments.shards`; ``allegiance merge`` puts the shards together).
    With ``branch`` (default), runs that are one run up to some month (the same seed, and
    parameters that act only from then on) go on from a snapshot of the first one's state
    there (:mod:`allegiance.experiments.branching`): the same results, sooner.
    """
    from ..results import write_parquet
    from ..scenario import scenario_to_toml
    from .branching import execution_order, with_branches

    meta = plan.meta(kind)
    tasks = plan.tasks
    title = f"{kind} {plan.spec.name}"
    if shard is not None:
        outdir = shard_dir(outdir, shard)
        tasks = shard.select(tasks)
        meta["shard"] = shard.meta(len(tasks))
        title += f" (shard {shard})"
    store = RunStore(outdir, meta, resume=resume, force=force)
    for name, write in (("design.parquet", lambda p: write_parquet(plan.design_table(), p)),
                        ("scenario.toml",
                         lambda p: p.write_text(scenario_to_toml(plan.scenario)))):
        if not (outdir / name).is_file():
            with atomic_file(outdir / name) as tmp:
                write(tmp)
    if branch:
        tasks = with_branches(tasks)
    run_tasks(store, execution_order(tasks), executor, outcomes=plan.spec.outcomes,
              title=title, quiet=quiet, retry_failed=retry_failed)
    runs = store.write_runs(tasks, plan.spec.outcomes)
    return store, runs


def sweep(spec: SweepSpec | str | Path, executor: Executor, *, out: str | Path | None = None,
          resume: bool = False, force: bool = False, retry_failed: bool = False,
          quiet: bool = True, shard: Shard | str | None = None, branch: bool = True,
          snapshots: list[str] | str | None = None) -> tuple[Path, Any]:
    """Run a sweep file (or spec); returns ``(output directory, runs table)``.

    With ``shard`` (``"I/N"``), only that shard's runs; the directory returned is the shard's.
    ``branch=False``: every run from the start (see :func:`run_plan`). ``snapshots``
    (``--snapshot``; months, or one comma-separated string) sets the spec's ``snapshots``
    key; a file that sets it too is refused.
    """
    shard = parse_shard(shard) if isinstance(shard, str) else shard
    base_dir = None
    source = "sweep"
    if not isinstance(spec, SweepSpec):
        source = Path(spec).name
        spec, base_dir = load_spec(spec)
    if snapshots:
        from ..api import snapshot_dates

        if spec.snapshots:
            raise AllegianceError(f"--snapshot: {source} sets snapshots already; give the "
                                  "dates in one place")
        # checked here to name the flag; the plan checks them again (cheaply)
        dates = snapshot_dates(resolve_scenario(spec, base_dir, source), snapshots,
                               scale=spec.scale)
        spec = spec.model_copy(update={"snapshots": dates})
    plan = Plan(spec, base_dir, source)
    outdir = default_out(spec, out)
    with claim_experiment(outdir, shard, resume=resume, force=force):
        store, runs = run_plan(plan, outdir, executor, resume=resume, force=force,
                               retry_failed=retry_failed, quiet=quiet, shard=shard,
                               branch=branch)
    return store.dir, runs
