"""What one phase of the month hands to a later one: the :class:`Carry`."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np

from ...mechanisms import recruitment as m1
from ...mechanisms.context import Context


@dataclass
class NextStocks:
    """Next month's stocks of the whole population and its natural deaths, as
    ``learning_pass`` took them (valid for the month, compactions and slots of ``key``)."""

    key: tuple[int, int, int]  #: (step, compactions, slots) for which they hold
    lanes: np.ndarray
    whole: np.ndarray  #: per lane, the columns :data:`.stocks.NEXT`
    dying: np.ndarray  #: per lane, the slots of next month's natural deaths
    ndying: np.ndarray  #: per lane, how many (-1: the list overflowed)


@dataclass
class TrustSums:
    """M7's workplace sums of trust that the month's one pass (``run.m7_order =
    "synchronous"``) added up for the next month to learn from."""

    key: int  #: the step that may use them (the next month's)
    mark: int  #: the agents with a uid below this were alive at the pass, and are in the sums
    sums: np.ndarray  #: per workplace, packed fixed-point sum and count (``_common.packed``)


@dataclass
class Applicants:
    """This month's decisions to apply (``learning``), for ``admissions``."""

    terms: m1.Terms
    wsum: np.ndarray  #: per chunk, the applicants' vetting weights
    napp: np.ndarray  #: per chunk, the applicants
    listed: np.ndarray  #: per chunk, their slots (as many as fit)


@dataclass
class Carry:
    """Everything one phase hands to a later one. Each field is written by one phase and read
    by one later phase, which consumes it; nothing else passes between phases.

    ================  ====================================  ===============================
    field             written by                            read by
    ================  ====================================  ===============================
    ``ctx``           ``context``                           every later phase of the month
    ``deaths``        ``record`` (stocks pass)              ``demography``, same month
    ``member_sums``   ``record`` (stocks pass)              ``members``, same month
    ``applicants``    ``learning`` (``applications``)       ``admissions``, same month
    ``next_stocks``   ``learning`` (``adults``)             ``record`` of the next month
    ``trust_sums``    ``adults`` (synchronous M7 only)      ``adults`` of the next month
    ================  ====================================  ===============================

    In brackets: the writer with synchronous M7 (``run.m7_order``, the default) where it is
    not the sequential month's. ``trust_sums`` is dropped by an event that changes trust (a
    shock); the next ``adults`` then takes the sums again before its pass.
    """

    #: fields made anew every month before any phase reads them: not in a checkpoint (which
    #: is taken between months); every other field is saved and restored by name
    MONTHLY: ClassVar[tuple[str, ...]] = ("ctx",)

    ctx: Context | None = None
    #: this month's natural deaths and those of members, when the stocks pass drew them
    deaths: tuple[int, int] | None = None
    #: M5 weight totals (members, cadres), when the stocks pass took the members' sums (their
    #: M4 workplace sums are then in lane 0 of the first lane buffer)
    member_sums: tuple[float, float] | None = None
    applicants: Applicants | None = None
    next_stocks: NextStocks | None = None
    trust_sums: TrustSums | None = None

    def checkpoint_state(self) -> dict[str, Any]:
        """Every field but the :attr:`MONTHLY` ones (a checkpoint is taken between months)."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in self.MONTHLY}

    def restore_state(self, saved: dict[str, Any]) -> None:
        """Put back :meth:`checkpoint_state`; the monthly fields start empty."""
        for f in fields(self):
            setattr(self, f.name, saved[f.name] if f.name not in self.MONTHLY else None)
