"""``allegiance report RUN_DIR``: one self-contained HTML file to hand a result to someone else.

The file holds the scenario (as TOML, re-runnable), the provenance manifest, the summary tables,
the out-of-sample forecast and the figures as base64 PNG, with inline CSS and no scripts: it
opens offline, in any browser, years later. Figures are drawn from the run directory itself
(:mod:`allegiance.views`); figures the model saved with the run (``RUN_DIR/figures/*.png``) are
embedded as well.
"""

from __future__ import annotations

import base64
import json
from html import escape
from pathlib import Path
from typing import Any

from .errors import AllegianceError

CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:60rem;
margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;
margin-top:2rem}table{border-collapse:collapse;margin:.5rem 0}td,th{padding:.15rem .6rem;
border-bottom:1px solid #eee;text-align:left;vertical-align:top}td.num{text-align:right;
font-variant-numeric:tabular-nums}pre{background:#f6f6f6;padding:.6rem;overflow:auto;
font-size:12px}figure{margin:1rem 0}figure img{max-width:100%}figcaption{color:#555;
font-size:12px}.note{background:#fff7e0;border-left:4px solid #e0a800;padding:.4rem .8rem}
.muted{color:#666}
"""

MANIFEST_KEYS = ("allegiance_version", "git_commit", "git_dirty", "model", "scenario_name",
                 "scenario_sha256", "seed", "scale", "threads", "wall_seconds", "setup_seconds",
                 "peak_rss_bytes", "memory_estimate_bytes", "python", "numpy", "numba",
                 "platform")


def _img(png: bytes, alt: str, cls: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img class="{cls}" alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def _kv_table(items, cls: str = "") -> str:
    from .views import fmt

    rows = "".join(
        f'<tr><th>{escape(str(k))}</th><td class="num" data-key="{escape(str(k))}">'
        f"{escape(fmt(v))}</td></tr>" for k, v in items)
    return f'<table class="{cls}">{rows}</table>'


def _fit_section(fit: dict[str, Any] | None) -> str:
    if not fit:
        return ""
    from .views import fmt

    out = [f"<h3>In-sample fit</h3><p>{escape(str(fit.get('metric', '')))} over "
           f"{escape(str(fit.get('window', '')))}: <b>{escape(fmt(fit.get('value')))}</b> "
           f"({escape(str(fit.get('n_points', '')))} data points)</p>"]
    pts = fit.get("points") or []
    if pts:
        rows = "".join(f"<tr><td>{escape(str(p['date']))}</td><td class='num'>{fmt(p['data'])}"
                       f"</td><td class='num'>{fmt(p['model'])}</td><td class='num'>"
                       f"{fmt(p['log_error'])}</td><td>{escape(str(p.get('verification', '')))}"
                       "</td></tr>" for p in pts)
        out.append("<details><summary>every data point</summary><table class='fit'><tr>"
                   "<th>date</th><th>data</th><th>model</th><th>log error</th><th>verif.</th>"
                   f"</tr>{rows}</table></details>")
    return "".join(out)


def build(run_dir: str | Path) -> str:
    """The HTML report of a result directory."""
    from . import views
    from .results import SCENARIO_TOML, load

    run_dir = Path(run_dir)
    result = load(run_dir)
    m, s = result.manifest, result.summary
    toml_path = run_dir / SCENARIO_TOML
    if toml_path.is_file():
        toml_text = toml_path.read_text()
    else:
        from .scenario import scenario_to_toml

        toml_text = scenario_to_toml(result.scenario)
    sc = m.get("scenario", {})
    title = f"allegiance report: {m.get('scenario_name', run_dir.name)}"
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>"
             f"{escape(title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{escape(title)}</h1>",
             f"<p class='muted'>{escape(str(sc.get('description', '')))}</p>",
             f"<p>model <b>{escape(str(m.get('model')))}</b>, seed <b>{escape(str(m.get('seed')))}"
             f"</b>, scale <b>{escape(views.fmt(m.get('scale')))}</b> (1 agent per "
             f"{escape(views.fmt(1 / m['scale']) if m.get('scale') else '?')} persons), "
             f"{escape(str(sc.get('run', {}).get('start', '')))} to "
             f"{escape(str(sc.get('run', {}).get('end', '')))}; allegiance "
             f"{escape(str(m.get('allegiance_version')))}.</p>",
             "<p class='muted'>Re-run it bit for bit: save the scenario below as "
             "<code>scenario.toml</code> and run <code>allegiance run scenario.toml</code>.</p>"]

    # summary
    parts.append("<h2 id='summary'>Summary</h2>")
    from .readable import headline_words

    parts.extend(f"<p class='headline-words'>{escape(x)}</p>" for x in headline_words(s, m))
    headline = s.get("headline") or {}
    if headline:
        parts.append(_kv_table(headline.items(), "headline"))
    others = {k: v for k, v in s.items() if isinstance(v, int | float | str) and k != "model"}
    if others:
        parts.append(_kv_table(others.items(), "summary-extra"))
    parts.append(_fit_section(s.get("fit")))

    # forecast
    fc = s.get("forecast")
    if fc:
        parts.append("<h2 id='forecast'>Out-of-sample forecast</h2>")
        if fc.get("note"):
            parts.append(f"<p class='note'>{escape(str(fc['note']))}</p>")
        parts.append(_kv_table([(k, v) for k, v in fc.items() if k not in ("note", "crisis")],
                               "forecast"))
        crisis = fc.get("crisis")
        if crisis:
            parts.append(f"<h3>The crisis ({escape(str(crisis.get('date', '')))})</h3>")
            rows = "".join(
                f"<tr><th>{lab}</th>" + "".join(
                    f"<td class='num'>{views.fmt(crisis.get(f'{c}_{r}'))}</td>"
                    for c, _ in views.CRISIS_COLS) + "</tr>"
                for r, lab in (("members", "members"), ("nonmembers", "non-members")))
            parts.append("<table class='crisis'><tr><th></th><th>defenders</th><th>passive</th>"
                         f"<th>opponents</th></tr>{rows}</table>")
        else:
            parts.append("<p class='muted'>No crisis in this run (it ended before the crisis "
                         "event, or the event is switched off).</p>")

    # figures
    parts.append("<h2 id='figures'>Figures</h2>")
    for key, ftitle, png in views.overview_pngs(result):
        parts.append(f"<figure id='fig-{key}'>{_img(png, ftitle, 'figure')}"
                     f"<figcaption>{escape(ftitle)}; seed {m.get('seed')}, scale "
                     f"{views.fmt(m.get('scale'))}.</figcaption></figure>")
    saved = sorted((run_dir / "figures").glob("*.png")) if (run_dir / "figures").is_dir() else []
    if saved:
        parts.append("<h3>Figures saved with the run</h3>")
        for p in saved:
            parts.append(f"<figure>{_img(p.read_bytes(), p.stem, 'figure saved')}"
                         f"<figcaption>{escape(p.name)}</figcaption></figure>")

    # scenario and manifest
    parts.append("<h2 id='scenario'>Scenario</h2><p>The fully resolved scenario "
                 f"(sha256 <code>{escape(str(m.get('scenario_sha256', '')))}</code>):</p>"
                 f"<pre class='scenario-toml'>{escape(toml_text)}</pre>")
    parts.append("<h2 id='manifest'>Provenance (manifest.json)</h2>")
    # the seed is an identifier, not a quantity: no thousands separator
    parts.append(_kv_table([(k, str(m[k]) if k == "seed" else m[k]) for k in MANIFEST_KEYS
                            if k in m], "manifest"))
    if m.get("phase_seconds"):
        parts.append(_kv_table(m["phase_seconds"].items(), "phases"))
    full = {k: v for k, v in m.items() if k != "scenario"}
    parts.append("<details><summary>manifest.json (without the scenario, shown above)</summary>"
                 f"<pre class='manifest-json'>{escape(json.dumps(full, indent=2))}</pre>"
                 "</details>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the report (default ``RUN_DIR/report.html``) and return its path."""
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
