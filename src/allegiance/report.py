"""``allegiance report DIR``: one self-contained HTML file to hand a result to someone else.

DIR is a run, or what ``compare``, ``ensemble``, ``sweep``/``sensitivity`` or ``ablate`` wrote.
The findings come first (the headline in words, the forecast, the key table, the figures); the
settings last and collapsed: the scenario as TOML (re-runnable) and the provenance manifest.
Inline CSS, figures as base64 PNG, no scripts: it opens offline, in any browser, on a phone,
years later. A run's figures are drawn from the run directory (:mod:`allegiance.views`);
figures saved beside a result (``figures/*.png``) are embedded as well.
"""

from __future__ import annotations

import base64
import json
from html import escape
from pathlib import Path
from typing import Any

from .errors import AllegianceError
from .results import SNAPSHOTS, read_json, read_parquet, reading

CSS = """
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:62rem;
margin:1.5rem auto;padding:0 1rem;color:#222}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.2rem;border-bottom:1px solid #ddd;
padding-bottom:.2rem;margin-top:2rem}h3{font-size:1.05rem}
.scroll{overflow-x:auto;max-width:100%}table{border-collapse:collapse;margin:.5rem 0}
td,th{padding:.2rem .6rem;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
th{font-weight:500}pre{background:#f6f6f6;padding:.6rem;overflow:auto;font-size:12px}
figure{margin:1.2rem 0}figure img{max-width:100%;height:auto}
figcaption{color:#555;font-size:13px}.note{background:#fff7e0;border-left:4px solid #e0a800;
padding:.4rem .8rem}.muted{color:#666}.headline-words{font-size:1.05rem}
details{margin:.6rem 0;max-width:100%;overflow-x:auto}
table.manifest td,table.phases td{white-space:normal;word-break:break-all}
summary{cursor:pointer;font-weight:600}code{word-break:break-all}
@media (max-width:600px){body{font-size:14px;margin:.8rem auto;padding:0 .6rem}
h1{font-size:1.25rem}td,th{padding:.15rem .35rem}}
"""

MANIFEST_KEYS = ("allegiance_version", "git_commit", "git_dirty", "model", "scenario_name",
                 "scenario_sha256", "seed", "scale", "threads", "wall_seconds", "setup_seconds",
                 "peak_rss_bytes", "memory_estimate_bytes", "python", "numpy", "numba",
                 "platform")


# ---- pieces of HTML ---------------------------------------------------------------------------


def _page(title: str, parts: list[str]) -> str:
    head = ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>")
    return "\n".join([head, f"<h1>{escape(title)}</h1>", *parts, "</body></html>\n"])


def _img(png: bytes, alt: str, cls: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img class="{cls}" alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def _figure(png: bytes, title: str, caption: str, key: str = "", cls: str = "figure") -> str:
    ident = f" id='fig-{escape(key)}'" if key else ""
    return (f"<figure{ident}>{_img(png, title, cls)}<figcaption>{escape(caption)}"
            "</figcaption></figure>")


def _table(head: list[str], rows: list[list[str]], cls: str) -> str:
    """A table whose cells are already HTML, in a box that scrolls sideways on a phone."""
    h = "".join(f"<th>{x}</th>" for x in head)
    body = "".join("<tr>" + "".join(rows_) + "</tr>" for rows_ in rows)
    return f"<div class='scroll'><table class='{cls}'><tr>{h}</tr>{body}</table></div>"


def _kv_table(items, cls: str = "", words: bool = True) -> str:
    """(key, value) rows: the key in words (its raw name in ``data-key``), the value printed as
    the dashboard prints it."""
    from .readable import label
    from .views import fmt

    rows = "".join(
        f"<tr><th title='{escape(str(k))}'>{escape(label(str(k)) if words else str(k))}</th>"
        f'<td class="num" data-key="{escape(str(k))}">{escape(fmt(v))}</td></tr>'
        for k, v in items)
    return f'<div class="scroll"><table class="{cls}">{rows}</table></div>'


def _details(summary: str, body: str, cls: str = "") -> str:
    return f"<details class='{cls}'><summary>{escape(summary)}</summary>{body}</details>"


def _inside(path: Path, root: Path) -> bool:
    """``path`` is a regular file (not a link) whose real place is inside ``root``."""
    if path.is_symlink() or not path.is_file():
        return False
    return path.resolve().is_relative_to(root.resolve())


def _saved_figures(folder: Path, heading: str, collapsed: bool) -> str:
    # only regular files inside the result directory: a link in figures/ could otherwise
    # carry any file of the machine into a report that is meant to be shared
    pngs = ([p for p in sorted(folder.glob("*.png")) if _inside(p, folder.parent)]
            if folder.is_dir() else [])
    if not pngs:
        return ""
    figs = "".join(_figure(p.read_bytes(), p.stem, p.name.replace("_", " "), cls="figure saved")
                   for p in pngs)
    return _details(heading, figs, "saved-figures") if collapsed else f"<h2>{heading}</h2>{figs}"


# ---- one run ----------------------------------------------------------------------------------


def _fit_section(fit: dict[str, Any] | None) -> str:
    if not fit:
        return ""
    from .views import fmt

    out = [f"<h3>In-sample fit</h3><p>{escape(str(fit.get('metric', '')))} over "
           f"{escape(str(fit.get('window', '')))}: <b>{escape(fmt(fit.get('value')))}</b> "
           f"({escape(str(fit.get('n_points', '')))} data points)</p>"]
    pts = fit.get("points") or []
    if pts:
        rows = [[f"<td>{escape(str(p['date']))}</td>", f"<td class='num'>{fmt(p['data'])}</td>",
                 f"<td class='num'>{fmt(p['model'])}</td>",
                 f"<td class='num'>{fmt(p['log_error'])}</td>",
                 f"<td>{escape(str(p.get('verification', '')))}</td>"] for p in pts]
        out.append(_details("every data point", _table(
            ["date", "data", "model", "log error", "verif."], rows, "fit")))
    return "".join(out)


def _crisis_table(crisis: dict[str, Any]) -> str:
    from .views import CRISIS_ROWS, fmt

    rows = [[f"<th>{lab}</th>", *[f"<td class='num'>{fmt(crisis.get(f'{c}_{r}'))}</td>"
                                  for c in ("defenders", "passive", "opponents")]]
            for r, lab in CRISIS_ROWS]
    return _table(["", "defenders", "passive", "opponents"], rows, "crisis")


def _snapshots(result, baseline=None, names: tuple[str, str] = ("", "")) -> str:
    """The section "The agents at a date": a figure per snapshot month and group (members,
    everyone alive) of :func:`allegiance.views.snapshot_image`, the two runs of a comparison
    on the same bins; ``""`` without snapshots."""
    from . import views

    dates = views.snapshot_dates(result)
    if baseline is not None:
        dates = [d for d in dates if d in views.snapshot_dates(baseline)]
    if not dates:
        return ""
    who = [w for w in views.snapshot_who(result)
           if baseline is None or w in views.snapshot_who(baseline)]
    out = ["<h2 id='snapshots'>The agents at a date</h2><p class='muted'>Histograms of "
           "belief, trust and stake and counts by tier, motive and cohort, in persons, at the "
           "start of each snapshot month (<code>snapshots.parquet</code>)"
           + (f": {escape(names[0])} against {escape(names[1])}, on the same bins"
              if baseline is not None else "") + ".</p>"]
    for date in dates:
        for w in who:
            png = views.snapshot_image(result, date, baseline, w, names)
            if png:
                group = dict(views.SNAPSHOT_WHO)[w]
                out.append(_figure(png, f"{date}, {group}",
                                   f"The agents at the start of {date}: {group}.",
                                   f"snapshot-{date}-{w}"))
    return "".join(out)


def build_run(run_dir: str | Path) -> str:
    """The HTML report of a run directory: findings, figures, then the settings."""
    from . import views
    from .readable import headline_words
    from .results import SCENARIO_TOML, load

    run_dir = Path(run_dir)
    result = load(run_dir)
    m, s = result.manifest, result.summary
    toml_path = run_dir / SCENARIO_TOML
    if _inside(toml_path, run_dir):
        toml_text = toml_path.read_text()
    else:
        from .scenario import scenario_to_toml

        toml_text = scenario_to_toml(result.scenario)
    sc = m.get("scenario", {})
    run = sc.get("run", {})
    period = (f"{run['start']} to {run['end']}" if "start" in run and "end" in run
              else f"{run['steps']} steps" if "steps" in run else "")
    parts = [f"<p class='muted'>{escape(str(sc.get('description', '')))}</p>",
             f"<p>Model <b>{escape(str(m.get('model')))}</b>, seed <b>{escape(str(m.get('seed')))}"
             f"</b>, one agent per {escape(views.fmt(1 / m['scale']) if m.get('scale') else '?')}"
             f" persons{escape(', ' + period if period else '')}; allegiance "
             f"{escape(str(m.get('allegiance_version')))}.</p>"]

    parts.append("<h2 id='findings'>Findings</h2>")
    words = headline_words(s, m)
    parts.extend(f"<p class='headline-words'>{escape(x)}</p>" for x in words)
    headline = s.get("headline") or {}
    if headline:
        parts.append(_kv_table(headline.items(), "headline"))

    fc = s.get("forecast")
    if fc:
        parts.append("<h2 id='forecast'>Out-of-sample forecast</h2>")
        if fc.get("note"):
            parts.append(f"<p class='note'>{escape(str(fc['note']))}</p>")
        parts.append(_kv_table([(k, v) for k, v in fc.items() if k not in ("note", "crisis")],
                               "forecast"))
        crisis = fc.get("crisis")
        if crisis:
            parts.append(f"<h3>The crisis ({escape(str(crisis.get('date', '')))})</h3>"
                         f"{_crisis_table(crisis)}")
        else:
            parts.append("<p class='muted'>No crisis in this run (it ended before the crisis "
                         "event, or the event is switched off).</p>")

    parts.append("<h2 id='figures'>Figures</h2>")
    note = f"{m.get('scenario_name')}, seed {m.get('seed')}, scale {views.fmt(m.get('scale'))}"
    for key, ftitle, png in views.overview_pngs(result):
        parts.append(_figure(png, ftitle, f"{ftitle}; {note}.", key))
    parts.append(_saved_figures(run_dir / "figures", "More figures (saved with the run)", True))
    if _inside(run_dir / SNAPSHOTS, run_dir):
        parts.append(_snapshots(result))

    parts.append("<h2 id='details'>Fit and other numbers</h2>")
    parts.append(_fit_section(s.get("fit")))
    others = {k: v for k, v in s.items() if isinstance(v, int | float | str) and k != "model"}
    if others:
        parts.append(_kv_table(others.items(), "summary-extra"))

    parts.append("<h2 id='scenario'>Settings</h2><p class='muted'>Re-run it bit for bit: save "
                 "the scenario as <code>scenario.toml</code> and run <code>allegiance run "
                 "scenario.toml</code>.</p>")
    parts.append(_details(
        f"The scenario (TOML, sha256 {m.get('scenario_sha256', '')})",
        f"<pre class='scenario-toml'>{escape(toml_text)}</pre>", "scenario"))
    # the seed is an identifier, not a quantity: no thousands separator
    prov = _kv_table([(k, str(m[k]) if k == "seed" else m[k]) for k in MANIFEST_KEYS if k in m],
                     "manifest", words=False)
    if m.get("phase_seconds"):
        prov += _kv_table(m["phase_seconds"].items(), "phases", words=False)
    full = {k: v for k, v in m.items() if k != "scenario"}
    prov += f"<pre class='manifest-json'>{escape(json.dumps(full, indent=2))}</pre>"
    parts.append(_details("Provenance (manifest.json)", prov, "provenance"))
    return _page(f"allegiance report: {m.get('scenario_name', run_dir.name)}", parts)


# ---- directories of many runs -----------------------------------------------------------------


def kind_of(path: Path) -> str:
    """What wrote ``path``: run, compare, ablation, ensemble, sweep, sensitivity, calibration."""
    if (path / "manifest.json").is_file() and (path / "summary.json").is_file():
        return "run"
    if (path / "comparison.json").is_file():
        return "compare"
    if (path / "ablation.json").is_file():
        return "ablation"
    if (path / "experiment.json").is_file():
        return str(read_json(path / "experiment.json").get("kind", "sweep"))
    raise AllegianceError(f"{path}: not a complete allegiance result (no manifest.json and "
                          "summary.json, comparison.json, ablation.json or experiment.json)")


def _md_inline(text: str) -> str:
    """Backticks and **bold** of a Markdown line, everything else escaped."""
    import re

    out = escape(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", out)


def _markdown(md: str, cls: str) -> str:
    """The small Markdown our commands write (paragraphs and one pipe table) as HTML."""
    parts, para, rows = [], [], []
    for line in [*md.splitlines(), ""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(set(c) <= set("-: ") for c in cells):
                rows.append(cells)
            continue
        if rows:
            parts.append(_table([_md_inline(c) for c in rows[0]],
                                [[f"<td>{_md_inline(c)}</td>" for c in r] for r in rows[1:]],
                                cls))
            rows = []
        if line.strip():
            para.append(line.strip())
        elif para:
            parts.append(f"<p>{_md_inline(' '.join(para))}</p>")
            para = []
    return "".join(parts)


def _compare(path: Path) -> tuple[str, list[str]]:
    from .readable import label
    from .views import fmt

    cj = read_json(path / "comparison.json")
    parts = [f"<p>A = <b>{escape(str(cj['a']))}</b>, B = <b>{escape(str(cj['b']))}</b>, the same "
             f"seed ({escape(str(cj['seed']))}) and scale ({escape(fmt(cj['scale']))}): common "
             "random numbers, so B − A is the effect of what differs, not noise. First month "
             f"that differs: <b>{escape(str(cj.get('first_difference') or 'none'))}</b>.</p>",
             "<h2 id='findings'>Differences</h2>"]
    rows = [[f"<th>{escape(label(r['outcome'].replace('crisis: ', 'crisis_')))}</th>",
             *[f"<td class='num' data-key='{escape(r['outcome'])}' data-col='{c}'>"
               f"{escape(fmt(r[c]))}</td>" for c in ("a", "b", "diff")]]
            for r in cj.get("differences", [])]
    parts.append(_table(["outcome", "A", "B", "B − A"], rows, "differences"))
    if _inside(path / "comparison.png", path):
        parts.append("<h2 id='figures'>Figures</h2>" + _figure(
            (path / "comparison.png").read_bytes(), "comparison", "A vs B, and B − A.",
            "comparison"))
    sides = sorted(p for p in path.iterdir() if p.is_dir() and (p / "manifest.json").is_file())
    if len(sides) == 2 and all(_inside(p / SNAPSHOTS, path) for p in sides):
        from .results import load

        a, b = (load(p) for p in sides)
        parts.append(_snapshots(b, a, (f"B {cj['b']}", f"A {cj['a']}")))
    for side in sides:
        parts.append(f"<p class='muted'>{escape(side.name)}: the run's own report is "
                     f"<code>allegiance report {escape(str(side))}</code>.</p>")
    parts.append(_details("comparison.json", f"<pre>{escape(json.dumps(cj, indent=2))}</pre>"))
    return f"allegiance comparison: {cj['a']} vs {cj['b']}", parts


def _ablation(path: Path) -> tuple[str, list[str]]:

    from .plotting import PALETTE, image, plt

    meta = read_json(path / "ablation.json")
    parts = ["<p>Each mechanism switched off in turn: does the model still fit the membership "
             "data up to 1988, and what does it forecast?</p>", "<h2 id='findings'>The table</h2>",
             _markdown((path / "ablation.md").read_text(), "ablation")]
    t = read_parquet(path / "ablation.parquet")
    if len(t) and "fit_mean" in t:
        fig, ax = plt().subplots(figsize=(7, 0.32 * len(t) + 1.4))
        y = list(range(len(t)))[::-1]
        ok = t["still_fits"].to_numpy(dtype=bool)
        ax.barh(y, t["fit_mean"], color=[PALETTE["committed_members"] if o else "#bbbbbb"
                                         for o in ok],
                xerr=[t["fit_mean"] - t["fit_min"], t["fit_max"] - t["fit_mean"]],
                error_kw={"lw": 0.8})
        ax.set_yticks(y, t["variant"])
        ax.set_xlabel("fit: rmse of log(model/data) up to 1988 (lower is better; "
                      "blue: still fits)")
        ax.grid(axis="y", visible=False)
        fig.tight_layout()
        parts.append("<h2 id='figures'>Figures</h2>" + _figure(
            image(fig), "fit by variant", "Mean fit by variant, bars from the lowest to the "
            "highest seed.", "ablation"))
    parts.append(_details("ablation.json", f"<pre>{escape(json.dumps(meta, indent=2))}</pre>"))
    return f"allegiance ablation: {meta.get('scenario', path.name)}", parts


def _ensemble(path: Path) -> tuple[str, list[str]]:
    from .readable import label
    from .views import fmt

    s = read_json(path / "summary.json")
    parts = [f"<p><b>{escape(str(s['scenario']))}</b>: {s['ok']} runs ok, {s['failed']} failed; "
             f"root seed {escape(str(s['seed']))}, scale {escape(fmt(s['scale']))}. Each number "
             "below is the median across runs, with the 5–95 % range.</p>",
             "<h2 id='findings'>Bands</h2>"]
    keys = [k for k in s["bands"] if k.startswith(("headline.", "forecast."))
            and ".by_tier." not in k] or list(s["bands"])

    def row(k: str) -> list[str]:
        b = s["bands"][k]
        return [f"<th title='{escape(k)}'>{escape(label(k.rsplit('.', 1)[-1]))}</th>",
                *[f"<td class='num' data-key='{escape(k)}' data-col='{q}'>{escape(fmt(b[q]))}"
                  "</td>" for q in ("q50", "q05", "q95")]]

    parts.append(_table(["outcome", "median", "5 %", "95 %"], [row(k) for k in keys], "bands"))
    parts.append(_saved_figures(path / "figures", "Figures", False))
    return f"allegiance ensemble: {s['scenario']}", parts


def _sweep(path: Path, kind: str) -> tuple[str, list[str]]:
    import pandas as pd

    from .views import fmt

    exp = read_json(path / "experiment.json")
    runs = read_parquet(path / "runs.parquet")
    design = read_parquet(path / "design.parquet") if (path / "design.parquet").is_file() \
        else pd.DataFrame()
    params = [c for c in design.columns if c != "point"]
    fixed = {"run_id", "point", "replicate", "seed", "status", "error", *params}
    outcomes = [c for c in runs.columns if c not in fixed and runs[c].dtype.kind in "fi"]
    ok = runs[runs["status"] == "ok"]
    parts = [f"<p>{len(runs)} runs ({len(ok)} ok) over {len(design)} points of "
             f"{escape(', '.join(params) or 'no parameter')}; outcomes: "
             f"{escape(', '.join(outcomes) or 'none')}.</p>",
             "<h2 id='findings'>Outcomes by point</h2>"]
    if len(ok) and outcomes:
        g = ok.groupby("point")[outcomes].mean().reset_index().merge(design, on="point")
        rows = [[*[f"<td class='num'>{escape(fmt(r[c]))}</td>" for c in ["point", *params]],
                 *[f"<td class='num' data-key='{escape(o)}'>{escape(fmt(r[o]))}</td>"
                   for o in outcomes]] for _, r in g.head(200).iterrows()]
        parts.append(_table([escape(c) for c in ["point", *params, *outcomes]], rows, "sweep"))
        if len(g) > 200:
            parts.append(f"<p class='muted'>The first 200 of {len(g)} points.</p>")
        num = [p for p in params if design[p].dtype.kind in "fi"]
        if num:
            parts.append("<h2 id='figures'>Figures</h2>" + _sweep_figure(ok, design, num[0],
                                                                        outcomes))
    parts.append(_saved_figures(path / "figures", "Figures saved with the experiment", False))
    parts.append(_details("experiment.json", f"<pre>{escape(json.dumps(exp, indent=2))}</pre>"))
    return f"allegiance {kind}: {exp.get('name', path.name)}", parts


def _sweep_figure(ok, design, param: str, outcomes: list[str]) -> str:
    from .plotting import color, image, plt

    d = ok if param in ok else ok.merge(design[["point", param]], on="point", how="left")
    fig, axes = plt().subplots(1, len(outcomes[:3]), figsize=(3.6 * len(outcomes[:3]), 3.2),
                               squeeze=False)
    for ax, o in zip(axes[0], outcomes[:3], strict=False):
        ax.scatter(d[param], d[o], s=10, color=color(o.rsplit(".", 1)[-1], "#2166ac"),
                   alpha=0.7)
        ax.set_xlabel(param)
        ax.set_title(o, fontsize=8)
    fig.tight_layout()
    return _figure(image(fig), "outcomes by parameter", f"Each run's outcome against {param}.",
                   "sweep")


def build(path: str | Path) -> str:
    """The HTML report of a run, comparison, ensemble, sweep or ablation directory."""
    path = Path(path)
    if not path.is_dir():
        raise AllegianceError(f"{path}: not a complete allegiance result (no such directory)")
    with reading(path):
        kind = kind_of(path)
        if kind == "run":
            return build_run(path)
        if kind == "compare":
            title, parts = _compare(path)
        elif kind == "ablation":
            title, parts = _ablation(path)
        elif kind == "ensemble":
            title, parts = _ensemble(path)
        else:
            title, parts = _sweep(path, kind)
        return _page(title, parts)


def write(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the report (default ``DIR/report.html``) and return its path."""
    run_dir = Path(run_dir)
    target = Path(out) if out is not None else run_dir / "report.html"
    html = build(run_dir)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.partial")
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:
        raise AllegianceError(f"-o {target}: cannot write: {exc.strerror}") from None
    return target
