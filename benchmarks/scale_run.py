"""One full CPSU run at a given scale, reporting wall/CPU time, agent-steps and memory.

    PYTHONPATH=src /usr/bin/time -v python benchmarks/scale_run.py --scale 0.01 --seed 1

Prints one JSON line (wall, CPU, agent-steps, per-phase seconds, peak RSS, the memory estimate,
the state's peak slots) and one with the headline outputs. Refuses (exit 2) like the CLI when
the memory estimate exceeds available memory.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--end", default=None, help="stop after this month (YYYY-MM): a partial run "
                                                "to measure memory and speed at large scale")
    ap.add_argument("--json", default=None, help="also write the first line to this file")
    ap.add_argument("--full-capacity", action="store_true",
                    help="with --end: allocate the state at the size of the whole 1917-1991 run "
                         "(as a full run does from its first month), to measure its memory")
    a = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _timing import about

    start = about([f"benchmarks/{Path(__file__).name}", *(sys.argv[1:] if argv is None else argv)])
    import allegiance
    from allegiance.errors import AllegianceError
    from allegiance.models.cpsu import CpsuModel
    from allegiance.scenario import load_scenario

    if a.full_capacity:
        full = CpsuModel.peak_slots(load_scenario("cpsu"), a.scale)
        CpsuModel.peak_slots = classmethod(lambda cls, sc, scale: full)

    c, t = time.process_time(), time.perf_counter()
    try:
        r = allegiance.run("cpsu", scale=a.scale, seed=a.seed, threads=a.threads,
                           overrides={"run.end": a.end} if a.end else {})
    except AllegianceError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    m = r.manifest
    keep = ("peak_rss_bytes", "memory_estimate_bytes", "scale", "seed", "wall_seconds",
            "threads", "phase_seconds", "setup_seconds")
    line = json.dumps({"wall_total": time.perf_counter() - t, "cpu": time.process_time() - c,
                       "agent_steps": float((r.timeseries["population"] * a.scale).sum()),
                       "months": len(r.timeseries), "end": a.end,
                       **{k: m[k] for k in m if k.startswith("state_") or k in keep}})
    print(line)
    outputs = {k: v for k, v in r.summary.get("headline", {}).items()
               if isinstance(v, (int, float))}
    print(json.dumps(outputs))
    if a.json:
        # the run's numbers, its headline outputs and where it came from (the load at the start
        # and at the end: a run this long on a shared machine says what ran beside it)
        rec = {**json.loads(line), **outputs, **start,
               "loadavg_end": [round(x, 2) for x in os.getloadavg()]}
        tmp = Path(a.json).with_suffix(".tmp")
        tmp.write_text(json.dumps(rec, indent=1) + "\n")
        os.replace(tmp, a.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
