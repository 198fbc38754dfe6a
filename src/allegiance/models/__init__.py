"""The models the engine runs: the CPSU flagship (``cpsu``), the classic models of collective
action (``classic``) and a test function for sensitivity analysis (``ishigami``). They are
looked up by name in :mod:`allegiance.registry`."""

from __future__ import annotations

from ..registry import MODELS, model_class

__all__ = ["MODELS", "model_class"]
