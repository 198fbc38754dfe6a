"""The CPSU model's scenario schema: run settings, the party at the start, levers, mechanism
parameters and dated events. A scenario file (``scenarios/cpsu.toml``) is validated against
:class:`CpsuScenario`; every field says what it means and what values it allows."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from ...calendar import month_label, parse_month
from ...mechanisms import commitment as m12
from ...mechanisms import crisis as m10
from ...mechanisms import demography as m2
from ...mechanisms import elite as m8
from ...mechanisms import exit as m9
from ...mechanisms import legitimacy as m6
from ...mechanisms import openness as m7
from ...mechanisms import privilege as m5
from ...mechanisms import recruitment as m1
from ...mechanisms import remedies as m11
from ...mechanisms import ritual as m4
from ...mechanisms import shocks as m3
from ...scenario import (
    EventBase,
    Frozen,
    KeyPathError,
    Month,
    ScenarioBase,
    check_month,
    format_errors,
    suggest,
)


class Levers(Frozen):
    """Time-varying conditions and policies; initial values here, changes as ``lever`` events."""

    admission_rate: float = Field(0.0, ge=0, le=0.2,
                                  description="admission quota per year, as a share of adults")
    selectivity: float = Field(0.5, ge=0, le=1,
                               description="how strongly vetting favours believers")
    candidacy_months: float = Field(12, ge=0, le=60,
                                    description="months of candidacy before full membership")
    danger: float = Field(0.0, ge=0, le=1,
                          description="danger of being a member (repression, civil war)")
    mobilization: float = Field(0.0, ge=0, le=1,
                                description="pressure of enrolment drives (war, Lenin Enrolment)")
    privilege: float = Field(0.0, ge=0, le=1, description="material value of membership and office")
    openness: float = Field(0.0, ge=0, le=1, description="freedom to speak and to see (glasnost)")
    ritualization: float = Field(0.0, ge=0, le=1, description="ideology recited but not lived")
    performance: float = Field(0.0, ge=-1, le=1,
                               description="economic performance as people feel it")
    cadre_stability: float = Field(0.0, ge=0, le=1,
                                   description="protection of office-holders from rotation")
    outside_option: float = Field(0.0, ge=0, le=1,
                                  description="chance to convert office into private wealth")
    exit_cost: float = Field(1.0, ge=0, le=2, description=(
        "cost of leaving the party at openness 0 (M9: openness and others' exits lower it)"))
    theory_study: float = Field(0.0, ge=0, le=1, description="remedy: real study of theory (M11)")
    contact: float = Field(0.0, ge=0, le=1, description="remedy: contact with the people (M11)")
    criticism: float = Field(0.0, ge=0, le=1,
                             description="remedy: criticism and self-criticism (M11)")
    history_education: float = Field(0.0, ge=0, le=1,
                                     description="remedy: scientific attitude to history (M11)")


LEVER_NAMES = tuple(Levers.model_fields)
LeverName = Literal[LEVER_NAMES]  # type: ignore[valid-type]


def lever_range(lever: str) -> tuple[float | None, float | None]:
    """The ``[lo, hi]`` a lever's values must lie in (from its field in :class:`Levers`)."""
    f = Levers.model_fields[lever]
    lo = next((m.ge for m in f.metadata if hasattr(m, "ge")), None)
    hi = next((m.le for m in f.metadata if hasattr(m, "le")), None)
    return lo, hi


class LeverEvent(EventBase):
    """Set a lever to a value, at once or along a linear ramp."""

    type: Literal["lever"]
    lever: LeverName
    value: float
    ramp_months: int = Field(0, ge=0, le=600)

    @model_validator(mode="after")
    def _in_range(self):
        lo, hi = lever_range(self.lever)
        if (lo is not None and self.value < lo) or (hi is not None and self.value > hi):
            raise ValueError(f"lever {self.lever} value {self.value} outside allowed [{lo}, {hi}]")
        return self


def _month_text(v: Any) -> Any:
    """A date TOML or ``--set`` gave as a date or a year (``1956-02-25``, ``1956``) as text."""
    if hasattr(v, "year") and hasattr(v, "month"):
        return f"{v.year:04d}-{v.month:02d}"
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return v


class Hold(Frozen):
    """Hold a lever at a value from a month on, whatever the scenario's events of that lever
    dated in the held months say (they are applied to the lever underneath and reported as
    overridden); a scenario's [hold.<lever>] table, or --set hold.<lever>.from=YYYY-MM and
    --set hold.<lever>.value=v."""

    model_config = ConfigDict(extra="forbid", frozen=True, serialize_by_alias=True)

    from_: Month = Field(alias="from", description=(
        "first month held (YYYY-MM): the value holds from that month on, after its events"))
    value: float = Field(description="the lever's value while held, within the lever's range")
    until: Month | None = Field(None, description=(
        "last month held (default: to the end of the run); from the month after, the lever "
        "has the value the scenario's events give it"))
    enabled: bool = True
    note: str = ""

    _text = field_validator("from_", "until", mode="before")(
        classmethod(lambda cls, v: _month_text(v)))
    _dates = field_validator("from_", "until")(
        classmethod(lambda cls, v: v if v is None else check_month(v)))


class ShockEvent(EventBase):
    """An ideological shock (M3): proportional change of belief and/or trust."""

    type: Literal["shock"]
    belief: float = Field(0.0, ge=-1, le=1)
    trust: float = Field(0.0, ge=-1, le=1)
    target: Literal["all", "members", "nonmembers"] = "all"
    born_before: str | None = None
    born_after: str | None = None
    other_exposure: float = Field(1.0, ge=0, le=1)

    _dates = field_validator("born_before", "born_after")(
        classmethod(lambda cls, v: v if v is None else check_month(v)))


class PurgeEvent(EventBase):
    """A purge: members expelled over some months, weighted towards a target.

    What is expelled, over ``months``: ``share`` alone, that share of the members and
    candidates (compounded month by month on those present); ``share`` with ``checked``, that
    share of the persons checked (share · checked persons, the same number each month);
    ``count``, that many persons (the same number each month). Persons are scaled by the run's
    scale. Whom: each member is taken with a chance in proportion to its weight for ``target``
    (at most certainty)."""

    type: Literal["purge"]
    share: float | None = Field(None, ge=0, le=1, description=(
        "share expelled: of the members and candidates, or, with checked, of those checked"))
    checked: float | None = Field(None, gt=0, description=(
        "persons checked (the record's number, unscaled); share applies to them"))
    count: float | None = Field(None, ge=0, description=(
        "persons expelled (the record's number, unscaled), instead of share"))
    months: int = Field(1, ge=1, le=120)
    target: Literal[m1.PURGE_TARGETS] = "random"  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _payload(self):
        if self.count is not None and (self.share is not None or self.checked is not None):
            raise ValueError("give either count (persons expelled) or share (with checked: "
                             "of the persons checked), not both")
        if self.count is None and self.share is None:
            raise ValueError("a purge needs share (of the members, or with checked of the "
                             "persons checked) or count (persons expelled)")
        return self

    def persons(self) -> float | None:
        """Persons expelled over the whole purge (unscaled), or ``None`` for a share of the
        members."""
        if self.count is not None:
            return self.count
        if self.checked is not None:
            return self.share * self.checked
        return None

    def what(self) -> str:
        """What is expelled, in words (``18.3% of 1,916,500 checked``)."""
        if self.count is not None:
            return f"{self.count:,.0f} persons"
        if self.checked is not None:
            return f"{self.share:.1%} of {self.checked:,.0f} checked"
        return f"{self.share:.1%}"


class MortalityEvent(EventBase):
    """Excess deaths among members (war losses), a share over some months."""

    type: Literal["mortality"]
    share: float = Field(ge=0, le=1)
    months: int = Field(1, ge=1, le=120)


class CrisisEvent(EventBase):
    """A challenge to the regime (M10): the crisis cascade is run this month.

    The instigators exist whatever anyone leans to; everyone else decides in the cascade. The
    risks are dangers that the security forces make real: repression of the challenger's side
    by the units that obey, danger to the regime's side from the units that refuse."""

    type: Literal["crisis"]
    defender_seed: float = Field(0.0, ge=0, le=1,
                                 description="share of the elite tier (not converted) that acts "
                                             "for the regime from the start (its organisers); "
                                             "plausible 0-0.05")
    challenger_seed: float = Field(0.0, ge=0, le=1,
                                   description="share of adults in the organised opposition, "
                                               "acting from the start; plausible 0-0.005")
    risk_defend: float = Field(0.0, ge=0, le=1,
                               description="added threshold for defending when every unit "
                                           "refused (scaled by the refusing share); plausible "
                                           "0-0.2")
    risk_oppose: float = Field(0.0, ge=0, le=1,
                               description="added threshold for opposing when every unit obeys "
                                           "(repression, scaled by the obeying share); "
                                           "plausible 0-0.2")


class DissolutionEvent(EventBase):
    """The party is banned or dissolves itself: every member loses membership."""

    type: Literal["dissolution"]


Event = Annotated[
    LeverEvent | ShockEvent | PurgeEvent | MortalityEvent | CrisisEvent | DissolutionEvent,
    Field(discriminator="type"),
]


#: birth and join months are int16 month numbers: runs must lie within these months (the
#: start leaves room for initial ages up to 100 years)
MAX_MONTH = np.iinfo(np.int16).max
MIN_MONTH = np.iinfo(np.int16).min + 100 * 12


#: the fewest agents a run may start with: a scale that leaves fewer is refused (at 1917's
#: population, scales from about 7e-7 up)
MIN_AGENTS = 100


def persons_at(month: int) -> float:
    """Persons at ``month`` on the census series (log-linear between the censuses, the first
    or last census outside them)."""
    from ... import data

    pop = data.population_series()
    x = np.array([p[0] for p in pop], dtype=np.float64)
    y = np.log(np.array([p[1] for p in pop], dtype=np.float64))
    return float(np.exp(np.interp(month, x, y)))


class RunSettings(Frozen):
    """Calendar, seed and scale of a run."""

    start: str = "1917-11"
    end: str = "1991-12"
    seed: int = Field(1917, ge=0, le=2**63 - 1)
    scale: float = Field(0.01, gt=0, le=1, description="agents per person")
    engine: Literal["fused", "reference"] = Field(
        "fused", description="how a month is executed: 'fused' (a few compiled passes over the "
                             "agents; the default) or 'reference' (one plain loop per phase; "
                             "slower, the same results)")
    m7_order: Literal["synchronous", "sequential"] = Field(
        "synchronous", description="when M7's social learning reads the workplace means: "
        "'synchronous' (last month's, so one pass over the agents does the month; the default "
        "since issue 18) or 'sequential' (this month's, after M4 and M6: the order before, "
        "kept for one release)")

    _dates = field_validator("start", "end")(classmethod(lambda cls, v: check_month(v)))

    @model_validator(mode="after")
    def _order(self):
        if parse_month(self.end) < parse_month(self.start):
            raise ValueError(f"end {self.end} is before start {self.start}")
        if parse_month(self.end) > MAX_MONTH:
            # birth and join months are stored as int16 month numbers (year · 12 + month − 1)
            raise ValueError(f"end {self.end} is after {month_label(MAX_MONTH)}, the last month "
                             "the model can represent")
        if parse_month(self.start) < MIN_MONTH:
            raise ValueError(f"start {self.start} is before {month_label(MIN_MONTH)}, the first "
                             "month the model can represent")
        persons = persons_at(parse_month(self.start))
        if persons * self.scale < MIN_AGENTS:
            raise KeyPathError(
                f"run.scale = {self.scale:g}: leaves {persons * self.scale:.3g} agents for the "
                f"{persons:,.0f} persons of {self.start}; allowed: a scale that gives at least "
                f"{MIN_AGENTS} agents (from {MIN_AGENTS / persons:.2g} up)")
        return self


class Initial(Frozen):
    """The party at the start."""

    members: float = Field(350_000, ge=0, description="members + candidates at the start")
    member_belief_boost: float = Field(0.35, ge=0, le=1,
                                       description="how far above the population mean the founding "
                                                   "members' belief is")


class Mechanisms(Frozen):
    """Parameters of each mechanism (see :mod:`allegiance.mechanisms`).

    Besides the twelve built-in mechanisms, a table may add a mechanism of one's own: a table
    with ``module = "package.module"`` (or a path to a ``.py`` file) naming a module with the
    mechanism interface and a ``phase`` (see ``docs/ARCHITECTURE.md``); its other keys are that
    module's ``Params``.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    recruitment: m1.Params = m1.Params()
    demography: m2.Params = m2.Params()
    shocks: m3.Params = m3.Params()
    ritual: m4.Params = m4.Params()
    privilege: m5.Params = m5.Params()
    legitimacy: m6.Params = m6.Params()
    openness: m7.Params = m7.Params()
    elite: m8.Params = m8.Params()
    exit: m9.Params = m9.Params()
    crisis: m10.Params = m10.Params()
    remedies: m11.Params = m11.Params()
    commitment: m12.Params = m12.Params()

    @model_validator(mode="before")
    @classmethod
    def _addons(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for name, table in data.items():
            if name in cls.model_fields:
                continue
            built_in = ", ".join(cls.model_fields)
            if not isinstance(table, dict) or "module" not in table:
                raise KeyPathError(f"mechanisms.{name}: not a mechanism (built in: "
                                   f"{built_in}; an added one needs module = 'package.module')")
            out[name] = addon_params(name, table)
        return out

    def addons(self) -> dict[str, Any]:
        """The added mechanisms: name -> their parameters (with ``module``)."""
        return dict(self.__pydantic_extra__ or {})


def addon_params(name: str, table: dict[str, Any]):
    """An added mechanism's parameters: its module's ``Params`` plus ``module``.

    Raises:
        KeyPathError: one line per problem, each naming its key under ``mechanisms.<name>``
            (the module's own ``Params`` knows nothing of the table it is given as).
    """
    from ...mechanisms import load_addon

    try:
        mod = load_addon(str(table["module"]), name)
    except ValueError as exc:  # its message names mechanisms.<name>.module
        raise KeyPathError(str(exc)) from None
    cls = _addon_classes.get(mod.__name__)
    if cls is None:
        cls = _addon_classes[mod.__name__] = create_model(
            f"{name}_Params", __base__=mod.Params,
            module=(str, Field(description="the module that implements the mechanism")))
    if isinstance(table, cls):
        return table
    try:
        return cls.model_validate(table)
    except ValidationError as exc:
        # raised as it is, pydantic would place its errors at mechanisms.<key> (the location
        # of this validator), and an unknown key's allowed keys would be the built-in
        # mechanisms: the lines are the addon's own, under its name
        where = f"mechanisms.{name}"
        raise KeyPathError([
            where + line.removeprefix("(top level)") if line.startswith("(top level)")
            else f"{where}.{line}" for line in format_errors(cls, table, exc)]) from None


_addon_classes: dict[str, type] = {}


class CpsuScenario(ScenarioBase):
    """A scenario of the CPSU model."""

    open_tables = ("hold",)

    model: Literal["cpsu"]
    run: RunSettings = RunSettings()
    initial: Initial = Initial()
    levers: Levers = Levers()
    mechanisms: Mechanisms = Mechanisms()
    events: dict[str, Event] = Field(default_factory=dict)
    hold: dict[str, Hold] = Field(default_factory=dict, description=(
        "levers held at a value from a date on, whatever the events say: "
        "[hold.<lever>] from = 'YYYY-MM', value = v (optional until = 'YYYY-MM')"))

    @model_validator(mode="after")
    def _check_holds(self):
        problems = []
        start = parse_month(self.run.start)
        within = f"within the run, {self.run.start} to {self.run.end}"
        for name, h in self.hold.items():
            key = f"hold.{name}"
            if name not in LEVER_NAMES:
                problems.append(f"{key}: not a lever ({suggest(name, LEVER_NAMES)}allowed: "
                                f"{', '.join(LEVER_NAMES)})")
                continue
            lo, hi = lever_range(name)
            if (lo is not None and h.value < lo) or (hi is not None and h.value > hi):
                problems.append(f"{key}.value = {h.value!r}: outside the range of lever {name} "
                                f"(allowed: {lo:g} to {hi:g})")
            # a hold that starts after the run's end (a scenario run shorter than it was
            # written for) does not act, like an event after the end
            first = parse_month(h.from_)
            if first < start:
                problems.append(f"{key}.from = {h.from_!r}: allowed: a month {within} (or "
                                "later: a hold after the end does not act)")
            if h.until is not None:
                last = parse_month(h.until)
                if last < first:
                    problems.append(f"{key}.until = {h.until!r}: allowed: a month from "
                                    f"{key}.from ({h.from_}) on")
        if problems:
            raise KeyPathError(problems)
        return self

    def to_dict(self) -> dict[str, Any]:
        # without holds, the resolved scenario (its TOML, its digest) is what it was before
        # holds existed
        out = super().to_dict()
        if not out.get("hold"):
            out.pop("hold", None)
        return out
