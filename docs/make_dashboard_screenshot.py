"""Draw docs/dashboard.png: the dashboard after a run with one lever moved.

    PYTHONPATH=src python docs/make_dashboard_screenshot.py

Starts ``allegiance dashboard`` on a free port, drives Debian's chromium with Playwright
(as the tests do), runs cpsu at 1:10,000 with seed 7 and criticism and self-criticism at 0.5,
and saves a 1400x1000 screenshot.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from browser import chromium, dashboard_server  # noqa: E402


def main() -> None:
    with dashboard_server() as url, chromium() as b:
        pg = b.new_page(viewport={"width": 1400, "height": 1000})
        pg.set_default_timeout(300_000)
        pg.goto(url)
        pg.wait_for_selector(".run-button")
        for cls, text in (("run-seed", "7"), ("run-scale", "0.0001")):
            pg.locator(f".{cls} input").fill(text)
            pg.locator(f".{cls} input").press("Enter")
        thumb = pg.locator(".ctl-levers-criticism [role=slider]")
        thumb.focus()
        for _ in range(50):
            thumb.press("ArrowRight")
            pg.wait_for_timeout(60)
        pg.locator(".run-button").click()
        pg.wait_for_selector("img.fig-difference")
        pg.wait_for_function("() => !document.querySelector('.progress-text')")
        pg.locator(".ctl-levers-criticism").scroll_into_view_if_needed()
        pg.wait_for_timeout(500)
        pg.screenshot(path=str(HERE / "dashboard.png"))


if __name__ == "__main__":
    main()
