"""``allegiance report``: one self-contained HTML file, opened in a real browser."""

from __future__ import annotations

import re
import tomllib

from allegiance import views
from allegiance.scenario import load_scenario
from browser import chromium
from conftest import cli


def test_report_is_self_contained_and_complete(cpsu_small, tmp_path):
    run = cpsu_small.save(tmp_path / "run", figures=True)
    out = tmp_path / "share" / "report.html"
    r = cli("report", str(run), "-o", str(out))
    assert r.returncode == 0, r.stderr
    html = out.read_text()
    # nothing to fetch: no scripts, no stylesheets, no remote or file references
    assert "<script" not in html and "<link" not in html
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:)""", html)

    with chromium() as b:
        pg = b.new_page()
        failed = []
        pg.on("requestfailed", lambda req: failed.append(req.url))
        pg.route(re.compile(r"^https?://"), lambda route: (failed.append(route.request.url),
                                                           route.abort()))
        pg.goto(out.as_uri())
        imgs = pg.locator("img")
        saved = sorted((run / "figures").glob("*.png"))
        n_overview = len(views.overview_pngs(cpsu_small))
        assert imgs.count() == n_overview + len(saved) and n_overview >= 3
        sizes = imgs.evaluate_all("xs => xs.map(i => [i.complete, i.naturalWidth, "
                                  "i.naturalHeight])")
        assert all(c and w > 0 and h > 0 for c, w, h in sizes), sizes
        assert not failed

        # the forecast and headline numbers are the run's, as printed by the dashboard
        fc = cpsu_small.summary["forecast"]
        for k, v in fc.items():
            if k in ("note", "crisis"):
                continue
            cell = pg.locator(f"table.forecast td[data-key='{k}']")
            assert cell.inner_text().strip() == views.fmt(v), k
        for k, v in cpsu_small.summary["headline"].items():
            cell = pg.locator(f"table.headline td[data-key='{k}']")
            assert cell.inner_text().strip() == views.fmt(v), k
        assert fc["note"] in pg.locator("p.note").inner_text()

        # the scenario shown re-creates the run's scenario exactly (same hash as the manifest)
        toml_text = pg.locator("pre.scenario-toml").inner_text()
        sc = load_scenario(tomllib.loads(toml_text))
        assert sc.digest() == cpsu_small.manifest["scenario_sha256"]
        manifest = pg.locator("table.manifest").inner_text()
        assert cpsu_small.manifest["scenario_sha256"] in manifest
        assert cpsu_small.manifest["numba"] in manifest


def test_report_default_path_and_errors(cpsu_small, tmp_path):
    from allegiance.report import write

    run = cpsu_small.save(tmp_path / "run")
    assert write(run) == run / "report.html" and (run / "report.html").is_file()
    r = cli("report", str(tmp_path / "nothing"))
    assert r.returncode == 2 and "not a complete allegiance result" in r.stderr
