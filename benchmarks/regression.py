"""Bit-identity check for speed work: save a run, then compare later runs against it exactly.

    PYTHONPATH=src python benchmarks/regression.py save    /tmp/base --scale 1e-4 --seed 1
    PYTHONPATH=src python benchmarks/regression.py compare /tmp/base --scale 1e-4 --seed 1

``compare`` exits 1 and names the differing columns unless timeseries (NaN-aware, exact),
events and summary are identical. Use it after every optimization that should not change
results (and with ``--threads 1`` / ``--threads 2`` to check thread-count independence).
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["save", "compare"])
    ap.add_argument("base", help="path prefix of the saved files")
    ap.add_argument("--scale", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None)
    a = ap.parse_args(argv)
    import numpy as np
    import pandas as pd

    import allegiance

    r = allegiance.run("cpsu", scale=a.scale, seed=a.seed, threads=a.threads)
    summary = json.loads(json.dumps(r.summary, default=str))
    if a.mode == "save":
        r.timeseries.to_parquet(a.base + ".ts.parquet")
        r.events.to_parquet(a.base + ".ev.parquet")
        with open(a.base + ".summary.json", "w") as f:
            json.dump(summary, f)
        print("saved", a.base)
        return 0
    b = pd.read_parquet(a.base + ".ts.parquet")
    ts = r.timeseries
    bad = []
    if list(ts.columns) != list(b.columns) or ts.shape != b.shape:
        bad.append("timeseries shape/columns")
    else:
        for c in ts.columns:
            x, y = ts[c].to_numpy(), b[c].to_numpy()
            same = (np.array_equal(x, y, equal_nan=True) if x.dtype.kind == "f"
                    else bool((x == y).all()))
            if not same:
                bad.append(c)
    if not r.events.astype(str).equals(pd.read_parquet(a.base + ".ev.parquet").astype(str)):
        bad.append("events")
    with open(a.base + ".summary.json") as f:
        if summary != json.load(f):
            bad.append("summary")
    print("IDENTICAL" if not bad else "DIFFERENT: " + ", ".join(bad),
          f"(engine {r.manifest['wall_seconds']} s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
