"""Compare from a shared prefix (issue 18): ``compare`` with B run from A's state at the month
their events first differ, against B run from the start.

    PYTHONPATH=src python benchmarks/compare_branch.py --scale 1e-3 --repeat 3 \
        --set-b hold.privilege.from=1960-01 --set-b hold.privilege.value=0.9

Runs the pair once to load the kernels, then ``--repeat`` times each way, alternating, on one
thread, and prints the median wall time of the whole pair (A and B, as ``compare`` runs them
in this process) each way and their ratio. It checks that B's results are the same either
way, byte for byte.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--set-b", action="append", default=None,
                    help="B's change (default: privilege held at 0.9 from 1960-01)")
    ap.add_argument("--json", help="also write the times to this file")
    a = ap.parse_args(argv)
    from _timing import medians_printed

    from allegiance.compare import run_pair, shared_prefix
    from allegiance.scenario import load_scenario

    set_b = a.set_b or ["hold.privilege.from=1960-01", "hold.privilege.value=0.9"]
    at = shared_prefix(load_scenario("cpsu"), load_scenario("cpsu", set_b), a.seed, a.scale)

    def pair(branch: bool):
        t = time.perf_counter()
        _, rb = run_pair("cpsu", "cpsu", seed=a.seed, scale=a.scale, overrides_b=set_b,
                         threads=1, branch=branch)
        return time.perf_counter() - t, rb

    pair(True)  # load the kernels
    times: dict[str, list[float]] = {"from the start": [], "branched": []}
    results = {}
    for _ in range(a.repeat):
        for name, branch in (("from the start", False), ("branched", True)):
            t, rb = pair(branch)
            times[name].append(t)
            results[name] = rb
    full, br = results["from the start"], results["branched"]
    if not (full.timeseries.equals(br.timeseries) and full.events.equals(br.events)
            and full.summary == br.summary):
        print("error: B differs when branched", file=sys.stderr)
        return 1
    print(f"compare cpsu cpsu --set-b {' --set-b '.join(set_b)} at 1:{round(1 / a.scale):,}, "
          f"one thread; B branches at {at}")
    med, ratio = medians_printed(times)
    print(f"  speed-up: {ratio:.2f}x (B's results identical)")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"scale": a.scale, "seed": a.seed, "set_b": set_b, "branch_at": at,
                       "times": times, "median": med, "speedup": ratio}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
