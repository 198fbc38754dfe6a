"""allegiance: agent-based simulation of commitment in very large membership organizations.

Public API::

    import allegiance
    result = allegiance.run("cpsu", seed=1, scale=0.001)
    result.timeseries          # pandas DataFrame, one row per month, persons
    result.summary["forecast"] # the out-of-sample 1989-1991 forecast
    result.save("runs/cpsu")
    allegiance.load("runs/cpsu")

Heavy modules (numba, pandas) load on first use, so importing the package is cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from .version import __version__

__all__ = [
    "AllegianceError",
    "Result",
    "ScenarioError",
    "__version__",
    "bundled_names",
    "load",
    "load_scenario",
    "run",
]

_LAZY = {
    "run": "allegiance.api",
    "load": "allegiance.results",
    "Result": "allegiance.results",
    "load_scenario": "allegiance.scenario",
    "bundled_names": "allegiance.scenario",
    "AllegianceError": "allegiance.errors",
    "ScenarioError": "allegiance.errors",
}

if TYPE_CHECKING:  # pragma: no cover
    from .api import run
    from .errors import AllegianceError, ScenarioError
    from .results import Result, load
    from .scenario import bundled_names, load_scenario


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'allegiance' has no attribute {name!r}")
