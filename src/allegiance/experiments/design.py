"""Experimental designs: which parameter values each point of an experiment runs.

* ``factorial`` — every combination of the listed values (``"levers.openness" = [0.1, 0.5]``);
* ``lhs`` — a Latin hypercube of ``samples`` points over ranges (``{low = 0, high = 1}``),
  from ``scipy.stats.qmc.LatinHypercube`` seeded with the experiment's root seed;
* ``sobol`` — Saltelli's scheme for Sobol indices (``SALib.sample.sobol``), ``samples`` base
  points (a power of 2), ``samples * (D + 2)`` points, or ``samples * (2D + 2)`` with
  ``second_order = true``;
* ``morris`` — Morris's elementary-effects screening (``SALib.sample.morris``): ``samples``
  trajectories of ``D + 1`` points each on a grid of ``levels`` levels, ``samples * (D + 1)``
  points: the cheap first pass over many parameters before Sobol on the few that matter.

Only the parameters named in the design vary; everything else is the scenario's. A range may be
``integer = true`` (values rounded, e.g. months of candidacy).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from ..scenario import Frozen


class Range(Frozen):
    """A continuous range ``[low, high]`` for LHS and Sobol designs."""

    low: float
    high: float
    integer: bool = False

    @model_validator(mode="after")
    def _order(self):
        if not self.high > self.low:
            raise ValueError(f"high ({self.high}) must be greater than low ({self.low})")
        return self


class Design(Frozen):
    """How the points of an experiment are chosen."""

    method: Literal["factorial", "lhs", "sobol", "morris"] = "factorial"
    samples: int | None = Field(None, ge=1, description=(
        "LHS points, Sobol base samples or Morris trajectories"))
    second_order: bool = False
    levels: int = Field(4, ge=2, le=64, description="Morris: grid levels (even)")


Value = float | int | bool | str


def flatten_parameters(raw: Any, prefix: str = "") -> Any:
    """``[parameters.levers] openness = [...]`` -> ``{"levers.openness": [...]}``.

    A table whose keys are those of :class:`Range` is a range, not a sub-table.
    """
    if not isinstance(raw, dict):
        return raw
    out: dict[str, Any] = {}
    for k, v in raw.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v and not set(v) <= set(Range.model_fields):
            out.update(flatten_parameters(v, key + "."))
        else:
            out[key] = v
    return out


def check_design(design: Design, parameters: dict[str, Any]) -> list[str]:
    """Problems with a design and its parameters, one line each (key named)."""
    problems = []
    if not parameters:
        return problems
    for k, v in parameters.items():
        if design.method == "factorial" and not isinstance(v, list):
            problems.append(f"parameters.{k}: a factorial design needs a list of values")
        if design.method != "factorial" and not isinstance(v, Range):
            problems.append(f"parameters.{k}: a '{design.method}' design needs a range "
                            "{low = ..., high = ...}")
        if isinstance(v, list) and not v:
            problems.append(f"parameters.{k}: the list of values is empty")
    if design.method != "factorial" and design.samples is None:
        problems.append(f"design.samples: required for method = '{design.method}'")
    if design.method == "sobol" and design.samples is not None:
        n = design.samples
        if n & (n - 1):
            problems.append(f"design.samples = {n}: Sobol designs need a power of 2 "
                            f"(e.g. {1 << max(n.bit_length() - 1, 1)} or {1 << n.bit_length()})")
    if design.method == "morris" and design.levels % 2:
        problems.append(f"design.levels = {design.levels}: Morris designs need an even number "
                        "of levels (e.g. 4)")
    if design.method in ("sobol", "morris") and len(parameters) < 2:
        problems.append(f"parameters: a {design.method.capitalize()} design needs at least 2 "
                        "parameters")
    return problems


def design_size(design: Design, parameters: dict[str, Any]) -> int:
    """How many points :func:`build_points` will make, computed without making them (so an
    experiment too large is refused before anything is allocated)."""
    import math

    if not parameters:
        return 1
    if design.method == "factorial":
        return math.prod(len(v) if isinstance(v, list) else 1 for v in parameters.values())
    n = int(design.samples or 1)
    if design.method == "lhs":
        return n
    d = len(parameters)
    return n * (2 * d + 2 if design.second_order else d + 2)


def salib_problem(parameters: dict[str, Range]) -> dict[str, Any]:
    """The SALib problem dictionary of ranged parameters (in their file order)."""
    return {"num_vars": len(parameters), "names": list(parameters),
            "bounds": [[r.low, r.high] for r in parameters.values()]}


def build_points(design: Design, parameters: dict[str, Any], seed: int) -> list[dict[str, Any]]:
    """The design's points, each a ``{dotted key: value}`` dict, in a fixed order."""
    import itertools

    import numpy as np

    names = list(parameters)
    if not names:
        return [{}]
    if design.method == "factorial":
        return [dict(zip(names, combo, strict=True))
                for combo in itertools.product(*(parameters[n] for n in names))]
    ranges: list[Range] = [parameters[n] for n in names]
    if design.method == "lhs":
        from scipy.stats import qmc

        u = qmc.LatinHypercube(d=len(names), seed=np.random.default_rng(seed)).random(
            int(design.samples or 1))
        lo = np.array([r.low for r in ranges])
        hi = np.array([r.high for r in ranges])
        x = lo + u * (hi - lo)
    elif design.method == "morris":
        from SALib.sample import morris

        x = morris.sample(salib_problem(parameters), int(design.samples or 1),
                          num_levels=design.levels, seed=seed % 2**32)
    else:
        from SALib.sample import sobol

        x = sobol.sample(salib_problem(parameters), int(design.samples or 1),
                         calc_second_order=design.second_order, seed=seed)
    points = []
    for row in x:
        pt: dict[str, Any] = {}
        for n, r, v in zip(names, ranges, row, strict=True):
            pt[n] = round(float(v)) if r.integer else float(v)
        points.append(pt)
    return points
