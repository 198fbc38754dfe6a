"""The docs say what the code and the result files say: every generated part is current, and CI
runs the README's Quickstart as written."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module(rel: str):
    path = ROOT / rel
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_generated_docs_are_current():
    """``scripts/docs.py --check`` (the fast generators: ODD tables, the tables from
    benchmarks/results/, the classic models' numbers, the attitudes table, the small Epstein
    tables) finds nothing stale; ``--slow`` (crisis and full-size Epstein tables) is for a
    maintainer, not for CI.

    On one numba thread: the classic models' kernels run on every thread whatever their size
    (only cpsu lowers its threads on small populations), and on a busy 2-core machine the
    Emperor's 2-thread synchronous steps took 40 of this check's 80 s. Results do not depend
    on the thread count (test_classic and test_epstein check 1 against 2 threads)."""
    env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "docs.py"), "--check"],
                       capture_output=True, text=True, check=False, timeout=900, env=env)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    for name in ("odd", "perf", "classic", "emperor-believers", "attitudes", "epstein-small"):
        assert f"{name}: current" in r.stdout, r.stdout


def test_a_changed_number_in_a_timing_table_is_noticed():
    """perf_tables' blocks are what the result files say: a doc whose number differs from its
    file is rewritten (so ``--check`` fails on it)."""
    from allegiance import odd

    perf = _module("scripts/perf_tables.py")
    text = (ROOT / "docs" / "PERFORMANCE.md").read_text(encoding="utf-8")
    blocks = {name: fn() for name, fn in perf.PERFORMANCE.items()}
    assert odd.replace_blocks(text, blocks) == text
    engines = blocks["perf-engines"]
    assert "benchmarks/results/engines.json" in engines and "benchmarks/engines.py" in engines
    row = next(line for line in engines.splitlines() if line.startswith("| 1:1,000 |"))
    tampered = text.replace(row, row.replace(" s |", "0 s |", 1))
    assert tampered != text and odd.replace_blocks(tampered, blocks) == text


def test_every_timing_table_names_its_command_and_result_file():
    perf = _module("scripts/perf_tables.py")
    for name, fn in {**perf.PERFORMANCE, **perf.DASHBOARD}.items():
        body = fn()
        if "|---" in body and name not in ("perf-status", "perf-throughput", "perf-roofline"):
            assert "Raw result" in body and "` → `benchmarks/results/" in body, name
    # the three tables without a source line sit under one that names bench.json
    assert "benchmarks/results/bench.json" in perf.bench_stream()


def test_ci_runs_the_readme_quickstart_in_a_fresh_clone():
    """.ci/run takes the Quickstart's two commands from README.md and runs them, in order, in a
    clone in a temporary folder (nothing written into the checkout)."""
    quick = _module(".ci/quickstart.py")
    cmds = quick.commands((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(cmds) == 2
    assert cmds[0].endswith("allegiance run cpsu") and "pip install -e ." in cmds[0]
    assert "python -m pytest -q -n auto" in cmds[1] and '".[dev]"' in cmds[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 .ci/quickstart.py README.md" in ci
    assert 'git clone -q --no-hardlinks . "$tmp/allegiance"' in ci
    assert 'cd "$tmp/allegiance"' in ci and 'bash -euo pipefail -c "$cmd"' in ci
    assert quick.commands("# x\n\n## Quickstart\n\nno commands\n\n## Next\n") == []


def test_the_posterior_table_is_the_committed_calibration():
    """The ABC-SMC posterior in docs/VALIDATION.md is what calibration/cpsu_abc/calibration.json
    says (the predictive table beside it reruns the model: a slow generator), and the
    calibration file still names parameters the scenario has."""
    from allegiance.experiments.calibrate import Calibration, load_calibration

    post = _module("scripts/posterior_cpsu.py")
    cal, spec = post.load()
    block = post.parameters(cal)
    assert block in (ROOT / "docs" / "VALIDATION.md").read_text(encoding="utf-8")
    toml_spec, base = load_calibration(ROOT / "calibration" / "cpsu_abc.toml")
    assert set(toml_spec.parameters) == set(spec["parameters"])
    Calibration(toml_spec, base, "cpsu_abc.toml")  # refuses unknown keys and bad ranges
    # every kept particle lies inside the prior
    import pandas as pd

    parts = pd.read_parquet(post.CAL / "particles.parquet")
    for name, (lo, hi) in cal["prior"].items():
        assert parts[name].between(lo, hi).all(), name
