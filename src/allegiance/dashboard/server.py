"""Start the dashboard's web server (Solara on uvicorn), offline and without telemetry.

The page is driven over a WebSocket. A browser sends the ``Origin`` of the page that opens a
WebSocket, and any page may open one to any address, ``127.0.0.1`` included: so a handshake
whose ``Origin`` is not the dashboard's own address (the ``Host`` it was reached at) is
refused (HTTP 403), and a page of another site cannot run simulations here. Clients that are
not browsers send no ``Origin`` and are let through.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def _host_port(netloc: str, scheme: str) -> tuple[str, int | None]:
    """``(host, port)`` of ``host[:port]``, lower case, the scheme's port when none is given."""
    try:
        parts = urlsplit(f"//{netloc}")
        return (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port that is not a number
        return "", None


def same_origin(headers: dict[bytes, bytes], scheme: str = "http") -> bool:
    """Whether a handshake's ``Origin`` (if any) is the address the server was reached at
    (its ``Host``)."""
    origin = headers.get(b"origin")
    if origin is None:
        return True  # not a browser
    try:
        o = urlsplit(origin.decode("latin-1").strip())
        host = headers.get(b"host", b"").decode("latin-1").strip()
    except ValueError:
        return False
    if o.scheme not in ("http", "https") or not o.netloc or not host:
        return False
    page_scheme = "https" if scheme in ("https", "wss") else "http"
    return (_host_port(o.netloc, o.scheme) == _host_port(host, page_scheme)
            and _host_port(o.netloc, o.scheme)[0] != "")


class OriginCheck:
    """ASGI middleware: refuses a WebSocket handshake from a page of another origin."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not same_origin(dict(scope.get("headers", [])),
                                                            scope.get("scheme", "ws")):
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008})  # before accept: HTTP 403
            return
        await self.app(scope, receive, send)


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
    from solara.server.starlette import app

    try:
        uvicorn.run(OriginCheck(app), host=host, port=port, log_level="warning",
                    ws_max_size=4 * 2**20)
    finally:
        shutil.rmtree(root, ignore_errors=True)
