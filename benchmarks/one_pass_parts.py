"""Where the one pass's time goes (issue 18): the cost of each part of ``one_pass``, per
slot, on a real state.

    PYTHONPATH=src python benchmarks/one_pass_parts.py --scale 1e-4 --scale 1e-2 \
        --json benchmarks/results/one_pass_parts.json

For each scale, a cpsu run (one thread, its member phases called one at a time) is stopped in
the month ``--at`` and the arguments of that month's ``one_pass`` are kept (the agents' arrays
copied, from the arguments of ``adults_phase``, which calls it). The pass is then timed on
them as the month runs it (every part on), with each part switched off in turn (its flag
argument false: the compiled code is the same, the part's loops are skipped) and with every
part off (what is left: the loop over blocks, the members' loop and the lanes). A part's
cost is the pass's time with it minus its time without it, per slot visited. The parts:

* ``socialization``: M2, the non-members turning 16 (and the members', in the members' loop);
* ``ritual``: M4, belief's decay (and the members' peer drift);
* ``legitimacy``: M6, trust moved towards the month's news (with the acceptance looked up);
* ``learning``: M7, trust moved towards last month's workplace mean (with the gather);
* ``trust sums``: next month's workplace sums of trust (the scatter);
* ``stocks``: next month's stocks of the whole population and its natural deaths.

Each timing is the median of ``--repeat`` batches of ``--calls`` calls, the ways taking
turns batch by batch so that all see the same load. Repeated calls keep changing belief and
trust a little, as months would; the branches taken stay those of the month.
"""

from __future__ import annotations

import argparse
import inspect
import json
import statistics
import sys
import time
from pathlib import Path

from allegiance.models.cpsu.adults import one_pass
from allegiance.models.cpsu.fused import adults_phase

HERE = Path(__file__).resolve().parent

#: one_pass's arguments, by position, and those of adults_phase (which calls it)
ARGS = list(inspect.signature(one_pass.py_func).parameters)
PHASE_ARGS = list(inspect.signature(adults_phase.py_func).parameters)
#: the parts, by name: the flag argument that switches each off
PARTS = {"socialization": "soc_on", "ritual": "ritual_on", "legitimacy": "legit_on",
         "learning": "learn_on", "trust sums": "sums_on", "stocks": "stocks_on"}


def capture(scale: float, at: str, threads: int) -> tuple:
    """The arguments of ``one_pass`` in the month ``at`` of a cpsu run (arrays copied)."""
    import numpy as np

    import allegiance
    import allegiance.models.cpsu.month as month_mod
    from allegiance.calendar import parse_month

    want = parse_month(at)
    orig, one_call = month_mod.adults_phase, month_mod.ONE_CALL_MAX_SLOTS
    kept: list[tuple] = []

    def keep(*args):
        if args[PHASE_ARGS.index("month")] == want and not kept:
            if args[PHASE_ARGS.index("fresh")]:
                raise SystemExit(f"{at}: last month's sums are taken again (choose another)")
            named = [args[PHASE_ARGS.index(name)] for name in ARGS]
            kept.append(tuple(x.copy() if isinstance(x, np.ndarray) else x for x in named))
        return orig(*args)

    month_mod.adults_phase, month_mod.ONE_CALL_MAX_SLOTS = keep, 0
    try:
        allegiance.run("cpsu", scale=scale, seed=1, threads=threads,
                       overrides={"run.end": at})
    finally:
        month_mod.adults_phase, month_mod.ONE_CALL_MAX_SLOTS = orig, one_call
    if not kept:
        raise SystemExit(f"no one_pass in {at}")
    return kept[0]


def measure(args: tuple, calls: int, repeat: int) -> dict[str, float]:
    """Median seconds of one call of ``one_pass`` in each way (see the module docstring)."""
    ways: dict[str, tuple] = {"all parts": args}
    for part, flag in PARTS.items():
        a = list(args)
        a[ARGS.index(flag)] = False
        ways[f"without {part}"] = tuple(a)
    a = list(args)
    for flag in PARTS.values():
        a[ARGS.index(flag)] = False
    ways["no part"] = tuple(a)
    times: dict[str, list[float]] = {k: [] for k in ways}
    for a in ways.values():
        one_pass(*a)  # loaded, memory touched
    for _ in range(repeat):
        for k, a in ways.items():
            t = time.perf_counter()
            for _ in range(calls):
                one_pass(*a)
            times[k].append((time.perf_counter() - t) / calls)
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, action="append", default=None)
    ap.add_argument("--at", default="1977-01", help="the month whose pass is timed")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--calls", type=int, default=0,
                    help="calls per batch (default: about 5 million slots a batch)")
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    sys.path.insert(0, str(HERE))
    from _timing import about

    import allegiance
    from allegiance.engine import set_threads

    where = about(sys.argv)
    allegiance.run("cpsu", scale=1e-5, seed=1, threads=a.threads)  # load the kernels
    out = {**where, "at": a.at, "threads": a.threads, "repeat": a.repeat, "scales": {}}
    for scale in a.scale or [1e-4]:
        args = capture(scale, a.at, a.threads)
        set_threads(a.threads)
        slots = int(args[0][-1])
        calls = a.calls or max(1, 5_000_000 // slots)
        med = measure(args, calls, a.repeat)
        ns = {k: v / slots * 1e9 for k, v in med.items()}
        parts = {p: ns["all parts"] - ns[f"without {p}"] for p in PARTS}
        out["scales"][str(scale)] = {
            "slots": slots, "calls": calls,
            "ns_per_slot": {k: round(v, 3) for k, v in ns.items()},
            "part_ns_per_slot": {k: round(v, 3) for k, v in parts.items()}}
        print(f"1:{round(1 / scale):,}: {slots:,} slots, the pass {ns['all parts']:.2f} ns a "
              "slot; " + ", ".join(f"{p} {v:.2f}" for p, v in parts.items())
              + f"; no part {ns['no part']:.2f}", flush=True)
    out["loadavg"] = about(sys.argv)["loadavg"]
    if a.json is not None:
        a.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
