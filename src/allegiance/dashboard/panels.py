"""Pieces of the dashboard page that do not hold settings: the layout's CSS, the page before a
run, the run's progress on a time line, and figures that open full size and download.

The layout works from a phone (390 px) to a desktop: a bar that stays at the top holds Run,
Cancel and the progress; the settings are a column beside the results on a wide screen and a
full-screen panel with a close button on a narrow one.
"""

from __future__ import annotations

import base64
import tempfile
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

import solara

from .. import views
from ..readable import label
from ..scenario import scenario_to_toml

NARROW = 900  # px: below this the settings panel covers the page and is opened on demand

CSS = f"""
.al-bar{{position:sticky;top:0;z-index:6;background:#fff;display:flex;flex-wrap:wrap;
  gap:6px 10px;align-items:center;padding:6px 0 8px;border-bottom:1px solid #e3e3e3}}
.al-bar .al-name{{font-weight:600;font-size:15px;margin-right:auto}}
.al-bar .al-progress{{flex:1 1 100%;min-width:0}}
.al-body{{display:flex;gap:18px;align-items:flex-start;padding-top:8px}}
.al-side{{flex:0 0 380px;width:380px;max-width:380px;position:sticky;top:64px;
  max-height:calc(100vh - 80px);overflow-y:auto;padding-right:6px}}
.al-main{{flex:1 1 auto;min-width:0}}
.al-side-head{{display:flex;justify-content:space-between;align-items:center}}
.panel-closed .al-side{{display:none}}
.al-side-head{{position:sticky;top:0;background:#fff;z-index:1}}
.al-cols{{display:flex;flex-wrap:wrap;gap:4px 18px}}
.al-cols > div{{flex:1 1 380px;min-width:0;max-width:100%}}
.fig-box{{margin:4px 0 14px}} .fig-box img{{max-width:100%;height:auto;cursor:zoom-in}}
.fig-tools{{display:flex;flex-wrap:wrap;gap:4px;align-items:center}}
.al-zoom{{position:fixed;inset:0;z-index:30;background:rgba(255,255,255,.98);overflow:auto;
  padding:8px}}
.al-zoom img{{max-width:none}}
.al-timeline{{position:relative;height:30px;margin:2px 0 4px;font-size:10px;color:#444}}
.al-timeline .track{{position:absolute;left:0;right:0;top:15px;height:6px;background:#eee}}
.al-timeline .done{{position:absolute;left:0;top:15px;height:6px;background:#2166ac}}
.al-timeline .ev{{position:absolute;top:0;transform:translateX(-50%);white-space:nowrap}}
.al-timeline .tick{{position:absolute;top:12px;width:1px;height:12px;background:#888}}
@media (max-width:{NARROW}px){{
  .al-side{{position:fixed;inset:0;width:100vw;max-width:100vw;max-height:100vh;height:100vh;
    z-index:20;background:#fff;padding:10px 14px}}
  .panel-auto .al-side{{display:none}}
  .al-timeline .ev{{display:none}}
  .wide-only{{display:none !important}}
}}
@media (min-width:{NARROW + 1}px){{ .narrow-only{{display:none !important}} }}
"""


def intro_html(sc, cls) -> str:
    """What the page says before the first run: the scenario and what Run will do."""
    what = ("The unchanged scenario is run too, with the same seed: thanks to common random "
            "numbers the difference is the effect of your changes, not noise.")
    parts = [f"<p>{escape(sc.description)}</p>" if sc.description else "",
             "<p class='intro'>Nothing has been run yet. Press <b>Run</b> (top of the page) to "
             "run this scenario at the scale set under <i>Settings</i>; the numbers, the figures"
             f" and the files to download appear here. {what}</p>"]
    if cls is not None and cls.forecast_from is not None:
        parts.append(f"<p class='intro'>Everything from {cls.forecast_from:g} on is an "
                     "out-of-sample forecast: the model was calibrated on earlier data only.</p>")
    return "".join(parts)


@solara.component
def Intro(sc, cls):  # noqa: N802 (Solara components are CamelCase)
    """The page before any run: the scenario's description, and the data the model is fitted
    to with its historical events (when the model has observed data)."""
    solara.HTML(tag="div", unsafe_innerHTML=intro_html(sc, cls), classes=["al-intro"])
    png = solara.use_memo(lambda: views.observed_png(cls) if cls is not None else None,
                          [getattr(cls, "name", "")])
    if png:
        b64 = base64.b64encode(png).decode("ascii")
        solara.HTML(tag="div", unsafe_innerHTML=(
            '<img class="fig fig-observed" alt="the historical series" style="max-width:100%" '
            f'src="data:image/png;base64,{b64}">'), classes=["figbox-observed"])


def timeline_html(p: dict[str, Any], cls) -> str:
    """The run's progress as a time line with the model's events marked (cheap HTML, redrawn
    every poll; the series themselves are drawn when the run ends)."""
    frac = max(0.0, min(1.0, float(p.get("fraction") or 0.0)))
    marks = []
    lo, hi = (1917.8, 1992.0)  # a monthly CPSU run; other models show the bar only
    for at, text in (cls.markers() if cls is not None else ()):
        x = at[0] if isinstance(at, tuple) else at
        pos = 100 * (x - lo) / (hi - lo)
        if 0 <= pos <= 100:
            marks.append(f"<span class='tick' style='left:{pos:.1f}%'></span>"
                         f"<span class='ev' style='left:{pos:.1f}%'>{escape(text)}</span>")
    return (f"<div class='al-timeline'><div class='track'></div>"
            f"<div class='done' style='width:{100 * frac:.1f}%'></div>{''.join(marks)}</div>")


@solara.component
def FigureBox(key: str, title: str, png: bytes, svg: Callable[[], bytes] | None,  # noqa: N802
              on_zoom: Callable[[str], None]):
    """A figure that opens full size (click it, or the button) and downloads as PNG or SVG."""
    b64 = base64.b64encode(png).decode("ascii")
    with solara.Div(classes=["fig-box", f"figbox-{key}"]):
        with solara.v.Html(tag="div") as box:
            solara.HTML(tag="div", unsafe_innerHTML=(
                f'<img class="fig fig-{key}" alt="{escape(title)}" title="click: full size" '
                f'src="data:image/png;base64,{b64}">'))
        solara.v.use_event(box, "click", lambda *_: on_zoom(key))
        with solara.Div(classes=["fig-tools"]):
            solara.Button("⤢ full size", text=True, small=True, classes=[f"zoom-{key}"],
                          on_click=lambda: on_zoom(key))
            solara.FileDownload(png, filename=f"{key}.png", mime_type="image/png", children=[
                solara.Button("PNG", icon_name="mdi-download", text=True, small=True)])
            if svg is not None:
                solara.FileDownload(svg, filename=f"{key}.svg", mime_type="image/svg+xml",
                                    children=[solara.Button("SVG", icon_name="mdi-download",
                                                            text=True, small=True)])


@solara.component
def Zoom(key: str, title: str, draw: Callable[[], bytes],  # noqa: N802
         on_close: Callable[[], None]):
    """One figure over the whole page at its full resolution (``draw()`` gives the PNG),
    scrollable, with a close button."""
    png = solara.use_memo(draw, [key])
    b64 = base64.b64encode(png).decode("ascii")
    with solara.Div(classes=["al-zoom"]):
        with solara.Row(style={"align-items": "center"}):
            solara.Button("✕ close", color="primary", classes=["zoom-close"], on_click=on_close)
            solara.Text(title, style={"font-weight": "600"})
        solara.HTML(tag="div", unsafe_innerHTML=(
            f'<img class="zoomed zoomed-{key}" alt="{escape(title)}" '
            f'src="data:image/png;base64,{b64}">'))


def numbers_html(rows, has_base: bool, base_label: str = "unchanged") -> str:
    """The numbers table: your settings, and the run compared with (``base_label``)."""
    head = "<tr><th>outcome</th><th>your settings</th>" + (
        f"<th>{escape(base_label)}</th><th>difference</th>" if has_base else "") + "</tr>"
    body = []
    for k, sec, v, b, d in rows:
        cells = [f'<td class="num" data-key="{escape(k)}" data-col="current" '
                 f'data-value="{escape(repr(v))}">{escape(views.fmt(v))}</td>']
        if has_base:
            cells.append(f'<td class="num" data-key="{escape(k)}" data-col="baseline" '
                         f'data-value="{escape(repr(b))}">{escape(views.fmt(b))}</td>')
            cells.append(f'<td class="num" data-key="{escape(k)}" data-col="difference">'
                         f"{escape(views.fmt(d))}</td>")
        body.append(f'<tr class="sec-{escape(sec)}"><th title="{escape(k)}">'
                    f'{escape(label(k))}</th>{"".join(cells)}</tr>')
    style = ("<style>.numbers{font-size:12.5px}.numbers-box{overflow-x:auto}"
             ".numbers td.num{text-align:right;font-variant-numeric:tabular-nums;"
             "padding:0 8px}.numbers th{text-align:left;font-weight:400;padding-right:8px}"
             ".numbers tr.sec-forecast th{color:#7a4b00}.numbers tr.sec-crisis th{color:#5b2c6f}"
             "</style>")
    return f'{style}<table class="numbers">{head}{"".join(body)}</table>'


def _download_bytes(path: Path) -> bytes:
    return path.read_bytes()


@solara.component
def Downloads(result):  # noqa: N802 (Solara components are CamelCase)
    """Files of exactly what was run: results (Parquet, CSV) and the scenario TOML."""
    rdir = Path(result.path)
    with solara.Row(classes=["downloads"], style={"flex-wrap": "wrap"}):
        solara.FileDownload(lambda: scenario_to_toml(result.scenario).encode(),
                            filename="scenario.toml", label="scenario.toml",
                            mime_type="application/toml")
        solara.FileDownload(lambda: _download_bytes(rdir / "timeseries.parquet"),
                            filename="timeseries.parquet", label="timeseries.parquet")
        solara.FileDownload(lambda: result.timeseries.to_csv(index=False).encode(),
                            filename="timeseries.csv", label="timeseries.csv",
                            mime_type="text/csv")
        solara.FileDownload(lambda: result.events.to_csv(index=False).encode(),
                            filename="events.csv", label="events.csv", mime_type="text/csv")
        solara.FileDownload(lambda: _download_bytes(rdir / "summary.json"),
                            filename="summary.json", label="summary.json",
                            mime_type="application/json")
        solara.FileDownload(lambda: _download_bytes(rdir / "manifest.json"),
                            filename="manifest.json", label="manifest.json",
                            mime_type="application/json")
        if (rdir / "snapshots.parquet").is_file():
            solara.FileDownload(lambda: _download_bytes(rdir / "snapshots.parquet"),
                                filename="snapshots.parquet", label="snapshots.parquet")


#: the snapshot date and group shown (per tab); a date the result lacks shows its first
snapshot_date = solara.reactive("")
snapshot_who = solara.reactive("members")


@solara.component
def Snapshots(current, baseline, names: tuple[str, str], zoomed):  # noqa: N802
    """The agents at one of the snapshot dates: histograms of belief, trust and stake and
    counts by tier, motive and cohort, of members or of everyone, for the run and (``baseline``)
    the run it is compared with, on the same bins; a figure that zooms and downloads."""
    dates = views.snapshot_dates(current)
    date = snapshot_date.value if snapshot_date.value in dates else dates[0]
    groups = views.snapshot_who(current)
    who = snapshot_who.value if snapshot_who.value in groups else groups[0]
    deps = [id(current), id(baseline), date, who]
    png = solara.use_memo(
        lambda: views.snapshot_image(current, date, baseline, who, names), deps)
    title = f"The agents at the start of {date}"
    with solara.Div(classes=["snapshots"]):
        solara.HTML(tag="h3", unsafe_innerHTML="The agents at a date")
        with solara.Row(style={"flex-wrap": "wrap", "align-items": "center"}):
            solara.Select("snapshot", value=date, values=dates, on_value=snapshot_date.set,
                          classes=["snapshot-date"])
            solara.Select("who", value=who, values=groups, on_value=snapshot_who.set,
                          classes=["snapshot-who"])
        if png:
            FigureBox("snapshots", title, png,
                      lambda: views.snapshot_image(current, date, baseline, who, names, "svg"),
                      zoomed.set)
        else:
            solara.Text(f"No snapshot at {date} in the run compared with.")
    if zoomed.value == "snapshots" and png:
        Zoom("snapshots", title,
             lambda: views.snapshot_image(current, date, baseline, who, names, dpi=200),
             lambda: zoomed.set(None))


def figure_files(current, baseline=None, workdir: str | None = None):
    """The figures shown for a result: the overview figures where the model records their
    series (cpsu), else the model's own figures (the classic models). Returns ``(pngs, svgs)``:
    ``[(key, title, PNG)]`` and ``{key: () -> SVG bytes}`` (drawn when downloaded)."""
    out = views.overview_pngs(current, baseline)
    if out:
        return out, {k: (lambda k=k: views.figure_image(current, k, "svg", baseline))
                     for k, _, _ in out}
    from ..registry import model_class

    figdir = Path(tempfile.mkdtemp(prefix="figures-", dir=workdir))
    model_class(current.manifest["model"]).figures(current, figdir)
    pngs, svgs = [], {}
    for p in sorted(figdir.glob("*.png")):
        key = "".join(ch if ch.isalnum() else "-" for ch in p.stem)
        pngs.append((key, p.stem.replace("_", " "), p.read_bytes()))
        svg = p.with_suffix(".svg")
        svgs[key] = (lambda svg=svg: svg.read_bytes()) if svg.is_file() else None
    return pngs, svgs


def figure_pngs(current, baseline=None, workdir: str | None = None):
    """(key, title, PNG) of the figures shown for a result (see :func:`figure_files`)."""
    return figure_files(current, baseline, workdir)[0]
