"""Start the dashboard's web server (Solara on uvicorn), offline and without telemetry."""

from __future__ import annotations

import os


def serve(host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve the dashboard until interrupted."""
    # Set before solara is imported: it reads its settings from the environment at import.
    os.environ["SOLARA_APP"] = "allegiance.dashboard.app"
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")  # no calls home
    os.environ.setdefault("SOLARA_MODE", "production")
    os.environ["SERVER_NAME"] = host
    os.environ["SERVER_PORT"] = str(port)
    import shutil
    import signal
    import tempfile

    import uvicorn

    # Run directories of every tab live under one folder, removed when the server stops.
    root = tempfile.mkdtemp(prefix="allegiance-dashboard-")
    os.environ["ALLEGIANCE_DASHBOARD_WORKDIR"] = root

    def _stop(signum, frame):
        raise SystemExit(0)

    # uvicorn shuts down on SIGTERM, then re-raises it to the previous handler: make that an
    # ordinary exit, so the folder is removed and worker processes are stopped.
    signal.signal(signal.SIGTERM, _stop)
    print(f"allegiance dashboard: http://{host}:{port}/  (Ctrl-C to stop)", flush=True)
    try:
        uvicorn.run("solara.server.starlette:app", host=host, port=port, log_level="warning",
                    ws_max_size=4 * 2**20)
    finally:
        shutil.rmtree(root, ignore_errors=True)
