"""The overview of one result that the dashboard shows and the HTML report embeds.

Figures (matplotlib, returned as ``Figure`` objects or PNG bytes) and number tables are drawn
from a :class:`~allegiance.results.Result` only, so a run just finished in the dashboard and a
run directory read back from disk give the same pictures. Each figure is skipped, not faked,
when the result lacks its columns (another model, or a run that ended before the crisis).
"""

from __future__ import annotations

import io
import math
from typing import Any

MOTIVES = (("motive_ideal", "ideal", "#2166ac"), ("motive_career", "career", "#d6604d"),
           ("motive_conformist", "conformist", "#999999"))
BELIEF_TRUST = (("mean_belief_members", "belief, members", "#2166ac", "-"),
                ("mean_trust_members", "trust, members", "#b2182b", "-"),
                ("mean_belief_citizens", "belief, non-members", "#2166ac", ":"),
                ("mean_trust_citizens", "trust, non-members", "#b2182b", ":"),
                ("expressed_trust_citizens", "trust expressed, non-members", "#f4a582", "--"))
CRISIS_ROWS = ("members", "nonmembers")
CRISIS_COLS = (("defenders", "#2166ac"), ("passive", "#bbbbbb"), ("opponents", "#b2182b"))
DIFF_COLUMNS = (("members", "members + candidates", "#b2182b"),
                ("committed_members", "committed members", "#2166ac"))


def fmt(v: Any) -> str:
    """A number as the dashboard and the report print it (persons without decimals)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, bool) or not isinstance(v, int | float):
        return str(v)
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.4g}"


def years(ts):
    """Decimal years of a timeseries' ``date`` column (YYYY-MM)."""
    import numpy as np

    d = ts["date"].str.split("-", expand=True).astype(int)
    return (d[0] + (d[1] - 1) / 12.0).to_numpy(dtype=np.float64)


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
# Figures


def _plt():
    from .plotting import plt

    return plt()


def _model(result):
    """The model class of a result (``None`` if its model is not registered)."""
    from .registry import MODELS, model_class

    name = result.manifest.get("model")
    return model_class(name) if name in MODELS else None


def members_figure(result):
    """Members vs committed members, with the historical series for the CPSU."""
    ts = result.timeseries
    if "members" not in ts:
        return None
    plt = _plt()
    x = years(ts)
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.plot(x, ts["members"] / 1e6, color="#b2182b", lw=1.8, label="members + candidates")
    if "committed_members" in ts:
        ax.plot(x, ts["committed_members"] / 1e6, color="#2166ac", lw=1.8,
                label="committed members (belief ≥ threshold)")
    cls = _model(result)
    obs = cls.observed("members") if cls is not None else None
    if obs is not None:
        pts = [p for p in obs[0] if x[0] <= p["x"] <= x[-1] + 1]
        ins = [p for p in pts if p["fitted"]]
        out = [p for p in pts if not p["fitted"]]
        ax.scatter([p["x"] for p in ins], [p["value"] / 1e6 for p in ins], s=12,
                   color="black", zorder=3, label="historical (fitted)")
        if out:
            ax.scatter([p["x"] for p in out], [p["value"] / 1e6 for p in out], s=16,
                       facecolor="white", edgecolor="black", zorder=3,
                       label="historical (not fitted: forecast check)")
    if cls is not None and cls.forecast_from is not None and x[-1] >= cls.forecast_from:
        ax.axvspan(cls.forecast_from, x[-1] + 1 / 12, color="0.92", zorder=0)
    ax.set_xlabel("year")
    ax.set_ylabel("persons (millions)")
    ax.set_title("Members vs committed members")
    ax.legend(loc="upper left", fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def composition_figure(result):
    """Members by motive at joining (ideal, career, conformist), stacked."""
    ts = result.timeseries
    cols = [c for c in MOTIVES if c[0] in ts]
    if not cols:
        return None
    plt = _plt()
    x = years(ts)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.stackplot(x, *[ts[c] / 1e6 for c, _, _ in cols], labels=[lab for _, lab, _ in cols],
                 colors=[col for _, _, col in cols], alpha=0.85)
    ax.set_xlabel("year")
    ax.set_ylabel("members (millions)")
    ax.set_title("Composition of the party by motive at joining")
    ax.legend(loc="upper left", fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def belief_trust_figure(result):
    """Mean belief in the ideal and trust in the party, members and non-members."""
    ts = result.timeseries
    cols = [c for c in BELIEF_TRUST if c[0] in ts]
    if not cols:
        return None
    plt = _plt()
    x = years(ts)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for c, lab, col, ls in cols:
        ax.plot(x, ts[c], color=col, ls=ls, lw=1.5, label=lab)
    ax.set_ylim(0, 1)
    ax.set_xlabel("year")
    ax.set_ylabel("mean (0-1)")
    ax.set_title("Belief and trust")
    ax.legend(loc="lower left", fontsize=7, frameon=False, ncol=2)
    fig.tight_layout()
    return fig


def crisis_figure(result):
    """Who defended, stayed passive, or opposed at the crisis, members and non-members."""
    crisis = (result.summary.get("forecast") or {}).get("crisis")
    if not crisis:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 2.4))
    for i, row in enumerate(CRISIS_ROWS):
        left = 0.0
        for col, color in CRISIS_COLS:
            v = float(crisis.get(f"{col}_{row}", 0.0) or 0.0) / 1e6
            ax.barh(i, v, left=left, color=color, label=col if i == 0 else None)
            if v > 0:
                ax.text(left + v / 2, i, f"{v:.2f}", ha="center", va="center", fontsize=7)
            left += v
    ax.set_yticks(range(len(CRISIS_ROWS)), ["members", "non-members"])
    ax.set_xlabel("persons (millions)")
    ax.set_title(f"The crisis of {crisis.get('date', '')}: defenders, passive, opponents")
    ax.legend(loc="lower right", fontsize=7, frameon=False, ncol=3)
    fig.tight_layout()
    return fig


def difference_figure(result, baseline):
    """Current minus unchanged scenario, month by month (same seed: common random numbers)."""
    if baseline is None:
        return None
    a, b = result.timeseries, baseline.timeseries
    cols = [c for c in DIFF_COLUMNS if c[0] in a and c[0] in b]
    if not cols:
        return None
    m = a[["date", *[c for c, _, _ in cols]]].merge(
        b[["date", *[c for c, _, _ in cols]]], on="date", suffixes=("", "_base"))
    plt = _plt()
    x = years(m)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for c, lab, col in cols:
        ax.plot(x, (m[c] - m[f"{c}_base"]) / 1e6, color=col, lw=1.5, label=lab)
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xlabel("year")
    ax.set_ylabel("difference (millions)")
    ax.set_title("Your settings minus the unchanged scenario (same seed)")
    ax.legend(loc="upper left", fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


FIGURES = (("members", "Members vs committed members", members_figure),
           ("composition", "Composition by motive", composition_figure),
           ("belief_trust", "Belief and trust", belief_trust_figure),
           ("crisis", "The crisis", crisis_figure))


def png(fig, dpi: int = 110) -> bytes:
    """A figure as PNG bytes (closes the figure)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


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
