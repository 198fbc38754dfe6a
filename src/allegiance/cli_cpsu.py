"""CLI commands ``compare``, ``ablate`` and ``events`` (registered by :mod:`allegiance.cli`).

Only typer is imported here; the work happens in :mod:`allegiance.compare` and
:mod:`allegiance.ablation`, imported inside the commands so ``--help`` stays fast.
"""

from __future__ import annotations

import math
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from .cli_common import Dask, Scheduler, Serial, Workers, executor, split_list
from .limits import MAX_RUNS, SEED_MAX


def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float) and math.isnan(v):
        return "–"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.4g}"


def compare(
    a: Annotated[str, typer.Argument(help="Scenario A (bundled name or TOML file).")],
    b: Annotated[str, typer.Argument(help="Scenario B (bundled name or TOML file).")],
    scale: Annotated[float | None, typer.Option(help="Agents per person, both runs.")] = None,
    seed: Annotated[int | None, typer.Option(
        min=0, max=SEED_MAX, help="Root seed of both runs (default: A's).")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Output directory (default runs/compare_<A>_vs_<B>).")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a key in both scenarios: key.path=value (repeatable).")] = None,
    set_a: Annotated[list[str] | None, typer.Option(
        "--set-a", help="Override a key in scenario A only, after --set (repeatable).")] = None,
    set_b: Annotated[list[str] | None, typer.Option(
        "--set-b", help="Override a key in scenario B only, after --set (repeatable).")] = None,
    threads: Annotated[int | None, typer.Option(
        min=1, help="Compute threads (default: all; at most what the machine allows).")] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing output directory.")] = False,
    figures: Annotated[bool, typer.Option(help="Also draw each run's own figures.")] = False,
    quiet: Annotated[bool, typer.Option(help="No progress bar or table.")] = False,
    workers: Workers = None, scheduler: Scheduler = None, dask: Dask = False,
    branch: Annotated[bool, typer.Option(
        help="When A and B differ only in events from some month on, run B from A's state "
             "at that month (the same results, sooner).")] = True,
    snapshot: Annotated[str | None, typer.Option(
        "--snapshot", metavar="DATES",
        help="Keep both runs' agents (tier, cohort, motive, belief, trust, stake, workplace, "
             "...) at the start of these months: a/snapshots.parquet and b/snapshots.parquet "
             "(1956-01,1985-03).")] = None,
) -> None:
    """Run A and B with the same seed (common random numbers) and draw their difference.

    By default A then B run in this process (with a progress bar each); --workers 2, --dask
    or --scheduler run both at once on an experiments executor. Run one after another, B
    starts from A's state at the first month in which their events differ (--no-branch:
    from the start), or at the first --snapshot month if that is earlier.

    --set changes both scenarios; --set-a and --set-b change one side only, so
    'compare cpsu cpsu --set-b levers.criticism=0.5' shows what that one change does.
    """
    from .cli_common import RunProgress, console, note_threads
    from .compare import compare as do_compare
    from .outdir import slugify

    def _stem(s: str) -> str:
        return slugify(Path(s).stem if s.endswith(".toml") else s)

    outdir = out or Path("runs") / f"compare_{_stem(a)}_vs_{_stem(b)}"
    ex = (executor(False, workers, scheduler, dask)
          if workers is not None or scheduler or dask else None)
    note_threads(threads)
    bars = {"A": RunProgress(f"A {_stem(a)}", quiet), "B": RunProgress(f"B {_stem(b)}", quiet)}
    try:
        res = do_compare(a, b, outdir, seed=seed, scale=scale, overrides=set_ or [],
                         overrides_a=set_a or [], overrides_b=set_b or [], threads=threads,
                         force=force, figures=figures, executor=ex, branch=branch,
                         snapshots=split_list(snapshot) or [],
                         progress=lambda w, d, t, lab: bars[w](d, t, lab))
    finally:
        for p in bars.values():
            p.close()
    if quiet:
        return
    from rich.table import Table

    con = console()
    ra = res["a"]
    con.print(f"A = [bold]{ra.manifest['scenario_name']}[/], B = "
              f"[bold]{res['b'].manifest['scenario_name']}[/]; seed={ra.manifest['seed']} "
              f"scale={ra.manifest['scale']:g}; first difference: "
              f"{res['first_difference'] or 'none'} -> {res['path']}")
    branched = res["b"].manifest.get("resumed_from")
    if branched:
        con.print(f"B ran from A's state at {branched['at']} (the months before are the same "
                  "run)")
    t = Table(show_header=True, header_style="bold")
    for col, just in (("outcome", "left"), ("A", "right"), ("B", "right"), ("B − A", "right")):
        t.add_column(col, justify=just)
    for r in res["differences"]:
        t.add_row(r["outcome"], _fmt(r["a"]), _fmt(r["b"]), _fmt(r["diff"]))
    con.print(t)


def ablate(
    scenario: Annotated[str, typer.Argument(help="Bundled scenario name or TOML file.")],
    seeds: Annotated[int, typer.Option(min=1, max=MAX_RUNS,
                                       help="Seeds per variant (ensemble size).")] = 3,
    seed: Annotated[int | None, typer.Option(min=0, max=SEED_MAX,
        help="Root seed (default: the scenario's run.seed); seed k of every variant derives "
             "from it and k.")] = None,
    scale: Annotated[float | None, typer.Option(help="Agents per person.")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Output directory (default runs/ablate_<scenario>).")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a key in every run: key.path=value (repeatable).")] = None,
    tolerance: Annotated[float, typer.Option(
        help="A variant still fits if its mean fit <= tolerance x the full model's.")] = 1.5,
    workers: Workers = None, scheduler: Scheduler = None, dask: Dask = False,
    serial: Serial = False,
    jobs: Annotated[int | None, typer.Option(
        hidden=True, help="Former name of --workers (kept for one release).")] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing output directory.")] = False,
    quiet: Annotated[bool, typer.Option(help="No progress bar or table.")] = False,
) -> None:
    """Switch off each mechanism in turn: does the model still fit? (hypothesis table)

    The runs execute like every experiment's: a local process pool by default (--workers N),
    in this process with --serial, or on Dask (--dask, --scheduler).
    """
    from . import ablation
    from .cli_common import RunProgress, console
    from .errors import AllegianceError
    from .outdir import claim_output
    from .scenario import load_scenario

    if tolerance <= 0:
        raise AllegianceError(f"--tolerance {tolerance:g}: must be > 0")
    sc = load_scenario(scenario, set_ or [])
    outdir = out or Path("runs") / f"ablate_{sc.name}"
    if jobs is not None:
        if workers is not None:
            raise AllegianceError("--jobs is the former name of --workers: give only --workers")
        workers, serial = (None, True) if jobs == 1 else (jobs, serial)
    ex = executor(serial, workers, scheduler, dask)
    with claim_output(outdir, force=force):  # checked and locked before the runs
        prog = RunProgress(f"ablate {sc.name}", quiet)
        try:
            # the scenario as loaded above: its file is read once (it may be a pipe)
            runs = ablation.run_ensemble(sc, seeds=seeds, seed=seed, scale=scale,
                                         overrides=set_ or [], executor=ex, progress=prog)
        finally:
            prog.close()
        table = ablation.hypothesis_table(runs, tolerance)
        command = "allegiance " + " ".join(shlex.quote(x) for x in sys.argv[1:]) \
            if sys.argv and sys.argv[0].endswith(("allegiance", "__main__.py")) else \
            f"allegiance ablate {scenario} --seeds {seeds} --scale {scale or sc.run.scale:g}"
        meta = {"scenario": sc.name, "seeds": seeds, "executor": ex.describe(),
                "root_seed": int(sc.run.seed if seed is None else seed),
                "scale": float(sc.run.scale if scale is None else scale),
                "overrides": set_ or [], "wall_seconds_total": float(runs["wall_seconds"].sum())}
        ablation.write(outdir, runs, table, tolerance=tolerance, command=command, meta=meta,
                       force=force)
    if quiet:
        return
    con = console()
    con.print(f"[bold]ablate {sc.name}[/]: {len(runs)} runs, "
              f"wall {meta['wall_seconds_total']:.0f}s -> {outdir}")
    con.print((outdir / "ablation.md").read_text(), markup=False)


def events(
    scenario: Annotated[str, typer.Argument(help="Bundled scenario name or TOML file.")] = "cpsu",
    lever: Annotated[str | None, typer.Option(help="Only this lever's start value and events.")
                     ] = None,
    by: Annotated[str, typer.Option(help="Group by 'lever' (each lever's start value and "
                                         "events, other events last) or 'era'.")] = "lever",
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a scenario key first: key.path=value (repeatable).")] = None,
    markdown: Annotated[bool, typer.Option(help="Print Markdown tables (for documents).")
                        ] = False,
) -> None:
    """List a CPSU scenario's dated events grouped by lever (or era): date, value, ramp, note.

    Shows what a lever's start value (levers.X, the 1917 value) is followed by, and which
    events a hold (hold.X.from / hold.X.value) overrides.
    """
    from rich.table import Table

    from .cli_common import console
    from .errors import AllegianceError
    from .models.cpsu import CpsuScenario
    from .models.cpsu.timeline import listing, listing_markdown
    from .scenario import load_scenario

    if by not in ("lever", "era"):
        raise AllegianceError(f"--by {by}: allowed: lever, era")
    sc = load_scenario(scenario, set_ or [])
    if not isinstance(sc, CpsuScenario):
        raise AllegianceError(f"{scenario}: a {sc.model} scenario has no levers or dated "
                              "events to list (allowed: cpsu scenarios)")
    groups = listing(sc, lever, by)
    if markdown:
        typer.echo(listing_markdown(groups))
        return
    con = console()
    for title, rows in groups:
        t = Table(title=title, title_justify="left", show_header=True, header_style="bold")
        # grouped by era, the era is the title and the lever a column
        cols = ["date", "event", "lever", "value", "ramp", "note"] if by == "era" else [
            "date", "era", "event", "type", "value", "ramp", "note"]
        for c in cols:
            t.add_column(c, justify="right" if c in ("value", "ramp") else "left",
                         overflow="fold")
        for r in rows:
            note = r["note"] + ("" if r["enabled"] else " (disabled)") + (
                f" (overridden by {r['held']})" if r["held"] else "")
            cells = {**r, "value": "" if r["value"] is None else f"{r['value']:g}",
                     "ramp": str(r["ramp_months"] or ""), "note": note.strip()}
            if by == "era" and not r["lever"]:
                cells["lever"] = f"({r['type']})"
            t.add_row(*(cells[c] for c in cols), style=None if r["enabled"] else "dim")
        con.print(t, markup=False)


def register(app: typer.Typer) -> None:
    """Add ``compare``, ``ablate`` and ``events`` to the app."""
    app.command("compare")(compare)
    app.command("ablate")(ablate)
    app.command("events")(events)
