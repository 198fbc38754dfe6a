"""Sweeps over post-date levers and events branch from a shared prefix.

When the points of a design differ only in what acts from some month on (for ``cpsu``: the
values or dates of events and lever holds dated then or later, and ``run.end``; see
:meth:`allegiance.engine.Model.branch_key`) and run with the same seed (``common_random_numbers
= true``), their runs are one run up to that month. :func:`branch_points` finds, for each run,
that month — the *branch point* of its group — and the worker running it
(:func:`allegiance.experiments.store.execute`) keeps a snapshot of the state there in memory
(:class:`allegiance.checkpoint.SnapshotCache`, bounded, one per worker process): the first run
of a group a worker gets runs from the start and keeps its state at the branch point; the
others go on from that state. The results are the same byte for byte (every draw is keyed by
seed, stream, step and agent), and each run's line in ``index.jsonl`` says where it branched.

Finding the branch points costs a few validations of the scenario per parameter, not per run:
each parameter is tried alone at its design values (all of them, up to :data:`PROBES`, else
its range's ends) to find the latest step up to which its value does not matter (its
*horizon*; 0 when it acts from the start). Runs with the same seed, scale and values of the
parameters that act from the start form a group; its branch point is the earliest horizon of
the parameters that vary within it. This is a plan, not a promise: a run checks its own
scenario's :func:`~allegiance.checkpoint.prefix_key` at the branch point, so a wrong plan
costs time, never a different result.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from .store import RunTask

#: design values of a parameter tried to find its horizon (more: its lowest and highest)
PROBES = 8


def _horizons(scenario: dict[str, Any], parameters: dict[str, list[Any]]) -> dict[str, int]:
    """Each parameter's horizon (steps of the base scenario's run; 0: acts from the start)."""
    from ..checkpoint import common_prefix
    from ..errors import AllegianceError
    from ..registry import model_class
    from ..scenario import load_scenario

    cls = model_class(scenario["model"])
    if cls.checkpoint_derived is None:
        return dict.fromkeys(parameters, 0)
    base = load_scenario(scenario)
    model = cls(base, seed=base.run.seed, scale=base.run.scale)
    out = {}
    for key, values in parameters.items():
        vals = sorted(set(values), key=repr)
        if len(vals) > PROBES:
            nums = [v for v in vals if isinstance(v, int | float)]
            vals = [min(nums), max(nums)] if len(nums) == len(vals) else vals[:PROBES]
        try:
            dicts = [load_scenario(base, {key: v}).to_dict() for v in vals]
        except AllegianceError:  # a value valid only with others of the point: no plan
            out[key] = 0
            continue
        out[key] = common_prefix(cls, model, dicts)
    return out


def branch_points(tasks: Sequence[RunTask]) -> dict[int, tuple[str, int]]:
    """``{run_id: (step label, group)}``: where each run whose group shares a prefix branches,
    and its group's number (runs alone in their group, or in groups sharing nothing, are left
    out)."""
    groups: dict[tuple, list[RunTask]] = defaultdict(list)
    for t in tasks:
        groups[(t.seed, t.scale)].append(t)
    if not any(len(g) > 1 for g in groups.values()):
        return {}  # every run has its own seed: nothing to share
    scenario = tasks[0].scenario
    if any(t.scenario is not scenario and t.scenario != scenario for t in tasks):
        return {}
    values: dict[str, list[Any]] = defaultdict(list)
    for t in tasks:
        for k, v in t.params.items():
            values[k].append(v)
    if not values:
        return {}
    horizon = _horizons(scenario, values)
    early = [k for k in values if horizon[k] == 0]
    late = [k for k in values if horizon[k] > 0]
    if not late:
        return {}
    from ..registry import model_class
    from ..scenario import load_scenario

    base = load_scenario(scenario)
    model = model_class(base.model)(base, seed=base.run.seed, scale=base.run.scale)
    classes: dict[tuple, list[RunTask]] = defaultdict(list)
    for t in tasks:
        pre = json.dumps([t.params.get(k) for k in early], default=str)
        classes[(t.seed, t.scale, pre)].append(t)
    out: dict[int, tuple[str, int]] = {}
    for group, members in enumerate(classes.values()):
        if len(members) < 2:
            continue
        varying = [k for k in late if len({json.dumps(m.params.get(k), default=str)
                                           for m in members}) > 1]
        step = min(horizon[k] for k in (varying or late))
        label = model.step_label(step)
        for m in members:
            out[m.run_id] = (label, group)
    return out


def with_branches(tasks: Sequence[RunTask]) -> list[RunTask]:
    """The tasks with their branch points set (:func:`branch_points`)."""
    import dataclasses

    points = branch_points(tasks)
    return [dataclasses.replace(t, branch_at=points[t.run_id][0],
                                branch_group=points[t.run_id][1])
            if t.run_id in points else t for t in tasks]


def execution_order(tasks: Sequence[RunTask]) -> list[RunTask]:
    """The tasks with each group sharing a branch point together (in run-id order), groups in
    the order of their first run, runs that branch nowhere last: a worker then runs a group's
    runs one after another from the snapshot it keeps (the pool and Dask hand tasks out in
    this order; the serial executor runs each group's prefix once)."""
    return sorted(tasks, key=lambda t: (t.branch_group < 0, t.branch_group, t.run_id))
