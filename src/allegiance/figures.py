"""Publication figures (matplotlib, Agg backend): PNG at 200 dpi and SVG, sources under each plot."""

from __future__ import annotations

from pathlib import Path

SOURCE_MEMBERS = ("Data: cpsu_membership.csv (Soviet Armenian Encyclopedia 1984; FRUS 1947; "
                  "Rigby 1968; congress reports). Model: allegiance cpsu")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 200, "font.size": 9,
                         "axes.spines.top": False, "axes.spines.right": False,
                         "svg.hashsalt": "allegiance", "axes.grid": True, "grid.alpha": 0.3})
    return plt


def save(fig, outdir: Path, name: str, caption: str) -> list[Path]:
    """Save a figure as PNG and SVG with a caption (sources) under the axes."""
    outdir.mkdir(parents=True, exist_ok=True)
    fig.text(0.01, 0.005, caption, fontsize=6.5, color="0.35", ha="left", va="bottom", wrap=True)
    paths = []
    for ext in ("png", "svg"):
        p = outdir / f"{name}.{ext}"
        fig.savefig(p, bbox_inches="tight", metadata={"Date": None} if ext == "svg" else None)
        paths.append(p)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return paths


def _years(ts):
    import numpy as np

    d = ts["date"].str.split("-", expand=True).astype(int)
    return (d[0] + (d[1] - 1) / 12.0).to_numpy(dtype=np.float64)


def headline(result, outdir: Path) -> list[Path]:
    """Members vs committed members 1917-1991 with the historical series (the essay's claim)."""
    from . import data

    plt = _plt()
    ts = result.timeseries
    x = _years(ts)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(x, ts["members"] / 1e6, color="#b2182b", lw=1.8, label="members + candidates (model)")
    ax.plot(x, ts["committed_members"] / 1e6, color="#2166ac", lw=1.8,
            label="committed members: belief ≥ threshold (model)")
    pts = data.membership_series()
    ins = [r for r in pts if r["month"] <= 1988 * 12 + 11]
    ax.scatter([r["month"] / 12 for r in ins], [r["value"] / 1e6 for r in ins], s=14,
               color="black", zorder=3, label="historical members + candidates (≤ 1988: fitted)")
    ax.axvspan(1989, x[-1] + 1 / 12, color="0.9", zorder=0)
    ax.text(1989.2, ax.get_ylim()[1] * 0.95, "forecast", fontsize=7, color="0.3", va="top")
    ax.set_xlabel("year")
    ax.set_ylabel("persons (millions)")
    ax.set_title("Members vs committed members of the CPSU, 1917–1991")
    ax.legend(loc="upper left", fontsize=7, frameon=False)
    m = result.manifest
    cap = f"{SOURCE_MEMBERS}; seed {m['seed']}, scale 1:{1 / m['scale']:,.0f}."
    return save(fig, outdir, "members_vs_committed", cap)


def cpsu_figures(result, outdir: Path) -> list[Path]:
    """All figures of a CPSU run."""
    return headline(result, outdir)
