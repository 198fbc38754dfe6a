"""Centola, Willer & Macy (2005) "The Emperor's Dilemma": unpopular norms, false enforcers.

A few *true believers* hold a norm (belief ``B = +1``, conviction ``S = 1``); everyone else
privately rejects it (``B = -1``, conviction ``S ~ U(0, 0.38)``). Each agent chooses whether to
*comply* with the norm (``C = +1``) or deviate (``C = -1``), and whether to *enforce* it
(``E = +1``), enforce deviance (``E = -1``) or stay quiet (``E = 0``). With ``N_i`` neighbours::

    pressure_i = -B_i / N_i · sum_j E_j                 (enforcement against i's belief)
    C_i = -B_i  if pressure_i > S_i  else  B_i          (comply against belief under pressure)
    E_i = -B_i  if C_i != B_i and pressure_i > S_i + K  (false enforcement: prove sincerity)
        = +B_i  if C_i == B_i and S_i · W_i > K         (true enforcement of one's own belief)
        = 0     otherwise,
    W_i = (1 - B_i / N_i · sum_j C_j) / 2                (share of neighbours complying against
                                                          i's belief: the need for enforcement)

with ``K = 0.125`` the cost of enforcing. On a local lattice a small cluster of true believers
pressures its neighbours into compliance; those who comply falsely enforce the norm to show they
are sincere, which pressures the next ring, and the unpopular norm can spread through a
population that almost entirely rejects it. Random long ties break the cluster's local majority
and the cascade fails (the paper's small-world result).

Implementation choices (documented in ``docs/CLASSIC.md``; the ones marked *assumption* are not
pinned down by our reading of the paper):

- space: a ``width × height`` torus, Moore neighbourhood (8) or von Neumann (4) — Moore is
  the paper's — or the ``complete`` network (everyone's neighbours are all the others; the
  paper's fully connected population, where the norm does not cascade; the torus then only
  sets N and where the believers' block is drawn); *rewiring*: each neighbour slot of each
  agent is replaced, with probability ``rewire``, by a uniformly random other agent (directed
  influence ties; *assumption* — the paper rewires undirected lattice ties, Watts–Strogatz style);
- initial state: everyone acts on their belief (``C = B``) and nobody enforces (``E = 0``);
  the true believers form one square block in the centre (*assumption*: size set by the scenario);
- activation: ``random_sequential`` (default: a fresh random order each step, each decision
  seen at once by the agents after it) or ``synchronous`` (all agents decide from the previous
  step's choices) — *assumption*; synchronous updating spreads the norm in fewer seeds and can
  oscillate (see ``docs/VALIDATION.md``);
- enforcement decisions use the agent's compliance chosen in the same step.

All draws (convictions, rewiring, activation order) are counter-based, keyed by agent id.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from numba import njit, prange
from pydantic import Field, model_validator

from ...engine import Model
from ...rng import uniform
from ...scenario import Frozen, ScenarioBase
from . import FixedRun

__all__ = ["EmperorModel", "EmperorScenario", "lattice_neighbours"]

# ---------------------------------------------------------------------------------------------
# Kernels


@njit(cache=True)
def lattice_neighbours(width, height, moore, rewire, key_rewire, key_target):
    """Neighbour table ``(N, k)`` of a torus, each slot rewired with probability ``rewire``.

    A rewired slot points at a uniformly random agent other than the agent itself.
    """
    n = width * height
    k = 8 if moore else 4
    nb = np.empty((n, k), dtype=np.int64)
    for y in range(height):
        for x in range(width):
            i = y * width + x
            s = 0
            for dy in range(-1, 2):
                for dx in range(-1, 2):
                    if dx == 0 and dy == 0:
                        continue
                    if not moore and dx != 0 and dy != 0:
                        continue
                    nb[i, s] = ((y + dy) % height) * width + (x + dx) % width
                    s += 1
    if rewire > 0.0 and n > 1:
        for i in range(n):
            for s in range(k):
                slot = i * k + s
                if uniform(key_rewire, slot) < rewire:
                    j = int(uniform(key_target, slot) * (n - 1))
                    nb[i, s] = j + 1 if j >= i else j  # skip self
    return nb


@njit(cache=True, inline="always")
def _rule(b, st, se, sc, k, K):
    """Compliance and enforcement of an agent of belief ``b`` and conviction ``st`` whose ``k``
    neighbours' enforcement sums to ``se`` and compliance to ``sc``."""
    press = -b * se / k
    if press > st:
        c = -b
        e = -b if press > st + K else 0
    else:
        c = b
        w = (1.0 - b * sc / k) / 2.0
        e = b if st * w > K else 0
    return c, e


@njit(cache=True, inline="always")
def _decide(i, nb, belief, strength, C, E, K):
    """Compliance and enforcement of agent ``i`` given its neighbours' current choices."""
    k = nb.shape[1]
    se = 0
    sc = 0
    for s in range(k):
        j = nb[i, s]
        se += E[j]
        sc += C[j]
    return _rule(belief[i], strength[i], se, sc, k, K)


@njit(cache=True)
def step_complete(belief, strength, C, E, K, key, order, sequential):
    """One step on the complete network: everyone's neighbours are all the others.

    Sums over all agents replace the neighbour table (O(N) a step, not O(N^2)). ``sequential``:
    a keyed random order, each decision seen by those after it; else synchronous (everyone
    decides from the previous step's choices).
    """
    n = C.shape[0]
    se_all = 0
    sc_all = 0
    for i in range(n):
        se_all += E[i]
        sc_all += C[i]
    k = n - 1
    if not sequential:
        for i in range(n):
            c, e = _rule(belief[i], strength[i], se_all - E[i], sc_all - C[i], k, K)
            order[i] = 3 * (c + 1) + (e + 1)  # packed (c, e) until every agent has decided
        for i in range(n):
            C[i] = order[i] // 3 - 1
            E[i] = order[i] % 3 - 1
        return
    for t in range(n):
        order[t] = t
    for t in range(n - 1, 0, -1):
        j = int(uniform(key, t) * (t + 1))
        order[t], order[j] = order[j], order[t]
    for t in range(n):
        i = order[t]
        c, e = _rule(belief[i], strength[i], se_all - E[i], sc_all - C[i], k, K)
        sc_all += c - C[i]
        se_all += e - E[i]
        C[i] = c
        E[i] = e


@njit(cache=True, parallel=True)
def step_synchronous(nb, belief, strength, C, E, K, C_out, E_out):
    """Every agent decides from the previous step's compliance and enforcement."""
    for i in prange(C.shape[0]):
        c, e = _decide(i, nb, belief, strength, C, E, K)
        C_out[i] = c
        E_out[i] = e


@njit(cache=True)
def step_sequential(nb, belief, strength, C, E, K, key, order):
    """Agents decide one after another in a random order, each seeing the decisions before it.

    The order is a Fisher–Yates shuffle driven by counter-based draws under ``key`` (one key per
    step), written into ``order``.
    """
    n = order.shape[0]
    for t in range(n):
        order[t] = t
    for t in range(n - 1, 0, -1):
        j = int(uniform(key, t) * (t + 1))
        order[t], order[j] = order[j], order[t]
    for t in range(n):
        i = order[t]
        c, e = _decide(i, nb, belief, strength, C, E, K)
        C[i] = c
        E[i] = e


# ---------------------------------------------------------------------------------------------
# Scenario schema


class Network(Frozen):
    """The torus and its long ties."""

    width: int = Field(40, ge=3, le=10_000)
    height: int = Field(40, ge=3, le=10_000)
    neighbourhood: Literal["moore", "von_neumann", "complete"] = Field(
        "moore", description="lattice neighbours, or 'complete': everyone sees everyone")
    rewire: float = Field(0.0, ge=0, le=1,
                          description="probability a neighbour slot is a random long tie")

    @model_validator(mode="after")
    def _complete(self):
        if self.neighbourhood == "complete" and self.rewire > 0:
            raise ValueError(f"rewire = {self.rewire:g}: a complete network has no ties to "
                             "rewire (allowed 0 with neighbourhood = 'complete')")
        return self


class Agents(Frozen):
    """Beliefs, convictions and the cost of enforcing."""

    believers: int = Field(25, ge=0, description="true believers, one square block in the centre")
    placement: Literal["block", "random"] = Field(
        "block", description="'block': clustered in the centre; 'random': scattered")
    believer_strength: float = Field(1.0, ge=0, le=1, description="conviction S of true believers")
    disbeliever_strength_max: float = Field(0.38, ge=0, le=1,
                                            description="disbelievers' S ~ U(0, max)")
    enforcement_cost: float = Field(0.125, ge=0, le=1, description="K")


class EmperorScenario(ScenarioBase):
    """A scenario of the Emperor's Dilemma model."""

    model: Literal["emperor"]
    run: FixedRun = FixedRun(seed=2005, steps=100)
    network: Network = Network()
    agents: Agents = Agents()
    activation: Literal["synchronous", "random_sequential"] = "random_sequential"

    @model_validator(mode="after")
    def _fits(self):
        n = self.network.width * self.network.height
        if self.agents.believers > n:
            raise ValueError(f"agents.believers = {self.agents.believers} exceeds the "
                             f"{n} agents of the {self.network.width}x{self.network.height} torus")
        return self


def believer_cells(width: int, height: int, count: int) -> np.ndarray:
    """Ids of ``count`` cells filling a centred square block row by row."""
    side = int(np.ceil(np.sqrt(count))) if count else 0
    x0, y0 = (width - side) // 2, (height - side) // 2
    cells = [((y0 + r) % height) * width + (x0 + c) % width
             for r in range(side) for c in range(side)]
    return np.asarray(cells[:count], dtype=np.int64)


# ---------------------------------------------------------------------------------------------
# The engine model


class EmperorModel(Model):
    """The Emperor's Dilemma on a torus with optional long ties.

    Phase order of a step: ``decide`` — every agent chooses compliance, then enforcement
    (synchronously, or in a fresh random order; see the module docstring).
    """

    name: ClassVar[str] = "emperor"
    scenario_class = EmperorScenario

    def n_steps(self) -> int:
        return self.scenario.run.steps

    def work_size(self) -> int:
        """Agents a step's kernels loop over: a small population runs on one thread (the
        engine's ``threads_for``), where more threads only wait on each other."""
        return int(self.n)

    def setup(self) -> None:
        sc = self.scenario
        net, ag = sc.network, sc.agents
        self.n = n = net.width * net.height
        ids = np.arange(n, dtype=np.int64)
        self.nb = None if net.neighbourhood == "complete" else lattice_neighbours(
            net.width, net.height, net.neighbourhood == "moore", float(net.rewire),
            self.rng.key("emperor.rewire", 0), self.rng.key("emperor.rewire_target", 0))
        self.belief = np.full(n, -1, dtype=np.int8)
        if ag.placement == "block":
            cells = believer_cells(net.width, net.height, ag.believers)
        else:
            u = self.rng.uniforms("emperor.place", 0, ids)
            cells = np.argsort(u, kind="stable")[:ag.believers]
        self.belief[cells] = 1
        self.strength = ag.disbeliever_strength_max * self.rng.uniforms("emperor.strength", 0, ids)
        self.strength[self.belief == 1] = ag.believer_strength
        self.C = self.belief.copy()
        self.E = np.zeros(n, dtype=np.int8)
        self._C2 = np.empty_like(self.C)
        self._E2 = np.empty_like(self.E)
        self._order = np.empty(n, dtype=np.int64)
        self.changed = 0

    def phases(self):
        return [("decide", self._decide)]

    def _decide(self, step: int) -> None:
        K = self.scenario.agents.enforcement_cost
        before = self.C.copy()
        if self.nb is None:
            step_complete(self.belief, self.strength, self.C, self.E, K,
                          self.rng.key("emperor.order", step), self._order,
                          self.scenario.activation == "random_sequential")
        elif self.scenario.activation == "synchronous":
            step_synchronous(self.nb, self.belief, self.strength, self.C, self.E, K,
                             self._C2, self._E2)
            self.C, self._C2 = self._C2, self.C
            self.E, self._E2 = self._E2, self.E
        else:
            step_sequential(self.nb, self.belief, self.strength, self.C, self.E, K,
                            self.rng.key("emperor.order", step), self._order)
        self.changed = int(np.count_nonzero(before != self.C))

    def record_stocks(self, step: int) -> dict[str, Any]:
        return self._stocks()

    def _stocks(self) -> dict[str, Any]:
        dis = self.belief == -1
        n_dis = max(int(dis.sum()), 1)
        comply = self.C == 1
        return {
            "compliance": float(comply.mean()),
            "false_compliance": float((comply & dis).sum() / n_dis),
            "enforcing_norm": float((self.E == 1).mean()),
            "false_enforcement": float(((self.E == 1) & dis).sum() / n_dis),
            "enforcing_deviance": float((self.E == -1).mean()),
        }

    def record_flows(self, step: int) -> dict[str, Any]:
        return {"changed_compliance": self.changed}

    def summarize(self, ts, events) -> dict[str, Any]:
        final = self._stocks()
        sc = self.scenario
        out = {
            "n": self.n,
            "true_believers": int((self.belief == 1).sum()),
            "final": final,
            "final_compliance": final["compliance"],
            "final_false_enforcement": final["false_enforcement"],
            "settled": bool(ts["changed_compliance"].iloc[-1] == 0),
            "rewire": sc.network.rewire,
            "activation": sc.activation,
        }
        out["headline"] = {
            "agents": self.n,
            "true believers": out["true_believers"],
            "final compliance with the norm": round(final["compliance"], 4),
            "disbelievers enforcing it": round(final["false_enforcement"], 4),
        }
        return out

    @classmethod
    def memory_estimate(cls, scenario: EmperorScenario, scale: float) -> int:
        n = scenario.network.width * scenario.network.height
        return int(n * (8 * 8 + 40) + 50 * 2**20)

    @classmethod
    def figures(cls, result, outdir) -> list:
        """Compliance and enforcement over time, and the final map of the torus.

        The map comes from re-running the saved scenario with the saved seed (runs are
        deterministic), so results need not store the grid.
        """
        from pathlib import Path

        from ...engine import simulate
        from ...plotting import PALETTE, save
        from ...plotting import plt as _plt

        sc = result.scenario
        seed = result.manifest["seed"]
        model = cls(sc, seed=seed, scale=result.manifest["scale"])
        simulate(model)
        ts = result.timeseries
        plt = _plt()
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.8),
                                       gridspec_kw={"width_ratios": [1.4, 1]})
        ax1.plot(ts["step"], ts["compliance"], color=PALETTE["compliance"], lw=1.8,
                 label="comply with the norm")
        ax1.plot(ts["step"], ts["false_enforcement"], color=PALETTE["false_enforcement"], lw=1.4,
                 label="disbelievers enforcing it")
        ax1.plot(ts["step"], ts["enforcing_deviance"], color="#2166ac", lw=1.2,
                 label="enforcing deviance")
        ax1.set_xlabel("step")
        ax1.set_ylabel("share of agents (of disbelievers: enforcing)")
        ax1.set_ylim(-0.02, 1.02)
        ax1.legend(fontsize=7, frameon=False)
        ax1.set_title("Spread of the unpopular norm")
        w, h = sc.network.width, sc.network.height
        # 0: deviates, 1: complies falsely, 2: enforces falsely, 3: true believer
        grid = np.where(model.C == 1, 1, 0) + np.where((model.C == 1) & (model.E == 1), 1, 0)
        grid = np.where(model.belief == 1, 3, grid).reshape(h, w)
        from matplotlib.colors import ListedColormap

        cmap = ListedColormap(["#d1e5f0", "#fddbc7", "#ef8a62", "#67001f"])
        ax2.imshow(grid, cmap=cmap, vmin=-0.5, vmax=3.5, interpolation="nearest")
        ax2.set_xticks([])
        ax2.set_yticks([])
        ax2.grid(False)
        from matplotlib.patches import Patch

        names = ("deviates", "complies falsely", "enforces falsely", "true believer")
        ax2.legend(handles=[Patch(color=c, label=t) for c, t in zip(cmap.colors, names,
                                                                    strict=True)],
                   fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1))
        ax2.set_title("Final state of the torus", fontsize=9)
        fig.suptitle(f"Emperor's Dilemma: {sc.name}, rewire = {sc.network.rewire:g}, "
                     f"{sc.activation}")
        cap = (f"Model: allegiance {sc.name} (Centola, Willer & Macy 2005, AJS 110(4):1009-1040); "
               f"{w}x{h} torus, {sc.agents.believers} true believers, K = "
               f"{sc.agents.enforcement_cost:g}; seed {seed}.")
        fig.tight_layout(rect=(0, 0.06, 1, 1))  # room for the caption
        return save(fig, Path(outdir), "emperor_spread", cap)
