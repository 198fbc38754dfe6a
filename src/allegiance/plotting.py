"""The plotting kit every figure of allegiance uses: one style, one way to save.

Publication figures (matplotlib, Agg backend): PNG at 200 dpi and SVG (reproducible: no date,
a fixed hash salt), each with its sources in a caption under the axes. Models draw their own
figures with it (``Model.figures``); the CLI, the report, the dashboard and the experiments
use the same functions.
"""

from __future__ import annotations

from pathlib import Path


def plt():
    """matplotlib's pyplot with the house style (Agg backend: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    pyplot.rcParams.update({"figure.dpi": 100, "savefig.dpi": 200, "font.size": 9,
                            "axes.spines.top": False, "axes.spines.right": False,
                            "svg.hashsalt": "allegiance", "axes.grid": True, "grid.alpha": 0.3})
    return pyplot


def save(fig, outdir: Path, name: str, caption: str) -> list[Path]:
    """Save a figure as PNG and SVG with a caption (sources) under the axes."""
    outdir.mkdir(parents=True, exist_ok=True)
    # The caption goes just below everything already drawn (tick labels, axis labels, legends
    # placed under the axes), so it can never overlap them; savefig's tight bbox takes it in.
    fig.canvas.draw()
    bb = fig.get_tightbbox(fig.canvas.get_renderer())
    y = bb.y0 / fig.get_figheight() - 0.01
    fig.text(0.01, y, caption, fontsize=6.5, color="0.35", ha="left", va="top", wrap=True)
    paths = []
    for ext in ("png", "svg"):
        p = outdir / f"{name}.{ext}"
        fig.savefig(p, bbox_inches="tight", metadata={"Date": None} if ext == "svg" else None)
        paths.append(p)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return paths


def years(ts):
    """Decimal years of a table's ``date`` column (YYYY-MM)."""
    import numpy as np

    d = ts["date"].str.split("-", expand=True).astype(int)
    return (d[0] + (d[1] - 1) / 12.0).to_numpy(dtype=np.float64)


def run_note(result) -> str:
    """Scenario, seed and scale of a result, for captions."""
    m = result.manifest
    return f"{m.get('scenario_name', '?')}, seed {m['seed']}, scale 1:{1 / m['scale']:,.0f}"


def shade_forecast(ax, x_end: float, label_at: str = "bottom", start: float = 1989.0,
                   label: str = "forecast 1989–") -> None:
    """A grey band from ``start`` to ``x_end``: the out-of-sample forecast (never fitted)."""
    if x_end > start:
        ax.axvspan(start, x_end, color="0.92", zorder=0, lw=0)
        top = label_at == "top"
        ax.text(start + 0.25, 0.98 if top else 0.02, label,
                transform=ax.get_xaxis_transform(), rotation=90, fontsize=6.5, color="0.35",
                va="top" if top else "bottom", ha="left",
                bbox={"facecolor": "white", "alpha": 0.6, "lw": 0, "pad": 1})
