"""The plotting kit every figure of allegiance uses: one palette, one style, one way to save.

Publication figures (matplotlib, Agg backend): PNG at 200 dpi and SVG (reproducible: no date,
a fixed hash salt), each with its sources in a caption under the axes. Models draw their own
figures with it (``Model.figures``); the CLI, the report, the dashboard and the experiments
use the same functions and the same :data:`PALETTE`, so a quantity has one colour everywhere.

Time-series figures mark the model's historical events (``Model.markers``) and its forecast
period (``Model.forecast_from``) with :func:`time_axis`; the labels go in a strip above the
axes, in as many rows as they need not to overprint one another or the data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

#: one colour per quantity, shared by every figure (CLI, report, dashboard, experiments)
PALETTE: dict[str, str] = {
    # the party (M12)
    "members": "#b2182b", "committed_members": "#2166ac",
    # motive at joining (M1)
    "motive_ideal": "#1b9e77", "motive_career": "#d95f02", "motive_conformist": "#7570b3",
    # tiers
    "nonmembers": "#7f7f7f", "candidates": "#fdae61", "rank_and_file": "#d7191c",
    "cadres": "#2c7bb6", "elite": "#5e3c99",
    # the crisis (M10)
    "defenders": "#01665e", "passive": "#c7c7c7", "opponents": "#8c510a",
    # survey answers (M12): as the sides of the crisis
    "firm": "#01665e", "partial": "#c7c7c7", "against": "#8c510a",
    # attitudes (M2-M7)
    "belief": "#2166ac", "trust": "#e08214", "expressed_trust": "#c51b7d", "openness": "#4d4d4d",
    # classic models
    "acting": "#c51b7d", "quiet": "#7fbc41", "jailed": "#4d4d4d", "cops": "#542788",
    "compliance": "#b2182b", "false_enforcement": "#e08214",
    # reference marks
    "observed": "#000000", "forecast": "#e3e3e3", "event": "#7a7a7a", "event_span": "#efe6d2",
    # two scenarios side by side (compare)
    "a": "#252525", "b": "#e7298a",
}
#: words for the keys of PALETTE where a figure needs them
LABELS: dict[str, str] = {
    "members": "members + candidates", "committed_members": "committed members",
    "motive_ideal": "ideal (belief)", "motive_career": "career (privilege × ambition)",
    "motive_conformist": "conformity (mobilization)",
    "nonmembers": "non-members", "candidates": "candidates",
    "rank_and_file": "rank-and-file members", "cadres": "cadres (apparatus)",
    "elite": "elite (nomenklatura)",
    "defenders": "defend the party", "passive": "stay passive",
    "opponents": "side with the challenger",
    "firm": "firm support", "partial": "partial support", "against": "against",
}
TIERS = ("nonmembers", "candidates", "rank_and_file", "cadres", "elite")
MOTIVES = ("motive_ideal", "motive_career", "motive_conformist")
SIDES = ("defenders", "passive", "opponents")
STRIP_FONT = 6.5  # points: labels of events and of the forecast above the axes
_ROW = 8.5  # points per row of that strip

#: a marker of a time-series figure: a year, or a (first, last) span of years, and its label
Marker = tuple[float | tuple[float, float], str]


def plt():
    """matplotlib's pyplot with the house style (Agg backend: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    pyplot.rcParams.update({"figure.dpi": 100, "savefig.dpi": 200, "font.size": 9,
                            "axes.spines.top": False, "axes.spines.right": False,
                            "svg.hashsalt": "allegiance", "axes.grid": True, "grid.alpha": 0.3,
                            "legend.fontsize": 7, "legend.frameon": False})
    return pyplot


def color(key: str, default: str = "#4d4d4d") -> str:
    """The colour of a quantity (a key of :data:`PALETTE`, or a column name ending in one)."""
    if key in PALETTE:
        return PALETTE[key]
    for k in sorted(PALETTE, key=len, reverse=True):
        if key.endswith(f"_{k}"):
            return PALETTE[k]
    return default


def save(fig, outdir: Path, name: str, caption: str) -> list[Path]:
    """Save a figure as PNG and SVG with a caption (sources) under the axes."""
    from .outdir import atomic_file

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
        with atomic_file(p) as tmp:  # an experiment's figures are written in place
            fig.savefig(tmp, format=ext, bbox_inches="tight",
                        metadata={"Date": None} if ext == "svg" else None)
        paths.append(p)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return paths


def image(fig, fmt: str = "png", dpi: int = 110) -> bytes:
    """A figure as PNG or SVG bytes, reproducibly (no software tag, no date); closes it."""
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    meta = {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}
    fig.savefig(buf, format=fmt, dpi=dpi, metadata=meta, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def years(ts):
    """Decimal years of a table's ``date`` column (YYYY-MM)."""
    import numpy as np

    d = ts["date"].str.split("-", expand=True).astype(int)
    return (d[0] + (d[1] - 1) / 12.0).to_numpy(dtype=np.float64)


def run_note(result) -> str:
    """Scenario, seed and scale of a result, for captions."""
    m = result.manifest
    return f"{m.get('scenario_name', '?')}, seed {m['seed']}, scale 1:{1 / m['scale']:,.0f}"


# ---------------------------------------------------------------------------------------------
# Time axes: historical events and the forecast


def _strip_rows(ax, items: list[tuple[float, str, str]], x0: float, x1: float) -> list[int]:
    """Rows of the label strip, so that no two labels overlap (estimated text widths)."""
    fig = ax.figure
    # tight_layout may still shrink the axes by up to ~20 %: estimate on the smaller width
    width_pt = fig.get_figwidth() * ax.get_position().width * 72 * 0.8
    ends: list[float] = []  # per row, the right end (points) of its last label
    rows = []
    for x, text, ha in items:
        w = 0.6 * STRIP_FONT * len(text) + 4
        pos = (x - x0) / (x1 - x0) * width_pt
        left = pos - (w / 2 if ha == "center" else 0)
        for r, end in enumerate(ends):
            if left > end:
                ends[r] = left + w
                rows.append(r)
                break
        else:
            ends.append(left + w)
            rows.append(len(ends) - 1)
    return rows


def time_axis(ax, x0: float, x1: float, markers: Iterable[Marker] = (),
              forecast_from: float | None = None, forecast_label: str = "forecast") -> int:
    """Mark events (thin lines, light spans) and the forecast (grey band) on a time axis.

    The labels go above the axes, in rows that do not overprint; returns the number of rows
    (:func:`title` leaves room for them). The x limits are set to ``[x0, x1]``.
    """
    ax.set_xlim(x0, x1)
    items = []
    for at, text in markers:
        if isinstance(at, tuple):
            a, b = at
            if b < x0 or a > x1:
                continue
            ax.axvspan(max(a, x0), min(b, x1), color=PALETTE["event_span"], zorder=0, lw=0)
            items.append(((max(a, x0) + min(b, x1)) / 2, text, "center"))
        elif x0 <= at <= x1:
            ax.axvline(at, color=PALETTE["event"], lw=0.6, ls=(0, (2, 2)), zorder=1)
            items.append((at, text, "center"))
    if forecast_from is not None and x1 > forecast_from:
        ax.axvspan(forecast_from, x1, facecolor=PALETTE["forecast"], zorder=0, lw=0,
                   hatch="////", edgecolor="white")
        items.append((forecast_from, forecast_label, "left"))
    items.sort(key=lambda it: it[0])
    rows = _strip_rows(ax, items, x0, x1) if items else []
    for (x, text, ha), r in zip(items, rows, strict=True):
        ax.annotate(text, xy=(x, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(0, 2 + r * _ROW), textcoords="offset points", ha=ha, va="bottom",
                    fontsize=STRIP_FONT, color="0.3", annotation_clip=False)
    n = max(rows) + 1 if rows else 0
    ax._allegiance_strip = n  # read by title()
    return n


def title(ax, text: str, **kw: Any) -> None:
    """An axes title above the event labels of :func:`time_axis`."""
    rows = getattr(ax, "_allegiance_strip", 0)
    ax.set_title(text, pad=4 + rows * _ROW + (2 if rows else 0), **kw)


def observed_points(ax, pts: Sequence[dict[str, Any]], scale: float = 1.0,
                    what: str = "historical") -> None:
    """Observed values: fitted ones filled, held-out ones (the forecast check) hollow."""
    for fitted, face, note in ((True, PALETTE["observed"], "fitted"),
                               (False, "white", "not fitted: forecast check")):
        sel = [p for p in pts if bool(p["fitted"]) == fitted]
        if sel:
            ax.scatter([p["x"] for p in sel], [p["value"] / scale for p in sel], s=14,
                       facecolor=face, edgecolor=PALETTE["observed"], linewidths=0.8,
                       zorder=3, label=f"{what} ({note})")


# ---------------------------------------------------------------------------------------------
# Shared pictures


def _short(n: float) -> str:
    if n >= 1e6:
        return f"{n / 1e6:.2f}M"
    if n >= 1e4:
        return f"{n / 1e3:.0f}k"
    return f"{n:,.0f}"


def crisis_bars(ax, rows: Sequence[tuple[str, dict[str, float]]], date: str = "",
                title_text: str | None = None) -> None:
    """Who defends, stays passive, opposes: one bar per group, as shares of the group (0-100 %),
    with the counts of persons beside each bar. Linear, so bars compare at a glance."""
    import numpy as np

    y = np.arange(len(rows))[::-1]
    for yi, (_, counts) in zip(y, rows, strict=True):
        total = sum(float(counts.get(s, 0) or 0) for s in SIDES)
        left = 0.0
        for s in SIDES:
            v = float(counts.get(s, 0) or 0)
            share = 100 * v / total if total else 0.0
            ax.barh(yi, share, left=left, height=0.62, color=PALETTE[s],
                    label=LABELS[s] if yi == y[0] else None)
            if share >= 9:
                ax.text(left + share / 2, yi, f"{share:.0f} %", ha="center", va="center",
                        fontsize=7, color="white" if s != "passive" else "0.15")
            left += share
        txt = " / ".join(_short(float(counts.get(s, 0) or 0)) for s in SIDES)
        ax.annotate(txt, xy=(1.0, yi), xycoords=("axes fraction", "data"), xytext=(6, 0),
                    textcoords="offset points", va="center", ha="left", fontsize=7,
                    color="0.2", annotation_clip=False)
    ax.annotate("persons: defend / passive / oppose", xy=(1.0, 1.0), xycoords="axes fraction",
                xytext=(6, 2), textcoords="offset points", va="bottom", ha="left",
                fontsize=6.5, color="0.35", annotation_clip=False)
    ax.set_yticks(y, [lab for lab, _ in rows])
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of the group (%)")
    ax.grid(axis="y", visible=False)
    ax.set_title(title_text or f"At the crisis{f' ({date})' if date else ''}: who defended the "
                 "party?", loc="left")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3)


def series_figure(x, lines: Sequence[tuple[Any, str, str]], *, observed=None,
                  markers: Iterable[Marker] = (), forecast_from: float | None = None,
                  in_persons: bool = False, title_text: str = "", figsize=(7, 4)):
    """Series over time on one axis (``(values, key of PALETTE or column, label)``), with the
    observed values, the events and the forecast marked: the headline figure of a model."""
    p = plt()
    scale = 1e6 if in_persons else 1.0
    fig, ax = p.subplots(figsize=figsize)
    for y, key, lab in lines:
        ax.plot(x, y / scale, color=color(key), lw=1.8, label=lab)
    if observed is not None:
        pts = [q for q in observed[0] if x[0] <= q["x"] <= x[-1] + 1]
        observed_points(ax, pts, scale, "historical")
    time_axis(ax, float(x[0]), float(x[-1]) + 1 / 12, markers, forecast_from)
    ax.set_xlabel("year")
    ax.set_ylabel("persons (millions)" if in_persons else "value")
    ax.set_ylim(bottom=0)
    title(ax, title_text)
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


def stack(ax, x, cols: Sequence[tuple[Any, str, str]], scale: float = 1e6) -> None:
    """Stacked areas (``(values, key of PALETTE, label)``), e.g. members by motive."""
    if cols:
        ax.stackplot(x, *[y / scale for y, _, _ in cols], labels=[lab for _, _, lab in cols],
                     colors=[color(k) for _, k, _ in cols], alpha=0.85, lw=0)
