"""Registry of the models the engine runs, imported lazily so ``--help`` stays fast.

A low-level module (it imports no model): the scenario loader, the API and the dashboard
look a model up here by name, and only then is its package imported.

Each entry maps the ``model = "..."`` value of a scenario file to the class implementing it.
"""

from __future__ import annotations

from importlib import import_module

MODELS: dict[str, str] = {
    "cpsu": "allegiance.models.cpsu:CpsuModel",
    "granovetter": "allegiance.models.classic.granovetter:GranovetterModel",
    "kuran": "allegiance.models.classic.kuran:KuranModel",
    "emperor": "allegiance.models.classic.emperor:EmperorModel",
    "ishigami": "allegiance.models.ishigami:IshigamiModel",
    "epstein": "allegiance.models.classic.epstein:EpsteinModel",
    "epstein2": "allegiance.models.classic.epstein2:Epstein2Model",
}


def model_class(name: str):
    """The model class registered under ``name``."""
    module, _, attr = MODELS[name].partition(":")
    return getattr(import_module(module), attr)
