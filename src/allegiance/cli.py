"""The ``allegiance`` command line (typer + rich). Heavy modules are imported inside commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .cli_common import RunProgress, console, fail_line, note_threads, split_list
from .errors import AllegianceError
from .limits import SEED_MAX
from .version import __version__

app = typer.Typer(
    name="allegiance",
    help="Agent-based simulation of commitment in very large membership organizations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"allegiance {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Agent-based simulation of commitment in very large membership organizations."""


@app.command()
def run(
    scenario: Annotated[str, typer.Argument(help="Bundled scenario name or TOML file.")],
    scale: Annotated[
        float | None, typer.Option(help="Agents per person (1 = whole country 1:1).")
    ] = None,
    seed: Annotated[int | None, typer.Option(
        min=0, max=SEED_MAX, help="Root random seed (0 to 2^63 - 1).")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output directory (default runs/<scenario>).")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a scenario key: key.path=value (repeatable)."),
    ] = None,
    threads: Annotated[int | None, typer.Option(
        min=1, help="Compute threads (default: all; at most what the machine allows).")] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing output directory.")] = False,
    quiet: Annotated[bool, typer.Option(help="No progress bar or summary table.")] = False,
    figures: Annotated[bool, typer.Option(help="Draw the model's figures.")] = True,
    checkpoint_at: Annotated[str | None, typer.Option(
        "--checkpoint-at", metavar="STEP",
        help="Write the run's whole state at the start of this month (1956-01) to "
             "--checkpoint, and go on.")] = None,
    checkpoint: Annotated[Path | None, typer.Option(
        "--checkpoint", help="The checkpoint file to write (default: OUT-STEP.checkpoint.npz "
                             "beside the output directory).")] = None,
    from_: Annotated[Path | None, typer.Option(
        "--from", metavar="CHECKPOINT",
        help="Resume from a checkpoint: the same run byte for byte, or a branch changing only "
             "what acts from the checkpoint's month on (events and holds dated then or "
             "later, run.end).")] = None,
    snapshot: Annotated[str | None, typer.Option(
        "--snapshot", metavar="DATES",
        help="Write the agents' attributes (tier, cohort, motive, belief, trust, stake, "
             "workplace, ...) at the start of these months to snapshots.parquet: "
             "1956-01,1985-03,1991-07.")] = None,
) -> None:
    """Run a scenario and write its results directory."""
    from .api import run as api_run
    from .outdir import claim_output
    from .scenario import load_scenario

    sc = load_scenario(scenario, set_ or [])
    _warn(sc, set_ or [])
    outdir = out or Path("runs") / sc.name
    if checkpoint is not None and checkpoint_at is None:
        raise AllegianceError("--checkpoint: say at which step with --checkpoint-at (1956-01)")
    if checkpoint_at is not None:
        checkpoint = checkpoint or Path(f"{outdir}-{checkpoint_at}.checkpoint.npz")
        if checkpoint.exists() and not force:
            raise AllegianceError(f"checkpoint file '{checkpoint}' exists; choose another "
                                  "--checkpoint or pass --force")
    note_threads(threads)
    # held from before the run to the end: checked, locked against another writer, writable
    with claim_output(outdir, force=force):
        prog = RunProgress(sc.name, quiet)
        try:
            result = api_run(sc, seed=seed, scale=scale, threads=threads, progress=prog,
                             checkpoint_at=checkpoint_at, checkpoint_path=checkpoint,
                             resume_from=from_,
                             snapshots=split_list(snapshot) or [])
        finally:
            prog.close()
        path = result.save(outdir, force=force, figures=figures)
    if not quiet:
        _print_summary(result, path)
        if checkpoint_at is not None:
            console().print(f"checkpoint at {checkpoint_at} -> {checkpoint}")


def _warn(sc, sets: list[str]) -> None:
    """Print the model's warnings about what the ``--set`` items will do (on stderr)."""
    from rich.console import Console
    from rich.text import Text

    from .api import override_keys
    from .registry import model_class

    lines = model_class(sc.model).warnings(sc, override_keys(sets))
    con = Console(stderr=True, highlight=False, soft_wrap=True)
    for line in lines:
        con.print(Text.assemble(("warning: ", "bold yellow"), line))


def _print_summary(result, path: Path) -> None:
    from rich.table import Table

    from .readable import headline_words, human, label

    con = console()
    m = result.manifest
    scale = float(m["scale"])
    one_in = f" (1 agent per {1 / scale:,.0f} persons)" if scale < 1 else ""
    con.print(
        f"[bold]{m['scenario_name']}[/]: seed {int(m['seed'])}, scale {scale:g}{one_in}, "
        f"{m['threads']} thread{'s' if m['threads'] != 1 else ''}, "
        f"{m['wall_seconds']:.1f} s -> {path}"
    )
    headline = result.summary.get("headline") or {}
    if headline:
        t = Table(show_header=True, header_style="bold")
        t.add_column("outcome")
        t.add_column("value", justify="right")
        for k, v in headline.items():
            t.add_row(label(k), human(v))
        con.print(t)
    for line in headline_words(result.summary, m):
        con.print(line)


@app.command()
def validate(
    scenario: Annotated[str, typer.Argument(help="Bundled scenario name or TOML file.")],
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override: key.path=value (repeatable).")
    ] = None,
) -> None:
    """Check a scenario file and report every problem at once."""
    from .errors import ScenarioError
    from .scenario import load_scenario

    try:
        sc = load_scenario(scenario, set_ or [])
    except ScenarioError as exc:
        from rich.console import Console

        n = len(exc.messages)
        if n == 1:  # one problem, one line
            msg = exc.messages[0]
            fail_line(msg if msg.startswith(f"{scenario}:") else f"{scenario}: {msg}", 2)
        con = Console(stderr=True, highlight=False, soft_wrap=True)
        from rich.text import Text

        con.print(Text.assemble(("error: ", "bold red"),
                                f"{scenario}: {n} problem{'s' if n != 1 else ''}"))
        for m in exc.messages:
            con.print(Text(f"  - {m}"))
        raise typer.Exit(2) from None
    console().print(
        f"{scenario}: valid {sc.model} scenario '{sc.name}' (sha256 {sc.digest()[:12]})"
    )
    _warn(sc, set_ or [])


@app.command()
def scenarios() -> None:
    """List the bundled scenarios."""
    from rich.table import Table

    from .scenario import describe_bundled

    t = Table(show_header=True, header_style="bold")
    t.add_column("scenario")
    t.add_column("model")
    t.add_column("description")
    for name, model, desc in describe_bundled():
        t.add_row(name, model, desc)
    console().print(t)


from .cli_experiments import register as _register_experiments  # noqa: E402

_register_experiments(app)
from .cli_cpsu import register as _register_cpsu  # noqa: E402

_register_cpsu(app)
from .cli_dashboard import register as _register_dashboard  # noqa: E402

_register_dashboard(app)


def _usage_error_classes() -> tuple[type, ...]:
    """The parser's usage-error classes, through public names only: typer's own
    (``typer.TyperException``, the base of the click that typer 0.29 and later carry inside
    them) and click's (what earlier typer releases use)."""
    classes: list[type] = []
    if hasattr(typer, "TyperException"):
        classes.append(typer.TyperException)
    try:
        import click
    except ImportError:  # typer without click
        pass
    else:
        classes.append(click.ClickException)
    return tuple(classes)


def _usage_line(exc: Exception) -> str:
    """A usage error as one line: what is wrong, and where the help is."""
    text = " ".join(exc.format_message().split()).rstrip(".")
    ctx = getattr(exc, "ctx", None)
    if ctx is None:
        return text
    return f"{ctx.command_path}: {text} (see '{ctx.command_path} --help')"


INTERRUPTED = "interrupted; no result was written"


def main() -> None:
    """Entry point: run the app, turning user errors into one line and exit code 2."""
    from .cli_common import stop_on_sigterm

    stop_on_sigterm()  # SIGTERM stops a command as Ctrl-C does: workers end, partials go
    try:
        rv = app(standalone_mode=False)
    except AllegianceError as exc:
        fail_line(str(exc), exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):  # typer before 0.29 turns Ctrl-C into Abort
        fail_line(INTERRUPTED, 130)
    except _usage_error_classes() as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `allegiance`: the help
            exc.show()
            sys.exit(exc.exit_code)
        fail_line(_usage_line(exc), exc.exit_code)
    if rv == 130:  # typer 0.29 and later return Ctrl-C as exit code 130, without a word
        fail_line(INTERRUPTED, 130)
    sys.exit(rv if isinstance(rv, int) else 0)
