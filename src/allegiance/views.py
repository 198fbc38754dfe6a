"""The overview of one result that the dashboard shows and the HTML report embeds.

Figures (matplotlib, returned as ``Figure`` objects or PNG bytes) and number tables are drawn
from a :class:`~allegiance.results.Result` only, so a run just finished in the dashboard and a
run directory read back from disk give the same pictures. Each figure is skipped, not faked,
when the result lacks its columns (another model, or a run that ended before the crisis).
"""

from __future__ import annotations

import math
from typing import Any

BELIEF_TRUST = (("mean_belief_members", "belief, members", "belief", "-"),
                ("mean_trust_members", "trust, members", "trust", "-"),
                ("mean_belief_citizens", "belief, non-members", "belief", ":"),
                ("mean_trust_citizens", "trust, non-members", "trust", ":"),
                ("expressed_trust_citizens", "trust expressed, non-members", "expressed_trust",
                 "--"))
CRISIS_ROWS = (("members", "members"), ("nonmembers", "non-members"))
DIFF_COLUMNS = (("members", "members + candidates"), ("committed_members", "committed members"))


def fmt(v: Any) -> str:
    """A number as the dashboard and the report print it (persons without decimals)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, bool) or not isinstance(v, int | float):
        return str(v)
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.4g}"


# ---------------------------------------------------------------------------------------------
# Numbers


def number_rows(summary: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(key, section, value) of the headline outcomes, the forecast and the crisis."""
    rows: list[tuple[str, str, Any]] = []
    seen = set()
    for k, v in (summary.get("headline") or {}).items():
        if v is None or isinstance(v, int | float):
            rows.append((k, "headline", v))
            seen.add(k)
    fc = summary.get("forecast") or {}
    for k, v in fc.items():
        if k in seen or k in ("note", "crisis"):
            continue
        if v is None or isinstance(v, int | float):
            rows.append((k, "forecast", v))
    crisis = fc.get("crisis") or {}
    for k, v in crisis.items():
        if isinstance(v, int | float) and not isinstance(v, bool):
            rows.append((f"crisis.{k}", "crisis", v))
    return rows


def compare_rows(current: dict[str, Any], baseline: dict[str, Any] | None):
    """Rows (key, section, current, baseline, current − baseline) for the numbers table."""
    base = {k: v for k, _, v in number_rows(baseline)} if baseline else {}
    out = []
    for k, sec, v in number_rows(current):
        b = base.get(k)
        diff = v - b if isinstance(v, int | float) and isinstance(b, int | float) else None
        out.append((k, sec, v, b, diff))
    return out


# ---------------------------------------------------------------------------------------------
# Figures (drawn with the plotting kit: the palette, events and forecast of every figure)


def _model(result):
    """The model class of a result (``None`` if its model is not registered)."""
    from .registry import MODELS, model_class

    name = result.manifest.get("model")
    return model_class(name) if name in MODELS else None


def _time(ax, x, cls) -> None:
    from .plotting import time_axis

    time_axis(ax, float(x[0]), float(x[-1]) + 1 / 12, cls.markers() if cls else (),
              cls.forecast_from if cls else None)


def members_figure(result):
    """The model's overview series (members vs committed members for the CPSU), with what was
    observed, its events and its forecast period."""
    from .plotting import LABELS, series_figure, years

    ts = result.timeseries
    cls = _model(result)
    keys = [k for k in (cls.overview_series if cls else ()) if k in ts]
    if not keys:
        return None
    lines = [(ts[k].to_numpy(dtype=float), k, LABELS.get(k, k)) for k in keys]
    return series_figure(years(ts), lines, observed=cls.observed(keys[0]),
                         markers=cls.markers(), forecast_from=cls.forecast_from,
                         in_persons=cls.in_persons,
                         title_text=" vs ".join(LABELS.get(k, k) for k in keys))


def composition_figure(result):
    """Members by motive at joining (ideal, career, conformist), stacked."""
    from .plotting import LABELS, MOTIVES, plt, stack, title, years

    ts = result.timeseries
    cols = [(ts[c].to_numpy(dtype=float), c, LABELS[c]) for c in MOTIVES if c in ts]
    if not cols:
        return None
    x = years(ts)
    fig, ax = plt().subplots(figsize=(7, 3.6))
    stack(ax, x, cols)
    _time(ax, x, _model(result))
    ax.set_xlabel("year")
    ax.set_ylabel("members (millions)")
    title(ax, "Composition of the party by motive at joining")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


def belief_trust_figure(result):
    """Mean belief in the ideal and trust in the party, members and non-members."""
    from .plotting import PALETTE, plt, title, years

    ts = result.timeseries
    cols = [c for c in BELIEF_TRUST if c[0] in ts]
    if not cols:
        return None
    x = years(ts)
    fig, ax = plt().subplots(figsize=(7, 3.8))
    for c, lab, key, ls in cols:
        ax.plot(x, ts[c], color=PALETTE[key], ls=ls, lw=1.5, label=lab)
    ax.set_ylim(0, 1)
    _time(ax, x, _model(result))
    ax.set_xlabel("year")
    ax.set_ylabel("mean (0-1)")
    title(ax, "Belief and trust")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
    fig.tight_layout()
    return fig


def crisis_figure(result):
    """Who defended, stayed passive, or opposed at the crisis, members and non-members."""
    from .plotting import SIDES, crisis_bars, plt

    crisis = (result.summary.get("forecast") or {}).get("crisis")
    if not crisis:
        return None
    rows = [(lab, {s: crisis.get(f"{s}_{r}", 0.0) or 0.0 for s in SIDES})
            for r, lab in CRISIS_ROWS]
    fig, ax = plt().subplots(figsize=(7, 2.6))
    crisis_bars(ax, rows, str(crisis.get("date", "")))
    fig.tight_layout()
    return fig


def difference_figure(result, baseline):
    """Current minus unchanged scenario, month by month (same seed: common random numbers)."""
    if baseline is None:
        return None
    from .plotting import color, plt, title, years

    a, b = result.timeseries, baseline.timeseries
    cols = [c for c in DIFF_COLUMNS if c[0] in a and c[0] in b]
    if not cols:
        return None
    m = a[["date", *[c for c, _ in cols]]].merge(
        b[["date", *[c for c, _ in cols]]], on="date", suffixes=("", "_base"))
    x = years(m)
    fig, ax = plt().subplots(figsize=(7, 3.6))
    for c, lab in cols:
        ax.plot(x, (m[c] - m[f"{c}_base"]) / 1e6, color=color(c), lw=1.5, label=lab)
    ax.axhline(0, color="0.3", lw=0.8)
    _time(ax, x, _model(result))
    ax.set_xlabel("year")
    ax.set_ylabel("difference (millions)")
    title(ax, "Your settings minus the unchanged scenario (same seed)")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


FIGURES = (("members", "Members vs committed members", members_figure),
           ("composition", "Composition by motive", composition_figure),
           ("belief_trust", "Belief and trust", belief_trust_figure),
           ("crisis", "The crisis", crisis_figure))


def png(fig, dpi: int = 110) -> bytes:
    """A figure as PNG bytes (closes the figure)."""
    from .plotting import image

    return image(fig, "png", dpi)


def figure_image(result, key: str, fmt: str = "png", baseline=None, dpi: int = 200) -> bytes:
    """One overview figure as PNG or SVG bytes (the dashboard's downloads), or b"" if none."""
    if key == "difference":
        fig = difference_figure(result, baseline)
    else:
        fig = next((fn(result) for k, _, fn in FIGURES if k == key), None)
    if fig is None:
        return b""
    from .plotting import image

    return image(fig, fmt, dpi)


def overview_pngs(result, baseline=None) -> list[tuple[str, str, bytes]]:
    """(key, title, PNG) of every overview figure the result supports."""
    out = []
    for key, title, fn in FIGURES:
        fig = fn(result)
        if fig is not None:
            out.append((key, title, png(fig)))
    fig = difference_figure(result, baseline)
    if fig is not None:
        out.append(("difference", "Difference from the unchanged scenario", png(fig)))
    return out


def observed_png(cls) -> bytes | None:
    """The data a model is fitted to, with its events and forecast period: what the dashboard
    shows before a run (PNG), or ``None`` when the model observes nothing."""
    keys = cls.overview_series
    obs = cls.observed(keys[0]) if keys else None
    if not obs:
        return None
    from .plotting import LABELS, observed_points, plt, time_axis, title

    pts = obs[0]
    scale = 1e6 if cls.in_persons else 1.0
    fig, ax = plt().subplots(figsize=(7, 3.6))
    observed_points(ax, pts, scale, f"historical {LABELS.get(keys[0], keys[0])}")
    xs = [p["x"] for p in pts]
    time_axis(ax, min(xs) - 1, max(max(xs) + 1, (cls.forecast_from or 0) + 3), cls.markers(),
              cls.forecast_from)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("year")
    ax.set_ylabel("persons (millions)" if cls.in_persons else keys[0])
    title(ax, "The data the model is fitted to (press Run to draw the model beside it)")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return png(fig)
