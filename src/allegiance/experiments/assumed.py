"""Sensitivity designs drawn from a scenario's own plausible ranges (``--assumed``).

A scenario's ``[ranges]`` table gives each assumed parameter a plausible ``[lo, hi]`` and the
reason for it (:class:`allegiance.scenario.ParamRange`). ``allegiance sensitivity cpsu
--assumed`` turns that table into a sensitivity file (:class:`~.sweep.SweepSpec`) and runs it
through the ordinary machinery (executors, resumable store, ``--shard``/``merge``)::

    allegiance sensitivity cpsu --assumed --method morris --trajectories 10 --scale 1e-4
    allegiance sensitivity cpsu --assumed --method sobol --samples 64 \\
        --screening runs/cpsu_assumed_morris --top 6

The first screens every assumed parameter with Morris (``trajectories * (D + 1)`` runs); the
second computes Sobol indices for the six that mattered most in that screening
(:func:`allegiance.experiments.sensitivity.ranking`). ``--params a,b`` names them instead.
``allegiance sweep cpsu --assumed --samples 400`` draws a Latin hypercube over the same ranges:
the space-filling sample that scenario discovery (``allegiance discover``) reads best.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import AllegianceError, ScenarioError
from .sweep import SweepSpec, parse_spec

#: outcomes analysed when ``--outputs`` is not given, by model: for the CPSU, what the essay's
#: thesis rests on: the defenders at the crisis, the committed members and the attitudes on
#: the eve of the forecast, the 1990 exodus, and the fit to the membership data (<= 1988)
DEFAULT_OUTCOMES: dict[str, list[str]] = {
    "cpsu": ["forecast.crisis.defenders_members", "forecast.crisis.opponents_nonmembers",
             "headline.committed_members_1989_01_01", "forecast.exits_1990",
             "attitudes.mean_belief_members_1989_01_01",
             "attitudes.mean_trust_adults_1989_01_01", "fit.value"],
    "ishigami": ["y"],
}
#: default design size: Morris trajectories, Sobol base samples (a power of 2), Latin
#: hypercube points (``allegiance sweep SCENARIO --assumed``: the sample for discovery)
DEFAULT_SAMPLES = {"morris": 10, "sobol": 64, "lhs": 200}


def screened(directory: str | Path, top: int) -> list[str]:
    """The ``top`` parameters of a finished screening (a sensitivity directory), the most
    influential first."""
    import pandas as pd

    from .sensitivity import ranking

    p = Path(directory) / "sensitivity.parquet"
    if not p.is_file():
        raise AllegianceError(f"--screening {directory}: no sensitivity.parquet there (a "
                              "finished `allegiance sensitivity` directory is needed)")
    return ranking(pd.read_parquet(p))[:top]


def assumed_spec(scenario: str, *, method: str = "morris", params: list[str] | None = None,
                 samples: int | None = None, scale: float | None = None,
                 seed: int | None = None, outcomes: list[str] | None = None,
                 overrides: list[str] | None = None, levels: int = 4,
                 second_order: bool = False, replicates: int = 1, timeseries: bool = False,
                 name: str | None = None, common_random_numbers: bool | None = None
                 ) -> SweepSpec:
    """A sensitivity file over a scenario's ranged (assumed) parameters.

    Args:
        scenario: bundled name or file.
        method: ``"morris"``, ``"sobol"`` or ``"lhs"`` (a sweep).
        params: only these ranged parameters (default: all of them).
        samples: Morris trajectories or Sobol base samples (default
            :data:`DEFAULT_SAMPLES`).
        outcomes: dotted summary paths (default :data:`DEFAULT_OUTCOMES` of the model).
        overrides: ``key=value`` items fixed for every run (a ranged parameter fixed here is
            not varied).
        common_random_numbers: every point runs with the same seed(s) (default: yes for
            Morris and Sobol, whose indices are differences between points, so a model's own
            noise does not pass for a parameter's effect; no for a Latin hypercube, a sample
            of the space with its noise).

    Raises:
        ScenarioError: a scenario without ranges, an unknown parameter, a bad option (one
            line each, naming it).
    """
    from ..scenario import load_scenario, parse_set

    if method not in DEFAULT_SAMPLES:
        raise ScenarioError(f"--method {method}: allowed: {', '.join(DEFAULT_SAMPLES)}")
    sets: dict[str, Any] = {}
    for item in overrides or []:
        path, value = parse_set(item)
        sets[".".join(path)] = value
    sc = load_scenario(scenario, sets)
    ranges = getattr(sc, "ranges", None)
    if not ranges:
        raise ScenarioError(f"--assumed: scenario '{sc.name}' has no [ranges] table (the "
                            "plausible ranges of its assumed parameters; see cpsu.toml)")
    chosen = sc.assumed(params)
    chosen = {k: r for k, r in chosen.items() if k not in sets}
    if len(chosen) < 2:
        raise ScenarioError(f"--params: {len(chosen)} ranged parameter(s) left to vary (after "
                            "those fixed by --set); a sensitivity analysis needs at least 2")
    if outcomes is None:
        outcomes = DEFAULT_OUTCOMES.get(sc.model)
        if outcomes is None:
            raise ScenarioError(f"--outputs: name the outcomes to analyse (model "
                                f"'{sc.model}' has no default list)")
    n = samples if samples is not None else DEFAULT_SAMPLES[method]
    crn = (method != "lhs") if common_random_numbers is None else common_random_numbers
    raw: dict[str, Any] = {
        "name": name or f"{sc.name}_assumed_{method}",
        "description": f"{method} over the plausible ranges of {sc.name}'s assumed parameters",
        "scenario": scenario, "seed": int(sc.run.seed if seed is None else seed),
        "replicates": replicates, "common_random_numbers": crn, "outcomes": outcomes,
        "timeseries": timeseries,
        "set": sets,
        "design": {"method": method, "samples": n, "second_order": second_order,
                   "levels": levels},
        "parameters": {k: {"low": r.range[0], "high": r.range[1], "integer": r.integer}
                       for k, r in chosen.items()},
    }
    if scale is not None:
        raw["scale"] = scale
    spec = parse_spec(raw, "--assumed")
    spec._loaded = ((spec.scenario, spec.set), sc)  # the runs use it: the file is read once
    return spec
