"""The dashboard in a real browser (Playwright + Debian chromium), against the Python API.

One dashboard process serves the module. The flow is a user's: run the scenario, move a lever,
start and cancel a run, run again, read the numbers and figures, download the scenario TOML and
re-run it from the CLI; then upload broken scenarios and a too-large scale. Every number is
compared with what ``allegiance.run`` returns for the same scenario, seed and settings, never
with a hard-coded model value.
"""

from __future__ import annotations

import base64
import threading
import tomllib

import pytest

import allegiance
from allegiance import views
from allegiance.api import check_memory
from allegiance.dashboard import controls
from allegiance.errors import ResourceError, ScenarioError
from allegiance.scenario import load_scenario
from browser import chromium, dashboard_server
from conftest import cli

SEED = 7
SCALE = 1e-5  # 1:100,000: the whole 1917-1991 run in about 1.5 s (the browser flow is tested)
MEMORY = str(1 << 30)  # 1 GiB "available": 1:1,000 fits, 1:2 does not
TIMEOUT = 180_000  # ms; generous for a busy 2-core machine
SNAPS = ["1956-01", "1985-03"]  # the browser flow's snapshot months
LAYOUT_END = "1921-06"  # the layout tests need a result, not a whole run


# ---- the schema -> controls mapping, without a browser ---------------------------------------


def test_controls_come_from_the_schema():
    from allegiance.models.cpsu import Levers

    sc = load_scenario("cpsu")
    groups = {g.path: g for g in controls.groups(sc)}
    levers = {c.label: c for c in groups["levers"].controls}
    assert set(levers) == set(Levers.model_fields)  # every lever, nothing hand-listed
    for name, info in Levers.model_fields.items():
        c = levers[name]
        meta = {type(m).__name__: m for m in info.metadata}
        assert c.lo == float(meta["Ge"].ge) and c.hi == float(meta["Le"].le)
        assert c.description == info.description and c.value == getattr(sc.levers, name)
    # every mechanism is switchable from its Params.enabled
    mech = [g for g in groups.values() if g.path.startswith("mechanisms.")]
    assert len(mech) == len(type(sc.mechanisms).model_fields)
    assert all(g.switch is not None and g.switch.path.endswith(".enabled") for g in mech)
    # an unbounded parameter is a number field, not a slider with an invented range
    hazard = next(c for c in groups["mechanisms.exit"].controls if c.label == "hazard")
    assert hazard.kind == "number" and hazard.lo == 0.0 and hazard.hi is None
    assert len(controls.event_switches(sc)) == len(sc.events)


def test_changes_and_resolve_give_the_set_overrides():
    sc = load_scenario("cpsu")
    vals = {"levers.criticism": 0.30000000000000004, "levers.danger": sc.levers.danger,
            "mechanisms.exit.enabled": False, "events.secret_speech.enabled": False}
    ch = controls.changes(sc, vals)
    assert ch == {"levers.criticism": 0.3, "mechanisms.exit.enabled": False,
                  "events.secret_speech.enabled": False}
    run = controls.run_settings(3, 1e-4, "1930-12")
    got = controls.resolve(sc, vals, run)
    want = load_scenario("cpsu", [*controls.format_set(ch), "run.seed=3", "run.scale=0.0001",
                                  "run.end='1930-12'"])
    assert got.digest() == want.digest()
    with pytest.raises(ScenarioError):
        controls.changes(sc, {"levers.nope": 1})


def test_upload_is_parsed_not_executed(tmp_path):
    with pytest.raises(ScenarioError, match="malformed TOML"):
        controls.parse_upload("x.toml", b"name = [\n")
    with pytest.raises(ScenarioError, match="bundled"):
        controls.parse_upload("x.toml", f'base = "{tmp_path}/other.toml"\nname = "x"\n'.encode())
    with pytest.raises(ScenarioError, match="at most"):
        controls.parse_upload("x.toml", b"#" * (controls.MAX_UPLOAD_BYTES + 1))
    sc = controls.parse_upload("x.toml", b'base = "cpsu"\nname = "x"\n[levers]\ncontact = 0.5\n')
    assert sc.name == "x" and sc.levers.contact == 0.5


# ---- every bundled scenario through the page's own functions, without a browser ---------------

#: a short run per run-length setting (controls.length_setting); models without one run whole
SHORT = {"end": "1919-06", "steps": "20"}


def _render_page():
    """The dashboard's page rendered in-process inside a layout (the sidebar with the run
    settings renders only inside one); the caller closes the returned render context."""
    import solara

    from allegiance.dashboard import app

    @solara.component
    def Layout():  # noqa: N802 (Solara components are CamelCase)
        with solara.AppLayout():
            app.Page()

    return solara.render(Layout(), handle_error=False)[1]


def _widgets(w) -> list:
    """``w`` and every widget under it (children and slots)."""
    out = [w]
    kids = list(getattr(w, "children", None) or [])
    for slot in getattr(w, "v_slots", None) or []:
        c = slot.get("children")
        kids.extend(c if isinstance(c, list) else [c])
    for c in kids:
        if hasattr(c, "keys"):  # a widget, not a text child
            out.extend(_widgets(c))
    return out


def test_every_bundled_scenario_opens_and_runs_in_the_page(tmp_path):
    """The classic models' run settings have no ``end``: the page must not assume cpsu's."""

    from allegiance.dashboard import app
    from allegiance.scenario import bundled_names

    rc = _render_page()
    try:
        for name in bundled_names():
            # the render context batches the page's updates into one render, as it does for
            # an event of the page (a choice in the menu, a click)
            with rc:
                app.pick_bundled(name)
            sc = app.scenario_now()
            ws = _widgets(rc.find().widget)
            html = [getattr(w, "unsafe_innerHTML", None) or "" for w in ws]
            assert sc.name in html, name  # the page shows the scenario
            ls = controls.length_setting(sc)
            classes = {getattr(w, "class_", None) for w in ws}
            assert (f"run-{ls[0]}" in classes) if ls else not classes & {"run-end", "run-steps"}
            # open every closed section of settings: each control of the schema renders
            with rc:
                for w in ws:
                    if "section-toggle" in (getattr(w, "class_", None) or "") and \
                            w.children[0].startswith("▸"):
                        w.fire_event("click", {})
            ws = _widgets(rc.find().widget)
            n_ctl = sum(1 for w in ws if (getattr(w, "class_", None) or "").startswith("ctl "))
            assert n_ctl == len(controls.all_controls(sc)), name
            with rc:
                if ls:
                    app.length.set(SHORT[ls[0]])
                app.scale.set(SCALE)
            current, unchanged, changed = app.plan_run()
            assert not changed and current.digest() == unchanged.digest()
            if ls:
                assert str(getattr(current.run, ls[0])) == SHORT[ls[0]]
            result = allegiance.load(allegiance.run(current, threads=1).save(tmp_path / name))
            app.show_result(result, result, {}, name, str(tmp_path))

            html = [getattr(w, "unsafe_innerHTML", None) or "" for w in _widgets(rc.find().widget)]
            info = next(h for h in html if h.startswith(f"<b>{sc.name}</b>"))
            assert f"seed {sc.run.seed}" in info, info
            n_figs = sum(h.count('<img class="fig') for h in html)
            assert n_figs == len(app.shown.value["pngs"]) and (n_figs > 0 or name == "ishigami")
            # the command line shown gives exactly this scenario
            cmd = next(h for h in html if h.startswith("Same run from the command line"))
            args = cmd.split("<code>")[1].split("</code>")[0].split()
            assert args[:3] == ["allegiance", "run", name]
            sets = [f"run.seed={args[4]}", f"run.scale={args[6]}",
                    *[args[i + 1] for i, a in enumerate(args) if a == "--set"]]
            assert load_scenario(name, sets).digest() == current.digest(), cmd
    finally:
        app.pick_bundled("cpsu")
        rc.close()


def test_hold_a_lever_and_compare_a_counterfactual_with_the_historical_run(tmp_path):
    """A lever held from a month in the page is a hold in the scenario run, its notes name the
    events it overrides, and a bundled counterfactual runs beside the scenario it derives from."""

    from allegiance.dashboard import app

    rc = _render_page()
    try:
        app.pick_bundled("cpsu_no_secret_speech")
        sc = app.scenario_now()
        assert controls.compare_choices(sc)[0] == "cpsu"  # the scenario it derives from first
        app.versus.set("cpsu")
        app.values.set({"levers.privilege": 0.5, "hold.privilege.from": "1921-01",
                        "hold.privilege.value": 0.5})
        app.length.set("1922-06")
        app.scale.set(SCALE)
        current, against, changed = app.plan_run()
        assert against.name == "cpsu" and current.name == "cpsu_no_secret_speech"
        assert (current.hold["privilege"].from_, current.hold["privilege"].value) == ("1921-01",
                                                                                       0.5)
        assert changed == app.values.value
        # a month alone holds the value its slider shows; a value alone is refused at Run
        assert controls.changes(sc, {"hold.danger.from": "1930-01"}) == {
            "hold.danger.from": "1930-01", "hold.danger.value": sc.levers.danger}
        with pytest.raises(ScenarioError, match=r"hold\.danger\.from: required key is missing"):
            controls.resolve(sc, {"hold.danger.value": 0.5}, {})
        ctl = controls.all_controls(sc)
        assert "Your value lasts until 1921-03: event privilege_nep" in controls.note(
            sc, ctl["levers.privilege"], app.values.value)
        assert "overrides privilege_nep (1921-03" in controls.note(
            sc, ctl["hold.privilege.from"], app.values.value)
        texts = [str(getattr(w, "children", [""])[0]) if getattr(w, "children", None) else ""
                 for w in _widgets(rc.find().widget)]
        assert any("lasts until 1921-03" in t for t in texts)  # shown beside the slider
        res = {k: allegiance.load(allegiance.run(s, threads=1).save(tmp_path / k))
               for k, s in (("cur", current), ("vs", against))}
        app.show_result(res["cur"], res["vs"], changed, "cpsu_no_secret_speech", str(tmp_path),
                        vs="cpsu")
        html = [getattr(w, "unsafe_innerHTML", None) or "" for w in _widgets(rc.find().widget)]
        assert any("<th>cpsu</th><th>difference</th>" in h for h in html)
        cmd = next(h for h in html if h.startswith("Same run from the command line"))
        assert "allegiance compare cpsu cpsu_no_secret_speech" in cmd and "--set-b" in cmd
        ts = res["cur"].timeseries.set_index("date")["lever_privilege"]
        assert (ts["1921-02":] == 0.5).all()
    finally:
        app.pick_bundled("cpsu")
        rc.close()


def test_a_runs_warnings_show_in_the_page(tmp_path):
    """A start value that a dated event overwrites: the run made as the page makes it keeps the
    warning the CLI prints for the same ``--set`` (in its summary), and the page shows it after
    the run; a run without such a change shows none."""

    from allegiance.dashboard import app
    from allegiance.dashboard.jobs import RunRequest, run_request
    from allegiance.registry import model_class

    def shown_warnings() -> list[str]:
        return [" ".join(c for c in w.children if isinstance(c, str))
                for w in _widgets(rc.find().widget)
                if "run-warning" in (getattr(w, "class_", None) or "").split()]

    rc = _render_page()
    try:
        app.pick_bundled("cpsu")
        app.values.set({"levers.privilege": 0.5})
        app.length.set("1921-06")
        app.scale.set(SCALE)
        current, unchanged, changed = app.plan_run()
        assert changed == {"levers.privilege": 0.5}
        # what `allegiance run cpsu --set run.end=1921-06 --set levers.privilege=0.5` prints as
        # "warning:" lines (the CLI's _warn)
        said = model_class("cpsu").warnings(current, list(changed))
        assert len(said) == 1 and "is only the start value" in said[0]
        # the worker's code path, in this process
        cur = allegiance.load(run_request(RunRequest("current", current.to_dict(), 1, changed),
                                          tmp_path))
        base = allegiance.load(run_request(RunRequest("baseline", unchanged.to_dict(), 1),
                                           tmp_path))
        assert cur.summary["warnings"] == said and "warnings" not in base.summary
        assert cur.manifest["scenario_sha256"] == current.digest()  # the same scenario ran
        app.show_result(cur, base, changed, "cpsu", str(tmp_path))
        shown = shown_warnings()
        assert len(shown) == 1 and said[0] in shown[0], shown
        app.show_result(base, base, {}, "cpsu", str(tmp_path))
        assert shown_warnings() == []
    finally:
        app.pick_bundled("cpsu")
        rc.close()


def _img(rc, key: str, cls: str = "fig") -> bytes | None:
    """The PNG of the page's ``img.fig-KEY`` (``cls="zoomed"``: ``img.zoomed-KEY``), or None."""
    for w in _widgets(rc.find().widget):
        h = getattr(w, "unsafe_innerHTML", None) or ""
        if f'class="{cls} {cls}-{key}"' in h:
            return base64.b64decode(h.split("base64,", 1)[1].split('"', 1)[0])
    return None


def test_snapshots_are_asked_for_checked_and_drawn_as_histograms(tmp_path):
    """Snapshot months typed in the page are checked as ``run --snapshot`` checks them, kept
    by both runs (the worker's code path), and drawn as histograms of the chosen date and
    group, the two runs on the same bins; what is drawn counts the runs' own stocks."""
    from allegiance.dashboard import app, panels
    from allegiance.dashboard.jobs import RunRequest, run_request

    def classes() -> set:
        return {c for w in _widgets(rc.find().widget)
                for c in (getattr(w, "class_", None) or "").split()}

    rc = _render_page()
    try:
        app.pick_bundled("cpsu")
        assert "run-snapshots" in classes()
        app.values.set({"levers.criticism": 1.0})
        app.length.set("1919-06")
        app.scale.set(SCALE)
        app.snapshots.set("1918-13")
        app.start_run(None, {}, str(tmp_path))  # refused before any worker is asked
        assert any("--snapshot 1918-13: not a step of this run (allowed: 1917-11 to 1919-06"
                   in x for x in app.run_errors.value), app.run_errors.value
        app.snapshots.set("1918-1, 1919-06")
        current, unchanged, changed = app.plan_run()
        dates = app.plan_snapshots(current)
        assert dates == ["1918-01", "1919-06"]
        cur = allegiance.load(run_request(RunRequest("current", current.to_dict(), 1, changed,
                                                     dates), tmp_path))
        base = allegiance.load(run_request(RunRequest("baseline", unchanged.to_dict(), 1,
                                                      snapshots=dates), tmp_path))
        app.show_result(cur, base, changed, "cpsu", str(tmp_path))
        names = ("your settings", "unchanged")
        first = _img(rc, "snapshots")
        assert first == views.snapshot_image(cur, "1918-01", base, "members", names)
        html = [getattr(w, "unsafe_innerHTML", None) or "" for w in _widgets(rc.find().widget)]
        cmd = next(h for h in html if h.startswith("Same run from the command line"))
        assert "--snapshot 1918-01,1919-06" in cmd
        panels.snapshot_date.set("1919-06")
        panels.snapshot_who.set("everyone")
        shown = _img(rc, "snapshots")
        assert shown == views.snapshot_image(cur, "1919-06", base, "everyone", names)
        assert shown != first
        app.zoomed.set("snapshots")  # full size (200 dpi): wider than the figure in the page
        big = _img(rc, "snapshots", "zoomed")
        assert int.from_bytes(big[16:20], "big") > int.from_bytes(shown[16:20], "big")
        app.zoomed.set(None)
        # what is drawn is the runs' own agents: their counts are the time series' stocks
        for who, total in (("members", "members"), ("everyone", "population")):
            got = {p[0]: p for p in views.snapshot_panels([base, cur], "1919-06", who)}
            assert set(got) == {"belief", "trust", "stake", "tier", "motive", "cohort"}
            for res, i in ((base, 0), (cur, 1)):
                row = res.timeseries.set_index("date").loc["1919-06"]
                for key in ("belief", "trust", "tier", "cohort"):
                    assert got[key][4][i].sum() == pytest.approx(row[total]), (who, key)
                # the stake histogram: those with any stake, and it says what share they are
                snap = res.snapshots[res.snapshots["date"] == "1919-06"]
                if who == "members":
                    snap = snap[snap["member"].astype(bool)]
                held = (snap["stake"] > 0).to_numpy()
                assert got["stake"][4][i].sum() == pytest.approx(held.sum() / res.manifest["scale"])
                assert f"{100 * held.mean():.1f} %" in got["stake"][1].split("(")[1].split(" / ")[i]
                tiers = dict(zip(got["tier"][3], got["tier"][4][i], strict=True))
                assert tiers.get("candidate", 0) == pytest.approx(row["candidates"])
                motives = dict(zip(got["motive"][3], got["motive"][4][i], strict=True))
                if who == "members":  # everyone: former members keep their motive at joining
                    assert motives.get("ideal", 0) == pytest.approx(row["motive_ideal"])
                assert ("nonmember" in tiers) == (who == "everyone")
        app.show_result(base, base, {}, "cpsu", str(tmp_path))  # one run: nothing compared
        assert _img(rc, "snapshots") == views.snapshot_image(base, "1919-06", None,
                                                             "everyone", names)
        app.pick_bundled("granovetter")  # a model without agents to keep: no field
        assert "run-snapshots" not in classes()
        assert app.plan_snapshots(app.plan_run()[0]) == []
    finally:
        app.snapshots.set("")
        panels.snapshot_date.set("")
        panels.snapshot_who.set("members")
        app.pick_bundled("cpsu")
        rc.close()


# ---- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    """One dashboard process and one browser for the module: (URL, browser)."""
    with dashboard_server({"ALLEGIANCE_AVAILABLE_MEMORY": MEMORY}) as url, chromium() as b:
        yield url, b


def _open(server):
    url, b = server
    pg = b.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg.set_default_timeout(60_000)
    pg.goto(url)
    pg.wait_for_selector(".run-button")
    return pg


@pytest.fixture(scope="module")
def page(server):
    pg = _open(server)
    yield pg
    pg.close()


def _set_input(pg, cls: str, text: str) -> None:
    box = pg.locator(f".{cls} input")
    box.fill(text)
    box.press("Enter")
    box.press("Tab")  # leave the field: the value is sent on change and on blur
    pg.wait_for_timeout(200)


def _numbers(pg) -> dict[str, dict[str, str]]:
    cells = pg.locator("td[data-key][data-col]")
    out: dict[str, dict[str, str]] = {}
    for i in range(cells.count()):
        c = cells.nth(i)
        key, col = c.get_attribute("data-key"), c.get_attribute("data-col")
        out.setdefault(key, {})[col] = (c.get_attribute("data-value"), c.inner_text().strip())
    return out


def _assert_numbers(shown: dict, col: str, summary: dict) -> None:
    rows = views.number_rows(summary)
    assert rows, "the API summary has no numbers"
    assert {k for k, _, _ in rows} == set(shown)
    for k, _, v in rows:
        value, text = shown[k][col]
        assert value == repr(v), (k, col, value, v)  # exact
        assert text == views.fmt(v), (k, col, text)  # and as printed


def _fig_png(pg, key: str) -> bytes:
    img = pg.locator(f"img.fig-{key}")
    assert img.evaluate("i => i.naturalWidth") > 0
    return base64.b64decode(img.get_attribute("src").split(",", 1)[1])


def _wait_run_finished(pg) -> None:
    pg.wait_for_function("() => !document.querySelector('.progress-text')", timeout=TIMEOUT)
    pg.wait_for_selector("img.fig-members", timeout=TIMEOUT)


def test_run_change_lever_cancel_compare_and_download(page, tmp_path):
    pg = page
    _set_input(pg, "run-seed", str(SEED))
    _set_input(pg, "run-scale", "0.001")  # long enough to be caught running and cancelled
    # move a lever that no dated event touches: criticism and self-criticism (M11)
    thumb = pg.locator(".ctl-levers-criticism [role=slider]")
    thumb.focus()
    thumb.press("End")  # to the top of its schema range (le=1)
    pg.wait_for_function(
        "() => document.querySelector('.n-changed').innerText.startsWith('1 setting')")
    pg.wait_for_function("() => document.querySelector('.ctl-levers-criticism .ctl-value')"
                         ".innerText.trim() == 'criticism = 1'")

    # a run shows its progress, and can be cancelled
    pg.locator(".run-button").click()
    pg.wait_for_function("() => { const e = document.querySelector('.progress-text');"
                         " return e && /\\((?!0\\/)\\d+\\/\\d+\\)/.test(e.innerText); }",
                         timeout=TIMEOUT)
    pg.locator(".cancel-button").click()
    pg.wait_for_selector(".run-cancelled", timeout=30_000)
    _set_input(pg, "run-scale", repr(SCALE))
    _set_input(pg, "run-snapshots", ",".join(SNAPS))

    # run again; meanwhile the API runs the same settings here (2 cores: one each)
    sets = ["levers.criticism=1.0"]
    runs: dict = {}

    def api_runs():
        runs["base"] = allegiance.run("cpsu", seed=SEED, scale=SCALE, threads=1,
                                      snapshots=SNAPS)
        runs["api"] = allegiance.run("cpsu", seed=SEED, scale=SCALE, overrides=sets,
                                      threads=1, snapshots=SNAPS)

    worker = threading.Thread(target=api_runs)
    pg.locator(".run-button").click()
    worker.start()
    pg.wait_for_selector(".changes-list", timeout=TIMEOUT)
    _wait_run_finished(pg)
    worker.join()
    api, base = runs["api"], runs["base"]
    assert pg.locator(".changes-list").inner_text().split() == sets

    shown = _numbers(pg)
    _assert_numbers(shown, "current", api.summary)
    _assert_numbers(shown, "baseline", base.summary)  # the unchanged scenario, same seed
    assert api.summary["headline"] != base.summary["headline"]
    # the figures are the API result's, not the unchanged scenario's
    drawn = {k: png for k, _, png in views.overview_pngs(api, base)}
    before = {k: png for k, _, png in views.overview_pngs(base)}
    for key in ("members", "belief_trust", "difference"):
        assert _fig_png(pg, key) == drawn[key], key
    assert drawn["members"] != before["members"]
    # the agents at each snapshot month, both runs on the same bins
    names = ("your settings", "unchanged")
    assert _fig_png(pg, "snapshots") == views.snapshot_image(api, SNAPS[0], base, "members",
                                                             names)
    pg.locator(".snapshot-date").click()
    pg.get_by_role("option", name=SNAPS[1], exact=True).click()
    want = views.snapshot_image(api, SNAPS[1], base, "members", names)
    pg.wait_for_function("b => document.querySelector('img.fig-snapshots').src.endsWith(b)",
                         arg=base64.b64encode(want).decode()[-400:], timeout=TIMEOUT)
    assert _fig_png(pg, "snapshots") == want

    # downloads: exactly what was run, re-runnable from the CLI bit for bit
    with pg.expect_download() as dl:
        pg.get_by_role("button", name="scenario.toml").click()
    toml_path = tmp_path / "scenario.toml"
    dl.value.save_as(toml_path)
    assert tomllib.loads(toml_path.read_text())["levers"]["criticism"] == 1.0
    with pg.expect_download() as dl:
        pg.get_by_role("button", name="timeseries.parquet").click()
    dl.value.save_as(tmp_path / "ts.parquet")
    import pandas as pd

    assert pd.read_parquet(tmp_path / "ts.parquet").equals(api.timeseries)
    with pg.expect_download() as dl:
        pg.get_by_role("button", name="timeseries.csv").click()
    dl.value.save_as(tmp_path / "ts.csv")
    csv = pd.read_csv(tmp_path / "ts.csv")
    assert list(csv.columns) == list(api.timeseries.columns)
    assert (csv["members"].to_numpy() == api.timeseries["members"].to_numpy()).all()

    r = cli("run", str(toml_path), "--out", str(tmp_path / "rerun"), "--quiet", "--no-figures",
            "--threads", "1")
    assert r.returncode == 0, r.stderr
    rerun = allegiance.load(tmp_path / "rerun")
    assert rerun.timeseries.equals(api.timeseries)
    _assert_numbers(shown, "current", rerun.summary)


def test_upload_errors_and_memory_refusal_show_in_the_page(page, tmp_path):
    pg = page
    typo = tmp_path / "typo.toml"
    typo.write_text('base = "cpsu"\nname = "t"\n[levers]\nopeness = 0.4\ndanger = 7\n')
    with pytest.raises(ScenarioError) as exc:
        load_scenario(tomllib.loads(typo.read_text()))
    pg.locator(".allegiance-upload-input").set_input_files(str(typo))
    pg.wait_for_selector(".upload-error-line")
    lines = [x.strip() for x in pg.locator(".upload-error-line").all_inner_texts()]
    assert lines == exc.value.messages  # the CLI's messages, word for word
    assert any("did you mean 'openness'" in x for x in lines)
    v = cli("validate", str(typo))
    assert v.returncode == 2 and all(x in v.stderr for x in lines)

    broken = tmp_path / "broken.toml"
    broken.write_text("name = [\n")
    pg.locator(".allegiance-upload-input").set_input_files(str(broken))
    pg.wait_for_function("() => [...document.querySelectorAll('.upload-error-line')]"
                         ".some(e => e.innerText.includes('malformed TOML'))")

    good = tmp_path / "mine.toml"
    good.write_text('base = "cpsu"\nname = "mine"\ndescription = "uploaded"\n'
                    '[levers]\ncontact = 0.5\n')
    pg.locator(".allegiance-upload-input").set_input_files(str(good))
    pg.wait_for_function("() => [...document.querySelectorAll('h2')]"
                         ".some(e => e.innerText.trim() == 'mine')")
    assert pg.locator(".upload-error-line").count() == 0

    # a scale whose memory estimate exceeds what is available is refused with the API's message
    # the page may still re-render after the upload and reset the field: set it until it holds
    for _ in range(30):
        _set_input(pg, "run-scale", "0.5")
        pg.locator(".run-scale input").press("Tab")  # commit on blur as well
        pg.wait_for_timeout(1000)
        if pg.locator(".run-scale input").input_value() in ("0.5", "0.50"):
            break
    assert pg.locator(".run-scale input").input_value() in ("0.5", "0.50")
    sc = load_scenario(tomllib.loads(good.read_text()))
    import os

    os.environ["ALLEGIANCE_AVAILABLE_MEMORY"] = MEMORY
    try:
        with pytest.raises(ResourceError) as mem:
            check_memory(sc, 0.5)
    finally:
        del os.environ["ALLEGIANCE_AVAILABLE_MEMORY"]
    pg.locator(".run-button").click()
    pg.wait_for_selector(".run-errors", timeout=120_000)
    assert str(mem.value) in pg.locator(".run-errors").inner_text()


def _pick(pg, name: str) -> None:
    """Choose ``name`` in the scenario menu. The menu renders its first 20 entries and the
    rest as it is scrolled (Vuetify's v-select), so scroll until the entry exists."""
    pg.locator(".pick-scenario").click()
    option = pg.get_by_role("option", name=name, exact=True)
    for _ in range(40):
        if option.count():
            break
        pg.locator(".menuable__content__active").evaluate("m => m.scrollBy(0, 400)")
        pg.wait_for_timeout(100)
    option.click()


def test_a_runs_warning_shows_in_the_browser(server):
    """Move a lever that a dated event overwrites: after the run the page shows the warning
    ``allegiance run --set`` prints for the same settings."""
    from allegiance.registry import model_class

    pg = _open(server)
    try:
        _set_input(pg, "run-scale", repr(SCALE))
        _set_input(pg, "run-end", "1921-06")
        thumb = pg.locator(".ctl-levers-privilege [role=slider]")
        thumb.focus()
        thumb.press("End")  # privilege 1 from November 1917; event privilege_nep sets 0.2
        pg.wait_for_function(
            "() => document.querySelector('.n-changed').innerText.startsWith('1 setting')")
        pg.locator(".run-button").click()
        pg.wait_for_selector(".run-warning", timeout=TIMEOUT)
        _wait_run_finished(pg)
        assert pg.locator(".run-warning").first.is_visible()
        sets = dict(x.split("=", 1) for x in pg.locator(".changes-list").inner_text().split())
        assert list(sets) == ["levers.privilege"]
        sc = load_scenario("cpsu", {"run.end": "1921-06", **sets})
        said = model_class("cpsu").warnings(sc, list(sets))
        shown = [pg.locator(".run-warning").nth(i).inner_text().strip()
                 for i in range(pg.locator(".run-warning").count())]
        assert len(said) == 1 and shown == said, (shown, said)
    finally:
        pg.close()


def test_every_bundled_scenario_opens_and_runs_in_the_browser(server):
    """Pick each bundled scenario from the menu, shorten it, run it: numbers and figures show,
    never an error page. A tab of its own: the other tests' settings do not leak in."""
    import re

    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    from allegiance.scenario import bundled_names

    pg = _open(server)
    try:
        for name in bundled_names():
            _pick(pg, name)
            pg.wait_for_function("n => [...document.querySelectorAll('h2')]"
                                 ".some(e => e.innerText.trim() == n)", arg=name)
            sc = load_scenario(name)
            ls = controls.length_setting(sc)
            if ls:
                _set_input(pg, f"run-{ls[0]}", SHORT[ls[0]])
            _set_input(pg, "run-scale", repr(SCALE))
            for attempt in range(2):
                pg.locator(".run-button").click()
                # finished (its own result shown), or refused with a message
                try:
                    pg.wait_for_function(
                        "n => { const e = document.querySelector('.run-info');"
                        " return document.querySelector('.run-errors') || (e && "
                        "e.innerText.startsWith(n + ':') && "
                        "!document.querySelector('.progress-text')); }", arg=name,
                        timeout=TIMEOUT)
                except PlaywrightTimeout:
                    pytest.fail(f"{name}: no result after Run; the page says: "
                                f"{pg.locator('body').inner_text()[:1500]}")
                # on a loaded machine the server may not yet have the new length when Run is
                # pressed; then set it again and run once more (a length that is ignored
                # twice still fails below)
                info = pg.locator(".run-info").inner_text()
                if not ls or re.search(rf"\b{re.escape(SHORT[ls[0]])}\b", info) or attempt:
                    break
                _set_input(pg, f"run-{ls[0]}", SHORT[ls[0]])
            errors = pg.locator(".run-errors")
            assert errors.count() == 0, (name, errors.all_inner_texts())
            text = pg.locator("body").inner_text()
            assert "Traceback" not in text and "Error" not in text, (name, text[:2000])
            info = pg.locator(".run-info").inner_text()
            if ls:
                assert re.search(rf"\b{re.escape(SHORT[ls[0]])}\b", info), (name, info)
            shown = _numbers(pg)
            assert {k for k, _, _ in views.number_rows(
                allegiance.run(name, overrides=_short_sets(sc)).summary)} == set(shown), name
            n_figs = pg.locator("img.fig").count()
            assert n_figs > 0 or name == "ishigami", name
            assert all(w > 0 for w in pg.locator("img.fig").evaluate_all(
                "xs => xs.map(i => i.naturalWidth)")), name
    finally:
        pg.close()


def _short_sets(sc) -> list[str]:
    ls = controls.length_setting(sc)
    sets = [f"run.scale={SCALE!r}"]
    if ls:
        sets.append(f"run.{ls[0]}={SHORT[ls[0]]!r}" if ls[0] == "end"
                    else f"run.{ls[0]}={SHORT[ls[0]]}")
    return sets


# ---- the layout, on a phone and on a desktop --------------------------------------------------


def _scroll_to_bottom(pg) -> None:
    pg.evaluate("() => { for (const e of document.querySelectorAll('*')) "
                "if (e.scrollHeight > e.clientHeight) e.scrollTop = e.scrollHeight; "
                "window.scrollTo(0, document.body.scrollHeight); }")


def _in_view(pg, selector: str) -> bool:
    return pg.locator(selector).first.evaluate(
        "e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.top >= 0 && "
        "r.bottom <= window.innerHeight && r.left >= 0 && r.right <= window.innerWidth; }")


@pytest.mark.parametrize("size", [(390, 844), (1280, 800)], ids=["phone", "desktop"])
def test_layout_on_a_phone_and_a_desktop(server, tmp_path, size):
    """Settings closable, something useful before the first run, Run and progress always in
    view, results visible, a figure opens full size and downloads as PNG and SVG."""
    from allegiance.dashboard.panels import NARROW

    url, b = server
    w, h = size
    pg = b.new_page(viewport={"width": w, "height": h}, accept_downloads=True)
    pg.set_default_timeout(60_000)
    try:
        pg.goto(url)
        pg.wait_for_selector(".run-button")
        side = pg.locator(".al-side")
        # before any run: the scenario and the data the model is fitted to
        assert pg.locator(".al-intro").is_visible()
        pg.wait_for_selector("img.fig-observed")
        if w <= NARROW:  # the settings cover the page when opened, and close again
            assert not side.is_visible()
            pg.locator(".settings-open").click()
            side.wait_for(state="visible")
            assert _in_view(pg, ".settings-close")
            _set_input(pg, "run-scale", repr(SCALE))
            _set_input(pg, "run-end", LAYOUT_END)
            pg.locator(".settings-close").click()
            side.wait_for(state="hidden")
        else:  # a column beside the results, which can be hidden and shown
            assert side.is_visible()
            _set_input(pg, "run-scale", repr(SCALE))
            _set_input(pg, "run-end", LAYOUT_END)
            pg.locator(".settings-toggle").click()
            side.wait_for(state="hidden")
            pg.locator(".settings-toggle").click()
            side.wait_for(state="visible")
        _scroll_to_bottom(pg)
        assert _in_view(pg, ".run-button")
        pg.locator(".run-button").click()
        _wait_run_finished(pg)
        assert pg.locator("img.fig-members").is_visible()
        assert pg.locator("td[data-key]").count() > 0
        _scroll_to_bottom(pg)
        assert _in_view(pg, ".run-button")  # and the progress bar lives beside it

        # a figure opens full size and closes
        thumb = pg.locator("img.fig-members")
        pg.locator(".zoom-members").click()
        big = pg.locator(".al-zoom img.zoomed-members")
        big.wait_for(state="visible")
        natural = big.evaluate("i => i.naturalWidth")
        assert natural > thumb.evaluate("i => i.naturalWidth")
        assert big.evaluate("i => i.getBoundingClientRect().width") >= natural - 1
        assert _in_view(pg, ".zoom-close")
        pg.locator(".zoom-close").click()
        big.wait_for(state="detached")
        # and downloads as PNG and SVG
        box = pg.locator(".figbox-members")
        for fmt, head in (("PNG", b"\x89PNG"), ("SVG", b"<?xml")):
            with pg.expect_download() as dl:
                box.get_by_role("button", name=fmt).click()
            path = tmp_path / f"members.{fmt.lower()}"
            dl.value.save_as(path)
            assert path.read_bytes().startswith(head), fmt
    finally:
        pg.close()


def test_numbers_table_speaks_words_and_keeps_keys():
    """The numbers table names each outcome in words (the key stays in data-key and title)."""
    from allegiance.dashboard.panels import numbers_html

    html = numbers_html([("members_1991_07_01", "forecast", 12.7e6, 12.6e6, 1e5),
                         ("crisis.security_obeyed", "crisis", 2.5e5, None, None)], True, "cpsu")
    assert "members + candidates, 1 Jul 1991" in html
    assert "at the crisis: security forces that obeyed" in html
    assert 'data-key="members_1991_07_01"' in html and 'title="crisis.security_obeyed"' in html
    assert "<th>members_1991_07_01</th>" not in html


# ---- issue 21: bad input in the page, and who may drive it ------------------------------------


def test_uploads_of_another_model_or_bad_values_show_the_clis_line(tmp_path):
    """An upload of another model while cpsu's settings are changed switches cleanly; an
    upload that does not validate, and Run on a value that does not, show the CLI's line."""

    from allegiance.dashboard import app
    from allegiance.scenario import bundled_path

    rc = _render_page()
    try:
        for name in ("granovetter", "epstein_run1", "ishigami"):
            app.pick_bundled("cpsu")
            app.values.set({"levers.privilege": 0.5})
            app.versus.set("cpsu_no_glasnost")
            data = bundled_path(name).read_bytes()
            app.take_upload(f"{name}.toml", data, len(data))  # rendered: no exception
            assert app.source.value == f"upload:{name}.toml" and not app.upload_errors.value
            assert app.values.value == {} and app.versus.value == ""
        for text, said in [(b'model = []\nname = "x"\n', "model = []: allowed: cpsu"),
                           (b'model = "cpsu"\nname = "x"\n[initial]\nmembers = inf\n',
                            "initial.members = inf: allowed: a finite number"),
                           (b"x = " + b"[" * 3000 + b"]" * 3000, "nested too deep"),
                           (b"\xff\xfe", "not a text file in UTF-8")]:
            f = tmp_path / "bad.toml"
            f.write_bytes(text)
            app.take_upload("bad.toml", text, len(text))
            shown = app.upload_errors.value
            assert shown[0] == "bad.toml: 1 problem" and said in shown[1], shown
            v = cli("validate", str(f))
            assert v.returncode == 2 and shown[1] in v.stderr  # the CLI's words
        app.pick_bundled("cpsu")
        app.values.set({"initial.members": float("inf")})
        app.start_run(None, {}, str(tmp_path))  # refused before any worker is asked
        assert any("initial.members = inf: allowed: a finite number" in x
                   for x in app.run_errors.value), app.run_errors.value
    finally:
        app.pick_bundled("cpsu")
        rc.close()


def _handshake(port: int, origin: str | None) -> bytes:
    """The status line of a WebSocket handshake to the page's kernel channel."""
    import os
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        lines = ["GET /jupyter/api/kernels/k1/channels?session_id=s1 HTTP/1.1",
                 f"Host: 127.0.0.1:{port}", "Upgrade: websocket", "Connection: Upgrade",
                 "Sec-WebSocket-Version: 13",
                 "Sec-WebSocket-Key: " + base64.b64encode(os.urandom(16)).decode()]
        if origin is not None:
            lines.append(f"Origin: {origin}")
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return s.recv(4096).split(b"\r\n")[0]


def test_a_websocket_from_another_origin_is_refused():
    from allegiance.dashboard.server import same_origin

    with dashboard_server() as url:
        port = int(url.rsplit(":", 1)[1].strip("/"))
        assert b" 403 " in _handshake(port, "http://evil.example")
        assert b" 403 " in _handshake(port, "null")
        assert b" 403 " in _handshake(port, f"http://evil.example:{port}")
        assert b" 101 " in _handshake(port, f"http://127.0.0.1:{port}")  # the page itself
        assert b" 101 " in _handshake(port, None)  # not a browser
    assert same_origin({b"origin": b"http://localhost:80", b"host": b"localhost"})
    assert same_origin({b"origin": b"https://h.example", b"host": b"h.example:443"}, "wss")
    assert not same_origin({b"origin": b"http://h.example:81", b"host": b"h.example"})
    assert not same_origin({b"origin": b"http://h.example:x", b"host": b"h.example"})
    assert not same_origin({b"origin": b"http://h.example"})


def test_snapshot_categories_are_written_as_words():
    from allegiance import views

    assert [views.category_label(c) for c in
            ("pre1900", "1900_1919", "1960plus", "rank_and_file", "nonmember")] == \
        ["before 1900", "1900–1919", "1960 on", "rank and file", "nonmember"]
