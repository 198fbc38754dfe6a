"""Figures of a CPSU run (PNG and SVG), each with its data sources under the plot."""

from __future__ import annotations

from pathlib import Path

from ... import data
from ...plotting import (
    LABELS,
    MOTIVES,
    PALETTE,
    TIERS,
    crisis_bars,
    save,
    series_figure,
    stack,
    time_axis,
    title,
)
from ...plotting import plt as _plt
from ...plotting import run_note as _run_note
from ...plotting import years as _years

# each figure also works on a result whose run ends early: missing pieces are skipped

SOURCE_MEMBERS = ("Data: cpsu_membership.csv (Soviet Armenian Encyclopedia 1984; FRUS 1947; "
                  "Rigby 1968; congress reports). Model: allegiance cpsu")
SOURCE_MODEL = "Model: allegiance cpsu"
FORECAST_FROM = 1989.0  # data.CALIBRATION_END is 1988-12: later months are a forecast
#: the turning points the essay names (data/timeline_events.csv), marked on time series
MARKERS = ((1921.2, "1921 purge, NEP"), ((1933.0, 1939.0), "purges 1933–38"),
           ((1941.47, 1945.35), "war 1941–45"), (1956.15, "Secret Speech"),
           (1985.2, "Gorbachev"), (1987.0, "glasnost on history"))
VERIFICATION_STYLE = {  # marker, face, label (data/README.md codes)
    "V": ("o", "black", "V: read in the cited source"),
    "D": ("s", "white", "D: derived from V rows"),
    "L": ("^", "white", "L: literature figure, not re-checked"),
    "E": ("x", "0.5", "E: estimate (never fitted)"),
}
TIER_LABELS = {t: LABELS[t] for t in TIERS}


def _time(ax, x, end=None) -> None:
    """Events, the forecast band and the x range of a time-series panel."""
    time_axis(ax, float(x[0]), float(end if end is not None else x[-1] + 1 / 12), MARKERS,
              FORECAST_FROM)


def observed_members() -> tuple[list[dict], str]:
    """The dated membership series (members + candidates), fitted up to 1988."""
    from ...calendar import parse_month

    end = parse_month(data.CALIBRATION_END)
    pts = [{"x": r["month"] / 12, "value": r["value"], "fitted": r["month"] <= end}
           for r in data.membership_series()]
    return pts, SOURCE_MEMBERS


def overview(result):
    """Members vs committed members with the historical series (a Figure; not saved)."""
    ts = result.timeseries
    lines = [(ts[c].to_numpy(dtype=float), c, lab) for c, lab in
             (("members", "members + candidates (model)"),
              ("committed_members", "committed members: belief ≥ threshold (model)"))
             if c in ts]
    return series_figure(_years(ts), lines, observed=observed_members(),
                         markers=MARKERS, forecast_from=FORECAST_FROM, in_persons=True,
                         title_text="Members vs committed members of the CPSU")


def headline(result, outdir: Path) -> list[Path]:
    """Members vs committed members 1917-1991 with the historical series (the essay's claim)."""
    m = result.manifest
    cap = f"{SOURCE_MEMBERS}; seed {m['seed']}, scale 1:{1 / m['scale']:,.0f}."
    return save(overview(result), outdir, "members_vs_committed", cap)


def members_vs_data(result, outdir: Path) -> list[Path]:
    """(a) Members + candidates (log scale) against every dated historical point, by code."""
    from ...calendar import parse_month

    plt = _plt()
    ts = result.timeseries
    x = _years(ts)
    fig, ax = plt.subplots(figsize=(7.2, 4.4))
    ok = ts["members"].to_numpy() > 0
    ax.plot(x[ok], ts["members"].to_numpy()[ok], color=PALETTE["members"], lw=1.6,
            label="model: members + candidates", zorder=2)
    last = parse_month(data.CALIBRATION_END)
    pts = data.membership_series(include_estimates=True)
    for code, (marker, face, label) in VERIFICATION_STYLE.items():
        sel = [r for r in pts if r["verification"] == code and r["month"] <= last]
        if not sel:
            continue
        ax.scatter([r["month"] / 12 for r in sel], [r["value"] for r in sel], s=22,
                   marker=marker, facecolors=face, edgecolors="black" if code != "E" else None,
                   color="0.5" if code == "E" else None, linewidths=0.8, zorder=3,
                   label=f"data ≤ 1988 (fitted), {label}" if code != "E" else f"data, {label}")
    after = [r for r in pts if r["month"] > last]
    if after:
        ax.scatter([r["month"] / 12 for r in after], [r["value"] for r in after], s=70,
                   marker="*", color="white", edgecolors="black", linewidths=0.6, zorder=4,
                   label="1 Jan 1989 peak: boundary point, not fitted")
    ax.set_yscale("log")
    _time(ax, x, max(x[-1] + 1 / 12, 1989.5))
    fit = result.summary.get("fit", {})
    if fit.get("value") is not None and fit.get("n_points"):
        ax.text(0.01, 0.98, f"in-sample fit (≤ 1988):\nrmse of log(model/data) = "
                f"{fit['value']:.3f}\nover {fit['n_points']} points",
                transform=ax.transAxes, ha="left", va="top", fontsize=7, color="0.2")
    ax.set_xlabel("year")
    ax.set_ylabel("members + candidates (persons, log scale)")
    title(ax, "CPSU membership: model against the historical series")
    ax.legend(loc="lower right", bbox_to_anchor=(0.95, 0.01), fontsize=6.5, frameon=True,
              framealpha=0.9, edgecolor="none")
    cap = (f"{SOURCE_MEMBERS}. Codes from data/README.md. Fit window ends 1988-12-31; "
           f"{_run_note(result)}.")
    return save(fig, outdir, "members_vs_data", cap)


COHORT_LABELS = {"members_born_pre1900": "born before 1900", "members_born_1900_1919": "1900–1919",
                 "members_born_1920_1939": "1920–1939", "members_born_1940_1959": "1940–1959",
                 "members_born_1960plus": "1960 and later"}


def motive_stack(ax, ts, x) -> None:
    """Members by motive at joining, stacked (millions): the dashboard's panel too."""
    stack(ax, x, [(ts[c].to_numpy(dtype=float), c, LABELS[c]) for c in MOTIVES if c in ts])


def composition(result, outdir: Path) -> list[Path]:
    """(c) Members by motive at joining and by birth cohort (stacked areas, millions)."""
    plt = _plt()
    ts = result.timeseries
    x = _years(ts)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9.5, 4.2), sharey=True)
    motive_stack(a1, ts, x)
    a1.set_ylabel("members + candidates (millions)")
    cohorts = [c for c in ts.columns if c.startswith("members_born_")]
    cmap = plt.get_cmap("viridis")
    if cohorts:
        a2.stackplot(x, [ts[c].to_numpy() / 1e6 for c in cohorts],
                     labels=[COHORT_LABELS.get(c, c.removeprefix("members_born_"))
                             for c in cohorts],
                     colors=[cmap(i / max(1, len(cohorts) - 1)) for i in range(len(cohorts))],
                     alpha=0.85, lw=0)
    for ax, what in ((a1, "by motive at joining"), (a2, "by birth cohort")):
        ax.set_xlabel("year")
        _time(ax, x)
        title(ax, what)
        ax.legend(loc="upper left")
    fig.suptitle("Who the members were: motive at joining and generation (model)", fontsize=10)
    fig.tight_layout()
    cap = (f"{SOURCE_MODEL}: motive = the largest term of the apply decision (M1); cohorts by "
           f"year of birth (M2). {_run_note(result)}.")
    return save(fig, outdir, "composition", cap)


def belief_trust(result, outdir: Path) -> list[Path]:
    """(d) Mean belief and trust by tier; expressed vs private trust of citizens."""
    plt = _plt()
    ts = result.timeseries
    x = _years(ts)
    fig, axes = plt.subplots(1, 3, figsize=(11.5, 4.2), sharey=True)
    titles = ("mean belief in the ideal, by tier", "mean trust in the party, by tier",
              "trust: said vs held (preference falsification)")
    for ax, what in ((axes[0], "belief"), (axes[1], "trust")):
        for t in TIERS:
            col = f"mean_{what}_{t}"
            if col in ts:
                ax.plot(x, ts[col], color=PALETTE[t], lw=1.3, label=TIER_LABELS[t])
    thr = (result.manifest.get("scenario", {}).get("mechanisms", {}).get("commitment", {})
           .get("threshold"))
    if thr is not None:
        axes[0].axhline(thr, color="black", lw=0.7, ls=":")
        axes[0].text(0.99, thr + 0.01, "commitment threshold", fontsize=6.5, va="bottom",
                     ha="right", transform=axes[0].get_yaxis_transform())
    ax = axes[2]
    if "expressed_trust_citizens" in ts:
        ax.plot(x, ts["expressed_trust_citizens"], color=PALETTE["expressed_trust"], lw=1.5,
                label="trust expressed in public (non-members)")
    if "mean_trust_citizens" in ts:
        ax.plot(x, ts["mean_trust_citizens"], color=PALETTE["trust"], lw=1.5,
                label="trust held in private (non-members)")
    if "lever_openness" in ts:
        ax.plot(x, ts["lever_openness"], color=PALETTE["openness"], lw=0.9, ls="--",
                label="openness (lever)")
    for a, text in zip(axes, titles, strict=True):
        a.set_xlabel("year")
        a.set_ylim(0, 1)
        _time(a, x)
        title(a, text)
    axes[0].set_ylabel("mean over adults of the tier (0–1)")
    fig.tight_layout()
    # legends under the panels: every level of the [0, 1] range is used by some line
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.17), fontsize=6.5, ncol=1)
    axes[0].legend(loc="upper center", bbox_to_anchor=(1.06, -0.17), fontsize=6.5, ncol=3)
    cap = (f"{SOURCE_MODEL}: belief (M2–M4), trust (M6), expressed trust = o·trust + (1−o)·"
           f"max(trust, norm) (M7). Tiers: status on the 1st of each month. {_run_note(result)}.")
    return save(fig, outdir, "belief_trust", cap)


def survey(result, outdir: Path) -> list[Path]:
    """(f) What a survey would have found: shares of adults and of members answering with firm
    support, partial support or against (private), the public "firm" answer beside them, and
    the spread of belief and trust across adults."""
    ts = result.timeseries
    if "survey_adults_private_firm" not in ts:
        return []
    plt = _plt()
    x = _years(ts)
    fig, axes = plt.subplots(1, 3, figsize=(11.5, 4.2))
    answers = ("firm", "partial", "against")
    for ax, who in ((axes[0], "adults"), (axes[1], "members")):
        cols = [(ts[f"survey_{who}_private_{a}"].fillna(0.0).to_numpy(), a, LABELS[a])
                for a in answers]
        stack(ax, x, cols, scale=0.01)
        ax.plot(x, 100 * ts[f"survey_{who}_expressed_firm"], color="black", lw=1.1, ls="--",
                label="firm support said in public")
        ax.set_ylim(0, 100)
        ax.set_ylabel(f"% of {who}")
    ax = axes[2]
    ax.plot(x, ts["sd_belief_adults"], color=PALETTE["belief"], lw=1.4, label="belief")
    ax.plot(x, ts["sd_trust_adults"], color=PALETTE["trust"], lw=1.4, label="trust")
    ax.set_ylim(0, None)
    ax.set_ylabel("standard deviation across adults")
    texts = ("adults: answers held in private", "members: answers held in private",
             "spread of attitudes")
    for a, text in zip(axes, texts, strict=True):
        a.set_xlabel("year")
        _time(a, x)
        title(a, text)
    fig.tight_layout()
    axes[0].legend(loc="upper center", bbox_to_anchor=(1.1, -0.17), fontsize=6.5, ncol=4)
    axes[2].legend(loc="upper center", bbox_to_anchor=(0.5, -0.17), fontsize=6.5, ncol=2)
    sc = result.manifest.get("scenario", {}).get("mechanisms", {}).get("commitment", {})
    cap = (f"{SOURCE_MODEL}: answers to a typical question from each adult's trust in the "
           f"party (M6): firm support at or above {sc.get('survey_firm', 0.6):g}, against below "
           f"{sc.get('survey_against', 0.4):g}; in public, trust as expressed under "
           f"falsification (M7). Not fitted to any survey (docs/VALIDATION.md). "
           f"{_run_note(result)}.")
    return save(fig, outdir, "survey", cap)


def crisis_rows(crisis: dict) -> list[tuple[str, dict[str, float]]]:
    """The crisis by tier, as rows of :func:`allegiance.plotting.crisis_bars`."""
    by = crisis.get("by_tier") or {}
    return [(TIER_LABELS[t], by[t]) for t in TIERS if t in by]


def crisis_breakdown(result, outdir: Path) -> list[Path]:
    """(e) Defenders / passive / opponents by tier at the crisis: shares, counts beside."""
    crisis = (result.summary.get("forecast") or {}).get("crisis")
    if not crisis or not crisis.get("by_tier"):
        return []
    plt = _plt()
    rows = crisis_rows(crisis)
    fig, ax = plt.subplots(figsize=(7.5, 0.55 * len(rows) + 1.6))
    crisis_bars(ax, rows, crisis.get("date", ""))
    fig.tight_layout()
    m = result.manifest
    res = 1 / m["scale"]
    forces = ""
    if crisis.get("security_forces") is not None:
        forces = (f" Civilians only: of {crisis['security_forces']:,.0f} in the security forces, "
                  f"{crisis['security_obeyed']:,.0f} obeyed and {crisis['security_refused']:,.0f} "
                  "refused.")
    cap = (f"{SOURCE_MODEL}: threshold cascade of M10 at the crisis event, adults by tier; "
           f"OUT-OF-SAMPLE forecast. One agent = {res:,.0f} persons, so the smallest non-zero "
           f"count is {res:,.0f}.{forces} {_run_note(result)}; cascade iterations: "
           f"{crisis.get('iterations')}.")
    return save(fig, outdir, "crisis_breakdown", cap)


def draw_all(result, outdir) -> list[Path]:
    """Every figure of a CPSU result into ``outdir`` (what ``allegiance run cpsu`` draws)."""
    outdir = Path(outdir)
    paths: list[Path] = []
    for fn in (members_vs_data, headline, composition, belief_trust, survey, crisis_breakdown):
        paths += fn(result, outdir)
    return paths
