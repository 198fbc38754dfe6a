"""The dashboard's controls, read from the scenario schema (one source of truth).

Every slider, toggle and number field comes from a pydantic field of the scenario class: its
type picks the widget, ``ge``/``le`` (or ``gt``/``lt``) give the range, ``description`` the help
text and the loaded scenario the starting value. Nothing here names a lever or a parameter, so
a field added to :class:`allegiance.models.cpsu.Levers` or to a mechanism's ``Params`` appears
in the dashboard without touching this module.

A scenario with an open ``hold`` table (cpsu) also gets a ``hold`` group: per lever, a month
from which to hold it and the value to hold, with a note naming the dated events that the
hold overrides (and, on each lever's start value, the events that overwrite it).
"""

from __future__ import annotations

import functools
import math
import typing
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import BaseModel

from ..errors import ScenarioError
from ..scenario import (
    ScenarioBase,
    bundled_names,
    bundled_path,
    describe_bundled,
    load_scenario,
    parse_toml,
    read_toml,
)

# Sections of a scenario that are not parameters: run settings get their own controls, events
# are listed as on/off switches, provenance is text, and ranges are the plausible ranges of sweeps.
NOT_PARAMETERS = ("name", "description", "model", "provenance", "ranges", "run", "events")

MAX_UPLOAD_BYTES = 1 << 20  # a scenario is a few kB of TOML; refuse anything bigger

Kind = Literal["slider", "number", "toggle", "choice", "text"]


@dataclass(frozen=True)
class Control:
    """One editable scenario value.

    Attributes:
        path: dotted key, as in ``--set`` (``levers.openness``).
        label: the field name.
        kind: ``slider`` (bounded number), ``number`` (number with at most one bound),
            ``toggle`` (bool), ``choice`` (Literal) or ``text`` (a month of a hold).
        value: the value in the loaded scenario.
        lo, hi: bounds from ``ge``/``gt`` and ``le``/``lt`` (None where the schema has none).
        step: slider step (range / 100, or 1 for integers).
        integer: whether the value is an int.
        description: the field's description.
        choices: allowed values of a ``choice``.
    """

    path: str
    label: str
    kind: Kind
    value: Any
    lo: float | None = None
    hi: float | None = None
    step: float | None = None
    integer: bool = False
    description: str = ""
    choices: tuple = ()

    def clean(self, v: Any) -> Any:
        """A widget value as the scenario stores it (slider floats rounded to the step grid)."""
        if self.kind == "toggle":
            return bool(v)
        if self.kind == "choice":
            return v
        if self.kind == "text":
            return str(v or "").strip()
        if self.integer:
            return round(float(v))
        v = float(v)
        if self.kind == "slider" and self.step:
            digits = max(0, -math.floor(math.log10(self.step))) + 2
            v = round(v, digits)
        return v


@dataclass(frozen=True)
class Group:
    """Controls of one table of the scenario (``levers``, ``mechanisms.exit``, ...)."""

    path: str
    title: str
    description: str
    controls: list[Control] = field(default_factory=list)
    switch: Control | None = None  # the ``enabled`` toggle of a mechanism, shown in the title


def _bounds(info) -> tuple[float | None, float | None]:
    lo = hi = None
    for m in info.metadata:
        if getattr(m, "ge", None) is not None:
            lo = float(m.ge)
        if getattr(m, "gt", None) is not None:
            lo = float(m.gt)
        if getattr(m, "le", None) is not None:
            hi = float(m.le)
        if getattr(m, "lt", None) is not None:
            hi = float(m.lt)
    return lo, hi


def _control(path: str, name: str, info, value: Any) -> Control | None:
    tp = info.annotation
    desc = info.description or ""
    if tp is bool:
        return Control(path, name, "toggle", bool(value), description=desc)
    if typing.get_origin(tp) is Literal:
        return Control(path, name, "choice", value, description=desc,
                       choices=tuple(typing.get_args(tp)))
    if tp in (int, float):
        lo, hi = _bounds(info)
        integer = tp is int
        if lo is not None and hi is not None and hi - lo <= 1e6:
            step = 1.0 if integer else (hi - lo) / 100.0
            return Control(path, name, "slider", value, lo, hi, step, integer, desc)
        return Control(path, name, "number", value, lo, hi, None, integer, desc)
    return None  # lists, tables, dates: edit them in the TOML file


def _walk(model: BaseModel, path: str, title: str, out: list[Group]) -> None:
    cls = type(model)
    group = Group(path, title, (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else "")
    for name, info in cls.model_fields.items():
        value = getattr(model, name)
        sub = f"{path}.{name}"
        if isinstance(value, BaseModel):
            _walk(value, sub, name, out)
            continue
        c = _control(sub, name, info, value)
        if c is None:
            continue
        if name == "enabled" and c.kind == "toggle":
            object.__setattr__(group, "switch", c)
        else:
            group.controls.append(c)
    if group.controls or group.switch:
        out.append(group)


def groups(scenario: ScenarioBase) -> list[Group]:
    """Controls of every parameter table of ``scenario``, in schema order (holds after the
    levers)."""
    out: list[Group] = []
    for name in type(scenario).model_fields:
        if name in NOT_PARAMETERS:
            continue
        value = getattr(scenario, name)
        if isinstance(value, BaseModel):
            _walk(value, name, name, out)
        if name == "levers" and has_holds(scenario):
            out.append(hold_group(scenario))
    # a table whose fields are all sub-tables (``mechanisms``) adds nothing itself
    return [g for g in out if g.controls or g.switch]


def has_holds(scenario: ScenarioBase) -> bool:
    """Whether levers can be held from a date on (an open ``hold`` table beside ``levers``)."""
    return "hold" in type(scenario).open_tables and hasattr(scenario, "levers")


def hold_group(scenario: ScenarioBase) -> Group:
    """Per lever: the month from which to hold it (``hold.<lever>.from``, empty: not held)
    and the value to hold (``hold.<lever>.value``, a slider over the lever's range)."""
    ctls = []
    for name, info in type(scenario.levers).model_fields.items():
        h = scenario.hold.get(name)
        h = h if h is not None and h.enabled else None
        ctls.append(Control(f"hold.{name}.from", f"{name} held from", "text",
                            h.from_ if h else "", description="a month, YYYY-MM"))
        c = _control(f"hold.{name}.value", f"{name} held at", info,
                     h.value if h else getattr(scenario.levers, name))
        ctls.append(replace(c, description=""))
    return Group("hold", "hold", "Hold a lever at a value from a month on: its dated events "
                 "from then on no longer change it (to the end of the run).", ctls)


def event_switches(scenario: ScenarioBase) -> list[Control]:
    """One on/off switch per dated event (``events.<id>.enabled``), in date order."""
    events = getattr(scenario, "events", None) or {}
    # cpsu's events are dated (YYYY-MM); the classic models' happen at a step
    items = sorted(events.items(), key=lambda kv: (str(getattr(kv[1], "date", "")),
                                                   getattr(kv[1], "step", 0), kv[0]))
    out = []
    for eid, ev in items:
        kind = getattr(ev, "type", "event")
        when = ev.date if hasattr(ev, "date") else f"step {getattr(ev, 'step', '?')}"
        detail = ev.note or ""
        if kind == "lever":
            detail = f"{ev.lever} → {ev.value:g}" + (f" over {ev.ramp_months} months"
                                                    if getattr(ev, "ramp_months", 0) else "")
        out.append(Control(f"events.{eid}.enabled", eid, "toggle", bool(ev.enabled),
                           description=f"{when} {kind}: {detail}".strip(": ")))
    return out


def lever_event_counts(scenario: ScenarioBase) -> dict[str, int]:
    """How many enabled dated events later change each lever (the slider sets its start value)."""
    counts: dict[str, int] = {}
    for ev in (getattr(scenario, "events", None) or {}).values():
        if getattr(ev, "type", None) == "lever" and ev.enabled:
            counts[ev.lever] = counts.get(ev.lever, 0) + 1
    return counts


def all_controls(scenario: ScenarioBase) -> dict[str, Control]:
    """Every control by path (parameters and event switches)."""
    out = {c.path: c for g in groups(scenario)
           for c in [*g.controls, *([g.switch] if g.switch else [])]}
    out.update({c.path: c for c in event_switches(scenario)})
    return out


def show(v: Any) -> str:
    """A setting's value for display (short, but exact enough to tell values apart)."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return str(v)
    return f"{v:.6g}"


def changes_one(c: Control, v: Any) -> bool:
    """Whether widget value ``v`` differs from the scenario's value of ``c``."""
    v = c.clean(v)
    if c.kind in ("toggle", "choice", "text") or c.integer:
        return v != c.value
    if c.kind == "slider" and c.step:
        # a slider snaps an off-grid scenario value (e.g. a calibrated 0.05999) to its grid:
        # moving less than half a step is not a change the user made
        return abs(float(v) - float(c.value)) >= c.step / 2
    return not math.isclose(float(v), float(c.value), rel_tol=0, abs_tol=1e-12)


def changes(scenario: ScenarioBase, values: dict[str, Any]) -> dict[str, Any]:
    """The values that differ from ``scenario`` (what the user changed), as ``--set`` pairs."""
    ctl = all_controls(scenario)
    out = {}
    for path, v in values.items():
        c = ctl.get(path)
        if c is None:
            raise ScenarioError(f"{path}: not a setting of this scenario")
        if changes_one(c, v):
            out[path] = c.clean(v)
    return _hold_changes(scenario, ctl, out)


def _hold_changes(scenario: ScenarioBase, ctl: dict[str, Control],
                  out: dict[str, Any]) -> dict[str, Any]:
    """A hold is its month and its value together: a month typed alone holds the value its
    slider shows; a month cleared switches the scenario's hold off; a value moved without a
    month is kept, so that Run says the month is missing."""
    for lever in dict.fromkeys(p.split(".")[1] for p in list(out) if p.startswith("hold.")):
        f, v = f"hold.{lever}.from", f"hold.{lever}.value"
        first = out.get(f, ctl[f].value)
        if first:
            out[f] = first
            out.setdefault(v, ctl[v].value)
        elif ctl[f].value:  # the scenario holds this lever; the user cleared the month
            out.pop(f, None)
            out.pop(v, None)
            out[f"hold.{lever}.enabled"] = False
        else:
            out.pop(f, None)
    return out


def note(scenario: ScenarioBase, c: Control, values: dict[str, Any]) -> str:
    """What a lever's control will do beside the scenario's dated events: on a start value
    (``levers.X``), the events that overwrite it; on a hold's month, the events it overrides."""
    if not has_holds(scenario):
        return ""
    if c.path.startswith("levers."):
        return _start_note(scenario, c, values)
    if c.path.startswith("hold.") and c.path.endswith(".from"):
        return _hold_note(scenario, c, values)
    return ""


def _start_note(scenario: ScenarioBase, c: Control, values: dict[str, Any]) -> str:
    from ..calendar import parse_month
    from ..models.cpsu.timeline import lever_events

    start, end = parse_month(scenario.run.start), parse_month(scenario.run.end)
    later = [(e, ev) for e, ev in lever_events(scenario, c.label)
             if start <= parse_month(ev.date) <= end]
    if not later:
        return ""
    e, ev = later[0]
    more = (f", and {len(later) - 1} more event{'s' if len(later) != 2 else ''} later"
            if len(later) > 1 else "")
    moved = c.path in values and changes_one(c, values[c.path])
    return (f"{'Your value' if moved else 'Start value'} lasts until {ev.date}: event {e} "
            f"sets it to {ev.value:g}{more}. To keep a value from a month on, hold it "
            "(section 'hold')")


def _hold_note(scenario: ScenarioBase, c: Control, values: dict[str, Any]) -> str:
    from ..calendar import parse_month
    from ..models.cpsu.timeline import overrides

    lever = c.path.split(".")[1]
    run = scenario.run
    text = c.clean(values.get(c.path, c.value))
    try:
        first = parse_month(text) if text else None
    except ValueError:
        return f"'{text}' is not a month (YYYY-MM)"
    if first is None:
        return "Not held"
    if not parse_month(run.start) <= first <= parse_month(run.end):
        return f"Outside the run ({run.start} to {run.end})"
    over = overrides(scenario, lever, first, parse_month(run.end))
    return f"Held from {text}; " + (
        "overrides " + "; ".join(o.words() for o in over) if over
        else f"no later event of {lever} to override")


#: the "compare with" choice that runs the scenario itself without the user's changes
UNCHANGED = "(the unchanged scenario)"


def compare_choices(scenario: ScenarioBase) -> list[str]:
    """Bundled scenarios of the same model to run beside ``scenario`` (a counterfactual beside
    the historical run): the one it derives from first."""
    same = [n for n, model, _ in _bundled_models() if model == scenario.model
            and n != scenario.name]
    base = _bundled_bases().get(scenario.name)
    return sorted(same, key=lambda n: n != base)


@functools.lru_cache(maxsize=1)
def _bundled_models() -> tuple[tuple[str, str, str], ...]:
    return tuple(describe_bundled())


@functools.lru_cache(maxsize=1)
def _bundled_bases() -> dict[str, str]:
    return {n: str(read_toml(bundled_path(n)).get("base", "")) for n in bundled_names()}


#: run settings that say how long a run is, by model: a last month (cpsu) or a step count
#: (the classic models); the first one a scenario's ``run`` table has is shown
LENGTH_KEYS = (("end", "end (YYYY-MM)"), ("steps", "steps"))


def length_setting(scenario: ScenarioBase) -> tuple[str, str] | None:
    """(key under ``run``, label) of the setting that sets a run's length, or None."""
    fields = type(scenario.run).model_fields
    return next(((k, lab) for k, lab in LENGTH_KEYS if k in fields), None)


def has_snapshots(scenario: ScenarioBase) -> bool:
    """Whether runs of the scenario's model can keep snapshots of their agents
    (``Model.agent_table``, ``allegiance run --snapshot``)."""
    from ..engine import Model
    from ..registry import MODELS, model_class

    return (scenario.model in MODELS
            and model_class(scenario.model).agent_table is not Model.agent_table)


def run_settings(seed: int, scale: float, length: str | int | None = None,
                 key: str = "end") -> dict[str, Any]:
    """``run.*`` overrides, so the resolved scenario (and its TOML) carries seed, scale and
    length; ``length`` is the text of the run-length field (``run.<key>``), empty to keep the
    scenario's."""
    out: dict[str, Any] = {"run.seed": int(seed), "run.scale": float(scale)}
    text = "" if length is None else str(length).strip()
    if text:
        # a step count typed as text: an int when it is one, else validation names the problem
        out[f"run.{key}"] = int(text) if key != "end" and text.lstrip("-").isdigit() else text
    return out


def resolve(scenario: ScenarioBase, settings: dict[str, Any], run: dict[str, Any]) -> ScenarioBase:
    """The scenario with the user's changes and run settings applied (validated)."""
    return load_scenario(scenario, {**changes(scenario, settings), **run})


def format_set(items: dict[str, Any]) -> list[str]:
    """``key=value`` strings as the CLI's ``--set`` takes them."""
    out = []
    for k, v in items.items():
        text = ("true" if v else "false") if isinstance(v, bool) else (
            f'"{v}"' if isinstance(v, str) else repr(v))
        out.append(f"{k}={text}")
    return out


def parse_upload(name: str, data: bytes) -> ScenarioBase:
    """Validate an uploaded scenario file without running anything from it.

    The bytes are parsed with :mod:`tomllib` and validated by
    :func:`allegiance.scenario.load_scenario`; ``base`` may only name a bundled scenario (an
    upload must not make the server read its local files).

    Raises:
        ScenarioError: with the same lines ``allegiance validate`` prints.
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise ScenarioError(f"{name}: {len(data):,} bytes; a scenario file may have at most "
                            f"{MAX_UPLOAD_BYTES:,} bytes")
    raw = parse_toml(data, name)  # what `allegiance validate` says of the same bytes
    base = raw.get("base")
    if base is not None and (not isinstance(base, str) or base not in bundled_names()):
        raise ScenarioError(f"base = {base!r}: an uploaded scenario may derive only from a "
                            f"bundled scenario ({', '.join(bundled_names())})")
    return load_scenario(raw)
