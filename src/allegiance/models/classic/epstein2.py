"""Epstein (2002) "Modeling civil violence", Model II: inter-group violence, on the Model I engine.

Two ethnic groups, Blue and Green, share the torus with an optional force of cops ("peace
keepers"). The rules are Model I's (:mod:`.epstein`: grievance, arrest probability, the three
arrest rules, vision, jail, random asynchronous activation, movement), with these changes:

* **Legitimacy** ``L`` is, in Model II, each group's view of the legitimacy of the *other*
  group (its "right to exist"); grievance is ``G = H (1 - L)`` as in Model I.
* **Killing.** A citizen whose ``G - R P > T`` turns active and kills one member of the other
  group in its vision, chosen uniformly (if there is one). The victim dies at once.
* **Arrest probability** counts the cops ``C`` in vision and the actives ``A`` of the agent's
  *own* group (itself included): ``P = 1 - exp(-k ratio(C/A))`` with ``ratio`` the scenario's
  ``arrest_rule`` (assumption: the paper's "actives" read as one's own side, the ones who share
  the risk of arrest).
* **Reproduction and ageing.** Each tick a free citizen clones itself with probability
  ``clone_rate`` (0.05 in Table 2) onto a uniformly chosen empty cell of its vision; the child
  is of its parent's group, age 0, quiet, and draws its own hardship and risk aversion
  (assumption: the paper's inheritance of H and R is not recalled; fresh draws keep the
  groups' distributions fixed). Every citizen ages one tick per turn (in jail too) and dies on
  reaching ``max_age`` (200 in Table 2); initial ages are uniform on ``0..max_age-1``
  (assumption, so that deaths are spread out from the start).
* **Cops** arrest an active citizen of either group in their vision (Model I's rule).

Every draw is keyed by (seed, stream, tick, agent slot) and a newborn's traits by the run's
birth counter, so the same seed gives the same run whatever the thread count. Agent slots are a
fixed pool (``2 x cells``: every cell plus as many off the lattice in jail); a dead citizen's slot
is reused by a later birth, and a birth with no free slot is skipped and counted
(``births_blocked``).

One tick: the engine records the counts and applies the tick's events (legitimacy and cops, as
in Model I), then ``schedule`` (ramps advance) and ``tick`` (every living agent, in a keyed
random permutation: a citizen ages, serves or leaves jail, decides, kills, moves, clones; a cop
arrests and moves). Agents born or killed during a tick do not act in it.

Paper and replications: Table 2 parameters and the qualitative results E6-E9 are in
``/work/shared/data/classic_model_targets.csv``; ``docs/CLASSIC.md`` says which ones this
implementation reproduces (measured by ``benchmarks/epstein_tables.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from numba import njit
from pydantic import Field, model_validator

from ...rng import uniform
from ...scenario import Frozen, ScenarioBase
from ...state import AgentState
from .epstein import (
    NEIGHBOURHOODS,
    RULES,
    EpsteinModel,
    Event,
    OutburstSettings,
    RunSettings,
    _ratio,
    _wrap,
    check_density,
    check_world,
    move,
    offsets,
    spans,
)

__all__ = ["Epstein2Model", "Epstein2Scenario", "extinction"]

QUIET, ACTIVE, JAILED = 0, 1, 2
CITIZEN, COP = 0, 1
BLUE, GREEN = 0, 1
# cell codes: what a cell shows; a citizen's code is 1 + 2*group + active
EMPTY, Q_BLUE, A_BLUE, Q_GREEN, A_GREEN, SHOW_COP, SHOW_JAILED = 0, 1, 2, 3, 4, 5, 6
NCODES = 7

# ---------------------------------------------------------------------------------------------
# Scenario schema


class World2(Frozen):
    """The torus and who lives on it at tick 0."""

    width: int = Field(40, ge=3, le=20_000)
    height: int = Field(40, ge=3, le=20_000)
    citizen_density: float = Field(0.7, ge=0, le=1, description="citizens per cell")
    blue_share: float = Field(0.5, ge=0, le=1, description="share of citizens who are Blue")
    cop_density: float = Field(0.0, ge=0, le=1, description="cops per cell")

    @model_validator(mode="after")
    def _fits(self):
        return check_density(self)


class Params2(Frozen):
    """Model II parameters (Epstein 2002, Table 2 notation)."""

    legitimacy: float = Field(0.8, ge=0, le=1, description="L: legitimacy of the other group")
    k: float = Field(2.3, ge=0, description="arrest-probability constant")
    threshold: float = Field(0.1, ge=0, le=1, description="T: net grievance needed to go active")
    vision: float = Field(1.7, gt=0, le=100, description="citizen vision v")
    cop_vision: float = Field(1.7, gt=0, le=100, description="cop vision v*")
    neighbourhood: Literal[NEIGHBOURHOODS] = "euclidean"  # type: ignore[valid-type]
    arrest_rule: Literal["printed", "rounded", "floored"] = "printed"
    max_jail_term: int | Literal["inf"] = Field(15, description="Jmax in ticks, or 'inf'")
    movement: bool = True
    clone_rate: float = Field(0.05, ge=0, le=1, description="chance per tick of cloning")
    max_age: int = Field(200, ge=1, le=10_000_000, description="ticks a citizen lives")

    @model_validator(mode="after")
    def _jmax(self):
        if isinstance(self.max_jail_term, int) and self.max_jail_term < 0:
            raise ValueError(f"max_jail_term = {self.max_jail_term}: allowed an integer >= 0 "
                             "or 'inf'")
        return self


class Epstein2Scenario(ScenarioBase):
    """A scenario of Epstein's Model II (inter-group violence)."""

    model: Literal["epstein2"]
    run: RunSettings = RunSettings()
    world: World2 = World2()
    params: Params2 = Params2()
    outbursts: OutburstSettings = OutburstSettings()
    events: dict[str, Event] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self):
        return check_world(self)


# ---------------------------------------------------------------------------------------------
# Kernels


@njit(cache=True, inline="always")
def _hist(code, p, W, H, sp, h):
    """Counts of each cell code in vision spans ``sp`` around cell ``p`` (into ``h``)."""
    h[:] = 0
    x = p % W
    y = p // W
    for i in range(sp.shape[0]):
        row = _wrap(y, sp[i, 0], H) * W
        for d in range(sp[i, 1], sp[i, 2] + 1):
            h[code[row + _wrap(x, d, W)]] += 1


@njit(cache=True, inline="always")
def _nth2(code, p, W, H, sp, c1, c2, k):
    """The ``k``-th (from 0) cell showing code ``c1`` or ``c2`` in the spans, in span order."""
    x = p % W
    y = p // W
    for i in range(sp.shape[0]):
        row = _wrap(y, sp[i, 0], H) * W
        for d in range(sp[i, 1], sp[i, 2] + 1):
            c = row + _wrap(x, d, W)
            v = code[c]
            if v == c1 or v == c2:  # noqa: PLR1714, SIM109 (numba: no tuple in)
                if k == 0:
                    return c
                k -= 1
    return -1


@njit(cache=True, inline="always")
def _die(a, grid, code, pos, alive, free, nfree):
    """Citizen ``a`` dies: its cell (if it has one) empties and its slot is free for a birth."""
    alive[a] = False
    if pos[a] >= 0:
        grid[pos[a]] = -1
        code[pos[a]] = EMPTY
        pos[a] = -1
    free[nfree[0]] = a
    nfree[0] += 1


@njit(cache=True)
def tick2_kernel(grid, code, W, H, pos, kind, group, alive, hard, risk, state, jail_left, age,
                 born, step, free, nfree, nborn, spc, spp, L, k, T, rule, jmax, movement,
                 clone_rate, max_age, korder, kmove, karrest, kterm, krelease, kkill, kclone,
                 kplace, kbirth, order, h, out):
    """One tick of Model II: every agent living at its start acts once, in a keyed permutation.

    ``out`` accumulates ``[arrests, releases, Blues killed, Greens killed, Blue births, Green
    births, deaths of age, births blocked, releases postponed]``. ``jail_left < 0``: life.
    """
    n = pos.shape[0]
    ncell = W * H
    m = 0
    for a in range(n):
        if alive[a]:
            order[m] = a
            m += 1
    for i in range(m - 1, 0, -1):
        j = int(uniform(korder, i) * (i + 1))
        t = order[i]
        order[i] = order[j]
        order[j] = t
    for s in range(m):
        a = order[s]
        if not alive[a] or born[a] == step:  # killed (or its slot reborn) earlier this tick
            continue
        freed = -1
        if kind[a] == CITIZEN:
            age[a] += 1
            if age[a] >= max_age:
                _die(a, grid, code, pos, alive, free, nfree)
                out[6] += 1
                continue
            if state[a] == JAILED:
                if jail_left[a] != 0:
                    if jail_left[a] > 0:
                        jail_left[a] -= 1
                    continue
                placed = False
                for att in range(4096):
                    c = int(uniform(krelease, a * 4096 + att) * ncell)
                    if grid[c] < 0:
                        grid[c] = a
                        pos[a] = c
                        placed = True
                        break
                if not placed:
                    out[8] += 1
                    continue
                state[a] = QUIET
                out[1] += 1
            p = pos[a]
            g = group[a]
            _hist(code, p, W, H, spc, h)
            own_active = A_BLUE if g == BLUE else A_GREEN
            oq = Q_GREEN if g == BLUE else Q_BLUE
            oa = A_GREEN if g == BLUE else A_BLUE
            C = h[SHOW_COP]
            A = 1 + h[own_active]
            G = hard[a] * (1.0 - L)
            P = 1.0 - np.exp(-k * _ratio(float(C), float(A), rule))
            act = G - risk[a] * P > T
            state[a] = ACTIVE if act else QUIET
            code[p] = 1 + 2 * g + (1 if act else 0)
            ne = h[EMPTY]
            if act:
                nv = h[oq] + h[oa]
                if nv > 0:
                    c = _nth2(code, p, W, H, spc, oq, oa, int(uniform(kkill, a) * nv))
                    b = grid[c]
                    _die(b, grid, code, pos, alive, free, nfree)
                    out[2 + group[b]] += 1
                    freed = c
            sp = spc
        else:
            p = pos[a]
            _hist(code, p, W, H, spp, h)
            ne = h[EMPTY]
            nc = h[A_BLUE] + h[A_GREEN]
            if nc > 0:
                c = _nth2(code, p, W, H, spp, A_BLUE, A_GREEN, int(uniform(karrest, a) * nc))
                b = grid[c]
                state[b] = JAILED
                jail_left[b] = -1 if jmax < 0 else int(uniform(kterm, b) * (jmax + 1))
                out[0] += 1
                grid[c] = -1
                code[c] = EMPTY
                pos[b] = -1
                freed = c
            sp = spp
        if movement:
            move(a, p, ne, freed, grid, code, pos, W, H, sp, kmove)
        if kind[a] == CITIZEN and clone_rate > 0 and uniform(kclone, a) < clone_rate:
            p = pos[a]
            _hist(code, p, W, H, spc, h)
            if h[EMPTY] == 0:
                continue
            if nfree[0] == 0:
                out[7] += 1
                continue
            c = _nth2(code, p, W, H, spc, EMPTY, EMPTY, int(uniform(kplace, a) * h[EMPTY]))
            nfree[0] -= 1
            b = free[nfree[0]]
            alive[b] = True
            kind[b] = CITIZEN
            group[b] = group[a]
            hard[b] = uniform(kbirth, 2 * nborn[0])
            risk[b] = uniform(kbirth, 2 * nborn[0] + 1)
            nborn[0] += 1
            state[b] = QUIET
            jail_left[b] = 0
            age[b] = 0
            born[b] = step
            pos[b] = c
            grid[c] = b
            code[c] = 1 + 2 * group[a]
            out[4 + group[a]] += 1


def extinction(blue: np.ndarray, green: np.ndarray) -> tuple[int | None, str | None]:
    """First step at which a group has no living member, and the surviving group.

    Returns ``(None, None)`` if both groups live to the end; ``"none"`` survives if both die out
    at the same step.
    """
    b = np.asarray(blue)
    g = np.asarray(green)
    gone = np.flatnonzero((b == 0) | (g == 0))
    if gone.size == 0:
        return None, None
    i = int(gone[0])
    if b[i] == 0 and g[i] == 0:
        return i, "none"
    return i, "green" if b[i] == 0 else "blue"


# ---------------------------------------------------------------------------------------------
# The model

FLOWS2 = ("arrests", "releases", "killed_blue", "killed_green", "births_blue", "births_green",
          "deaths_age", "births_blocked", "releases_postponed")


class Epstein2Model(EpsteinModel):
    """Epstein (2002) Model II (see the module docstring for the rules).

    Events (legitimacy jumps and ramps, cop withdrawals) and the ``schedule`` phase are Model
    I's.
    """

    name = "epstein2"
    scenario_class = Epstein2Scenario

    def __init__(self, scenario: Epstein2Scenario, *, seed: int, scale: float):
        super().__init__(scenario, seed=seed, scale=scale)
        self.flows = np.zeros(len(FLOWS2), dtype=np.int64)

    @classmethod
    def memory_estimate(cls, scenario: Epstein2Scenario, scale: float) -> int:
        cells = scenario.world.width * scenario.world.height
        return int(cells * (9 + 2 * 50) + 50 * 2**20)

    def setup(self) -> None:
        W, H = self.w.width, self.w.height
        ncell = W * H
        cells = np.arange(ncell, dtype=np.int64)
        u = self.rng.uniforms("setup.place", 0, cells)
        shuffled = np.argsort(u, kind="stable")
        n_cit = round(self.w.citizen_density * ncell)
        n_cop = round(self.w.cop_density * ncell)
        n_blue = round(self.w.blue_share * n_cit)
        cit_cells = shuffled[:n_cit]
        cop_cells = shuffled[n_cit:n_cit + n_cop]
        self.n_citizens, self.n_cops0, self.n_blue0 = n_cit, n_cop, n_blue
        cap = 2 * ncell
        self.state = st = AgentState(capacity=cap)
        for name, dt, fill in (("pos", np.int64, -1), ("kind", np.int8, CITIZEN),
                               ("group", np.int8, BLUE), ("hardship", np.float64, 0.0),
                               ("risk", np.float64, 0.0), ("status", np.int8, QUIET),
                               ("jail_left", np.int64, 0), ("age", np.int64, 0),
                               ("born", np.int64, -1)):
            st.declare(name, dt, fill, owner="epstein2")
        st.add(cap)
        n = n_cit + n_cop
        st.alive[n:] = False
        ids = st.view("uid")
        st.pos[:n_cit] = cit_cells
        st.pos[n_cit:n] = cop_cells
        st.kind[n_cit:n] = COP
        st.group[n_blue:n_cit] = GREEN
        st.hardship[:n_cit] = self.rng.uniforms("setup.hardship", 0, ids[:n_cit])
        st.risk[:n_cit] = self.rng.uniforms("setup.risk", 0, ids[:n_cit])
        st.age[:n_cit] = (self.rng.uniforms("setup.age", 0, ids[:n_cit])
                          * self.p.max_age).astype(np.int64)
        self.grid = np.full(ncell, -1, dtype=np.int64)
        self.grid[st.pos[:n]] = ids[:n]
        self.code = np.zeros(ncell, dtype=np.int8)
        self.code[cit_cells] = 1 + 2 * st.group[:n_cit]
        self.code[cop_cells] = SHOW_COP
        self.spc = spans(offsets(self.p.neighbourhood, self.p.vision))
        self.spp = spans(offsets(self.p.neighbourhood, self.p.cop_vision))
        # free slots, taken from the end: the lowest free slot is used first
        self._free = np.zeros(cap, dtype=np.int64)
        self._free[: cap - n] = np.arange(cap - 1, n - 1, -1)
        self._nfree = np.array([cap - n], dtype=np.int64)
        self._nborn = np.zeros(1, dtype=np.int64)
        self._order = np.empty(cap, dtype=np.int64)
        self._h = np.zeros(NCODES, dtype=np.int64)
        self._jmax = -1 if self.p.max_jail_term == "inf" else int(self.p.max_jail_term)

    def _tick(self, step: int) -> None:
        """Phase ``tick``: every agent acts once (random asynchronous activation)."""
        st, p, r = self.state, self.p, self.rng
        tick2_kernel(self.grid, self.code, self.w.width, self.w.height, st.view("pos"),
                     st.view("kind"), st.view("group"), st.view("alive"), st.view("hardship"),
                     st.view("risk"), st.view("status"), st.view("jail_left"), st.view("age"),
                     st.view("born"), step, self._free, self._nfree, self._nborn, self.spc,
                     self.spp, self.legitimacy, p.k, p.threshold, RULES[p.arrest_rule],
                     self._jmax, p.movement, p.clone_rate, p.max_age, r.key("order", step),
                     r.key("move", step), r.key("arrest", step), r.key("jail_term", step),
                     r.key("release", step), r.key("kill", step), r.key("clone", step),
                     r.key("clone_place", step), r.key("birth", 0), self._order, self._h,
                     self.flows)

    def counts(self) -> dict[str, int]:
        """Citizens by group and state, and cops, now."""
        st = self.state
        alive = st.view("alive")
        cit = alive & (st.view("kind") == CITIZEN)
        blue = cit & (st.view("group") == BLUE)
        green = cit & (st.view("group") == GREEN)
        s = st.view("status")
        return {"blue": int(blue.sum()), "green": int(green.sum()),
                "blue_active": int((blue & (s == ACTIVE)).sum()),
                "green_active": int((green & (s == ACTIVE)).sum()),
                "active": int((cit & (s == ACTIVE)).sum()),
                "jailed": int((cit & (s == JAILED)).sum()),
                "cops": self.n_cops()}

    def record_flows(self, step: int) -> dict[str, Any]:
        return {name: int(v) for name, v in zip(FLOWS2, self.flows, strict=True)}

    def snapshot(self) -> list[str]:
        """The lattice now, one string per row: '.' empty, 'b'/'B' quiet/active Blue,
        'g'/'G' quiet/active Green, 'c' cop."""
        chars = np.frombuffer(b".bBgGcj", dtype=np.uint8)
        img = chars[self.code]
        W = self.w.width
        return [img[i * W:(i + 1) * W].tobytes().decode() for i in range(self.w.height)]

    def summarize(self, ts, events) -> dict[str, Any]:
        final = self.counts()
        blue = np.append(ts["blue"].to_numpy(), final["blue"])
        green = np.append(ts["green"].to_numpy(), final["green"])
        at, survivor = extinction(blue, green)
        kills = int(ts["killed_blue"].sum() + ts["killed_green"].sum())
        act = np.append(ts["active"].to_numpy(), final["active"])
        headline = {
            "citizens_at_start": self.n_citizens,
            "blue_at_start": self.n_blue0,
            "cops_at_start": self.n_cops0,
            "final_blue": final["blue"],
            "final_green": final["green"],
            "final_cops": final["cops"],
            "genocide": at is not None,
            "genocide_step": at,
            "ticks_to_genocide": self.n_steps() if at is None else at,
            "survivor": survivor,
            "killed_blue": int(ts["killed_blue"].sum()),
            "killed_green": int(ts["killed_green"].sum()),
            "kills": kills,
            "kills_per_100_ticks": 100.0 * kills / self.n_steps(),
            "arrests": int(ts["arrests"].sum()),
            "mean_active": float(act.mean()),
            "peak_active": int(act.max()),
        }
        out = {"headline": headline, "final_step": self.n_steps(), "snapshot": self.snapshot()}
        out.update(self.outburst_summary(ts["active"].to_numpy()))
        return out

    @classmethod
    def figures(cls, result, outdir) -> list[Path]:
        return draw_figures2(result, Path(outdir))


def draw_figures2(result, outdir: Path) -> list[Path]:
    """Blues, Greens, actives and cops over time, and the lattice at the end of the run."""
    from matplotlib.colors import ListedColormap

    from ...plotting import PALETTE, save
    from ...plotting import plt as _plt

    plt = _plt()
    ts = result.timeseries
    m = result.manifest
    sc = m["scenario"]
    cap = (f"Model: Epstein J.M. (2002) Modeling civil violence, PNAS 99 suppl. 3:7243-7250, "
           f"Model II; allegiance epstein2; scenario {m['scenario_name']}, seed {m['seed']}, "
           f"{sc['world']['width']}x{sc['world']['height']} torus, L = "
           f"{sc['params']['legitimacy']:g}, rule {sc['params']['arrest_rule']}.")
    fig, ax = plt.subplots(figsize=(7, 4))
    x = ts["step"].to_numpy()
    ax.plot(x, ts["blue"], color="#2166ac", lw=1.2, label="Blue")
    ax.plot(x, ts["green"], color="#1b7837", lw=1.2, label="Green")
    ax.plot(x, ts["active"], color=PALETTE["acting"], lw=1.0, label="active (killing)")
    ax.plot(x, ts["cops"], color=PALETTE["cops"], lw=1.0, ls="--", label="cops")
    ax.set_xlabel("tick")
    ax.set_ylabel("agents")
    ax.legend(loc="upper right", fontsize=7, frameon=False)
    ax.set_title(f"Inter-group violence: {m['scenario_name']}")
    fig.subplots_adjust(bottom=0.2)
    paths = save(fig, outdir, "epstein2_counts", cap)
    rows = result.summary.get("snapshot") or []
    if rows:
        lut = {ch: i for i, ch in enumerate(".bBgGcj")}
        img = np.array([[lut[ch] for ch in row] for row in rows], dtype=np.int8)
        fig, ax = plt.subplots(figsize=(5, 5.4))
        cmap = ListedColormap(["white", "#92c5de", "#053061", "#a6dba0", "#00441b",
                               PALETTE["cops"], PALETTE["jailed"]])
        ax.imshow(img, cmap=cmap, vmin=0, vmax=6, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        ax.set_title(f"Lattice after tick {result.summary['final_step']}: Blue, Green (dark: "
                     "active), cops (purple)", fontsize=8)
        fig.subplots_adjust(bottom=0.12)
        paths += save(fig, outdir, "epstein2_lattice", cap)
    return paths
