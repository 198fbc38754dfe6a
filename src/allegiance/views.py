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


# ---------------------------------------------------------------------------------------------
# Snapshots: the agents at a date (``run --snapshot``), as histograms

#: attributes drawn as histograms (0-1 unless ``None``: the range the runs shown span)
SNAPSHOT_HISTOGRAMS = (("belief", "belief in the ideal", (0.0, 1.0), False),
                       ("trust", "trust in the party", (0.0, 1.0), False),
                       # most agents hold no office (over 80 % of members, 99 % of everyone):
                       # a zero bin would flatten the rest, so those with any are drawn
                       ("stake", "stake in office", None, True))
#: attributes drawn as counts by category
SNAPSHOT_COUNTS = (("tier", "tier"), ("motive", "motive at joining"), ("cohort", "birth cohort"))
#: whom a snapshot figure counts: (key, words); ``members`` needs a ``member`` column
SNAPSHOT_WHO = (("members", "members"), ("everyone", "everyone alive"))
SNAPSHOT_BINS = 20


def category_label(name: str) -> str:
    """A snapshot category as a figure writes it: ``1900_1919`` -> ``1900–1919``,
    ``pre1900`` -> ``before 1900``, ``1960plus`` -> ``1960 on``, ``rank_and_file`` ->
    ``rank and file``."""
    if name.startswith("pre") and name[3:].isdigit():
        return f"before {name[3:]}"
    if name.endswith("plus") and name[:-4].isdigit():
        return f"{name[:-4]} on"
    a, _, b = name.partition("_")
    if a.isdigit() and b.isdigit():
        return f"{a}–{b}"
    return name.replace("_", " ")


def snapshot_dates(result) -> list[str]:
    """The dates of a result's snapshots, in order (``[]`` without snapshots)."""
    snap = getattr(result, "snapshots", None)
    if snap is None or "date" not in snap:
        return []
    return list(dict.fromkeys(snap["date"].astype(str)))


def snapshot_who(result) -> list[str]:
    """The groups a result's snapshots can be counted over (keys of :data:`SNAPSHOT_WHO`)."""
    snap = getattr(result, "snapshots", None)
    if snap is None:
        return []
    return [k for k, _ in SNAPSHOT_WHO if k != "members" or "member" in snap]


def snapshot_panels(results, date: str, who: str = "members", bins: int = SNAPSHOT_BINS):
    """What a snapshot figure draws, computed from the results' ``snapshots`` at ``date``.

    Returns ``[(attribute, words, kind, x, [persons per bin or category, one per result])]``:
    ``kind`` is ``"hist"`` (``x`` the bin edges, shared by the results, so they compare bin
    for bin) or ``"counts"`` (``x`` the categories any result has agents in). Agents are
    counted in persons (one agent is ``1 / scale`` persons). The stake histogram counts those
    with a stake above zero only; its words say what share of the group that is (in the
    order of ``results``).
    """
    import numpy as np
    import pandas as pd

    tables = []
    for r in results:
        snap = r.snapshots
        t = snap[snap["date"].astype(str) == date]
        if who == "members":
            t = t[t["member"].astype(bool)]
        tables.append((t, 1.0 / float(r.manifest["scale"])))
    out = []
    for col, name, fixed, positive in SNAPSHOT_HISTOGRAMS:
        if not all(col in t for t, _ in tables):
            continue
        vals = [t[col].to_numpy(dtype=np.float64) for t, _ in tables]
        words = name
        if positive:  # only those with any, and how many they are
            shares = [f"{100 * np.mean(v > 0):.1f} %" if v.size else "none" for v in vals]
            vals = [v[v > 0] for v in vals]
            words = f"{name} ({' / '.join(shares)} hold any)"
        hi = max((float(v.max()) for v in vals if v.size), default=0.0)
        lo, hi = fixed if fixed is not None else (0.0, hi if hi > 0 else 1.0)
        edges = np.linspace(lo, hi, bins + 1)
        counts = [np.histogram(np.clip(v, lo, hi), edges)[0] * k
                  for v, (_, k) in zip(vals, tables, strict=True)]
        out.append((col, words, "hist", edges, counts))
    for col, words in SNAPSHOT_COUNTS:
        if not all(col in t for t, _ in tables):
            continue
        first = tables[0][0][col]
        cats = (list(first.cat.categories) if isinstance(first.dtype, pd.CategoricalDtype)
                else sorted({str(x) for t, _ in tables for x in t[col]}))
        counts = [np.array([(t[col].astype(str) == str(c)).sum() * k for c in cats],
                           dtype=np.float64) for t, k in tables]
        keep = np.flatnonzero(np.sum(counts, axis=0) > 0)
        out.append((col, words, "counts", [str(cats[i]) for i in keep],
                    [c[keep] for c in counts]))
    return out


def snapshot_figure(result, date: str, baseline=None, who: str = "members",
                    names: tuple[str, str] = ("your settings", "unchanged")):
    """Histograms of belief, trust and stake and counts by tier, motive and cohort of the
    agents at ``date`` (``who``: members or everyone alive), in persons; with ``baseline``,
    both runs on the same bins (``names``: how the two are called). ``None`` when the result
    has no snapshot at ``date``."""
    if date not in snapshot_dates(result) or (
            baseline is not None and date not in snapshot_dates(baseline)):
        return None
    from matplotlib.ticker import FuncFormatter

    from .plotting import PALETTE, _short, color, plt

    runs = [result] if baseline is None else [baseline, result]
    labels = [names[0]] if baseline is None else [names[1], names[0]]
    panels = snapshot_panels(runs, date, who)
    if not panels:
        return None
    ncol = 3
    nrow = -(-len(panels) // ncol)
    fig, axes = plt().subplots(nrow, ncol, figsize=(9, 2.7 * nrow), squeeze=False)
    two = baseline is not None
    for ax, (col, words, kind, x, counts) in zip(axes.flat, panels, strict=False):
        for i, (c, lab) in enumerate(zip(counts, labels, strict=True)):
            tint = (PALETTE["a"], PALETTE["b"])[i] if two else color(col, "#4d4d4d")
            if kind == "hist":
                ax.stairs(c, x, color=tint, lw=1.4, ls="--" if two and i == 0 else "-",
                          fill=not two, alpha=1.0 if two else 0.75, label=lab)
            else:
                import numpy as np

                pos = np.arange(len(x))
                w = 0.4 if two else 0.7
                ax.bar(pos + (i - 0.5) * w if two else pos, c, width=w, color=tint,
                       alpha=0.85, label=lab)
                ax.set_xticks(pos, [category_label(s) for s in x], rotation=30,
                              ha="right", fontsize=7)
        ax.set_title(words, fontsize=9, loc="left")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _short(v)))
        ax.set_ylim(bottom=0)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    axes.flat[0].set_ylabel("persons")
    if two:
        axes.flat[0].legend(loc="upper left")
    group = dict(SNAPSHOT_WHO).get(who, who)
    fig.suptitle(f"The agents at the start of {date}: {group}", fontsize=10, x=0.01,
                 ha="left")
    fig.tight_layout()
    return fig


def snapshot_image(result, date: str, baseline=None, who: str = "members",
                   names: tuple[str, str] = ("your settings", "unchanged"), fmt: str = "png",
                   dpi: int = 110) -> bytes:
    """:func:`snapshot_figure` as PNG or SVG bytes, or ``b""`` when there is nothing to draw."""
    fig = snapshot_figure(result, date, baseline, who, names)
    if fig is None:
        return b""
    from .plotting import image

    return image(fig, fmt, dpi)
