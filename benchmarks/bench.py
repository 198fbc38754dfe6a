"""Benchmarks behind docs/PERFORMANCE.md: throughput, roofline, threads, compile and start-up.

    PYTHONPATH=src python benchmarks/bench.py --scales 1e-4 1e-3 --threads 1 2 --repeat 3 \\
        --out benchmarks/results

Writes ``bench.json`` and ``bench.md`` (the tables) to ``--out``. Every model run is a fresh
interpreter with numba's cache warm (one untimed warm-up run first), so numbers are per run as
a user sees them. Timings are medians of ``--repeat`` runs; CPU seconds are reported next to
wall seconds because on a shared machine wall time also measures the other users.

Roofline: each phase's bytes per agent-step (below, from the arrays its kernels stream) times
its agent-steps per second, over the memory bandwidth measured here by a STREAM-style copy
and triad compiled with numba on the same threads.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# bytes per slot of each attribute (see the mechanisms' STATE)
B = {"uid": 4, "alive": 1, "birth": 2, "death": 2, "cell": 4, "status": 1, "join": 2,
     "motive": 1, "left": 1, "converted": 1, "stake": 4, "trust": 4, "belief": 4,
     "disposition": 1}

#: per phase (allegiance.models.cpsu.month): (arrays read per slot, arrays written per slot).
#: Only arrays every slot streams are counted; fields read for members only (~7 % of slots,
#: the member-index phases) or for a few agents (applicants, trial successes, newcomers) are
#: not. Writes count once (a written cache line is read first anyway, so read+write arrays
#: count twice).
PHASE_TRAFFIC = {
    # (``record`` counts only the members since 0.3.1: a member-index phase; it streams every
    # slot only in the first month and after war losses)
    # socialization, ritual, legitimacy, workplace sums of trust
    "adults": (["alive", "birth", "status", "cell", "belief", "trust"], ["belief", "trust"]),
    # social learning; next month's stocks and natural deaths (the decisions to apply visit
    # only the trial successes)
    "learning": (["alive", "birth", "death", "cell", "belief", "trust"], ["trust"]),
    # (``admissions`` visits only the applicants ``learning`` listed since 0.3.1)
}
#: with synchronous M7 (issue 18, the default; a run without a ``learning`` phase) ``adults``
#: is the month's one pass: also M7 learning, next month's stocks and deaths
PHASE_TRAFFIC_ONE_PASS = {
    "adults": (["alive", "birth", "death", "status", "cell", "uid", "disposition", "belief",
                "trust"], ["belief", "trust"]),
}


def phase_bytes(phase: str, phases=()) -> int | None:
    """Bytes per agent-step a phase streams (reads + writes), or None if not modelled;
    ``phases``: the run's phases (the month of synchronous M7 has no ``learning``)."""
    table = PHASE_TRAFFIC if "learning" in phases else PHASE_TRAFFIC_ONE_PASS
    if phase not in table:
        return None
    r, w = table[phase]
    return sum(B[x] for x in r) + sum(B[x] for x in w)


STREAM_CODE = r"""
import json, sys, time, numpy as np, numba
from numba import njit, prange
@njit(parallel=True, cache=False)
def copy(a, c):
    for i in prange(a.shape[0]):
        c[i] = a[i]
@njit(parallel=True, cache=False)
def triad(a, b, c, s):
    for i in prange(a.shape[0]):
        a[i] = b[i] + s * c[i]
n = int(sys.argv[2]); numba.set_num_threads(int(sys.argv[1]))
a = np.zeros(n); b = np.ones(n); c = np.full(n, 2.0)
copy(a, c); triad(a, b, c, 3.0)
best = {"copy": 0.0, "triad": 0.0}
for _ in range(7):
    t = time.perf_counter(); copy(a, c); dt = time.perf_counter() - t
    best["copy"] = max(best["copy"], 16 * n / dt / 1e9)
    t = time.perf_counter(); triad(a, b, c, 3.0); dt = time.perf_counter() - t
    best["triad"] = max(best["triad"], 24 * n / dt / 1e9)
print("RESULT " + json.dumps(best))
"""

RUN_CODE = r"""
import json, sys, time
t0 = time.perf_counter(); c0 = time.process_time()
import allegiance
scale, threads = float(sys.argv[1]), int(sys.argv[2])
over = json.loads(sys.argv[3])
r = allegiance.run("cpsu", scale=scale, seed=1, threads=threads, overrides=over)
m = r.manifest
print("RESULT " + json.dumps({
    "process_wall_s": time.perf_counter() - t0, "process_cpu_s": time.process_time() - c0,
    "wall_s": m["wall_seconds"], "setup_s": m["setup_seconds"], "threads": m["threads"],
    "phase_seconds": m["phase_seconds"], "peak_rss_bytes": m["peak_rss_bytes"],
    "memory_estimate_bytes": m["memory_estimate_bytes"],
    "agent_steps": float((r.timeseries["population"] * scale).sum()),
    "months": len(r.timeseries)}))
"""


def _child(code: str, *args: str, env: dict | None = None) -> dict:
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                       env=e, check=True)
    return json.loads(next(x for x in p.stdout.splitlines() if x.startswith("RESULT "))[7:])


def machine() -> dict:
    """nproc, memory and CPU model of this machine."""
    import psutil

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    vm = psutil.virtual_memory()
    return {"nproc": os.cpu_count(), "mem_total_gib": round(vm.total / 2**30, 1),
            "mem_available_gib": round(vm.available / 2**30, 1),
            "cpu": cpu, "loadavg": os.getloadavg(), "python": platform.python_version()}


def stream(threads: list[int], n: int) -> dict:
    """Best-of-7 copy and triad bandwidth (GB/s) per thread count."""
    return {t: _child(STREAM_CODE, str(t), str(n)) for t in threads}


def model_runs(scales, threads, repeat, overrides) -> list[dict]:
    """Median of ``repeat`` warm runs per (scale, threads); alternates thread counts."""
    out = []
    for s in scales:
        _child(RUN_CODE, str(s), str(threads[0]), json.dumps(overrides))  # warm the cache
        runs: dict[int, list[dict]] = {t: [] for t in threads}
        for _ in range(repeat):
            for t in threads:
                runs[t].append(_child(RUN_CODE, str(s), str(t), json.dumps(overrides)))
        for t in threads:
            rs = runs[t]
            med = {k: statistics.median(r[k] for r in rs)
                   for k in ("wall_s", "process_cpu_s", "process_wall_s", "setup_s",
                             "peak_rss_bytes")}
            phases = {ph: statistics.median(r["phase_seconds"][ph] for r in rs)
                      for ph in rs[0]["phase_seconds"]}
            out.append({"scale": s, "threads": t, "repeat": repeat, **med,
                        "walls": [r["wall_s"] for r in rs], "phase_seconds": phases,
                        "agent_steps": rs[0]["agent_steps"], "months": rs[0]["months"],
                        "memory_estimate_bytes": rs[0]["memory_estimate_bytes"]})
    return out


def compile_times(repeat: int) -> dict:
    """Wall time of a tiny run with an empty numba cache (cold) and a populated one (warm)."""
    over = json.dumps({"run.end": "1918-12"})
    with tempfile.TemporaryDirectory() as d:
        env = {"NUMBA_CACHE_DIR": d}
        cold = _child(RUN_CODE, "1e-5", "1", over, env=env)["process_wall_s"]
        warm = [_child(RUN_CODE, "1e-5", "1", over, env=env)["process_wall_s"]
                for _ in range(repeat)]
    return {"cold_s": cold, "warm_s": statistics.median(warm), "warm_runs": warm}


def startup(repeat: int) -> dict:
    """``allegiance --help`` wall time (median of ``repeat``)."""
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "allegiance", "--help"], capture_output=True,
                       check=True)
        ts.append(time.perf_counter() - t)
    return {"median_s": statistics.median(ts), "runs": ts}


def markdown(res: dict) -> str:
    """The tables of docs/PERFORMANCE.md."""
    m = res["machine"]
    bw = res["stream"]
    lines = [f"Machine: {m['nproc']} cores, {m['mem_total_gib']} GiB, {m['cpu']}; load average "
             f"at start {', '.join(f'{x:.1f}' for x in m['loadavg'])}.", ""]
    lines += ["| threads | STREAM copy GB/s | STREAM triad GB/s |", "|---|---|---|"]
    for t, v in bw.items():
        lines.append(f"| {t} | {v['copy']:.1f} | {v['triad']:.1f} |")
    lines += ["", "| scale | threads | months | agent-steps | wall s (median) | CPU s | "
              "agent-steps/s | peak RSS MiB | estimate MiB |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in res["runs"]:
        lines.append(f"| 1:{1 / r['scale']:,.0f} | {r['threads']} | {r['months']} | "
                     f"{r['agent_steps']:.3g} | {r['wall_s']:.1f} | {r['process_cpu_s']:.1f} | "
                     f"{r['agent_steps'] / r['wall_s']:.3g} | {r['peak_rss_bytes'] / 2**20:.0f} | "
                     f"{r['memory_estimate_bytes'] / 2**20:.0f} |")
    lines += ["", "Per phase (median seconds; bytes streamed per agent-step; achieved GB/s and "
              "% of the STREAM copy bandwidth at the same thread count):", "",
              "| scale | threads | phase | s | agent-steps/s | B/agent-step | GB/s "
              "| % of roofline |",
              "|---|---|---|---|---|---|---|---|"]
    for r in res["runs"]:
        for ph, sec in r["phase_seconds"].items():
            nb = phase_bytes(ph, r["phase_seconds"])
            rate = r["agent_steps"] / sec if sec > 0 else float("inf")
            if nb is None or sec <= 0:
                lines.append(f"| 1:{1 / r['scale']:,.0f} | {r['threads']} | {ph} | {sec:.2f} | "
                             f"{rate:.3g} | – | – | – |")
                continue
            gbs = nb * rate / 1e9
            peak = bw[r["threads"]]["copy"] if r["threads"] in bw else max(
                v["copy"] for v in bw.values())
            lines.append(f"| 1:{1 / r['scale']:,.0f} | {r['threads']} | {ph} | {sec:.2f} | "
                         f"{rate:.3g} | {nb} | {gbs:.2f} | {100 * gbs / peak:.0f}% |")
    c = res.get("compile")
    if c:
        lines += ["", f"numba compile: a 1:100,000 run of 14 months takes {c['cold_s']:.1f} s "
                  f"with an empty cache and {c['warm_s']:.1f} s warm (median of "
                  f"{len(c['warm_runs'])}); difference = compile time."]
    s = res.get("startup")
    if s:
        lines += ["", f"`allegiance --help`: {1000 * s['median_s']:.0f} ms (median of "
                  f"{len(s['runs'])})."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", nargs="*", type=float, default=[1e-4, 1e-3])
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--end", default=None, help="run.end override (default: the full run)")
    ap.add_argument("--stream-n", type=int, default=1 << 24, help="STREAM array length")
    ap.add_argument("--skip-compile", action="store_true")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    ap.add_argument("--add-run", type=Path, default=None,
                    help="merge one benchmarks/scale_run.py result (JSON) into OUT/bench.json "
                         "and re-render the tables without running anything")
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    if a.add_run is not None:
        res = json.loads((a.out / "bench.json").read_text())
        r = json.loads(a.add_run.read_text())
        res["runs"].append({"scale": r["scale"], "threads": r["threads"], "repeat": 1,
                            "wall_s": r["wall_seconds"], "process_cpu_s": r["cpu"],
                            "process_wall_s": r["wall_total"], "setup_s": r["setup_seconds"],
                            "peak_rss_bytes": r["peak_rss_bytes"], "walls": [r["wall_seconds"]],
                            "phase_seconds": r["phase_seconds"], "agent_steps": r["agent_steps"],
                            "months": r.get("months", 890),
                            "memory_estimate_bytes": r["memory_estimate_bytes"]})
        res["stream"] = {int(k): v for k, v in res["stream"].items()}
        (a.out / "bench.json").write_text(json.dumps(res, indent=1))
        md = markdown(res)
        (a.out / "bench.md").write_text(md)
        print(md)
        return
    res: dict = {"machine": machine(), "command": " ".join(sys.argv)}
    res["stream"] = stream(a.threads, a.stream_n)
    res["startup"] = startup(7)
    if not a.skip_compile:
        res["compile"] = compile_times(3)
    over = {"run.end": a.end} if a.end else {}
    res["runs"] = model_runs(a.scales, a.threads, a.repeat, over)
    (a.out / "bench.json").write_text(json.dumps(res, indent=1))
    md = markdown(res)
    (a.out / "bench.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
