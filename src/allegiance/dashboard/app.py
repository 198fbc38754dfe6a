"""The dashboard page (Solara): pick a scenario, move its levers, run, compare, download.

State is per browser tab (Solara scopes ``solara.reactive`` values to a session). Runs go to
the tab's worker process (:mod:`allegiance.dashboard.jobs`); an async task polls it, so the
page stays live during a run and a run can be cancelled.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import tempfile
from html import escape
from typing import Any

import solara
import solara.lab

from .. import views
from ..api import check_memory, snapshot_dates
from ..errors import AllegianceError, ScenarioError
from ..scenario import ScenarioBase, bundled_names, load_scenario
from . import controls, panels
from .jobs import RunRequest, Worker, auto_threads
from .panels import (
    CSS,
    Downloads,
    FigureBox,
    Intro,
    Snapshots,
    Zoom,
    numbers_html,
    timeline_html,
)
from .upload import ScenarioUpload

DEFAULT_SCALE = 1e-4
# Every tab's run directories live under one folder of the server (see server.serve).
WORKROOT = os.environ.get("ALLEGIANCE_DASHBOARD_WORKDIR") or tempfile.mkdtemp(
    prefix="allegiance-dashboard-")
if not os.environ.get("ALLEGIANCE_DASHBOARD_WORKDIR"):
    atexit.register(shutil.rmtree, WORKROOT, ignore_errors=True)
BASELINE_CACHE = 4  # unchanged-scenario results kept per tab (one per seed/scale/end)

# ---- per-tab state ----------------------------------------------------------------------------
source = solara.reactive("cpsu")  # a bundled name, or "upload:<file name>"
uploaded: solara.Reactive[ScenarioBase | None] = solara.reactive(None)
upload_errors: solara.Reactive[list[str]] = solara.reactive([])
values: solara.Reactive[dict[str, Any]] = solara.reactive({})
seed = solara.reactive(1917)
scale = solara.reactive(DEFAULT_SCALE)
length = solara.reactive("")  # text of the run-length field (controls.length_setting)
#: text of the snapshots field: months at which runs keep their agents ("1956-01,1985-03")
snapshots = solara.reactive("")
run_errors: solara.Reactive[list[str]] = solara.reactive([])
progress: solara.Reactive[dict[str, Any] | None] = solara.reactive(None)
shown: solara.Reactive[dict[str, Any] | None] = solara.reactive(None)
versus = solara.reactive("")  # a bundled scenario to compare with ("": the unchanged scenario)
#: the settings panel: "auto" (open on a wide screen only), "open" or "closed"
panel = solara.reactive("auto")
zoomed: solara.Reactive[str | None] = solara.reactive(None)  # key of the figure shown full size


def _messages(exc: Exception) -> list[str]:
    return list(getattr(exc, "messages", None) or [str(exc)])


def scenario_now() -> ScenarioBase:
    """The scenario the controls start from (bundled or uploaded), as loaded."""
    if source.value.startswith("upload:") and uploaded.value is not None:
        return uploaded.value
    return load_scenario(source.value)


def _load_source(sc: ScenarioBase) -> None:
    values.set({})
    versus.set("")
    seed.set(int(sc.run.seed))
    ls = controls.length_setting(sc)
    length.set(str(getattr(sc.run, ls[0])) if ls else "")
    run_errors.set([])
    shown.set(None)  # the last result belongs to the scenario left behind
    zoomed.set(None)


figure_files = panels.figure_files


def run_period(run: dict[str, Any]) -> str:
    """What span a run covered, from its ``run`` table ("1917-11 to 1991-12", "100 steps")."""
    if "start" in run and "end" in run:
        return f"{run['start']} to {run['end']}"
    if "steps" in run:
        return f"{run['steps']} steps"
    return ""


def _leave_scenario() -> None:
    """Forget what belongs to the scenario shown (changed settings, the scenario compared
    with, the result) before another is shown: the page never renders one scenario with
    another's settings (another model's keys)."""
    values.set({})
    versus.set("")
    shown.set(None)
    zoomed.set(None)


def pick_bundled(name: str) -> None:
    """Switch to a bundled scenario."""
    sc = load_scenario(name)
    _leave_scenario()
    source.set(name)
    uploaded.set(None)
    upload_errors.set([])
    _load_source(sc)


def take_upload(name: str, data: bytes | None, size: int) -> None:
    """Validate an uploaded file; show its problems (the lines ``allegiance validate``
    prints) or switch to it."""
    try:
        if data is None:
            raise ScenarioError(f"{name}: {size:,} bytes; a scenario file may have at most "
                                f"{controls.MAX_UPLOAD_BYTES:,} bytes")
        sc = controls.parse_upload(name, data)
    except AllegianceError as exc:
        msgs = _messages(exc)
        upload_errors.set([f"{name}: {len(msgs)} problem{'s' if len(msgs) != 1 else ''}",
                           *msgs])
        return
    except Exception as exc:  # a bug: say so in the page rather than fail silently
        upload_errors.set([f"{name}: 1 problem", f"cannot be read: {type(exc).__name__}: "
                           f"{' '.join(str(exc).split())[:300]}"])
        return
    _leave_scenario()
    upload_errors.set([])
    uploaded.set(sc)
    source.set(f"upload:{name}")
    _load_source(sc)


# ---- running ----------------------------------------------------------------------------------


@solara.lab.task
async def watch(worker: Worker, job, reqs, cache: dict, outdir: str) -> None:
    """Follow a submitted job until it ends, then load and draw its results."""
    from ..results import load

    try:
        while True:
            job = worker.poll()
            label = {"current": "your settings",
                     "baseline": reqs.get("versus") or "unchanged scenario"}.get(
                job.current, job.current)
            progress.set({"fraction": job.fraction, "label": label, "month": job.month,
                          "done": job.done, "total": job.total, "state": job.state})
            if job.finished:
                break
            await asyncio.sleep(0.15)
    except asyncio.CancelledError:
        worker.cancel()
        raise
    if job.state == "cancelled":
        progress.set({"fraction": 0.0, "label": "", "month": "", "state": "cancelled"})
        return
    if job.state == "failed":
        progress.set(None)
        run_errors.set(job.errors)
        return
    res = {k: load(p) for k, p in job.paths.items()}
    base_key = reqs["baseline_key"]
    if "baseline" in res:
        cache[base_key] = res["baseline"]
        while len(cache) > BASELINE_CACHE:
            cache.pop(next(iter(cache)))
    baseline = cache.get(base_key)
    current = res.get("current", baseline)
    changed, vs = reqs["changes"], reqs.get("versus", "")
    files = await asyncio.to_thread(figure_files, current, baseline if changed or vs else None,
                                    outdir)
    show_result(current, baseline, changed, reqs["source"], outdir, files, vs)


def show_result(current, baseline, changed: dict[str, Any], src: str, outdir: str,
                files=None, vs: str = "") -> None:
    """Put a finished run (and the unchanged scenario's, or the ``vs`` scenario's, to
    compare) on the page."""
    if files is None:
        files = figure_files(current, baseline if changed or vs else None, outdir)
    pngs, svgs = files
    rows = views.compare_rows(current.summary, baseline.summary if baseline else None)
    zoomed.set(None)
    shown.set({"current": current, "baseline": baseline, "changes": changed, "pngs": pngs,
               "svgs": svgs, "rows": rows, "source": src, "outdir": outdir, "versus": vs})
    progress.set({"fraction": 1.0, "label": "", "month": "", "state": "finished"})


def plan_run() -> tuple[ScenarioBase, ScenarioBase, dict[str, Any]]:
    """What Run would run: (the scenario with the user's changes and run settings, the
    unchanged scenario (or the one chosen to compare with) with the same run settings, the
    changes as ``--set`` pairs).

    Raises:
        AllegianceError: a setting is invalid, or the run would not fit in memory.
    """
    base = scenario_now()
    ls = controls.length_setting(base)
    rs = controls.run_settings(seed.value, scale.value, length.value if ls else None,
                               ls[0] if ls else "end")
    unchanged = load_scenario(versus.value or base, rs)
    changed = controls.changes(base, values.value)
    current = load_scenario(base, {**changed, **rs})
    check_memory(current, float(scale.value))
    return current, unchanged, changed


def plan_snapshots(current: ScenarioBase) -> list[str]:
    """The months of the snapshots field as the run labels them (``[]`` when empty, or when
    the model keeps no snapshots).

    Raises:
        AllegianceError: a month that is not one of the run (``allegiance run --snapshot``'s
            line).
    """
    if not controls.has_snapshots(current):
        return []
    return snapshot_dates(current, snapshots.value)


def start_run(worker: Worker, cache: dict, workdir: str) -> None:
    """Validate, check memory, and submit the run(s) of the current settings."""
    run_errors.set([])
    try:
        current, unchanged, changed = plan_run()
        dates = plan_snapshots(current)
    except AllegianceError as exc:
        run_errors.set(_messages(exc))
        return
    threads = auto_threads(float(scale.value))
    # a run kept for other snapshot dates is run again (the scenario's results are the same)
    base_key = unchanged.digest() + "|" + ",".join(dates)
    reqs = []
    if changed or versus.value:
        reqs.append(RunRequest("current", current.to_dict(), threads, changed, dates))
    if base_key not in cache:
        reqs.append(RunRequest("baseline", unchanged.to_dict(), threads, snapshots=dates))
    job_dir = tempfile.mkdtemp(prefix="run-", dir=workdir)
    meta = {"baseline_key": base_key, "changes": changed, "source": source.value,
            "versus": versus.value}
    if not reqs:  # unchanged and already run: show it again
        reqs_job = None
    else:
        try:
            reqs_job = worker.submit(reqs, job_dir)
        except AllegianceError as exc:
            run_errors.set(_messages(exc))
            return
    progress.set({"fraction": 0.0, "label": "starting", "month": "", "state": "running"})
    if reqs_job is None:
        cached = cache[base_key]
        show_result(cached, cached, {}, source.value, job_dir)
        return
    watch(worker, reqs_job, meta, cache, job_dir)


# ---- pieces of the page ---------------------------------------------------------------------


def _slug(path: str) -> str:
    return "ctl-" + path.replace(".", "-")


@solara.component
def Section(title: str, children=(), open_: bool = False, classes=()):  # noqa: N802 (Solara components are CamelCase)
    """A collapsible block whose content is built only once opened (the page stays light)."""
    is_open, set_open = solara.use_state(open_)
    with solara.Div(classes=["section", *classes]) as main:
        solara.Button(("▾ " if is_open else "▸ ") + title, text=True,
                      on_click=lambda: set_open(not is_open), classes=["section-toggle"],
                      style={"text-transform": "none", "padding": "0 4px"})
        if is_open:
            with solara.Div(style={"padding-left": "8px"}):
                for child in children:
                    solara.display(child) if not callable(child) else child()
    return main


def _set(path: str, v: Any) -> None:
    values.set({**values.value, path: v})


@solara.component
def ControlWidget(c: controls.Control, note: str = ""):  # noqa: N802 (Solara components are CamelCase)
    """One slider, number field, switch or choice."""
    v = values.value.get(c.path, c.value)
    changed = c.path in values.value and controls.changes_one(c, v)
    with solara.Div(classes=["ctl", _slug(c.path), *(["changed"] if changed else [])],
                    style={"margin-bottom": "6px"}):
        if c.kind == "toggle":
            solara.Switch(label=c.label, value=bool(v), on_value=lambda x: _set(c.path, x))
        elif c.kind == "choice":
            solara.Select(label=c.label, value=v, values=list(c.choices),
                          on_value=lambda x: _set(c.path, x))
        elif c.kind == "text":
            solara.InputText(c.label, value=str(v), on_value=lambda x: _set(c.path, x))
        elif c.kind == "slider":
            solara.Text(f"{c.label} = {controls.show(v)}", classes=["ctl-value"],
                        style={"font-size": "13px", "font-weight": "600" if changed else "400"})
            if c.integer:
                solara.SliderInt("", value=int(v), min=int(c.lo), max=int(c.hi),
                                 on_value=lambda x: _set(c.path, c.clean(x)), thumb_label=False)
            else:
                solara.SliderFloat("", value=float(v), min=c.lo, max=c.hi, step=c.step,
                                   on_value=lambda x: _set(c.path, c.clean(x)),
                                   thumb_label=False)
        else:
            bound = ("" if c.lo is None else f"≥ {controls.show(c.lo)}") + (
                "" if c.hi is None else f" ≤ {controls.show(c.hi)}")
            if c.integer:
                solara.InputInt(f"{c.label} {bound}".strip(), value=int(v), dense=True,
                                on_value=lambda x: _set(c.path, x))
            else:
                solara.InputFloat(f"{c.label} {bound}".strip(), value=float(v), dense=True,
                                  on_value=lambda x: _set(c.path, x))
        text = " ".join(t.rstrip(".") + "." for t in (c.description, note) if t)
        if text:
            solara.Text(text, style={"font-size": "11px", "color": "#666"})


@solara.component
def Controls(sc: ScenarioBase):  # noqa: N802 (Solara components are CamelCase)
    """Levers, mechanism switches and parameters, and event switches, from the schema."""
    groups = solara.use_memo(lambda: controls.groups(sc), [sc.digest()])
    events = solara.use_memo(lambda: controls.event_switches(sc), [sc.digest()])
    n_changed = len(controls.changes(sc, values.value))
    solara.Text(f"{n_changed} setting{'s' if n_changed != 1 else ''} changed from the scenario",
                classes=["n-changed"], style={"font-size": "12px"})
    for g in groups:
        title = g.path
        if g.switch is not None:
            on = values.value.get(g.switch.path, g.switch.value)
            title += "" if on else " (off)"

        def body(g=g):
            if g.switch is not None:
                ControlWidget(g.switch)
            if g.description:
                solara.Text(g.description.replace("``", ""),
                            style={"font-size": "12px", "color": "#444"})
            for c in g.controls:
                ControlWidget(c, controls.note(sc, c, values.value))

        Section(title, [body], open_=(g.path == "levers"), classes=[f"group-{_slug(g.path)}"])
    if events:
        def ev_body():
            solara.Text("Switch a dated event off to ask what would have happened without it.",
                        style={"font-size": "12px", "color": "#444"})
            for c in events:
                ControlWidget(c)

        Section(f"events ({len(events)})", [ev_body], classes=["group-events"])


def _zoom_png(s: dict[str, Any], key: str) -> bytes:
    """The figure ``key`` at full resolution: an overview figure redrawn at 200 dpi, a model's
    figure as it saved it (already 200 dpi)."""
    cur = s["current"]
    compared = s["changes"] or s.get("versus")
    big = views.figure_image(cur, key, "png", s["baseline"] if compared else None)
    return big or next(png for k, _, png in s["pngs"] if k == key)


@solara.component
def Results(sc: ScenarioBase):  # noqa: N802 (Solara components are CamelCase)
    """Numbers, figures and downloads of the last finished run; before any, the scenario."""
    s = shown.value
    if s is None:
        from ..registry import MODELS, model_class

        Intro(sc, model_class(sc.model) if sc.model in MODELS else None)
        return
    cur = s["current"]
    m = cur.manifest
    run = m["scenario"].get("run", {})
    period = run_period(run)
    with solara.Div(classes=["run-info"]):
        solara.HTML(tag="p", unsafe_innerHTML=(
            f"<b>{escape(m['scenario_name'])}</b>: seed {m['seed']}, scale "
            f"{views.fmt(m['scale'])}, {escape(period + ', ' if period else '')}"
            f"run in {m['wall_seconds']:.1f} s"))
    if s["changes"]:
        sets = controls.format_set(s["changes"])
        with solara.Div(classes=["changes"]):
            solara.Text("Changed from the scenario: ", style={"font-size": "13px"})
            solara.HTML(tag="code", unsafe_innerHTML=escape("  ".join(sets)),
                        classes=["changes-list"])
    warns = cur.summary.get("warnings") or []
    if warns:  # what the CLI prints as "warning:" lines before a run with these --set items
        with solara.Div(classes=["run-warnings"]):
            for line in warns:
                solara.Warning(line, dense=True, classes=["run-warning"])
    src = s["source"]
    if not src.startswith("upload:"):
        ls = next((k for k, _ in controls.LENGTH_KEYS if k in run), None)
        vs = s.get("versus")
        cmd = ((f"allegiance compare {vs} {src}" if vs else f"allegiance run {src}")
               + f" --seed {m['seed']} --scale {m['scale']!r}"
               + (f" --set run.{ls}={run[ls]}" if ls else "")
               + "".join(f" --set{'-b' if vs else ''} '{x}'"
                         for x in controls.format_set(s["changes"]))
               + (f" --snapshot {','.join(m['snapshots'])}"
                  if m.get("snapshots") and not vs else ""))
        solara.HTML(tag="div", unsafe_innerHTML="Same run from the command line: <code>"
                    f"{escape(cmd)}</code>", classes=["cli-equivalent"],
                    style={"font-size": "12px", "margin": "4px 0", "overflow-wrap": "anywhere"})
    has_base = bool(s["changes"] or s.get("versus")) and s["baseline"] is not None
    pngs = {key: (title, png) for key, title, png in s["pngs"]}
    first = [k for k in ("members", "difference") if k in pngs]
    rest = [k for k in pngs if k not in first]
    z = zoomed.value
    if z is not None and z in pngs:
        Zoom(z, pngs[z][0], lambda: _zoom_png(s, z), lambda: zoomed.set(None))

    def figure(key):
        title, png = pngs[key]
        FigureBox(key, title, png, s.get("svgs", {}).get(key), zoomed.set)

    # two columns on a wide screen, one on a phone (.al-cols wraps)
    with solara.Div(classes=["al-cols"]):
        with solara.Div():
            solara.HTML(tag="div", unsafe_innerHTML=numbers_html(
                s["rows"], has_base, s.get("versus") or "unchanged"), classes=["numbers-box"])
            fc = cur.summary.get("forecast") or {}
            if fc.get("note"):
                solara.Text(fc["note"], style={"font-size": "12px", "color": "#7a4b00"})
        with solara.Div():
            for key in first:
                figure(key)
    with solara.Div(classes=["al-cols"]):
        for key in rest:
            with solara.Div():
                figure(key)
    if views.snapshot_dates(cur):
        base = s["baseline"] if has_base else None
        Snapshots(cur, base, ("your settings", s.get("versus") or "unchanged"), zoomed)
    Downloads(cur)


@solara.component
def RunBar(sc: ScenarioBase, worker: Worker, cache: dict, workdir: str):  # noqa: N802
    """Always at the top of the page: settings, the scenario's name, Run, Cancel, progress."""
    from ..registry import MODELS, model_class

    running = progress.value is not None and progress.value.get("state") == "running"
    with solara.Div(classes=["al-bar"]):
        # a phone opens the settings over the page; a wide screen shows or hides the column
        solara.Button("☰ Settings", text=True, classes=["settings-open", "narrow-only"],
                      on_click=lambda: panel.set("open"))
        hidden = panel.value == "closed"
        solara.Button("☰ Show settings" if hidden else "Hide settings", text=True,
                      classes=["settings-toggle", "wide-only"],
                      on_click=lambda: panel.set("auto" if hidden else "closed"))
        solara.Text(sc.name, classes=["al-name"])
        def run() -> None:
            if panel.value == "open":  # on a phone the settings cover the results: close them
                panel.set("auto")
            start_run(worker, cache, workdir)

        solara.Button("Run", color="primary", disabled=running, classes=["run-button"],
                      on_click=run)
        solara.Button("Cancel", disabled=not running, classes=["cancel-button"],
                      on_click=worker.cancel)
        p = progress.value
        with solara.Div(classes=["al-progress"]):
            if p is not None and p.get("state") == "running":
                solara.ProgressLinear(value=100 * p["fraction"])
                cls = model_class(sc.model) if sc.model in MODELS else None
                solara.HTML(tag="div", unsafe_innerHTML=timeline_html(p, cls))
                solara.Text(f"running {p['label']}: {p['month']} ({p.get('done', 0)}/"
                            f"{p.get('total', 0)})", classes=["progress-text"],
                            style={"font-size": "12px"})
            elif p is not None and p.get("state") == "cancelled":
                solara.Warning("Run cancelled.", classes=["run-cancelled"], dense=True)
            if run_errors.value:
                with solara.Div(classes=["run-errors"]):
                    for line in run_errors.value:
                        solara.Error(line)


@solara.component
def Page():  # noqa: N802 (Solara components are CamelCase)
    """The whole dashboard."""
    worker = solara.use_memo(Worker, [])
    cache = solara.use_memo(dict, [])
    workdir = solara.use_memo(lambda: tempfile.mkdtemp(prefix="tab-", dir=WORKROOT), [])

    def cleanup():
        def stop():
            worker.close()
            shutil.rmtree(workdir, ignore_errors=True)

        return stop

    solara.use_effect(cleanup, [])
    solara.Title("allegiance dashboard")
    solara.Style(CSS)
    try:
        sc = scenario_now()
    except AllegianceError as exc:
        solara.Error("; ".join(_messages(exc)))
        return
    with solara.Div(classes=["al-app", f"panel-{panel.value}"]):
        RunBar(sc, worker, cache, workdir)
        with solara.Div(classes=["al-body"]):
            with solara.Div(classes=["al-side"]):
                Side(sc)
            with solara.Div(classes=["al-main"]):
                solara.HTML(tag="h2", unsafe_innerHTML=escape(sc.name))
                Results(sc)


@solara.component
def Side(sc: ScenarioBase):  # noqa: N802 (Solara components are CamelCase)
    """The settings: scenario, run settings, every parameter of the schema."""
    with solara.Div(classes=["al-side-head"]):
        solara.HTML(tag="h3", unsafe_innerHTML="Scenario")
        solara.Button("✕ close", outlined=True, classes=["settings-close", "narrow-only"],
                      on_click=lambda: panel.set("auto"))
    names = bundled_names()
    bundled = source.value if source.value in names else None
    solara.Select("bundled scenario", value=bundled, values=names, on_value=pick_bundled,
                  classes=["pick-scenario"])
    others = controls.compare_choices(sc)
    if others:
        solara.Select("compare with", value=versus.value or controls.UNCHANGED,
                      values=[controls.UNCHANGED, *others], classes=["compare-with"],
                      on_value=lambda x: versus.set("" if x == controls.UNCHANGED else x))
    ScenarioUpload(take_upload, "…or upload a scenario TOML (choose or drop a file)",
                   controls.MAX_UPLOAD_BYTES)
    if upload_errors.value:
        with solara.Div(classes=["upload-errors"]):
            solara.Error(upload_errors.value[0])
            for line in upload_errors.value[1:]:
                solara.HTML(tag="div", unsafe_innerHTML=escape(line),
                            classes=["upload-error-line"],
                            style={"font-family": "monospace", "font-size": "12px",
                                   "color": "#b00020", "white-space": "pre-wrap"})
    solara.HTML(tag="h3", unsafe_innerHTML="Run")
    with solara.Row():
        solara.InputInt("seed", value=seed, classes=["run-seed"])
        solara.InputFloat("scale (agents per person)", value=scale, classes=["run-scale"])
    ls = controls.length_setting(sc)
    if ls is not None:
        solara.InputText(ls[1], value=length, classes=[f"run-{ls[0]}"])
    if controls.has_snapshots(sc):
        solara.InputText("snapshots: months, e.g. 1956-01,1985-03", value=snapshots,
                         classes=["run-snapshots"])
        solara.Text("The agents at the start of these months are kept, and drawn as "
                    "histograms after the run.", style={"font-size": "11px", "color": "#666"})
    try:
        from ..registry import model_class

        need = model_class(sc.model).memory_estimate(sc, float(scale.value))
        solara.Text(f"memory estimate: {need / 2**30:.2f} GiB",
                    style={"font-size": "12px", "color": "#666"})
    except Exception:  # an invalid scale is reported when Run is pressed
        pass
    solara.Button("Reset settings", text=True, classes=["reset-button"],
                  on_click=lambda: values.set({}))
    solara.HTML(tag="h3", unsafe_innerHTML="Settings")
    Controls(sc)
