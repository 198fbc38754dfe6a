"""Regenerate, or check, every generated part of the docs: one entry point for all the docs'
generators.

    python scripts/docs.py --check          # the fast generators (~1 min); exit 1 if a doc is stale
    python scripts/docs.py --write          # rewrite what they generate
    python scripts/docs.py --check --slow   # and the slow ones (minutes: many model runs)
    python scripts/docs.py --write --slow   # what a maintainer runs before a release
    python scripts/docs.py --list           # the generators, what each writes

The test suite runs the fast ``--check`` (``tests/test_docs.py``); CI does not run ``--slow``.
Each generator can also run alone (its command is listed by ``--list``). Numbers in the docs
that no generator writes say the command that produced them beside them.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

CLASSIC, VALIDATION = ROOT / "docs" / "CLASSIC.md", ROOT / "docs" / "VALIDATION.md"
#: the small Epstein tables of docs/CLASSIC.md (seconds), checked by the fast run
EPSTEIN_SMALL = ["model2 --seeds 2 --steps 300", "run2 --seeds 1 --steps 300"]
EPSTEIN_FULL = ["model2", "run2", "peacekeeping", "composition"]


def _module(rel: str):
    """A script of the repository as a module (scripts/ and benchmarks/ are not packages)."""
    path = ROOT / rel
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    # registered under its name before it runs, so that a process pool pickles its functions
    # by reference to this very module (crisis_tables.one)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _main(rel: str, *extra: str) -> Callable[[bool], int]:
    def go(write: bool) -> int:
        return _module(rel).main([*extra, "--write" if write else "--check"])

    return go


def _odd(write: bool) -> int:
    return _module("scripts/gen_odd_tables.py").main([] if write else ["--check"])


def _epstein(doc: Path, only: list[str] | None) -> Callable[[bool], int]:
    def go(write: bool) -> int:
        return _module("benchmarks/epstein_tables.py").check(doc, only, write, exact=True)

    return go


#: (name, slow, what it writes, its own command, run(write) -> exit status)
GENERATORS = [
    ("odd", False, "docs/ODD.md, docs/ARCHITECTURE.md: parameter tables, submodels, the month",
     "python scripts/gen_odd_tables.py", _odd),
    ("perf", False, "docs/PERFORMANCE.md, docs/DASHBOARD.md: tables from benchmarks/results/",
     "python scripts/perf_tables.py --write", _main("scripts/perf_tables.py")),
    ("classic", False, "docs/VALIDATION.md: Granovetter, Kuran, Emperor's Dilemma (~20 s)",
     "python scripts/classic_tables.py --write", _main("scripts/classic_tables.py")),
    ("emperor-believers", False, "docs/CLASSIC.md: the Emperor's Dilemma by number of true "
     "believers (300 small runs)", "python benchmarks/emperor_believers.py --write",
     _main("benchmarks/emperor_believers.py")),
    ("attitudes", False, "docs/VALIDATION.md: attitudes table (one cpsu run at 1:1,000)",
     "python scripts/attitudes_table.py --write", _main("scripts/attitudes_table.py")),
    ("epstein-small", False, "docs/CLASSIC.md: the small Epstein tables (~6 s)",
     "python benchmarks/epstein_tables.py --check docs/CLASSIC.md --only "
     + " ".join(f"'{x}'" for x in EPSTEIN_SMALL) + " --write",
     _epstein(CLASSIC, EPSTEIN_SMALL)),
    ("cpsu-validation", True, "docs/VALIDATION.md: the CPSU fit, checks and forecast (three "
     "cpsu runs at 1:1,000)", "python scripts/validate_cpsu.py --write",
     _main("scripts/validate_cpsu.py")),
    ("ablation", True, "docs/VALIDATION.md: the hypothesis table (36 cpsu runs at 1:5,000)",
     "python scripts/ablation_table.py --write", _main("scripts/ablation_table.py")),
    ("posterior", True, "docs/VALIDATION.md: the ABC-SMC posterior of calibration/cpsu_abc and "
     "20 runs drawn from it", "python scripts/posterior_cpsu.py --write",
     _main("scripts/posterior_cpsu.py")),
    ("m7-order", True, "docs/VALIDATION.md: fit and forecast with synchronous and sequential M7 "
     "(six cpsu runs at 1:1,000)", "python scripts/m7_order_table.py --write",
     _main("scripts/m7_order_table.py")),
    ("crisis", True, "docs/VALIDATION.md: the August 1991 crisis tables (~40 cpsu runs)",
     "python scripts/crisis_tables.py --write", _main("scripts/crisis_tables.py")),
    ("assumptions", True, "docs/VALIDATION.md: which assumptions carry the conclusion (reads "
     "the committed screening calibration/morris_cpsu and hypercube calibration/lhs_cpsu; "
     "runs nothing)",
     "python scripts/assumptions_table.py --write", _main("scripts/assumptions_table.py")),
    ("epstein-classic", True, "docs/CLASSIC.md: the full-size Epstein Model II and Run 2 tables "
     "(~3 min)", "python benchmarks/epstein_tables.py --check docs/CLASSIC.md --write",
     _epstein(CLASSIC, EPSTEIN_FULL)),
    ("epstein-validation", True, "docs/VALIDATION.md: Epstein Model I, Runs 1-5 (minutes)",
     "python benchmarks/epstein_tables.py --check docs/VALIDATION.md --write",
     _epstein(VALIDATION, None)),
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="exit 1 if a doc differs")
    mode.add_argument("--write", action="store_true", help="rewrite the generated parts")
    mode.add_argument("--list", action="store_true", help="list the generators")
    ap.add_argument("--slow", action="store_true", help="also the slow generators")
    ap.add_argument("--only", nargs="+", help="these generators only (names as --list shows)")
    a = ap.parse_args(argv)
    if a.list:
        for name, slow, what, cmd, _ in GENERATORS:
            print(f"{name:20} {'slow' if slow else 'fast'}  {what}\n{'':27}PYTHONPATH=src {cmd}")
        return 0
    stale = []
    for name, slow, _, cmd, run in GENERATORS:
        if (a.only and name not in a.only) or (slow and not a.slow and not a.only):
            continue
        t = time.perf_counter()
        rc = run(a.write)
        print(f"{name}: {'stale' if rc else 'written' if a.write else 'current'} "
              f"({time.perf_counter() - t:.0f} s)", flush=True)
        if rc:
            stale.append(f"{name} (PYTHONPATH=src {cmd})")
    if stale:
        print("stale generated docs: " + "; ".join(stale) + ". To refresh the docs run "
              f"python scripts/docs.py --write{' --slow' if a.slow else ''}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
