"""Epstein (2002) "Modeling civil violence", Model I, on the allegiance engine.

Citizens on a torus have hardship ``H ~ U(0,1)`` and risk aversion ``R ~ U(0,1)``. With regime
legitimacy ``L`` a citizen's grievance is ``G = H (1 - L)`` (recomputed from the current ``L``, so
legitimacy events act at once). Seeing ``C`` cops and ``A`` actives in its vision (``A`` counts the
citizen itself, so ``A >= 1``), its estimated arrest probability is

* ``printed``: ``P = 1 - exp(-k C/A)`` — the formula as printed in the paper;
* ``rounded``: ``P = 1 - exp(-k round(C/A))`` with round-half-to-even (Python's ``round``), which
  is what Mesa 3.5's example does (``agents.py``: "the round is not in the pnas paper but without
  it, its impossible to replicate the dynamics shown there");
* ``floored``: ``P = 1 - exp(-k floor(C/A))`` — the NetLogo Rebellion model (Wilensky 2004)
  computes ``floor (c / a)`` with ``a = 1 + active agents in vision`` (recalled from its code; not
  re-checked in this session).

A free citizen turns active iff ``G - R P > T``, else quiet. A cop arrests one active citizen
in its vision, chosen uniformly; the jail term is an integer drawn uniformly from
``{0, ..., Jmax}`` (Mesa's ``randint(0, max_jail_term)``), or life if ``Jmax = "inf"``. A jailed
citizen skips one of its turns per tick of term left (Mesa's bookkeeping: a term of J costs J
turns) and acts again on the next turn. With ``movement`` every free agent (cops too, as in Mesa)
then moves to a uniformly chosen empty cell of its vision.

**Vision.** The paper defines vision as "the number of lattice positions (north, south, east,
and west) the agent is able to inspect", yet uses the non-integer vision 1.7 in Run 1, which
only means something with Euclidean distance (1.7 covers the 8 Moore neighbours, as the targets
table records). ``neighbourhood`` therefore offers ``euclidean`` (cells with ``dx² + dy² <= v²``,
NetLogo's ``in-radius``; the default of the bundled scenarios), ``von_neumann`` (the diamond
``|dx| + |dy| <= floor(v)``: Mesa 3.5's default ``OrthogonalVonNeumannGrid`` neighbourhood of
radius ``v``), ``moore`` (the square ``max(|dx|, |dy|) <= floor(v)``) and ``cross`` (the four
axis rays of length ``floor(v)``: the literal "north, south, east and west" reading, as in
Sugarscape). Mesa's example uses ``cop_vision`` for citizens too; here each has its own.

**Jail.** ``jail = "remove"`` takes the arrested citizen off the lattice (its cell is free) and
puts it back on a uniformly drawn empty cell when released; ``jail = "occupy"`` leaves it on its
cell, blocking it, as Mesa 3.5's example does.

**Activation.** Random asynchronous: each tick, all living agents (citizens and cops together,
as in Mesa's ``shuffle_do``) act once in a random permutation (Fisher–Yates driven by the
counter-based RNG); each agent sees the state left by those who acted before it. The tick kernel
is therefore sequential; every draw is keyed by (seed, stream, tick, agent id), so results do
not depend on the thread count.

One tick of the model is, after the engine records the counts at the start of the tick and
applies the tick's events: ``schedule`` (legitimacy ramps and cop removals of running events
advance) then ``tick`` (every agent acts once).

The world size is ``[world] width x height``; ``run.scale`` is accepted (``allegiance.run``
passes it) but ignored.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from numba import njit
from pydantic import Field, model_validator

from ...engine import Model
from ...errors import ScenarioError
from ...rng import uniform
from ...scenario import Frozen, ScenarioBase
from ...state import AgentState

QUIET, ACTIVE, JAILED = 0, 1, 2
CITIZEN, COP = 0, 1
RULES = {"printed": 0, "rounded": 1, "floored": 2}
NEIGHBOURHOODS = ("euclidean", "von_neumann", "moore", "cross")

# ---------------------------------------------------------------------------------------------
# Scenario schema


class RunSettings(Frozen):
    """Length, seed (and an ignored scale) of a run."""

    steps: int = Field(500, ge=1, le=10_000_000, description="ticks to run")
    seed: int = Field(0, ge=0, le=2**63 - 1)
    scale: float = Field(1.0, gt=0, le=1,
                         description="ignored: the world size is set by [world] width x height")


def check_density(world):
    """Citizens and cops fit on the lattice (Models I and II); returns ``world``."""
    if world.citizen_density + world.cop_density > 1:
        raise ValueError(f"citizen_density + cop_density = "
                         f"{world.citizen_density + world.cop_density:g}: must be <= 1")
    return world


class World(Frozen):
    """The torus and who lives on it."""

    width: int = Field(40, ge=3, le=20_000)
    height: int = Field(40, ge=3, le=20_000)
    citizen_density: float = Field(0.7, ge=0, le=1, description="citizens per cell")
    cop_density: float = Field(0.074, ge=0, le=1, description="cops per cell")
    placement: Literal["exact", "bernoulli"] = Field(
        "exact", description="exact: round(density x cells) agents on random cells; "
                             "bernoulli: each cell independently (as Mesa 3.5)")

    @model_validator(mode="after")
    def _fits(self):
        return check_density(self)


class Params(Frozen):
    """Model I parameters (Epstein 2002, Table 2 notation)."""

    legitimacy: float = Field(0.8, ge=0, le=1, description="L at tick 0")
    k: float = Field(2.3, ge=0, description="arrest-probability constant")
    threshold: float = Field(0.1, ge=0, le=1, description="T: net grievance needed to go active")
    vision: float = Field(7.0, gt=0, le=100, description="citizen vision v")
    cop_vision: float = Field(7.0, gt=0, le=100, description="cop vision v*")
    neighbourhood: Literal[NEIGHBOURHOODS] = "euclidean"  # type: ignore[valid-type]
    arrest_rule: Literal["printed", "rounded", "floored"] = "floored"
    max_jail_term: int | Literal["inf"] = Field(30, description="Jmax in ticks, or 'inf'")
    jail: Literal["remove", "occupy"] = "remove"
    movement: bool = True

    @model_validator(mode="after")
    def _jmax(self):
        if isinstance(self.max_jail_term, int) and self.max_jail_term < 0:
            raise ValueError(f"max_jail_term = {self.max_jail_term}: allowed an integer >= 0 "
                             "or 'inf'")
        return self


class StepEvent(Frozen):
    """Fields of every Epstein event: the tick it starts at."""

    step: int = Field(ge=0)
    enabled: bool = True
    note: str = ""


class LegitimacyEvent(StepEvent):
    """Legitimacy moves to ``value``: in one jump, or by ``per_step`` each tick (the 'salami')."""

    type: Literal["legitimacy"]
    value: float = Field(ge=0, le=1)
    per_step: float = Field(0.0, ge=0, le=1, description="change per tick; 0 = one jump")


class CopsEvent(StepEvent):
    """Cops are removed down to ``density``: at once, or ``per_step`` cops per tick."""

    type: Literal["cops"]
    density: float = Field(ge=0, le=1)
    per_step: float = Field(0.0, ge=0, description="cops removed per tick; 0 = all at once")


Event = Annotated[LegitimacyEvent | CopsEvent, Field(discriminator="type")]


class OutburstSettings(Frozen):
    """How outbursts are delimited (see :func:`outburst_records`); both definitions are in the
    summary, ``events`` picks the one written to ``events.parquet`` as it happens."""

    hi: float = Field(0.05, gt=0, le=1, description="hysteresis: starts at actives >= hi x N")
    lo: float = Field(0.025, ge=0, le=1, description="hysteresis: ends at actives < lo x N")
    threshold: int = Field(50, ge=0, description="threshold: actives > this many")
    events: Literal["hysteresis", "threshold", "none"] = Field(
        "hysteresis", description="definition whose starts and ends go to events.parquet")

    @model_validator(mode="after")
    def _order(self):
        if self.lo > self.hi:
            raise ValueError(f"lo = {self.lo:g} is above hi = {self.hi:g}: allowed lo <= hi")
        return self


class OutburstMark(Frozen):
    """An outburst's start or end, as a row of ``events.parquet`` (an observation, not an
    intervention: it changes nothing in the model)."""

    type: Literal["outburst_start", "outburst_end"]
    record: dict[str, Any]


class EpsteinScenario(ScenarioBase):
    """A scenario of Epstein's civil-violence Model I."""

    model: Literal["epstein"]
    run: RunSettings = RunSettings()
    world: World = World()
    params: Params = Params()
    outbursts: OutburstSettings = OutburstSettings()
    events: dict[str, Event] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self):
        return check_world(self)


def check_world(sc):
    """A scenario's vision fits its world, and its cop events only remove cops (Models I and
    II); returns ``sc``."""
    r = math.floor(max(sc.params.vision, sc.params.cop_vision))
    if 2 * r + 1 > min(sc.world.width, sc.world.height):
        raise ValueError(f"vision {r} needs a world at least {2 * r + 1} cells wide and "
                         f"high (width={sc.world.width}, height={sc.world.height})")
    for eid, ev in sc.events.items():
        if ev.type == "cops" and ev.density > sc.world.cop_density:
            raise ValueError(f"events.{eid}.density = {ev.density:g}: cops can only be "
                             f"removed (allowed <= world.cop_density = "
                             f"{sc.world.cop_density:g})")
    return sc


# ---------------------------------------------------------------------------------------------
# Kernels


def offsets(kind: str, v: float) -> np.ndarray:
    """(dx, dy) offsets of a vision neighbourhood of radius ``v``, centre excluded."""
    r = math.floor(v)
    out = []
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if dx == 0 and dy == 0:
                continue
            if kind == "euclidean":
                ok = dx * dx + dy * dy <= v * v + 1e-12
            elif kind == "von_neumann":
                ok = abs(dx) + abs(dy) <= r
            elif kind == "moore":
                ok = True
            elif kind == "cross":
                ok = dx == 0 or dy == 0
            else:
                raise ScenarioError(f"params.neighbourhood = {kind!r}: allowed "
                                    + ", ".join(NEIGHBOURHOODS))
            if ok:
                out.append((dx, dy))
    return np.array(out, dtype=np.int64).reshape(-1, 2)


@njit(cache=True, inline="always")
def _ratio(C, A, rule):
    x = C / A
    if rule == 0:
        return x
    r = np.floor(x)
    if rule == 2:
        return r
    d = x - r  # round half to even, as Python's round()
    if d > 0.5 or (d == 0.5 and r % 2.0 == 1.0):
        r += 1.0
    return r


@njit(cache=True, inline="always")
def _wrap(x, d, n):
    x += d
    if x < 0:
        x += n
    elif x >= n:
        x -= n
    return x


# What the lattice shows at a cell (``code``), kept beside the agent id (``grid``) so a scan of
# the vision reads one byte per cell instead of chasing agent ids through three arrays.
EMPTY, SHOW_QUIET, SHOW_ACTIVE, SHOW_COP, SHOW_JAILED = 0, 1, 2, 3, 4


def spans(off: np.ndarray) -> np.ndarray:
    """The offsets as row spans ``(dy, dx_lo, dx_hi)``, in the offsets' (row-major) order."""
    out: list[list[int]] = []
    for dx, dy in off.tolist():
        if out and out[-1][0] == dy and out[-1][2] == dx - 1:
            out[-1][2] = dx
        else:
            out.append([dy, dx, dx])
    return np.array(out, dtype=np.int64).reshape(-1, 3)


@njit(cache=True, inline="always")
def _count(code, p, W, H, sp, inside, want):
    """Cells of vision spans ``sp`` around cell ``p`` whose code is ``want``."""
    n = 0
    x = p % W
    y = p // W
    for i in range(sp.shape[0]):
        if inside:
            base = p + sp[i, 0] * W
            for c in range(base + sp[i, 1], base + sp[i, 2] + 1):
                n += code[c] == want
        else:
            row = _wrap(y, sp[i, 0], H) * W
            for d in range(sp[i, 1], sp[i, 2] + 1):
                n += code[row + _wrap(x, d, W)] == want
    return n


@njit(cache=True, inline="always")
def _count3(code, p, W, H, sp, inside):
    """(empty, active, cop) cells of vision spans ``sp`` around cell ``p``."""
    e = 0
    a = 0
    c3 = 0
    x = p % W
    y = p // W
    for i in range(sp.shape[0]):
        if inside:
            base = p + sp[i, 0] * W
            for c in range(base + sp[i, 1], base + sp[i, 2] + 1):
                v = code[c]
                e += v == EMPTY
                a += v == SHOW_ACTIVE
                c3 += v == SHOW_COP
        else:
            row = _wrap(y, sp[i, 0], H) * W
            for d in range(sp[i, 1], sp[i, 2] + 1):
                v = code[row + _wrap(x, d, W)]
                e += v == EMPTY
                a += v == SHOW_ACTIVE
                c3 += v == SHOW_COP
    return e, a, c3


@njit(cache=True, inline="always")
def _nth(code, p, W, H, sp, want, k):
    """The ``k``-th (from 0) cell of code ``want`` in the vision spans, in span order."""
    x = p % W
    y = p // W
    for i in range(sp.shape[0]):
        row = _wrap(y, sp[i, 0], H) * W
        for d in range(sp[i, 1], sp[i, 2] + 1):
            c = row + _wrap(x, d, W)
            if code[c] == want:
                if k == 0:
                    return c
                k -= 1
    return -1


@njit(cache=True, inline="always")
def move(a, p, ne, freed, grid, code, pos, W, H, sp, kmove):
    """Agent ``a`` in cell ``p`` moves to a random empty cell in its vision (``ne`` of them,
    plus the cell ``freed`` this tick by an arrest, if any; Models I and II: ``freed`` is
    hidden under a non-empty code while the old empties are scanned)."""
    tot = ne + (freed >= 0)
    if tot > 0:
        i = int(uniform(kmove, a) * tot)
        if i == ne:
            c = freed
        else:
            if freed >= 0:
                code[freed] = SHOW_JAILED  # hide it from the scan of the old empties
            c = _nth(code, p, W, H, sp, EMPTY, i)
            if freed >= 0:
                code[freed] = EMPTY
        grid[c] = a
        code[c] = code[p]
        grid[p] = -1
        code[p] = EMPTY
        pos[a] = c


@njit(cache=True)
def tick_kernel(grid, code, W, H, pos, kind, alive, hard, risk, state, jail_left, spc, rc,
                spp, rp, L, k, T, rule, jmax, movement, remove, korder, kmove, karrest, kterm,
                krelease, order, out):
    """One tick: every living agent acts once, in a keyed random permutation.

    ``grid`` holds the agent id on each cell (-1: empty) and ``code`` what the cell shows
    (``EMPTY``, ``SHOW_*``). ``spc``/``spp`` are the citizens'/cops' visions as row spans and
    ``rc``/``rp`` their radii (away from the seams of the torus a span is contiguous memory).
    A scan counts; a uniform index into the counted cells then picks the arrestee or the cell
    to move to, in span order. ``out`` accumulates ``[arrests, releases, aggrieved seeing cops,
    ... of them active, aggrieved seeing no cop, ... of them active, releases postponed for want
    of an empty cell]``. ``jail_left < 0`` is a life sentence.
    """
    n = pos.shape[0]
    ncell = W * H
    m = 0
    for a in range(n):
        if alive[a]:
            order[m] = a
            m += 1
    for i in range(m - 1, 0, -1):  # Fisher-Yates on keyed draws
        j = int(uniform(korder, i) * (i + 1))
        t = order[i]
        order[i] = order[j]
        order[j] = t
    for s in range(m):
        a = order[s]
        freed = -1  # a cell emptied by an arrest, offered last to the cop's move
        if kind[a] == CITIZEN:
            if state[a] == JAILED:
                if jail_left[a] != 0:
                    if jail_left[a] > 0:
                        jail_left[a] -= 1
                    continue
                if remove:
                    placed = False
                    for att in range(4096):
                        c = int(uniform(krelease, a * 4096 + att) * ncell)
                        if grid[c] < 0:
                            grid[c] = a
                            pos[a] = c
                            placed = True
                            break
                    if not placed:
                        out[6] += 1
                        continue
                state[a] = QUIET
                code[pos[a]] = SHOW_QUIET
                out[1] += 1
            p = pos[a]
            x = p % W
            y = p // W
            sp = spc
            inside = rc <= x < W - rc and rc <= y < H - rc
            ne, nact, C = _count3(code, p, W, H, spc, inside)
            A = 1 + nact
            G = hard[a] * (1.0 - L)
            P = 1.0 - np.exp(-k * _ratio(float(C), float(A), rule))
            act = G - risk[a] * P > T
            state[a] = ACTIVE if act else QUIET
            code[p] = SHOW_ACTIVE if act else SHOW_QUIET
            if G > T:  # would rebel if no arrest were possible: measure deception
                if C > 0:
                    out[2] += 1
                    out[3] += act
                else:
                    out[4] += 1
                    out[5] += act
        else:
            p = pos[a]
            x = p % W
            y = p // W
            sp = spp
            inside = rp <= x < W - rp and rp <= y < H - rp
            ne = _count(code, p, W, H, spp, inside, EMPTY) if movement else 0
            nc = _count(code, p, W, H, spp, inside, SHOW_ACTIVE)
            if nc > 0:
                c = _nth(code, p, W, H, spp, SHOW_ACTIVE, int(uniform(karrest, a) * nc))
                b = grid[c]
                state[b] = JAILED
                jail_left[b] = -1 if jmax < 0 else int(uniform(kterm, b) * (jmax + 1))
                out[0] += 1
                if remove:
                    grid[c] = -1
                    code[c] = EMPTY
                    pos[b] = -1
                    freed = c
                else:
                    code[c] = SHOW_JAILED
        if movement:
            move(a, p, ne, freed, grid, code, pos, W, H, sp, kmove)


def count_outbursts(active: np.ndarray, n_citizens: int, hi: float = 0.05,
                    lo: float = 0.025) -> int:
    """Number of outbursts in a series of active counts.

    An outburst starts when actives reach ``hi`` of the citizens (from below) and ends when they
    fall under ``lo``; the hysteresis keeps one noisy crest from counting twice. A run that
    starts above ``hi`` counts that as an outburst too.
    """
    up = hi * n_citizens
    down = lo * n_citizens
    inside = False
    count = 0
    for v in np.asarray(active, dtype=np.float64):
        if not inside and v >= up:
            inside = True
            count += 1
        elif inside and v < down:
            inside = False
    return count


class OutburstTracker:
    """Delimits outbursts in a series of active counts, one value at a time.

    ``definition = "hysteresis"`` (allegiance's rule, as :func:`count_outbursts`): an outburst
    starts at the first tick with ``actives >= up`` and ends at the first later tick with
    ``actives < down``. ``"threshold"`` (the replications' rule, e.g. Lemos et al.: a peak
    "when actives exceed a threshold", recalled): an outburst is a maximal run of ticks with
    ``actives > up`` (``down = up``). ``end`` is the first tick outside the outburst
    (exclusive); ``total`` sums the actives over ``start <= t < end``.
    """

    def __init__(self, definition: str, up: float, down: float):
        self.definition, self.up, self.down = definition, float(up), float(down)
        self.open: dict[str, Any] | None = None
        self.records: list[dict[str, Any]] = []

    def _inside(self, v: float) -> bool:
        return v > self.up if self.definition == "threshold" else v >= self.up

    def _leaves(self, v: float) -> bool:
        return v <= self.up if self.definition == "threshold" else v < self.down

    def push(self, t: int, v: float) -> tuple[str, dict[str, Any]] | None:
        """Add the count of tick ``t``; returns ``("outburst_start" | "outburst_end", record)``
        when one starts or ends at ``t``."""
        o = self.open
        if o is None:
            if self._inside(v):
                self.open = {"definition": self.definition, "index": len(self.records),
                             "start": t, "end": None, "peak": int(v), "peak_step": t,
                             "total_activation": int(v), "duration": None, "censored": True}
                return "outburst_start", dict(self.open)
            return None
        if self._leaves(v):
            o.update(end=t, duration=t - o["start"], censored=False)
            self.records.append(o)
            self.open = None
            return "outburst_end", dict(o)
        o["total_activation"] += int(v)
        if v > o["peak"]:
            o["peak"], o["peak_step"] = int(v), t
        return None

    def finish(self, t_end: int) -> list[dict[str, Any]]:
        """All records; one still open at ``t_end`` is kept as censored (end and duration
        ``None``)."""
        return self.records + ([dict(self.open)] if self.open is not None else [])


def outburst_records(active: np.ndarray, n_citizens: int, definition: str = "hysteresis",
                     hi: float = 0.05, lo: float = 0.025,
                     threshold: int = 50) -> list[dict[str, Any]]:
    """Each outburst of a series of active counts (tick = index): start, end (exclusive), peak,
    peak_step, total_activation, duration, censored. See :class:`OutburstTracker`."""
    tr = _tracker(definition, n_citizens, hi, lo, threshold)
    a = np.asarray(active)
    for t, v in enumerate(a.tolist()):
        tr.push(t, v)
    return tr.finish(a.size)


def _tracker(definition: str, n: int, hi: float, lo: float, threshold: int) -> OutburstTracker:
    if definition == "threshold":
        return OutburstTracker("threshold", threshold, threshold)
    return OutburstTracker("hysteresis", hi * n, lo * n)


def outburst_stats(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts and means of outburst records, and the waiting times between outbursts.

    ``waiting_times``: ticks from the end of one outburst to the start of the next (the calm
    between them); ``interarrival_times``: from one start to the next. Means over completed
    (uncensored) outbursts for duration and total activation; peaks over all.
    """
    done = [r for r in records if not r["censored"]]
    starts = [r["start"] for r in records]
    waits = [records[i + 1]["start"] - records[i]["end"] for i in range(len(records) - 1)]
    inter = [b - a for a, b in pairwise(starts)]

    def mean(x):
        return float(np.mean(x)) if len(x) else None

    return {"count": len(records), "completed": len(done),
            "mean_peak": mean([r["peak"] for r in records]),
            "mean_duration": mean([r["duration"] for r in done]),
            "mean_total_activation": mean([r["total_activation"] for r in done]),
            "mean_waiting_time": mean(waits), "mean_interarrival_time": mean(inter),
            "waiting_times": waits, "interarrival_times": inter, "records": records}


# ---------------------------------------------------------------------------------------------
# The model

FLOWS = ("arrests", "releases", "aggrieved_seeing_cops", "aggrieved_seeing_cops_active",
         "aggrieved_seeing_no_cops", "aggrieved_seeing_no_cops_active", "releases_postponed")


class EpsteinModel(Model):
    """Epstein (2002) civil violence, Model I (see the module docstring for the rules)."""

    name = "epstein"
    scenario_class = EpsteinScenario

    def __init__(self, scenario: EpsteinScenario, *, seed: int, scale: float):
        super().__init__(scenario, seed=seed, scale=scale)
        self.p = scenario.params
        self.w = scenario.world
        self.legitimacy = float(self.p.legitimacy)
        self._legit_ramp: tuple[int, float, float, float] | None = None  # start, L0, target, rate
        self._cop_ramp: tuple[int, int, float, int] | None = None  # start, target, rate, removed
        self._timeline: dict[int, list[tuple[str, Any]]] = {}
        for eid, ev in sorted(scenario.events.items(), key=lambda t: (t[1].step, t[0])):
            if ev.enabled and ev.step < self.n_steps():
                self._timeline.setdefault(ev.step, []).append((eid, ev))
        self.flows = np.zeros(len(FLOWS), dtype=np.int64)
        self._marks: list[tuple[str, OutburstMark]] = []

    def n_steps(self) -> int:
        return int(self.scenario.run.steps)

    @classmethod
    def memory_estimate(cls, scenario: EpsteinScenario, scale: float) -> int:
        cells = scenario.world.width * scenario.world.height
        return int(cells * (8 + 3 * 8 + 40) + 50 * 2**20)

    # -- setup ---------------------------------------------------------------------------
    def work_size(self) -> int:
        """Agents a step's kernels loop over: a small population runs on one thread (the
        engine's ``threads_for``), where more threads only wait on each other."""
        return int(self.state.n)

    def setup(self) -> None:
        W, H = self.w.width, self.w.height
        ncell = W * H
        cells = np.arange(ncell, dtype=np.int64)
        u = self.rng.uniforms("setup.place", 0, cells)
        if self.w.placement == "exact":
            n_cit = round(self.w.citizen_density * ncell)
            n_cop = round(self.w.cop_density * ncell)
            shuffled = np.argsort(u, kind="stable")
            cit_cells = shuffled[:n_cit]
            cop_cells = shuffled[n_cit:n_cit + n_cop]
        else:
            cit_cells = cells[u < self.w.citizen_density]
            cop_cells = cells[(u >= self.w.citizen_density)
                              & (u < self.w.citizen_density + self.w.cop_density)]
        n_cit, n_cop = cit_cells.size, cop_cells.size
        self.n_citizens, self.n_cops0 = n_cit, n_cop
        self.state = st = AgentState(capacity=n_cit + n_cop)
        for name, dt, fill in (("pos", np.int64, -1), ("kind", np.int8, CITIZEN),
                               ("hardship", np.float64, 0.0), ("risk", np.float64, 0.0),
                               ("status", np.int8, QUIET), ("jail_left", np.int64, 0)):
            st.declare(name, dt, fill, owner="epstein")
        st.add(n_cit + n_cop)
        ids = st.view("uid")
        st.pos[:n_cit] = cit_cells
        st.pos[n_cit:n_cit + n_cop] = cop_cells
        st.kind[n_cit:n_cit + n_cop] = COP
        st.hardship[:n_cit] = self.rng.uniforms("setup.hardship", 0, ids[:n_cit])
        st.risk[:n_cit] = self.rng.uniforms("setup.risk", 0, ids[:n_cit])
        self.grid = np.full(ncell, -1, dtype=np.int64)
        self.grid[st.view("pos")] = ids
        self.code = np.zeros(ncell, dtype=np.int8)
        self.code[cit_cells] = SHOW_QUIET
        self.code[cop_cells] = SHOW_COP
        self.offc = offsets(self.p.neighbourhood, self.p.vision)
        self.offp = offsets(self.p.neighbourhood, self.p.cop_vision)
        self.spc = spans(self.offc)
        self.spp = spans(self.offp)
        n = n_cit + n_cop
        self._order = np.empty(n, dtype=np.int64)
        self._jmax = -1 if self.p.max_jail_term == "inf" else int(self.p.max_jail_term)

    # -- events and schedule -------------------------------------------------------------
    def events_at(self, step: int) -> list[tuple[str, Any]]:
        marks, self._marks = self._marks, []
        return marks + self._timeline.get(step, [])

    def apply_event(self, step: int, event_id: str, ev) -> dict[str, Any]:
        if ev.type in ("outburst_start", "outburst_end"):
            r = ev.record
            return {"detail": f"{ev.type[9:]} of outburst {r['index']} ({r['definition']}): "
                              f"peak {r['peak']} so far", **{k: r[k] for k in (
                                  "definition", "start", "end", "peak", "peak_step",
                                  "total_activation", "duration")}}
        if ev.type == "legitimacy":
            l0 = self.legitimacy
            if ev.per_step == 0:
                self._legit_ramp = None
                self.legitimacy = float(ev.value)
                return {"detail": f"legitimacy {l0:g} -> {ev.value:g} at once"}
            self._legit_ramp = (step, l0, float(ev.value), float(ev.per_step))
            return {"detail": f"legitimacy {l0:g} -> {ev.value:g} by {ev.per_step:g} per tick"}
        target = round(ev.density * self.w.width * self.w.height)
        now = self.n_cops()
        if ev.per_step == 0:
            self._cop_ramp = None
            self._remove_cops(step, now - target)
            return {"detail": f"cops {now} -> {self.n_cops()} at once"}
        self._cop_ramp = (step, target, float(ev.per_step), 0)
        return {"detail": f"cops {now} -> {target} by {ev.per_step:g} per tick"}

    def n_cops(self) -> int:
        """Cops on the lattice now."""
        st = self.state
        return int(np.count_nonzero(st.view("alive") & (st.view("kind") == COP)))

    def _remove_cops(self, step: int, count: int) -> None:
        st = self.state
        cops = np.flatnonzero(st.view("alive") & (st.view("kind") == COP))
        count = min(max(count, 0), cops.size)
        if count == 0:
            return
        u = self.rng.uniforms("cops.remove", step, st.uid[cops])
        gone = cops[np.argsort(u, kind="stable")[:count]]
        self.grid[st.pos[gone]] = -1
        self.code[st.pos[gone]] = EMPTY
        st.pos[gone] = -1
        st.alive[gone] = False

    def _schedule(self, step: int) -> None:
        """Phase ``schedule``: running legitimacy ramps and cop removals advance one tick."""
        if self._legit_ramp is not None:
            s0, l0, target, rate = self._legit_ramp
            n = step - s0 + 1
            if target < l0:
                self.legitimacy = max(target, l0 - rate * n)
            else:
                self.legitimacy = min(target, l0 + rate * n)
            if self.legitimacy == target:
                self._legit_ramp = None
        if self._cop_ramp is not None:
            s0, target, rate, removed = self._cop_ramp
            due = math.floor(rate * (step - s0 + 1)) - removed
            due = min(due, self.n_cops() - target)
            self._remove_cops(step, due)
            self._cop_ramp = (s0, target, rate, removed + max(due, 0))
            if self.n_cops() <= target:
                self._cop_ramp = None

    def _tick(self, step: int) -> None:
        """Phase ``tick``: every agent acts once (random asynchronous activation)."""
        st, p, r = self.state, self.p, self.rng
        tick_kernel(self.grid, self.code, self.w.width, self.w.height, st.view("pos"),
                    st.view("kind"), st.view("alive"), st.view("hardship"), st.view("risk"),
                    st.view("status"), st.view("jail_left"), self.spc,
                    math.floor(self.p.vision), self.spp, math.floor(self.p.cop_vision),
                    self.legitimacy, p.k,
                    p.threshold, RULES[p.arrest_rule], self._jmax, p.movement,
                    p.jail == "remove", r.key("order", step), r.key("move", step),
                    r.key("arrest", step), r.key("jail_term", step), r.key("release", step),
                    self._order, self.flows)

    def phases(self) -> list[tuple[str, Callable[[int], None]]]:
        return [("schedule", self._schedule), ("tick", self._tick)]

    # -- recording -----------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Citizens by state and cops, now."""
        st = self.state
        s = st.view("status")[: self.n_citizens]
        c = np.bincount(s, minlength=3)
        return {"active": int(c[ACTIVE]), "quiet": int(c[QUIET]), "jailed": int(c[JAILED]),
                "cops": self.n_cops()}

    def record_stocks(self, step: int) -> dict[str, Any]:
        self.flows[:] = 0
        c = self.counts()
        self._track(step, c["active"])
        return {**c, "legitimacy": self.legitimacy}

    def _track(self, step: int, active: int) -> None:
        """Feed the outburst tracker; a start or end becomes an event of this step."""
        o = self.scenario.outbursts
        if o.events == "none":
            return
        if step == 0:
            self._tracker = _tracker(o.events, self.n_citizens, o.hi, o.lo, o.threshold)
        hit = self._tracker.push(step, active)
        if hit is not None:
            kind, rec = hit
            self._marks.append((f"outburst_{rec['index']}_{kind[9:]}",
                                OutburstMark(type=kind, record=rec)))

    def outburst_summary(self, active: np.ndarray) -> dict[str, Any]:
        """Outbursts of the per-tick series ``active`` under both definitions."""
        o = self.scenario.outbursts
        return {"outburst_stats": {
            d: {"definition": d, **outburst_stats(outburst_records(
                active, self.n_citizens, d, o.hi, o.lo, o.threshold))}
            for d in ("hysteresis", "threshold")}}

    def record_flows(self, step: int) -> dict[str, Any]:
        return {name: int(v) for name, v in zip(FLOWS, self.flows, strict=True)}

    def snapshot(self) -> list[str]:
        """The lattice now, one string per row: '.' empty, 'q' quiet, 'a' active, 'c' cop."""
        st = self.state
        code = np.full(self.grid.size, ord("."), dtype=np.uint8)
        occ = self.grid >= 0
        g = self.grid[occ]
        kind, status = st.kind[g], st.status[g]
        ch = np.where(kind == COP, ord("c"),
                      np.where(status == ACTIVE, ord("a"),
                               np.where(status == JAILED, ord("j"), ord("q"))))
        code[occ] = ch
        W = self.w.width
        return [code[i * W:(i + 1) * W].tobytes().decode() for i in range(self.w.height)]

    def summarize(self, ts, events) -> dict[str, Any]:
        final = self.counts()
        act = ts["active"].to_numpy()
        f = {k: int(ts[k].sum()) for k in FLOWS}
        seen, free = f["aggrieved_seeing_cops"], f["aggrieved_seeing_no_cops"]
        headline = {
            "citizens": self.n_citizens,
            "cops_at_start": self.n_cops0,
            "mean_active": float(act.mean()),
            "peak_active": int(act.max()),
            "peak_step": int(act.argmax()),
            "outbursts": count_outbursts(np.append(act, final["active"]), self.n_citizens),
            "final_active": final["active"],
            "final_jailed": final["jailed"],
            "final_cops": final["cops"],
            "active_share_aggrieved_seeing_cops": f["aggrieved_seeing_cops_active"] / seen
            if seen else float("nan"),
            "active_share_aggrieved_seeing_no_cops": f["aggrieved_seeing_no_cops_active"] / free
            if free else float("nan"),
        }
        ob = self.outburst_summary(ts["active"].to_numpy())
        hy = ob["outburst_stats"]["hysteresis"]
        headline["outburst_mean_waiting_time"] = hy["mean_waiting_time"]
        headline["outburst_mean_total_activation"] = hy["mean_total_activation"]
        return {"headline": headline, "final_step": self.n_steps(), "snapshot": self.snapshot(),
                **ob}

    @classmethod
    def figures(cls, result, outdir) -> list[Path]:
        return draw_figures(result, Path(outdir))


# ---------------------------------------------------------------------------------------------
# Figures

SOURCE = ("Model: Epstein J.M. (2002) Modeling civil violence, PNAS 99 suppl. 3:7243-7250, "
          "Model I; allegiance epstein")


def draw_figures(result, outdir: Path) -> list[Path]:
    """Actives/jailed/quiet over time, and the lattice at the end of the run."""
    from matplotlib.colors import ListedColormap

    from ...plotting import PALETTE, save
    from ...plotting import plt as _plt

    plt = _plt()
    ts = result.timeseries
    m = result.manifest
    sc = m["scenario"]
    cap = (f"{SOURCE}; scenario {m['scenario_name']}, seed {m['seed']}, "
           f"{sc['world']['width']}x{sc['world']['height']} torus, "
           f"rule {sc['params']['arrest_rule']}, "
           f"vision {sc['params']['vision']:g} ({sc['params']['neighbourhood']}).")
    paths = []
    fig, ax = plt.subplots(figsize=(7, 4))
    x = ts["step"].to_numpy()
    ax.plot(x, ts["quiet"], color=PALETTE["quiet"], lw=1.0, label="quiet")
    ax.plot(x, ts["active"], color=PALETTE["acting"], lw=1.2, label="active")
    ax.plot(x, ts["jailed"], color=PALETTE["jailed"], lw=1.0, label="jailed")
    ax.plot(x, ts["cops"], color=PALETTE["cops"], lw=1.0, ls="--", label="cops")
    ax.set_xlabel("tick")
    ax.set_ylabel("agents")
    ax.set_ylim(-20, 1.3 * float(ts[["quiet", "active", "jailed"]].max().max()))
    ax2 = ax.twinx()
    ax2.plot(x, ts["legitimacy"], color=PALETTE["trust"], lw=1.0, ls=":",
             label="legitimacy (right)")
    ax2.set_ylim(0, 1.3)  # the same headroom as the left axis: the legend sits above
    ax2.set_ylabel("legitimacy")
    ax2.grid(False)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper left", fontsize=7, frameon=False, ncol=3)
    ax.set_title(f"Civil violence: {m['scenario_name']}")
    fig.subplots_adjust(bottom=0.2)  # room for the sources caption under the tick label
    paths += save(fig, outdir, "epstein_counts", cap)

    rows = result.summary.get("snapshot") or []
    if rows:
        lut = {".": 0, "q": 1, "a": 2, "c": 3, "j": 4}
        img = np.array([[lut[ch] for ch in row] for row in rows], dtype=np.int8)
        fig, ax = plt.subplots(figsize=(5, 5.4))
        cmap = ListedColormap(["white", PALETTE["quiet"], PALETTE["acting"], PALETTE["cops"],
                               PALETTE["jailed"]])
        ax.imshow(img, cmap=cmap, vmin=0, vmax=4, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        ax.set_title(f"Lattice after tick {result.summary['final_step']}: quiet (green), "
                     "active (magenta), cops (purple), jailed (grey)", fontsize=8)
        fig.subplots_adjust(bottom=0.12)
        paths += save(fig, outdir, "epstein_lattice", cap)
    return paths
