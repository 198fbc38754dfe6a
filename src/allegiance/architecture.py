"""The package's layers, declared once: ``tests/test_layers.py`` checks every import against
them and ``docs/ARCHITECTURE.md`` shows them (a generated table)."""

from __future__ import annotations

#: layers from the bottom up, as (name, top-level modules or packages, what they hold): a
#: module may import from its own layer and the layers before it, never from a later one
LAYERS: list[tuple[str, tuple[str, ...], str]] = [
    ("foundation", ("errors", "calendar", "version", "rng", "_jitcache", "registry",
                    "architecture", "outdir", "limits"),
     "errors, dates, the version, counter-based random numbers, the model registry, where "
     "commands may write (output directories claimed and locked, files written atomically), "
     "the limits of seeds, threads, scales and experiment sizes"),
    ("data and scenarios", ("state", "data", "scenario", "plotting", "readable"),
     "agent state (struct of arrays), the historical data, scenario schemas and loading, the "
     "plotting kit, number formatting"),
    ("engine", ("engine", "checkpoint"),
     "the step loop every model runs; a run's state saved to resume or branch"),
    ("mechanisms", ("mechanisms",), "the CPSU model's mechanisms M1–M12 and their Context"),
    ("models", ("models", "examples"),
     "the CPSU model, the classic models, the Ishigami function; the example add-on"),
    ("runs", ("results", "api"), "one run: the Python API and its saved results"),
    ("many runs and reports", ("experiments", "compare", "ablation", "calibrate_cpsu", "odd",
                               "views", "report"),
     "executors, ensembles, sweeps, sensitivity, calibration, comparisons, the ablation table, "
     "generated docs, overview figures, the HTML report"),
    ("interfaces", ("dashboard", "cli_common", "cli_experiments", "cli_cpsu", "cli_dashboard",
                    "cli", "__main__"),
     "the command line and the browser dashboard"),
]


def layers_md() -> str:
    """:data:`LAYERS` as a Markdown table (bottom layer first)."""
    lines = ["| layer | modules (`allegiance.…`) | what they hold |", "|---|---|---|"]
    for name, mods, what in LAYERS:
        lines.append(f"| {name} | {', '.join(f'`{m}`' for m in mods)} | {what} |")
    return "\n".join(lines) + "\n"
