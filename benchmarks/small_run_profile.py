"""Where a small run's time goes (issue 18, item 2): the compiled kernels against the Python
between them, per kernel, for whole cpsu runs in a warm process on one thread.

    PYTHONPATH=src python benchmarks/small_run_profile.py --runs 20 --scale 1e-4 \
        --json benchmarks/results/small_run_profile.json

Each seed is run twice in a row: once plain (its wall time is the run's time) and once with
every kernel the month calls from Python wrapped in a timer (each numba dispatcher the model's
modules hold is replaced by a function that adds the call's wall time to its kernel's total;
calls from one kernel to another are compiled and not counted twice). The kernels' share is
their summed wall time in the timed run, dispatch included; the rest of the plain run is Python
(the month's bookkeeping, numpy calls on a few numbers, the summary). Most months run in
stretches of whole months, one compiled call each (``months``, :mod:`allegiance.models.cpsu.
stretch`: the stocks, the terms, the phases), timed as one kernel and counted by the months
it ran. Of the other months, those without an event that needs the agents run the phases from
``demography`` to ``members_end`` (the one pass over every agent among them) in one compiled
call, ``month_phases``, timed as one kernel; the rest call them one at a time
(``demography_phase``, ``members_phase``, ``adults_phase``, ...). The months' slots (the
agent arrays' used length, dead agents included, which the passes visit) are averaged from
the arguments of ``month_phases`` and ``adults_phase`` (the slots before the month's births
and arrivals), and from the start and end of each stretch. Medians over the runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent


#: the compiled calls made once a month (one or the other), whose first argument is the
#: slots' chunk bounds
_MONTHLY = ("month_phases", "adults_phase")
#: the compiled call that runs a stretch of months
_STRETCH = "months"


def _wrap_kernels(totals: dict[str, float], calls: dict[str, int], slots: list[int]
                  ) -> list[tuple[object, str, object]]:
    """Replace every numba dispatcher held by the model's and mechanisms' modules with a
    timing wrapper; returns what to put back (module, name, dispatcher)."""
    from numba.core.registry import CPUDispatcher

    import allegiance.mechanisms as mech_pkg
    import allegiance.models.cpsu as cpsu_pkg

    mods = [m for name, m in sorted(sys.modules.items())
            if m is not None and name.startswith((cpsu_pkg.__name__, mech_pkg.__name__,
                                                   "allegiance.state", "allegiance.rng"))]
    wrapped: dict[int, object] = {}
    undo = []
    for mod in mods:
        for attr, obj in list(vars(mod).items()):
            if not isinstance(obj, CPUDispatcher):
                continue
            if id(obj) not in wrapped:
                name = obj.py_func.__name__

                def timed(*args, _f=obj, _n=name):
                    t = time.perf_counter()
                    r = _f(*args)
                    totals[_n] += time.perf_counter() - t
                    calls[_n] += 1
                    if _n in _MONTHLY:
                        slots.append(int(args[0][-1]))  # the slots' chunk bounds
                    elif _n == _STRETCH:  # months(s0, s1, ...) -> (end, slots, ...)
                        ran = int(r[0]) - int(args[0])
                        calls["stretch_months"] += ran
                        if ran:
                            slots.append(int(args[8][0]))  # sizes: slots at the start
                    return r

                wrapped[id(obj)] = timed
            undo.append((mod, attr, obj))
            setattr(mod, attr, wrapped[id(obj)])
    return undo


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--scale", type=float, default=1e-4)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    sys.path.insert(0, str(HERE))
    from _timing import about

    import allegiance

    where = about(sys.argv)  # the tree as it is when the runs start
    allegiance.run("cpsu", scale=a.scale, seed=1, threads=1)  # load the kernels
    plain, kern, per_kernel, months, slot_means = [], [], defaultdict(list), [], []
    one_call: list[int] = []
    stretch_months: list[int] = []
    stretch_calls: list[int] = []
    totals: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    slots: list[int] = []
    for seed in range(2, 2 + a.runs):  # each seed plain, then timed (alternating)
        t = time.perf_counter()
        allegiance.run("cpsu", scale=a.scale, seed=seed, threads=1)
        plain.append(time.perf_counter() - t)
        totals.clear()
        calls.clear()
        slots.clear()
        undo = _wrap_kernels(totals, calls, slots)
        try:
            allegiance.run("cpsu", scale=a.scale, seed=seed, threads=1)
        finally:
            for mod, attr, obj in undo:
                setattr(mod, attr, obj)
        kern.append(sum(totals.values()))
        for k, v in totals.items():
            per_kernel[k].append(v)
        months.append(sum(calls.get(k, 0) for k in _MONTHLY) + calls.get("stretch_months", 0))
        one_call.append(calls.get("month_phases", 0))
        stretch_months.append(calls.get("stretch_months", 0))
        stretch_calls.append(calls.get(_STRETCH, 0))
        slot_means.append(statistics.fmean(slots) if slots else 0.0)
    med = statistics.median
    run_s, kern_s = med(plain), med(kern)
    out = {**where, "loadavg": about(sys.argv)["loadavg"], "scale": a.scale, "runs": a.runs,
           "seeds": [2, 1 + a.runs],
           "run_seconds": [round(x, 4) for x in plain],
           "median_run_s": round(run_s, 4), "median_kernels_s": round(kern_s, 4),
           "median_python_s": round(run_s - kern_s, 4),
           "months": int(med(months)), "one_call_months": int(med(one_call)),
           "stretch_months": int(med(stretch_months)), "stretches": int(med(stretch_calls)),
           "mean_slots": round(med(slot_means)),
           "kernels": {k: round(med(v), 4) for k, v in
                       sorted(per_kernel.items(), key=lambda kv: -med(kv[1]))}}
    one = out["kernels"].get("month_phases", 0.0)
    out["one_call_ns_per_slot_month"] = round(
        one / max(out["one_call_months"], 1) / out["mean_slots"] * 1e9, 2)
    out["stretch_us_per_month"] = round(
        out["kernels"].get(_STRETCH, 0.0) / max(out["stretch_months"], 1) * 1e6, 1)
    text = json.dumps(out, indent=1)
    print(text)
    if a.json is not None:
        a.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
