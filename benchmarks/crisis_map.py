"""Phase diagram of the crisis (M10): defenders, opponents and the forces over two inputs.

Runs the cpsu scenario to its crisis month once (or loads a saved state), then runs only the
crisis cascade over a grid of two inputs, and draws the result, with where the run itself sits.

    PYTHONPATH=src python benchmarks/crisis_map.py --scale 0.001 \\
        --out benchmarks/results/crisis_map --figure docs/figures

Axes (``--x``, ``--y``): ``shift`` (added to every adult's belief and trust: +0.3 is an
attitude 0.3 warmer to the party on both), ``openness``, a field of the crisis event
(``risk_oppose``, ``risk_defend``, ``challenger_seed``, ``defender_seed``) or a parameter of M10
(``reluctance``, ``discipline``, ``spread``, ...). Classes: near zero (< 0.1 % of adults in the
street for a side), partial (up to Chenoweth's 3.5 %), large.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import allegiance
from allegiance.models.cpsu import crisis_map as cm

DEFAULT_X = "shift:-0.3:1.0:14"
DEFAULT_Y = "reluctance:0.25,0.5,0.75,1,1.5,2,3"


def axis(spec: str) -> tuple[str, np.ndarray]:
    """``name:lo:hi:n`` (evenly spaced) or ``name:v1,v2,...``."""
    name, _, rest = spec.partition(":")
    parts = rest.split(":")
    if len(parts) == 3:
        return name, np.linspace(float(parts[0]), float(parts[1]), int(parts[2]))
    return name, np.array([float(v) for v in rest.split(",")])


def current(state: cm.CrisisState, name: str) -> float:
    """The value of an input in the state as captured (where the run sits)."""
    if name == "shift":
        return 0.0
    if name == "openness":
        return state.openness
    if name in cm.EVENT_FIELDS:
        return float(state.event[cm.EVENT_FIELDS.index(name)])
    return float(getattr(state.params, name))


def draw(res: dict, x: str, xs, y: str, ys, here: tuple[float, float], path: Path,
         note: str) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    adults = float(res["adults"])
    # cells on an even grid of indices (value lists need not be evenly spaced), ticks labelled
    # with the values; the run's point placed by interpolation between them
    ix, iy = np.arange(len(xs)), np.arange(len(ys))
    pos = (float(np.interp(here[0], xs, ix)), float(np.interp(here[1], ys, iy)))
    panels = [("defenders", "defenders (civilians in the street for the regime)"),
              ("opponents", "opponents (civilians in the street for the challenger)"),
              ("obey_share", "security forces: share of units that obeyed")]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.3), constrained_layout=True)
    for ax, (key, title) in zip(axes, panels, strict=True):
        if key == "obey_share":
            forces = res["security_obeyed"] + res["security_refused"]
            v = res["security_obeyed"] / np.maximum(forces, 1)
            im = ax.pcolormesh(ix, iy, v, vmin=0, vmax=1, cmap="RdBu", shading="nearest")
            fig.colorbar(im, ax=ax, label="obeyed / all units")
        else:
            share = np.maximum(res[key] / adults, 1e-6)
            im = ax.pcolormesh(ix, iy, share, norm=LogNorm(1e-5, 1), cmap="viridis",
                               shading="nearest")
            cs = ax.contour(ix, iy, share, levels=[cm.SMALL, cm.PARTIAL], colors="w",
                            linewidths=0.8)
            ax.clabel(cs, fmt={cm.SMALL: "0.1%", cm.PARTIAL: "3.5%"}, fontsize=7)
            fig.colorbar(im, ax=ax, label="share of adults (log)")
        ax.plot(*pos, marker="*", ms=13, mec="k", mfc="#e41a1c")
        ax.annotate("the run", pos, xytext=(6, 6), textcoords="offset points", fontsize=8,
                    color="w" if key != "obey_share" else "k")
        step = max(1, len(xs) // 7)
        ax.set_xticks(ix[::step], [f"{v:g}" for v in np.round(xs[::step], 3)])
        ax.set_yticks(iy, [f"{v:g}" for v in ys])
        ax.set_xlabel(x + (" (belief and trust + x)" if x == "shift" else ""))
        ax.set_ylabel(y)
        ax.set_title(title, fontsize=9)
    fig.suptitle("M10 crisis map: who is in the street, and do the forces obey, over two inputs",
                 fontsize=10)
    fig.text(0.01, -0.03, note, fontsize=7, color="0.3", wrap=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = [path.with_suffix(".png")]
    fig.savefig(out[0], dpi=130, bbox_inches="tight")
    plt.close(fig)
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default="cpsu")
    ap.add_argument("--scale", type=float, default=0.001)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--state", type=Path, help="a saved CrisisState (.npz) instead of a run")
    ap.add_argument("--save-state", type=Path, help="save the captured state here (.npz)")
    ap.add_argument("--x", default=DEFAULT_X)
    ap.add_argument("--y", default=DEFAULT_Y)
    ap.add_argument("--out", type=Path, default=None, help="folder for crisis_map.json")
    ap.add_argument("--figure", type=Path, default=None, help="folder for crisis_map.png")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    if a.state:
        state, run_crisis = cm.CrisisState.load(a.state), None
    else:
        sc = allegiance.load_scenario(a.scenario)
        seed = sc.run.seed if a.seed is None else a.seed
        state, run_crisis = cm.capture(sc, scale=a.scale, seed=seed)
        if a.save_state:
            state.save(a.save_state)
    t1 = time.perf_counter()
    x, xs = axis(a.x)
    y, ys = axis(a.y)
    res = cm.grid(state, x, xs, y, ys)
    t2 = time.perf_counter()
    adults = float(res["adults"])
    classes = {s: cm.regimes(res[s], adults).tolist() for s in ("defenders", "opponents")}
    here = (current(state, x), current(state, y))
    summary = {
        "x": x, "xs": xs.tolist(), "y": y, "ys": ys.tolist(), "here": here,
        "scale": state.scale, "adults": adults,
        **{k: res[k].tolist() for k in ("defenders", "opponents", "security_obeyed",
                                         "security_refused")},
        "classes": classes,
        "classes_found": {s: sorted({c for row in v for c in row}) for s, v in classes.items()},
        "run_crisis": None if run_crisis is None else
        {k: v for k, v in run_crisis.items() if k not in ("event", "by_tier")},
        "seconds": {"capture": t1 - t0, "grid": t2 - t1, "cells": len(xs) * len(ys)},
    }
    print(f"{len(xs)}x{len(ys)} cascades in {t2 - t1:.1f}s (state in {t1 - t0:.1f}s); "
          f"classes {summary['classes_found']} (0 near zero, 1 partial, 2 large)")
    if a.out:
        a.out.mkdir(parents=True, exist_ok=True)
        (a.out / "crisis_map.json").write_text(json.dumps(summary, indent=1))
    if a.figure:
        note = (f"allegiance model output, not data: the M10 cascade alone on the state of the "
                f"{a.scenario} run at its crisis month (scale {state.scale:g}; one agent = "
                f"{1 / state.scale:,.0f} persons), other inputs as in the scenario. Contours: "
                f"0.1 % and 3.5 % (Chenoweth) of adults. Star: the run itself. "
                f"benchmarks/crisis_map.py --x {a.x} --y {a.y}")
        draw(res, x, xs, y, ys, here, a.figure / "crisis_map.png", note)
    return summary


if __name__ == "__main__":
    main()
