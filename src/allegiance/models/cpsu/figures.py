"""Figures of a CPSU run (PNG and SVG), each with its data sources under the plot."""

from __future__ import annotations

from pathlib import Path

from ... import data
from ...plotting import plt as _plt
from ...plotting import run_note as _run_note
from ...plotting import save
from ...plotting import shade_forecast as _shade_forecast
from ...plotting import years as _years

# each figure also works on a result whose run ends early: missing pieces are skipped

SOURCE_MEMBERS = ("Data: cpsu_membership.csv (Soviet Armenian Encyclopedia 1984; FRUS 1947; "
                  "Rigby 1968; congress reports). Model: allegiance cpsu")
SOURCE_MODEL = "Model: allegiance cpsu"
VERIFICATION_STYLE = {  # marker, face, label (data/README.md codes)
    "V": ("o", "black", "V: read in the cited source"),
    "D": ("s", "white", "D: derived from V rows"),
    "L": ("^", "white", "L: literature figure, not re-checked"),
    "E": ("x", "0.5", "E: estimate (never fitted)"),
}
TIERS = ("nonmembers", "candidates", "rank_and_file", "cadres", "elite")
TIER_LABELS = {"nonmembers": "non-members", "candidates": "candidates",
               "rank_and_file": "rank-and-file members", "cadres": "cadres (apparatus)",
               "elite": "elite (nomenklatura)"}
TIER_COLORS = {"nonmembers": "#7f7f7f", "candidates": "#fdae61", "rank_and_file": "#d7191c",
               "cadres": "#2c7bb6", "elite": "#5e3c99"}


def headline(result, outdir: Path) -> list[Path]:
    """Members vs committed members 1917-1991 with the historical series (the essay's claim)."""
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
    _shade_forecast(ax, x[-1] + 1 / 12)
    ax.set_xlabel("year")
    ax.set_ylabel("persons (millions)")
    ax.set_title("Members vs committed members of the CPSU, 1917–1991")
    ax.legend(loc="upper left", fontsize=7, frameon=False)
    m = result.manifest
    cap = f"{SOURCE_MEMBERS}; seed {m['seed']}, scale 1:{1 / m['scale']:,.0f}."
    return save(fig, outdir, "members_vs_committed", cap)


def members_vs_data(result, outdir: Path) -> list[Path]:
    """(a) Members + candidates (log scale) against every dated historical point, by code."""
    from ...calendar import parse_month

    plt = _plt()
    ts = result.timeseries
    x = _years(ts)
    fig, ax = plt.subplots(figsize=(7.2, 4.2))
    ok = ts["members"].to_numpy() > 0
    ax.plot(x[ok], ts["members"].to_numpy()[ok], color="#b2182b", lw=1.6,
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
                   marker="*", color="#ef8a62", edgecolors="black", linewidths=0.6, zorder=4,
                   label="1 Jan 1989 peak: boundary point, not fitted")
    ax.set_yscale("log")
    ax.set_xlim(1917, max(x[-1], 1989.5))
    _shade_forecast(ax, max(x[-1] + 1 / 12, 1989.5))
    fit = result.summary.get("fit", {})
    if fit.get("value") is not None and fit.get("n_points"):
        ax.text(0.01, 0.98, f"in-sample fit (≤ 1988):\nrmse of log(model/data) = "
                f"{fit['value']:.3f}\nover {fit['n_points']} points",
                transform=ax.transAxes, ha="left", va="top", fontsize=7, color="0.2")
    ax.set_xlabel("year")
    ax.set_ylabel("members + candidates (persons, log scale)")
    ax.set_title("CPSU membership: model against the historical series")
    ax.legend(loc="lower right", bbox_to_anchor=(0.95, 0.01), fontsize=6.5, frameon=True,
              framealpha=0.9, edgecolor="none")
    cap = (f"{SOURCE_MEMBERS}. Codes from data/README.md. Fit window ends 1988-12-31; "
           f"{_run_note(result)}.")
    return save(fig, outdir, "members_vs_data", cap)


def composition(result, outdir: Path) -> list[Path]:
    """(c) Members by motive at joining and by birth cohort (stacked areas, millions)."""
    plt = _plt()
    ts = result.timeseries
    x = _years(ts)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.8), sharey=True)
    motives = [("motive_ideal", "ideal (belief)", "#1b9e77"),
               ("motive_career", "career (privilege × ambition)", "#d95f02"),
               ("motive_conformist", "conformity (mobilization)", "#7570b3")]
    ys = [ts[c].to_numpy() / 1e6 for c, _, _ in motives if c in ts]
    if ys:
        a1.stackplot(x, ys, labels=[lab for c, lab, _ in motives if c in ts],
                     colors=[col for c, _, col in motives if c in ts], alpha=0.85, lw=0)
    a1.set_title("by motive at joining")
    a1.set_ylabel("members + candidates (millions)")
    a1.legend(loc="upper left", fontsize=7, frameon=False)
    cohorts = [c for c in ts.columns if c.startswith("members_born_")]
    labels = {"members_born_pre1900": "born before 1900", "members_born_1900_1919": "1900–1919",
              "members_born_1920_1939": "1920–1939", "members_born_1940_1959": "1940–1959",
              "members_born_1960plus": "1960 and later"}
    cmap = plt.get_cmap("viridis")
    if cohorts:
        a2.stackplot(x, [ts[c].to_numpy() / 1e6 for c in cohorts],
                     labels=[labels.get(c, c.removeprefix("members_born_")) for c in cohorts],
                     colors=[cmap(i / max(1, len(cohorts) - 1)) for i in range(len(cohorts))],
                     alpha=0.85, lw=0)
    a2.set_title("by birth cohort")
    a2.legend(loc="upper left", fontsize=7, frameon=False)
    for ax in (a1, a2):
        ax.set_xlabel("year")
        ax.set_xlim(x[0], x[-1])
        _shade_forecast(ax, x[-1] + 1 / 12)
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
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.8), sharey=True)
    for ax, what, title in ((axes[0], "belief", "belief in the ideal"),
                            (axes[1], "trust", "trust in the party")):
        for t in TIERS:
            col = f"mean_{what}_{t}"
            if col in ts:
                ax.plot(x, ts[col], color=TIER_COLORS[t], lw=1.3, label=TIER_LABELS[t])
        ax.set_title(f"mean {title}, by tier")
    thr = (result.manifest.get("scenario", {}).get("mechanisms", {}).get("commitment", {})
           .get("threshold"))
    if thr is not None:
        axes[0].axhline(thr, color="black", lw=0.7, ls=":")
        axes[0].text(0.99, thr + 0.01, "commitment threshold", fontsize=6.5, va="bottom",
                     ha="right", transform=axes[0].get_yaxis_transform())
    ax = axes[2]
    if "expressed_trust_citizens" in ts:
        ax.plot(x, ts["expressed_trust_citizens"], color="#e66101", lw=1.5,
                label="expressed in public (non-members)")
    if "mean_trust_citizens" in ts:
        ax.plot(x, ts["mean_trust_citizens"], color="#5e3c99", lw=1.5,
                label="held in private (non-members)")
    if "lever_openness" in ts:
        ax.plot(x, ts["lever_openness"], color="0.4", lw=0.9, ls="--", label="openness (lever)")
    ax.set_title("trust: said vs held (preference falsification)")
    for a in axes:
        a.set_xlabel("year")
        a.set_ylim(0, 1)
        a.set_xlim(x[0], x[-1])
        _shade_forecast(a, x[-1] + 1 / 12, label_at="top")
    axes[0].set_ylabel("mean over adults of the tier (0–1)")
    fig.tight_layout()
    # legends under the panels: every level of the [0, 1] range is used by some line
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.17), fontsize=6.5, frameon=False,
              ncol=2)
    axes[0].legend(loc="upper center", bbox_to_anchor=(1.06, -0.17), fontsize=6.5,
                   frameon=False, ncol=5)
    cap = (f"{SOURCE_MODEL}: belief (M2–M4), trust (M6), expressed trust = o·trust + (1−o)·"
           f"max(trust, norm) (M7). Tiers: status on the 1st of each month. {_run_note(result)}.")
    return save(fig, outdir, "belief_trust", cap)


def crisis_breakdown(result, outdir: Path) -> list[Path]:
    """(e) Defenders / passive / opponents by tier at the crisis (log axis; zeros labelled)."""
    import numpy as np

    crisis = (result.summary.get("forecast") or {}).get("crisis")
    if not crisis or not crisis.get("by_tier"):
        return []
    plt = _plt()
    by = crisis["by_tier"]
    tiers = [t for t in TIERS if t in by]
    sides = [("defenders", "defend the party", "#b2182b"), ("passive", "stay passive", "0.6"),
             ("opponents", "side with the challenger", "#2166ac")]
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    h = 0.26
    y = np.arange(len(tiers))[::-1]
    vals = [by[t][s] for t in tiers for s, _, _ in sides]
    pos = [v for v in vals if v > 0]
    floor = 10 ** np.floor(np.log10(min(pos))) / 3 if pos else 1.0
    for j, (s, lab, col) in enumerate(sides):
        v = np.array([by[t][s] for t in tiers], dtype=float)
        yy = y + (1 - j) * h
        ax.barh(yy, np.where(v > 0, v, np.nan), height=h, left=floor, color=col, label=lab)
        for yi, vi in zip(yy, v, strict=True):
            txt = "0" if vi == 0 else (f"{vi / 1e6:.2f}M" if vi >= 1e6 else f"{vi:,.0f}")
            ax.text(max(vi, floor) * 1.15, yi, txt, va="center", fontsize=6.5, color="0.2")
    ax.set_xscale("log")
    hi = max(vals) if vals else 10.0
    ax.set_xlim(floor, hi * 12)
    ax.set_yticks(y, [TIER_LABELS[t] for t in tiers])
    ax.set_xlabel("persons (log scale; a bar of 0 is labelled '0')")
    ax.grid(axis="y", visible=False)
    ax.set_title(f"At the crisis ({crisis['date']}): who defended the party?")
    ax.legend(loc="lower right", fontsize=7, frameon=True, framealpha=0.9, edgecolor="none")
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
    for fn in (members_vs_data, headline, composition, belief_trust, crisis_breakdown):
        paths += fn(result, outdir)
    return paths
