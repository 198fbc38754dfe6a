"""Wall time of the synchronous (one-pass) and the sequential month, alternating (issue 18).

    PYTHONPATH=src python benchmarks/m7_order.py --scales 1e-3 --repeat 3 --threads 1
    PYTHONPATH=src python benchmarks/m7_order.py --scales 1e-2 --repeat 3 --threads 2

Each round runs ``cpsu`` (seed 1, 1917-1991) once with ``run.m7_order = "synchronous"`` and
once with ``"sequential"`` at every scale, in one warm process (kernels compiled and loaded
before the first timed round). Prints, per scale, the median engine wall time of each
(``manifest.wall_seconds``), the median of the same-round ratios, and the median seconds of
each phase (``manifest.phase_seconds``; ``adults`` + ``applications`` against ``adults`` +
``learning``); with ``--json`` writes them to a file. The machine is shared: rounds
alternate so both orders see the same load, and only medians and same-round ratios are
reported.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

ORDERS = ("synchronous", "sequential")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[1e-3])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None, help="write the medians to this file")
    a = ap.parse_args(argv)
    import allegiance

    def once(scale: float, order: str):
        return allegiance.run("cpsu", scale=scale, seed=1, threads=a.threads,
                              overrides={"run.m7_order": order})

    for order in ORDERS:  # compile / load the kernels
        once(1e-5, order)
    runs: dict[float, dict[str, list]] = {s: {o: [] for o in ORDERS} for s in a.scales}
    for k in range(a.repeat):
        for scale in a.scales:
            for order in (ORDERS if k % 2 == 0 else ORDERS[::-1]):
                res = once(scale, order)
                m = res.manifest
                steps = float(res.timeseries["population"].sum()) * scale  # living agent-months
                runs[scale][order].append((m["wall_seconds"], m["phase_seconds"], steps))
                print(f"round {k + 1} scale {scale:g} {order}: {m['wall_seconds']:.2f} s",
                      file=sys.stderr)
    out = {"command": "PYTHONPATH=src python benchmarks/m7_order.py " + " ".join(
        sys.argv[1:] if argv is None else argv), "threads": a.threads, "scales": {}}
    for scale in a.scales:
        r = runs[scale]
        walls = {o: [w for w, _, _ in r[o]] for o in ORDERS}
        ratios = [s / q for s, q in zip(walls["synchronous"], walls["sequential"], strict=True)]
        phases = {o: {ph: round(statistics.median(p[ph] for _, p, _ in r[o]), 3)
                      for ph in r[o][0][1]} for o in ORDERS}
        out["scales"][f"{scale:g}"] = {
            "wall_s": {o: round(statistics.median(walls[o]), 3) for o in ORDERS},
            "all_wall_s": walls, "sync_over_seq": round(statistics.median(ratios), 3),
            "phase_s": phases, "agent_steps": r["synchronous"][0][2]}
        x = out["scales"][f"{scale:g}"]
        print(f"scale {scale:g}: synchronous {x['wall_s']['synchronous']:.2f} s, sequential "
              f"{x['wall_s']['sequential']:.2f} s, synchronous / sequential "
              f"{x['sync_over_seq']:.3f} (median of {a.repeat} same-round ratios)")
        for o in ORDERS:
            print(f"  {o}: " + ", ".join(f"{ph} {s:.2f}" for ph, s in sorted(
                phases[o].items(), key=lambda kv: -kv[1])))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
