"""``allegiance dashboard`` (the browser app) and ``allegiance report`` (a self-contained HTML
file). Registered on the main app by :mod:`allegiance.cli`; heavy imports stay inside."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def dashboard(
    host: Annotated[str, typer.Option(help="Interface to listen on (default: this machine "
                                            "only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
) -> None:
    """Explore scenarios in the browser: levers, runs, comparison, downloads."""
    from .dashboard.server import serve

    if host not in LOOPBACK:
        typer.echo(f"warning: listening on {host}: anyone who can reach this machine can run "
                   "simulations on it", err=True)
    serve(host, port)


def report(
    run_dir: Annotated[Path, typer.Argument(
        help="A result directory: a run, or what compare, ensemble, sweep, sensitivity or "
             "ablate wrote (their --out).")],
    output: Annotated[Path | None, typer.Option("-o", "--output",
                                                help="HTML file (default DIR/report.html)."
                                                )] = None,
) -> None:
    """Write one self-contained HTML report of a result: findings first, figures embedded,
    settings last (no network needed)."""
    from .report import write

    path = write(run_dir, output)
    typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add the dashboard and report commands to the CLI."""
    app.command()(dashboard)
    app.command()(report)
