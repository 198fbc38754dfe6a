"""Wall time of the fused and the reference engine on the same runs, alternating.

    PYTHONPATH=src python benchmarks/engines.py --scales 1e-4 1e-3 --repeat 3 --threads 1

Each round runs ``cpsu`` (seed 1, 1917-1991) once with ``run.engine = "fused"`` and once with
``"reference"`` at every scale, in one warm process (kernels compiled and loaded before the
first timed round), and checks that the two timeseries are identical. Prints, per scale, the
median engine wall time of each (``manifest.wall_seconds``) and their ratio; with ``--json``
writes them to a file. The machine is shared: rounds alternate so both engines see the same
load, and only medians and same-round ratios are reported.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[1e-4, 1e-3])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None, help="write the medians to this file")
    a = ap.parse_args(argv)
    import numpy as np

    import allegiance

    def once(scale: float, engine: str):
        return allegiance.run("cpsu", scale=scale, seed=1, threads=a.threads,
                              overrides={"run.engine": engine})

    for engine in ("fused", "reference"):  # compile / load the kernels
        once(1e-5, engine)
    times: dict[float, dict[str, list[float]]] = {s: {"fused": [], "reference": []}
                                                  for s in a.scales}
    for _ in range(a.repeat):
        for scale in a.scales:
            f, r = once(scale, "fused"), once(scale, "reference")
            for col in f.timeseries.columns:
                x, y = f.timeseries[col].to_numpy(), r.timeseries[col].to_numpy()
                same = (np.array_equal(x, y, equal_nan=True) if x.dtype.kind == "f"
                        else bool((x == y).all()))
                if not same:
                    print(f"DIFFERENT at scale {scale:g}: {col}", file=sys.stderr)
                    return 1
            times[scale]["fused"].append(f.manifest["wall_seconds"])
            times[scale]["reference"].append(r.manifest["wall_seconds"])
    out = {}
    for scale, t in times.items():
        fm, rm = statistics.median(t["fused"]), statistics.median(t["reference"])
        ratios = [r / f for f, r in zip(t["fused"], t["reference"], strict=True)]
        out[f"{scale:g}"] = {"fused_s": fm, "reference_s": rm,
                             "reference_over_fused": statistics.median(ratios),
                             "runs": a.repeat, "threads": a.threads}
        print(f"scale {scale:g}: fused {fm:.2f} s, reference {rm:.2f} s (median of "
              f"{a.repeat}); reference/fused {statistics.median(ratios):.2f} "
              f"(median of same-round ratios); identical timeseries")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(out, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
