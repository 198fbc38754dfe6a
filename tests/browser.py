"""Helpers of the browser tests: a headless Debian chromium driven by Playwright.

The browser is Debian's ``chromium`` package (``apt-get install chromium``; CI installs it from
``.ci/apt-packages.txt``), never a build downloaded by ``playwright install``. Without it the
browser tests are skipped with a message saying so, except where ``ALLEGIANCE_REQUIRE_BROWSER=1``
(set by ``.ci/run``): there a missing browser fails the run.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@contextlib.contextmanager
def chromium():
    """A headless chromium (Debian's; never a downloaded build)."""
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        msg = (f"browser test needs Debian's chromium at {CHROMIUM}: apt-get install chromium "
               "(listed in .ci/apt-packages.txt)")
        if os.environ.get("ALLEGIANCE_REQUIRE_BROWSER") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def dashboard_server(env: dict | None = None, timeout: float = 90):
    """``python -m allegiance dashboard`` on a free port; yields its URL."""
    port = free_port()
    e = dict(os.environ)
    e.update(env or {})
    proc = subprocess.Popen([sys.executable, "-m", "allegiance", "dashboard", "--port", str(port)],
                            env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        t0 = time.monotonic()
        while True:
            if proc.poll() is not None:
                pytest.fail(f"dashboard exited with {proc.returncode}: {proc.stdout.read()}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() - t0 > timeout:
                pytest.fail("dashboard did not start listening")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
