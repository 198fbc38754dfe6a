"""Classic models of collective action, run on the same engine as the CPSU model.

- :mod:`.granovetter` — Granovetter (1978) threshold model of collective behaviour;
- :mod:`.kuran` — Kuran (1991) preference falsification, revolutionary thresholds, hysteresis;
- :mod:`.epstein` — Epstein (2002) civil violence, Model I (arrest rules as printed, rounded,
  floored), and the outburst records of both models;
- :mod:`.epstein2` — Epstein (2002) Model II: two groups, inter-group killing, cloning, ageing;
- :mod:`.emperor` — Centola, Willer & Macy (2005) "The Emperor's Dilemma": unpopular norms
  enforced by false believers, on a lattice with optional random long ties, or fully connected.

Each is a :class:`~allegiance.engine.Model` with a bundled scenario (``allegiance run
granovetter``, ``allegiance run kuran``, ``allegiance run emperor``), plus pure functions that
reproduce the papers' published numbers (see ``docs/VALIDATION.md``). These models have a fixed
population given by the scenario: ``run.scale`` is accepted (``allegiance.run`` passes it) but
does not change N.
"""

from __future__ import annotations

from pydantic import Field

from ...scenario import Frozen

__all__ = ["FixedRun"]


class FixedRun(Frozen):
    """Run settings of a fixed-population model.

    ``scale`` is accepted for the engine's common interface and recorded in the manifest, but the
    number of agents is set by the scenario itself (a published experiment has a fixed N).
    """

    seed: int = Field(1, ge=0, le=2**63 - 1, description="root seed of the counter-based draws")
    scale: float = Field(1.0, gt=0, le=1,
                         description="accepted but unused: N is given by the scenario")
    steps: int = Field(100, ge=1, le=1_000_000, description="steps (rounds) to run")
