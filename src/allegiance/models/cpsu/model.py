"""The CPSU 1917–1991 model: the essay's system with every mechanism switchable.

:class:`CpsuModel` holds the calendar, the levers and the dated events, sets up the population
and records each month; the month itself is :mod:`allegiance.models.cpsu.month`, and the
equations are in :mod:`allegiance.mechanisms`. Shocks (M3) and the crisis (M10) are events;
M12 is the measurement of commitment. Outputs are persons: agent counts divided by ``scale``.

One month, in this fixed order (generated from :data:`.phases.PHASES`):

"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ... import data, engine
from ...calendar import month_label, parse_month
from ...engine import Model
from ...mechanisms import MODULES, load_addon
from ...mechanisms import crisis as m10
from ...mechanisms import legitimacy as m6
from ...mechanisms import shocks as m3
from ...mechanisms._common import ADULT_MONTHS, IDEAL
from ...mechanisms.context import Context
from ...state import AgentState
from . import waves
from .ledger import CRISIS_KEYS, Ledger, timeseries
from .members import dissolve
from .memory import Sizing, population_target
from .month import Month
from .phases import phase_table, phases_of
from .reference import ReferenceMonth
from .schema import LEVER_NAMES, CpsuScenario
from .stocks import SENIORITY_MONTH, seniority_kernel
from .timeline import HoldSpan, holds, overwritten_start, ramp_value, warning_lines

__doc__ += phase_table()


#: event types that read or change agents when applied (between the stocks and the phases)
STATE_EVENTS = ("shock", "crisis", "dissolution")


@dataclass(frozen=True)
class HoldMark:
    """A hold's start (after the events of its first month) or end (the month after its
    last), put on the timeline so that events.parquet shows it."""

    type: Literal["hold", "hold_end"]
    span: HoldSpan

FLOWS = ("births", "arrivals", "deaths", "deaths_members", "applicants", "joins", "joins_ideal",
         "joins_career", "joins_conformist", "confirmed", "dropped_candidates", "exits",
         "expelled", "expelled_corruption", "promotions", "rotations", "conversions",
         "dissolved", "war_deaths_members", "exits_lapsed", "disengaged", "reengaged")


class CpsuModel(Sizing, Model):
    """The CPSU 1917–1991 model (see the module docstring for the phase order)."""

    name = "cpsu"
    scenario_class = CpsuScenario
    overview_series = ("members", "committed_members")
    in_persons = True
    forecast_from = 1989.0

    def __init__(self, scenario: CpsuScenario, *, seed: int, scale: float):
        super().__init__(scenario, seed=seed, scale=scale)
        self.params = scenario.mechanisms
        pc = scenario.mechanisms.commitment
        #: the survey question's cut points on trust: [firm support, against] (M12)
        self.survey_cuts = np.array([pc.survey_firm, pc.survey_against])
        self.start = parse_month(scenario.run.start)
        self.end = parse_month(scenario.run.end)
        #: the levers as the scenario's events set them; a hold covers some of them
        self._levers: dict[str, float] = scenario.levers.model_dump()
        self._ramps: dict[str, tuple[int, int, float, float]] = {}
        #: holds by lever (scenario.hold) and those in effect now: lever -> held value
        self.holds: dict[str, HoldSpan] = holds(scenario)
        self._held: dict[str, float] = {}
        #: lever event id -> the key of the hold that overrides it
        self._overridden = {o.event: span.key for span in self.holds.values()
                            for o in span.overrides if not o.partly}
        #: multi-month purge and war-loss events: (kind, event, months left)
        self.ongoing: list[tuple[str, Any, int]] = []
        self._timeline = self._build_timeline()
        self.crisis: dict[str, Any] | None = None
        self.seniority_1983: dict[str, float] | None = None
        #: the émigré surveys' waves put to the model (:mod:`.waves`): date -> tables
        self.attitude_waves: dict[str, dict[str, dict[str, float]]] = {}
        self._wave_months = waves.months()
        #: mechanisms added by the scenario: (name, module, parameters)
        self.addons = [(name, load_addon(p.module, name), p)
                       for name, p in scenario.mechanisms.addons().items()]
        #: the flows recorded every month: the model's, then the added mechanisms' own
        self.flow_names = FLOWS + tuple(dict.fromkeys(
            f for _, mod, _ in self.addons for f in mod.FLOWS if f not in FLOWS))
        self.flows: dict[str, int] = dict.fromkeys(self.flow_names, 0)
        #: every month's stocks, levers and flows, as numbers (the time series is made from
        #: them: :meth:`timeseries`)
        self.ledger = Ledger.empty(self.n_steps(), len(self.flow_names))
        self.last_exit_rate = 0.0
        self.agg: dict[str, float] = {}
        self._bounds_key: tuple | None = None
        self._bounds = np.zeros(1, dtype=np.int64)
        #: the steps with an event that reads or changes agents before the phases
        self._state_steps = frozenset(step for step, evs in self._timeline.items()
                                      if any(ev.type in STATE_EVENTS for _, ev in evs))

    # -- calendar, levers, data ---------------------------------------------------------
    def n_steps(self) -> int:
        return self.end - self.start + 1

    def month(self, step: int) -> int:
        """Month number of ``step``."""
        return self.start + step

    def step_label(self, step: int) -> str:
        return month_label(self.start + step)

    def population_target(self, month: int) -> float:
        """Persons at ``month`` on the census series (:func:`.memory.population_target`)."""
        return population_target(month)

    def lever(self, name: str) -> float:
        """Current value of a lever (a hold in effect wins over the events)."""
        held = self._held.get(name)
        return self._levers[name] if held is None else held

    def levers(self) -> dict[str, float]:
        """Current values of every lever (holds in effect applied)."""
        return {**self._levers, **self._held} if self._held else dict(self._levers)

    def openness(self) -> float:
        """Openness as seen by the mechanisms (fixed at its initial value if M7 is off)."""
        if not self.params.openness.enabled:
            return self.scenario.levers.openness
        return self.lever("openness")

    def openness_at(self, step: int) -> float:
        """:meth:`openness` as it will be at the stocks of ``step`` (ramps advanced; lever
        events of that month come after its stocks)."""
        if not self.params.openness.enabled:
            return self.scenario.levers.openness
        h = self.holds.get("openness")
        if h is not None and h.first <= self.month(step) - 1 <= h.last:
            return h.value  # held through the month before, so at its end too
        r = self._ramps.get("openness")
        return self._levers["openness"] if r is None else ramp_value(r, step)

    def _advance_ramps(self, step: int) -> None:
        for name, ramp in list(self._ramps.items()):
            self._levers[name] = ramp_value(ramp, step)
            if step >= ramp[1]:
                del self._ramps[name]
        for name in list(self._held):
            if self.month(step) > self.holds[name].last:  # the hold ended last month
                del self._held[name]

    def _build_timeline(self) -> dict[int, list[tuple[str, Any]]]:
        out: dict[int, list[tuple[str, Any]]] = {}
        items = [(parse_month(ev.date), eid, ev) for eid, ev in self.scenario.events.items()
                 if ev.enabled]
        for mnum, eid, ev in sorted(items, key=lambda t: (t[0], t[1])):
            step = mnum - self.start
            if 0 <= step < self.n_steps():
                out.setdefault(step, []).append((eid, ev))
        # a hold starts after the events of its first month, so it wins over them, and ends
        # at the stocks of the month after its last (the end is marked then)
        for span in self.holds.values():
            out.setdefault(span.first - self.start, []).append((span.key, HoldMark("hold", span)))
            if span.last + 1 - self.start < self.n_steps():
                out.setdefault(span.last + 1 - self.start, []).append(
                    (span.key + ".end", HoldMark("hold_end", span)))
        return out

    def work_size(self) -> int:
        return self.state.n

    #: run quiet months in compiled stretches (:mod:`.stretch`; the same results, tested)
    STRETCH = True

    def stretch(self, step: int, until: int, max_threads: int) -> int:
        """Run the quiet months from ``step`` in one compiled call (:meth:`.month.Month.stretch`)
        when the fused engine runs them; returns how many ran."""
        if not self.STRETCH or self.scenario.run.engine != "fused":
            return 0
        return self.passes.stretch(step, until, max_threads)

    def bounds(self) -> np.ndarray:
        """Chunk boundaries over the used slots (deterministic reductions, by uid range)."""
        st = self.state
        key = (st.n, st.next_uid, st.compactions, engine.CHUNK)
        if self._bounds_key != key:
            self._bounds = st.chunk_bounds(engine.CHUNK)
            self._bounds_key = key
        return self._bounds

    def adopt_bounds(self, bounds: np.ndarray) -> None:
        """Keep ``bounds``, found by compiled code for the slots as they now are, as
        :meth:`bounds` would find them."""
        st = self.state
        self._bounds = bounds
        self._bounds_key = (st.n, st.next_uid, st.compactions, engine.CHUNK)

    def context(self, step: int) -> Context:
        """What the mechanisms may read of the model at ``step``, as things stand now."""
        return Context(step=step, month=self.month(step), params=self.params,
                       levers=self.levers(), openness=self.openness(), stocks=self.agg,
                       last_exit_rate=self.last_exit_rate, rng=self.rng)

    # -- setup ---------------------------------------------------------------------------
    #: draw natural deaths in the stocks pass when no event needs the agents in between (a
    #: full pass fewer per month; the same results, tested)
    FUSE_DEATHS = True
    #: take the whole population's stocks (and next month's natural deaths) in the last pass
    #: over everyone of the month before (``adults``; ``learning`` with sequential M7), and
    #: count only the members in ``record`` (the same results, tested)
    TAKE_STOCKS = True

    def setup(self) -> None:
        sc = self.scenario
        p2 = self.params.demography
        self.passes = (ReferenceMonth if sc.run.engine == "reference" else Month)(self)
        month0 = self.start
        n0 = max(1, round(self.population_target(month0) * self.scale))
        peak_pop = max(v for _, v in data.population_series())
        # allocated once at the run's peak size: no growth copies, and the peak is known
        # before the run starts (memory_estimate); capacity never changes results
        self.state = st = AgentState(capacity=max(self.peak_slots(sc, self.scale), n0 + 16))
        for mod in MODULES.values():
            for name, dtype, fill in mod.STATE:
                st.declare(name, dtype, fill, owner=mod.__name__.rsplit(".", 1)[-1])
        for owner, mod, _ in self.addons:
            for name, dtype, fill in mod.STATE:
                st.declare(name, dtype, fill, owner=owner)
        st.declare("belief", np.float32, 0.5, owner="demography")
        self.n_cells = max(1, round(peak_pop * 0.7 * self.scale / p2.adults_per_cell))
        st.add(n0)
        k = min(round(sc.initial.members * self.scale), n0)
        best_score = np.empty(0)
        best_slot = np.empty(0, dtype=np.int64)
        # in blocks, so the float64 temporaries stay small at any scale; every draw is keyed by
        # uid, so the blocks do not change any value
        for lo in range(0, n0, self.SETUP_BLOCK):
            s = slice(lo, min(n0, lo + self.SETUP_BLOCK))
            ids = st.uid[s]
            # initial age pyramid: exponential decline with age, truncated at 90
            u = self.rng.uniforms("setup.age", 0, ids)
            lam = p2.initial_age_decay
            age_y = -np.log(1 - u * (1 - math.exp(-lam * 90))) / lam
            st.birth[s] = (month0 - np.floor(age_y * 12)).astype(np.int32)
            self.passes.draw_lifespans(s, month0 - st.birth[s].astype(np.int64))
            m6.draw_dispositions(s.start, s.stop, st.uid, st.disposition,
                                 self.rng.key("legitimacy.disposition", 0))
            st.cell[s] = (self.rng.uniforms("demography.cell", 0, ids)
                          * self.n_cells).astype(np.int32)
            st.belief[s] = np.clip(p2.initial_belief_mean + p2.initial_belief_sd
                                   * self.rng.normals("setup.belief", 0, ids), 0, 1)
            st.trust[s] = np.clip(p2.initial_trust_mean + p2.socialization_sd
                                  * self.rng.normals("setup.trust", 0, ids), 0, 1)
            if k:
                # founding members: the k adults with the strongest belief (kept as the block
                # maxima merge), boosted ("special material", §1.1)
                adult = (month0 - st.birth[s].astype(np.int64)) >= ADULT_MONTHS
                score = np.where(adult, st.belief[s] + 0.1 * self.rng.normals("setup.members", 0,
                                                                              ids), -np.inf)
                cand_s = np.concatenate([best_score, score])
                cand_i = np.concatenate([best_slot, np.arange(s.start, s.stop, dtype=np.int64)])
                if cand_s.size > k:
                    keep = np.argpartition(-cand_s, k - 1)[:k]
                    cand_s, cand_i = cand_s[keep], cand_i[keep]
                best_score, best_slot = cand_s, cand_i
        if k:
            chosen = np.sort(best_slot)
            ids = st.uid[chosen]
            st.status[chosen] = 2
            st.motive[chosen] = IDEAL
            st.join[chosen] = month0 - (self.rng.uniforms("setup.join", 0, ids)
                                        * 120).astype(np.int32)
            b = st.belief[chosen]
            st.belief[chosen] = np.clip(b + sc.initial.member_belief_boost * (1 - b), 0, 1)
        self.n_alive = n0
        self.agg = self.passes.stocks(0)

    # -- the step ------------------------------------------------------------------------
    def phases(self) -> list[tuple[str, Callable[[int], None]]]:
        """The month's phases, in the order of :func:`.phases.phases_of` the run's
        ``m7_order`` (after ``record``)."""
        mo = self.passes
        out = [(p.name, getattr(mo, p.name)) for p in phases_of(self.scenario.run.m7_order)[1:]]
        for name, mod, _ in self.addons:  # added mechanisms: each after the phase it names
            after = getattr(mod, "AFTER", "members_end")
            at = next((k for k, (n, _) in enumerate(out) if n == after), None)
            if at is None:
                raise ValueError(f"mechanisms.{name}: AFTER = {after!r} is not a phase "
                                 f"({', '.join(n for n, _ in out)})")
            out.insert(at + 1, (name, lambda step, _n=name, _m=mod: self._addon(step, _n, _m)))
        return out

    def addons_on(self) -> bool:
        """Whether an added mechanism is switched on (it may change any attribute, so the
        month then takes nothing ahead across it)."""
        return any(getattr(self.params, name).enabled for name, _, _ in self.addons)

    def _addon(self, step: int, name: str, mod) -> None:
        """An added mechanism's phase: ``mod.phase(ctx, agents)`` when it is enabled; the
        counts it returns are added to its flows."""
        if not getattr(self.params, name).enabled:
            return
        counts = mod.phase(self.passes.carry.ctx, self.state) or {}
        for flow, n in counts.items():
            if flow not in mod.FLOWS:
                raise ValueError(f"mechanisms.{name}: phase counted {flow!r}, which is not in "
                                 f"its FLOWS {mod.FLOWS}")
            self.flows[flow] += int(n)

    def events_at(self, step: int) -> list[tuple[str, Any]]:
        return self._timeline.get(step, [])

    def apply_event(self, step: int, event_id: str, ev) -> dict[str, Any]:
        kind = ev.type
        if kind in ("lever", "hold", "hold_end"):
            return self._apply_lever(step, event_id, ev)
        if kind == "shock":
            if not self.params.shocks.enabled:
                return {"detail": "applied=False"}
            before = self.passes.stocks(step)
            m3.apply(self.context(step), self.state, ev)
            self.passes.carry.trust_sums = None  # trust changed since M7's sums were taken
            after = self.passes.stocks(step)
            db = after["belief_adults"] - before["belief_adults"]
            dt = after["trust_adults"] - before["trust_adults"]
            return {"detail": f"applied=True, d_mean_belief_adults={db:.4f}, "
                              f"d_mean_trust_adults={dt:.4f}"}
        if kind in ("purge", "mortality"):
            self.ongoing.append((kind, ev, ev.months))
            what = ev.what() if kind == "purge" else f"{ev.share:.1%}"
            return {"detail": f"{kind} of {what} over {ev.months} months"}
        if kind == "crisis":
            out, stats = m10.apply(self.context(step), self.state, ev, self.n_cells)
            c = self.crisis = m10.breakdown(out, stats, self.scale, self.step_label(step), ev)
            defenders = c["defenders_members"] + c["defenders_nonmembers"]
            opponents = c["opponents_members"] + c["opponents_nonmembers"]
            return {"detail": f"defenders={defenders:.0f} opponents={opponents:.0f} "
                              f"security_obeyed={c['security_obeyed']:.0f} "
                              f"security_refused={c['security_refused']:.0f} "
                              f"instigators_regime={c['instigators_regime']:.0f} "
                              f"instigators_challenger={c['instigators_challenger']:.0f} "
                              f"iterations={c['iterations']}"}
        if kind == "dissolution":
            part = np.zeros((self.bounds().shape[0] - 1, 1), dtype=np.int64)
            st = self.state
            dissolve(st.view("alive"), st.view("status"), st.view("left"), self.bounds(), part)
            n = int(part.sum())
            self.flows["dissolved"] += n
            return {"detail": f"members dissolved: {n / self.scale:.0f}"}
        raise AssertionError(kind)

    def _apply_lever(self, step: int, event_id: str, ev) -> dict[str, Any]:
        """A lever event (reported as overridden where a hold covers it), or a hold's start
        or end."""
        if ev.type == "lever":
            v0 = self._levers[ev.lever]
            if ev.ramp_months > 0:
                self._ramps[ev.lever] = (step, step + ev.ramp_months - 1, v0, ev.value)
            else:
                self._ramps.pop(ev.lever, None)
                self._levers[ev.lever] = ev.value
            detail = f"{ev.lever}: {v0:g} -> {ev.value:g} over {ev.ramp_months} months"
            hold = self._overridden.get(event_id)
            if hold is None:
                return {"detail": detail}
            return {"detail": f"{detail} (overridden by {hold}: {ev.lever} held at "
                              f"{self.holds[ev.lever].value:g})", "overridden_by": hold}
        if ev.type == "hold":
            span = ev.span
            self._held[span.lever] = span.value
            over = "; ".join(o.words() for o in span.overrides) or "no event"
            return {"detail": f"{span.lever} held at {span.value:g} to {month_label(span.last)} "
                              f"(the events would give {self._levers[span.lever]:g} now); "
                              f"overrides {over}"}
        span = ev.span  # the end of a hold
        return {"detail": f"{span.lever} no longer held: {self._levers[span.lever]:g}, as "
                          "the scenario's events set it"}

    # -- recording -----------------------------------------------------------------------
    def record_stocks(self, step: int) -> dict[str, Any]:
        self._advance_ramps(step)
        # natural deaths are drawn in the stocks pass unless an event of this month reads or
        # changes the agents before the phases (results are the same either way)
        fuse = (self.FUSE_DEATHS and self.params.demography.enabled
                and step not in self._state_steps)
        if self.month(step) == SENIORITY_MONTH:
            # as on the 1st of the month, before the stocks pass draws the month's deaths
            self._snapshot_seniority()
        wave = self._wave_months.get(self.month(step))
        if wave is not None:
            st = self.state
            self.attitude_waves[wave] = waves.tabulate(
                self.month(step), st.view("alive"), st.view("birth"), st.view("status"),
                st.view("belief"), st.view("trust"), self.survey_cuts, self.scale)
        a = self.agg = self.passes.stocks(step, with_deaths=fuse, use_next=self.TAKE_STOCKS,
                                          into=self.ledger.stocks[step])
        # after the stocks: the list of deaths taken last month holds slots (any moment gives
        # the same results: sums are by uid chunk or exact)
        if self.state.compact():
            self._bounds_key = None
        self.ledger.levers[step] = [self.lever(name) for name in LEVER_NAMES]
        self.flows = dict.fromkeys(self.flow_names, 0)
        self._members_at_start = a["members"]
        return {}

    def _snapshot_seniority(self) -> None:
        st = self.state
        edges = np.array([parse_month(x) for x in
                          ("1917-01", "1918-01", "1922-01", "1925-01", "1941-01", "1946-01")],
                         dtype=np.int64)
        counts = np.zeros(edges.size + 1, dtype=np.int64)
        seniority_kernel(st.view("alive"), st.view("status"), st.view("join"), edges, counts)
        labels = ["before 1917", "1917", "1918-24", "1925-40", "1941-45", "after 1945"]
        # bins: [<1917-01]=before 1917, [1917], [1918-21]+[1922-24], ...
        c = counts.tolist()
        merged = [c[0] + c[1], c[2], c[3], c[4], c[5], c[6]]
        self.seniority_1983 = {lab: v / self.scale for lab, v in zip(labels, merged, strict=True)}

    def record_flows(self, step: int) -> dict[str, Any]:
        f = self.flows
        self.last_exit_rate = f["exits"] / max(self._members_at_start, 1.0)
        row = self.ledger.flows[step]
        for j, name in enumerate(self.flow_names):
            row[j] = f[name]
        if self.crisis is not None and self.crisis["date"] == self.step_label(step):
            self.ledger.crisis[step] = {key: self.crisis[key] for key in CRISIS_KEYS}
        return {}

    def timeseries(self, rows: list[dict[str, Any]]):
        """The time series of the months in ``rows``, from the run's :class:`.ledger.Ledger`
        (:func:`.ledger.timeseries`)."""
        return timeseries(self.ledger, rows, self.scale, self.flow_names)

    # -- checkpoints ---------------------------------------------------------------------
    #: made from the scenario (a branch makes them from its own), the model's parts saved
    #: apart (``state``, ``passes``) or caches; every other attribute is the run's state
    checkpoint_derived = ("scenario", "seed", "scale", "rng", "params", "survey_cuts", "start",
                          "end", "holds", "_overridden", "_timeline", "addons", "flow_names",
                          "_state_steps", "_bounds_key", "_bounds", "state", "passes")

    def checkpoint_state(self) -> dict[str, Any]:
        """The model's counters, levers, ongoing events and recorded outcomes, every agent
        array (:meth:`AgentState.checkpoint_state`) and what the month hands to the next
        (:meth:`Month.checkpoint_state`)."""
        return {**super().checkpoint_state(), "state": self.state.checkpoint_state(),
                "passes": self.passes.checkpoint_state()}

    def restore_state(self, saved: dict[str, Any]) -> None:
        saved = dict(saved)
        self.state.restore_state(saved.pop("state"))
        self.passes.restore_state(saved.pop("passes"))
        # a branch may end elsewhere: its record has its own number of months
        saved["ledger"] = saved["ledger"].resized(self.n_steps())
        super().restore_state(saved)
        self._bounds_key = None

    def checkpoint_refs(self) -> dict[int, str]:
        """The scenario's events (purges and war losses under way) by id."""
        return {id(ev): f"events.{eid}" for eid, ev in self.scenario.events.items()}

    def resolve_ref(self, name: str) -> Any:
        kind, _, key = name.partition(".")
        if kind != "events" or key not in self.scenario.events:
            raise KeyError(name)
        return self.scenario.events[key]

    branch_note = " (events and holds dated then or later, and run.end)"

    @classmethod
    def branch_key(cls, scenario: dict[str, Any], label: str) -> dict[str, Any]:
        """What acts before month ``label``: everything but the events and holds dated
        ``label`` or later (a month's events come after its stocks, and a hold starts after
        the events of its first month) and the end of the run."""
        out = super().branch_key(scenario, label)
        at = parse_month(label)
        out["run"] = {k: v for k, v in out.get("run", {}).items() if k != "end"}
        out["events"] = {k: ev for k, ev in out.get("events", {}).items()
                         if parse_month(ev["date"]) < at}
        out["hold"] = {k: h for k, h in out.get("hold", {}).items() if parse_month(h["from"]) < at}
        return out

    def agent_table(self, step: int):
        from .agents import agent_table

        return agent_table(self, step)

    # -- summary -------------------------------------------------------------------------
    def summarize(self, ts, events) -> dict[str, Any]:
        from .summary import summarize

        out = summarize(self, ts, events)
        if self.holds:
            out["holds"] = [span.as_dict() for span in self.holds.values()]
        return out

    @classmethod
    def warnings(cls, scenario: CpsuScenario, keys: list[str]) -> list[str]:
        """Start values set by ``keys`` (``levers.X``) that a dated event overwrites later."""
        return warning_lines(overwritten_start(scenario, keys), scenario.run.start)

    @classmethod
    def observed(cls, column: str) -> tuple[list[dict[str, Any]], str] | None:
        """The dated membership series (members + candidates); fitted up to 1988."""
        if column != "members":
            return None
        from .figures import observed_members

        return observed_members()

    @classmethod
    def markers(cls) -> tuple[tuple[float | tuple[float, float], str], ...]:
        """The turning points the essay names (data/timeline_events.csv), for figures."""
        from .figures import MARKERS

        return MARKERS

    @classmethod
    def figures(cls, result, outdir) -> list:
        from .figures import draw_all

        return draw_all(result, outdir)
