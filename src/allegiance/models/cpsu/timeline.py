"""The CPSU scenario's timeline read as a whole: which dated events set each lever, in which
era, which of them a hold overrides, and which start values (``--set levers.X=v``) a later
event overwrites.

A lever has a start value (``[levers]``, the 1917 value) and is then set by dated ``lever``
events. A hold (``[hold.<lever>] from = "1956-02", value = 0.5``) keeps it at a value from a
month on: the events of that lever dated in the held months are still applied to the lever
underneath (so a hold with ``until`` hands back the value the events would have given), but
the mechanisms see the held value. Everything here is computed from the validated scenario,
before a run, so the CLI, the dashboard and the model say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from numba.extending import register_jitable

from ...calendar import month_label, parse_month
from .schema import LEVER_NAMES, CpsuScenario

#: a conventional periodization of Soviet history, for grouping events in listings only (the
#: model does not use it): (name, first month, last month)
ERAS: tuple[tuple[str, str, str], ...] = (
    ("revolution and civil war", "1917-01", "1921-02"),
    ("NEP", "1921-03", "1928-12"),
    ("industrialization and terror", "1929-01", "1941-05"),
    ("war", "1941-06", "1945-05"),
    ("late Stalinism", "1945-06", "1953-02"),
    ("Khrushchev", "1953-03", "1964-09"),
    ("Brezhnev to Chernenko", "1964-10", "1985-02"),
    ("Gorbachev", "1985-03", "1991-12"),
)


@register_jitable
def ramp_value(ramp: tuple[int, int, float, float], step: int) -> float:
    """A lever on a ramp ``(first step, last step, from, to)`` at ``step`` (also compiled into
    the months of a stretch, :mod:`.stretch`)."""
    s0, s1, v0, v1 = ramp
    return v1 if step >= s1 else v0 + (v1 - v0) * (step - s0 + 1) / (s1 - s0 + 1)


def era_of(date: str) -> str:
    """The era (:data:`ERAS`) a date falls in ("" outside them)."""
    m = parse_month(date)
    return next((name for name, a, b in ERAS if parse_month(a) <= m <= parse_month(b)), "")


@dataclass(frozen=True)
class Override:
    """A lever event a hold overrides: wholly (dated in the held months) or in part (a ramp
    that started before the hold and would have run into it)."""

    event: str
    date: str
    value: float
    ramp_months: int
    partly: bool

    def as_dict(self) -> dict[str, Any]:
        return {"event": self.event, "date": self.date, "value": self.value,
                "ramp_months": self.ramp_months, "partly": self.partly}

    def words(self) -> str:
        ramp = f" over {self.ramp_months} months" if self.ramp_months else ""
        part = ", the rest of its ramp" if self.partly else ""
        return f"{self.event} ({self.date}: -> {self.value:g}{ramp}{part})"


@dataclass(frozen=True)
class HoldSpan:
    """One enabled hold, in month numbers, with the events it overrides."""

    lever: str
    value: float
    first: int
    last: int
    overrides: list[Override] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"hold.{self.lever}"

    def as_dict(self) -> dict[str, Any]:
        return {"lever": self.lever, "value": self.value, "from": month_label(self.first),
                "until": month_label(self.last),
                "overrides": [o.as_dict() for o in self.overrides]}


def lever_events(scenario: CpsuScenario, lever: str | None = None,
                 enabled_only: bool = True) -> list[tuple[str, Any]]:
    """``(id, event)`` of the lever events (of ``lever``), in the order the model applies them
    (date, then id)."""
    items = [(eid, ev) for eid, ev in scenario.events.items()
             if ev.type == "lever" and (lever is None or ev.lever == lever)
             and (ev.enabled or not enabled_only)]
    return sorted(items, key=lambda t: (parse_month(t[1].date), t[0]))


def holds(scenario: CpsuScenario) -> dict[str, HoldSpan]:
    """The scenario's enabled holds by lever, each with the lever events it overrides."""
    end = parse_month(scenario.run.end)
    out = {}
    for lever, h in scenario.hold.items():
        if not h.enabled:
            continue
        first = parse_month(h.from_)
        last = end if h.until is None else parse_month(h.until)
        out[lever] = HoldSpan(lever, h.value, first, last,
                              overrides(scenario, lever, first, last))
    return out


def overrides(scenario: CpsuScenario, lever: str, first: int, last: int) -> list[Override]:
    """The enabled events of ``lever`` that a hold of months ``first``..``last`` overrides."""
    out = []
    for eid, ev in lever_events(scenario, lever):
        m = parse_month(ev.date)
        if first <= m <= last:
            out.append(Override(eid, ev.date, ev.value, ev.ramp_months, False))
        elif m < first <= m + ev.ramp_months - 1:
            out.append(Override(eid, ev.date, ev.value, ev.ramp_months, True))
    return out


def overwritten_start(scenario: CpsuScenario, keys: list[str]) -> list[dict[str, Any]]:
    """For each ``levers.X`` among ``keys`` (the keys a user set), the events within the run
    that overwrite that start value (those a hold overrides left out); empty when none do."""
    start, end = parse_month(scenario.run.start), parse_month(scenario.run.end)
    spans = holds(scenario)
    out = []
    for key in dict.fromkeys(keys):
        parts = key.split(".")
        if len(parts) != 2 or parts[0] != "levers" or parts[1] not in LEVER_NAMES:
            continue
        lever = parts[1]
        # events from a hold's first month on are overridden by it
        last = spans[lever].first - 1 if lever in spans else end
        later = [(eid, ev) for eid, ev in lever_events(scenario, lever)
                 if start <= parse_month(ev.date) <= last]
        if not later:
            continue
        value = getattr(scenario.levers, lever)
        out.append({"key": key, "lever": lever, "value": value,
                    "events": [{"event": eid, "date": ev.date, "value": ev.value}
                               for eid, ev in later]})
    return out


def warning_lines(found: list[dict[str, Any]], start: str) -> list[str]:
    """:func:`overwritten_start` in words, one line per lever, with how to hold it instead."""
    lines = []
    for w in found:
        first, n = w["events"][0], len(w["events"])
        more = f" ({n - 1} more event{'s' if n != 2 else ''} change it later)" if n > 1 else ""
        lines.append(
            f"{w['key']} = {w['value']:g} is only the start value: event '{first['event']}' "
            f"sets {w['lever']} to {first['value']:g} in {first['date']}{more}; to keep "
            f"{w['value']:g} from a date on, hold it: --set hold.{w['lever']}.from={start} "
            f"--set hold.{w['lever']}.value={w['value']:g}")
    return lines


def listing(scenario: CpsuScenario, lever: str | None = None,
            by: str = "lever") -> list[tuple[str, list[dict[str, Any]]]]:
    """The timeline as ``[(group title, rows)]``: grouped by lever (each lever's start value,
    then its events; other events last) or by era (every event, in date order).

    Each row has ``date``, ``era``, ``event``, ``type``, ``lever``, ``value``, ``ramp_months``,
    ``enabled``, ``note`` (the event's note, else its provenance line) and ``held`` (the hold
    that overrides it, if any).
    """
    if lever is not None and lever not in LEVER_NAMES:
        from ...errors import ScenarioError
        from ...scenario import suggest

        raise ScenarioError(f"--lever {lever}: not a lever ({suggest(lever, LEVER_NAMES)}"
                            f"allowed: {', '.join(LEVER_NAMES)})")
    spans = holds(scenario)
    held = {o.event: span.key for span in spans.values() for o in span.overrides}
    prov = scenario.provenance

    def row(eid, ev) -> dict[str, Any]:
        lv = getattr(ev, "lever", "") if ev.type == "lever" else ""
        return {"date": ev.date, "era": era_of(ev.date), "event": eid, "type": ev.type,
                "lever": lv, "value": getattr(ev, "value", None) if lv else None,
                "ramp_months": getattr(ev, "ramp_months", 0) if lv else 0,
                "enabled": ev.enabled, "note": ev.note or prov.get(f"events.{eid}", ""),
                "held": held.get(eid, "")}

    items = sorted(scenario.events.items(), key=lambda t: (parse_month(t[1].date), t[0]))
    rows = [row(eid, ev) for eid, ev in items]
    if lever is not None:
        rows = [r for r in rows if r["lever"] == lever]
    if by == "era":
        groups: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            groups.setdefault(r["era"] or "outside the eras", []).append(r)
        return list(groups.items())
    out = []
    for name in LEVER_NAMES if lever is None else (lever,):
        mine = [r for r in rows if r["lever"] == name]
        start = {"date": scenario.run.start, "era": era_of(scenario.run.start), "event": "(start)",
                 "type": "start", "lever": name, "value": getattr(scenario.levers, name),
                 "ramp_months": 0, "enabled": True,
                 "note": prov.get(f"levers.{name}", ""), "held": ""}
        title = name
        if name in spans:
            s = spans[name]
            title += (f" (held at {s.value:g} from {month_label(s.first)} to "
                      f"{month_label(s.last)})")
        out.append((title, [start, *mine]))
    if lever is None:
        others = [r for r in rows if not r["lever"]]
        if others:
            out.append(("other events (not levers)", others))
    return out


def listing_markdown(groups: list[tuple[str, list[dict[str, Any]]]]) -> str:
    """:func:`listing` as Markdown: a heading and a table per group."""
    lines = []
    for title, rows in groups:
        lines += [f"### {title}", "", "| date | era | event | type | lever | value | ramp "
                  "(months) | note |", "|---|---|---|---|---|---|---|---|"]
        for r in rows:
            value = "" if r["value"] is None else f"{r['value']:g}"
            flags = ("" if r["enabled"] else " (disabled)") + (
                f" (overridden by {r['held']})" if r["held"] else "")
            note = (r["note"] + flags).replace("|", "\\|").strip()
            lines.append(f"| {r['date']} | {r['era']} | {r['event']} | {r['type']} | "
                         f"{r['lever']} | {value} | {r['ramp_months'] or ''} | {note} |")
        lines.append("")
    return "\n".join(lines)
