"""The hypothesis (ablation) table of docs/VALIDATION.md: the full CPSU model and the model with
each mechanism switched off, over the same seeds (issue 15, item 6).

    PYTHONPATH=src python scripts/ablation_table.py            # print it (Markdown)
    PYTHONPATH=src python scripts/ablation_table.py --write    # put it into VALIDATION.md
    PYTHONPATH=src python scripts/ablation_table.py --check    # exit 1 if VALIDATION.md differs

The same runs as ``allegiance ablate cpsu --seeds 3 --scale 0.0002`` (two worker processes
with one numba thread each: the results do not depend on the executor).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

SEEDS, SCALE, WORKERS = 3, 2e-4, 2
COMMAND = "PYTHONPATH=src python scripts/ablation_table.py --write"


def table() -> str:
    from allegiance import ablation
    from allegiance.experiments.executors import PoolExecutor

    runs = ablation.run_ensemble("cpsu", seeds=SEEDS, scale=SCALE,
                                 executor=PoolExecutor(WORKERS))
    tab = ablation.hypothesis_table(runs, 1.5)
    import allegiance

    version = allegiance.__version__
    return ablation.to_markdown(
        tab, tolerance=1.5,
        command=f"allegiance ablate cpsu --seeds {SEEDS} --scale {SCALE:g} --workers {WORKERS}",
        note=f"Written by `{COMMAND}` (allegiance {version}; seeds run_seed(1917, k), "
             f"k = 0..{SEEDS - 1}, scale 1:{1 / SCALE:,.0f}).")


def main(argv: list[str] | None = None) -> int:
    from allegiance import odd

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args(argv)
    blocks = {"ablation": table()}
    if not (a.write or a.check):
        print(blocks["ablation"])
        return 0
    return odd.write_blocks(ROOT / "docs" / "VALIDATION.md", blocks, a.check, COMMAND)


if __name__ == "__main__":
    sys.exit(main())
