"""Wall time of the synchronous (one-pass) and the sequential month, alternating (issue 18).

    git archive 0639579 src | tar -x -C /tmp/before     # the tree before issue 18 (optional)
    PYTHONPATH=src python benchmarks/m7_order.py --scale 1e-3 --repeat 3 --threads 1 \\
        --before /tmp/before/src --json benchmarks/results/m7_order_1e-3.json

Each round runs ``cpsu`` (seed 1, 1917-1991) once with ``run.m7_order = "synchronous"``, once
with ``"sequential"`` and, with ``--before``, once with another ``src/`` tree as it is, each in
a fresh interpreter that first loads the kernels with a tiny run (as ``benchmarks/ab.py``);
the order of the variants rotates from round to round. Prints the median engine wall time
(``manifest.wall_seconds``) and CPU time of each, the medians of the same-round ratios, and
the median seconds of each phase (``manifest.phase_seconds``); ``--json`` writes every run.
The machine is shared: only medians and same-round ratios are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

CODE = """
import json, resource, allegiance
over = {over!r}
allegiance.run("cpsu", scale=1e-5, seed=1, threads={threads}, overrides=over)  # load kernels
c0 = resource.getrusage(resource.RUSAGE_SELF)
r = allegiance.run("cpsu", scale={scale}, seed=1, threads={threads}, overrides=over)
c1 = resource.getrusage(resource.RUSAGE_SELF)
m = r.manifest
print(json.dumps({{"wall": m["wall_seconds"], "phases": m["phase_seconds"],
                  "cpu": c1.ru_utime - c0.ru_utime + c1.ru_stime - c0.ru_stime,
                  "peak_rss_bytes": m["peak_rss_bytes"],
                  "agent_steps": float(r.timeseries["population"].sum()) * {scale},
                  "load": open("/proc/loadavg").read().split()[0]}}))
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1e-3)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--before", default=None, help="another src/ tree to time as a variant")
    ap.add_argument("--json", default=None, help="write every run and the medians here")
    a = ap.parse_args(argv)
    here = str(Path(__file__).resolve().parents[1] / "src")
    variants = {"synchronous": (here, {"run.m7_order": "synchronous"}),
                "sequential": (here, {"run.m7_order": "sequential"})}
    if a.before:
        variants["before"] = (a.before, {})
    names = list(variants)
    runs: dict[str, list[dict]] = {v: [] for v in names}
    for k in range(a.repeat):
        for v in names[k % len(names):] + names[: k % len(names)]:
            src, over = variants[v]
            code = CODE.format(over=over, threads=a.threads, scale=a.scale)
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 env={**os.environ, "PYTHONPATH": src}, check=True)
            runs[v].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"round {k + 1} {v}: {runs[v][-1]['wall']:.2f} s (load "
                  f"{runs[v][-1]['load']})", file=sys.stderr)
    med = {v: {"wall_s": statistics.median(r["wall"] for r in runs[v]),
               "cpu_s": statistics.median(r["cpu"] for r in runs[v]),
               "phase_s": {ph: statistics.median(r["phases"][ph] for r in runs[v])
                           for ph in runs[v][0]["phases"]}} for v in names}
    ratios = {f"{x}/{y}": statistics.median(p["wall"] / q["wall"] for p, q in
                                            zip(runs[x], runs[y], strict=True))
              for x, y in (("synchronous", "sequential"), ("synchronous", "before"),
                           ("sequential", "before")) if x in runs and y in runs}
    steps = runs["synchronous"][0]["agent_steps"]
    print(f"scale {a.scale:g}, {a.threads} thread(s), {a.repeat} rounds, "
          f"{steps:.4g} agent-steps")
    for v in names:
        ph = sorted(med[v]["phase_s"].items(), key=lambda kv: -kv[1])
        print(f"  {v}: wall {med[v]['wall_s']:.2f} s, cpu {med[v]['cpu_s']:.2f} s; "
              + ", ".join(f"{p} {s:.2f}" for p, s in ph))
    for r, x in ratios.items():
        print(f"  {r} (median of same-round ratios): {x:.3f}")
    if a.json:
        cmd = "PYTHONPATH=src python benchmarks/m7_order.py " + " ".join(
            sys.argv[1:] if argv is None else argv)
        Path(a.json).write_text(json.dumps({"command": cmd, "scale": a.scale,
                                            "threads": a.threads, "medians": med,
                                            "ratios": ratios, "runs": runs}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
