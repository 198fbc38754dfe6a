"""``allegiance report``: one self-contained HTML file, opened in a real browser, findings
first; for a run and for what compare, ensemble, sweep and ablate write."""

from __future__ import annotations

import base64
import re
import tomllib

from allegiance import views
from allegiance.scenario import load_scenario
from browser import chromium
from conftest import cli

PHONE = {"width": 390, "height": 844}


def _offline(html: str) -> None:
    """Nothing to fetch: no scripts, no stylesheets, no remote or file references."""
    assert "<script" not in html and "<link" not in html
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:)""", html)


def _fits_phone(pg) -> None:
    """Readable at 390 px: the page itself never scrolls sideways (wide tables scroll alone)."""
    assert pg.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_report_is_self_contained_and_complete(cpsu_small, tmp_path):
    run = cpsu_small.save(tmp_path / "run", figures=True)
    out = tmp_path / "share" / "report.html"
    r = cli("report", str(run), "-o", str(out))
    assert r.returncode == 0, r.stderr
    html = out.read_text()
    _offline(html)
    # findings first, the settings last and collapsed
    order = [html.index(f"id='{k}'") for k in ("findings", "forecast", "figures", "scenario")]
    assert order == sorted(order)
    assert re.search(r"<details class='scenario'><summary>", html)  # closed: no 'open'

    with chromium() as b:
        pg = b.new_page(viewport=PHONE)
        failed = []
        pg.on("requestfailed", lambda req: failed.append(req.url))
        pg.route(re.compile(r"^https?://"), lambda route: (failed.append(route.request.url),
                                                           route.abort()))
        pg.goto(out.as_uri())
        _fits_phone(pg)
        imgs = pg.locator("img")
        saved = sorted((run / "figures").glob("*.png"))
        n_overview = len(views.overview_pngs(cpsu_small))
        assert imgs.count() == n_overview + len(saved) and n_overview >= 3
        sizes = imgs.evaluate_all("xs => xs.map(i => [i.complete, i.naturalWidth, "
                                  "i.naturalHeight])")
        assert all(c and w > 0 and h > 0 for c, w, h in sizes), sizes
        assert not failed
        # the headline in words, before any table
        words = pg.locator("p.headline-words").all_inner_texts()
        assert any("Committed members are" in w for w in words), words

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

        # the scenario (collapsed) re-creates the run's scenario exactly (the manifest's hash)
        assert not pg.locator("pre.scenario-toml").is_visible()
        toml_text = pg.locator("pre.scenario-toml").text_content()
        sc = load_scenario(tomllib.loads(toml_text))
        assert sc.digest() == cpsu_small.manifest["scenario_sha256"]
        manifest = pg.locator("table.manifest").text_content()
        assert cpsu_small.manifest["scenario_sha256"] in manifest
        assert cpsu_small.manifest["numba"] in manifest


def test_report_default_path_and_errors(cpsu_small, tmp_path):
    from allegiance.report import write

    run = cpsu_small.save(tmp_path / "run")
    assert write(run) == run / "report.html" and (run / "report.html").is_file()
    r = cli("report", str(tmp_path / "nothing"))
    assert r.returncode == 2 and "not a complete allegiance result" in r.stderr


def test_report_of_compare_ensemble_sweep_and_ablation(tmp_path):
    """Each kind of directory gives its key table and a figure, offline, readable on a phone."""
    from conftest import ROOT

    small = ["--scale", "1e-5", "--set", "run.end=1957-06"]
    made = {
        "compare": cli("compare", "cpsu", "cpsu_no_secret_speech", *small, "--threads", "1",
                       "--snapshot", "1957-01", "--out", str(tmp_path / "compare"), "--quiet"),
        "ensemble": cli("ensemble", "granovetter", "--runs", "3", "--serial", "--quiet",
                        "--out", str(tmp_path / "ensemble")),
        "sweep": cli("sweep", str(ROOT / "docs" / "examples" / "granovetter_sd_sweep.toml"),
                     "--serial", "--quiet", "--out", str(tmp_path / "sweep")),
        "ablation": cli("ablate", "cpsu", "--seeds", "1", "--scale", "1e-5", "--set",
                        "run.end=1919-06", "--serial", "--quiet",
                        "--out", str(tmp_path / "ablation")),
    }
    tables = {"compare": "differences", "ensemble": "bands", "sweep": "sweep",
              "ablation": "ablation"}
    counts = {}
    with chromium() as b:
        pg = b.new_page(viewport=PHONE)
        for kind, r in made.items():
            assert r.returncode == 0, (kind, r.stderr)
            rep = cli("report", str(tmp_path / kind), "-o", str(tmp_path / f"{kind}.html"))
            assert rep.returncode == 0, (kind, rep.stderr)
            html = (tmp_path / f"{kind}.html").read_text()
            _offline(html)
            pg.goto((tmp_path / f"{kind}.html").as_uri())
            _fits_phone(pg)
            rows = pg.locator(f"table.{tables[kind]} tr")
            counts[kind] = rows.count()
            assert counts[kind] >= 2, kind  # a header and at least one row
            imgs = pg.locator("figure img")
            assert imgs.count() >= 1, kind
            assert all(w > 0 for w in imgs.evaluate_all("xs => xs.map(i => i.naturalWidth)"))
    # the sweep's table has one row per point of its design
    import pandas as pd

    assert counts["sweep"] == 1 + len(pd.read_parquet(tmp_path / "sweep" / "design.parquet"))
    # the comparison's snapshots: A and B on the same bins, as the views draw them
    import allegiance

    a, b = (allegiance.load(p) for p in sorted((tmp_path / "compare").glob("[ab]_*")))
    html = (tmp_path / "compare.html").read_text()
    for who in ("members", "everyone"):
        want = views.snapshot_image(b, "1957-01", a, who, ("B cpsu_no_secret_speech", "A cpsu"))
        m = re.search(rf"<figure id='fig-snapshot-1957-01-{who}'><img [^>]*base64,([^\"]+)",
                      html)
        assert m and base64.b64decode(m.group(1)) == want, who
    # ... and a run's report shows its own
    side = sorted((tmp_path / "compare").glob("b_*"))[0]
    assert cli("report", str(side), "-o", str(tmp_path / "b.html")).returncode == 0
    html = (tmp_path / "b.html").read_text()
    m = re.search(r"<figure id='fig-snapshot-1957-01-members'><img [^>]*base64,([^\"]+)", html)
    assert m and base64.b64decode(m.group(1)) == views.snapshot_image(b, "1957-01", None,
                                                                      "members", ("", ""))
