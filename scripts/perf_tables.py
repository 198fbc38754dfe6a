"""The measured numbers of docs/PERFORMANCE.md and docs/DASHBOARD.md, written from the raw result
files under benchmarks/results/ (timings cannot be rerun by a test; the doc and the file they
came from can be kept from disagreeing).

    PYTHONPATH=src python scripts/perf_tables.py            # print the blocks
    PYTHONPATH=src python scripts/perf_tables.py --write    # put them into the docs
    PYTHONPATH=src python scripts/perf_tables.py --check    # exit 1 if a doc differs

Every block names the command that produced its numbers and the result file they are read
from. Files written since 0.3.3 record their command, version and machine themselves
(``benchmarks/_timing.about``); for older files ``KNOWN`` below holds what the docs said of them
when they were measured. Numbers that are not timings (counts, the memory estimate) come from
the code. Runs nothing: under a second.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
RES = ROOT / "benchmarks" / "results"
COMMAND = "PYTHONPATH=src python scripts/perf_tables.py --write"

SCALE_RUN = ("PYTHONPATH=src /usr/bin/time -v python benchmarks/scale_run.py --scale 1 --seed 1 "
             "--json cpsu_1to1.json")
CONVERGENCE = ("PYTHONPATH=src python benchmarks/convergence.py --out "
               "benchmarks/results/convergence --runs 1e-4:5 1e-3:3 1e-2:2 1e-1:1 1:1")
#: what the result files kept from before 0.3.3 do not say of themselves (as the docs recorded
#: it when they were measured): allegiance version, commit, the command
KNOWN = {
    # measured before 0.5.0 was numbered (the files say 0.4.0): the one-pass month; 02dfc49
    # runs what 0.5.0 runs, 2827327 still had the survey waves' temporaries
    "cpsu_1to1_unreleased.json": {"version": "0.5.0"},
    "cpsu_1to1_onepass_unreleased.json": {"version": "unreleased"},
    "compare_branch.json": {"version": "0.3.3", "commit": "3d1ce77", "command": (
        "PYTHONPATH=src python benchmarks/compare_branch.py --scale 1e-3 --repeat 3 "
        "--set-b hold.privilege.from=1960-01 --set-b hold.privilege.value=0.9")},
    "cpsu_1to1_0.3.2.json": {"version": "0.3.2", "command": SCALE_RUN},
    "cpsu_1to1_0.3.1.json": {"version": "0.3.1", "command": SCALE_RUN},
    "cpsu_1to1_0.3.0.json": {"version": "0.3.0", "commit": "9fd5e23",
                             "command": CONVERGENCE + " (its last run, 1:1)"},
    "cpsu_1to1.json": {"version": "0.2.1", "command": "the 1:1 run of benchmarks/convergence.py "
                       "(the last line of benchmarks/results/convergence_0.2.1/runs.jsonl)"},
    "bench.json": {"version": "0.3.1", "command": [
        "PYTHONPATH=src python benchmarks/bench.py --scales 1e-4 1e-3 --threads 1 2 --repeat 3 "
        "--out benchmarks/results",
        "PYTHONPATH=src python benchmarks/scale_run.py --scale 0.01 --seed 1 --json "
        "benchmarks/results/cpsu_1to100.json",
        "PYTHONPATH=src python benchmarks/bench.py --add-run benchmarks/results/cpsu_1to100.json "
        "--out benchmarks/results",
        "PYTHONPATH=src python benchmarks/bench.py --add-run "
        "benchmarks/results/cpsu_1to1_0.3.1.json --out benchmarks/results"]},
    "engines.json": {"version": "0.3.3", "command": (
        "PYTHONPATH=src python benchmarks/engines.py --scales 1e-4 1e-3 1e-2 --repeat 3 "
        "--threads 1 --json benchmarks/results/engines.json")},
    "epstein_vs_mesa_equivalence.json": {"version": "0.1.0", "command": (
        "bash benchmarks/vs_mesa/run.sh equivalence --seeds 30 --steps 150")},
    "epstein_vs_mesa_speed.json": {"version": "0.1.0",
                                   "command": "bash benchmarks/vs_mesa/run.sh speed"},
}


def _load(name: str):
    return json.loads((RES / name).read_text())


def _version(name: str) -> str:
    """The allegiance a result file ran: KNOWN's word where the file does not say it right."""
    return KNOWN.get(name, {}).get("version") or _load(name)["allegiance_version"]


def _commit(r: dict) -> str:
    return r.get("git_commit") or r["commit"]


def _minus(x: float, fmt: str) -> str:
    return format(x, fmt).replace("-", "−")


def _mb(b: float) -> str:
    return f"{b / 1e6:,.1f} MB" if b < 1e9 else f"{b / 1e6:,.0f} MB"


def _scale(s: float) -> str:
    return "1:1" if s == 1 else f"1:{round(1 / s):,}"


def _src(name: str) -> str:
    """``command`` → ``benchmarks/results/NAME`` (allegiance V at COMMIT)."""
    d = _load(name)
    # a file written by benchmarks/_timing.about says it all itself; older ones: KNOWN
    k = {} if "allegiance_version" in d else KNOWN.get(name, {})
    cmd = k.get("command") or d.get("command")
    commit = d.get("git_commit") or d.get("commit") or k.get("commit")
    who = (f"allegiance {d.get('allegiance_version') or k.get('version')}"
           + (f" at {commit}" if commit else "")
           + (", with uncommitted changes" if d.get("git_dirty") else ""))
    cmd = ", then ".join(f"`{c}`" for c in ([cmd] if isinstance(cmd, str) else cmd))
    return f"{cmd} → `benchmarks/results/{name}` ({who})"


# ---- docs/PERFORMANCE.md ----------------------------------------------------------------------

def _convergence():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import convergence

    d = RES / "convergence"
    rows = [json.loads(x) for x in (d / "runs.jsonl").read_text().splitlines()]
    return convergence, rows, json.loads((d / "about.json").read_text())


def memory() -> str:
    conv, rows, about = _convergence()
    v = conv.versions(rows, about)[0]
    out = [f"Raw results: `{about['command']}` → `benchmarks/results/convergence/runs.jsonl` "
           f"(allegiance {v}, one process per run); {_src('cpsu_1to1_0.3.1.json')}; "
           f"{_src('cpsu_1to1_0.3.2.json')}.", "",
           "| scale | allegiance | estimate | measured peak RSS | estimate − measured | "
           "raw result |",
           "|---|---|---|---|---|---|"]
    for s in sorted({r["scale"] for r in rows}):
        rs = [r for r in rows if r["scale"] == s]
        est, rss = rs[0]["memory_estimate_bytes"], [r["peak_rss_bytes"] for r in rs]
        got = _mb(rss[0]) if _mb(min(rss)) == _mb(max(rss)) else \
            f"{_mb(min(rss))[:-3]}–{_mb(max(rss))}"
        got += f" ({len(rss)} seeds)" if len(rss) > 1 else ""
        label = _scale(s) + (", whole run (crisis included)" if s == 1 else "")
        out.append(f"| {label} | {v} | {_mb(est)} | {got} | "
                   f"{_minus(100 * (est / statistics.mean(rss) - 1), '+.1f')} % | "
                   "`convergence/runs.jsonl` |")
    for name in ("cpsu_1to1_0.3.1.json", "cpsu_1to1_0.3.2.json", *MEMORY_1TO1):
        r = _load(name)
        est, rss = r["memory_estimate_bytes"], r["peak_rss_bytes"]
        out.append(f"| 1:1, whole run | {_version(name)} at {_commit(r)} | {_mb(est)} | "
                   f"{_mb(rss)} | {_minus(100 * (est / rss - 1), '+.1f')} % | `{name}` |")
    return "\n".join(out) + "\n"


#: the whole 1:1 runs, newest first
ONE_TO_ONE = ("cpsu_1to1_unreleased.json", "cpsu_1to1_0.3.2.json", "cpsu_1to1_0.3.1.json",
              "cpsu_1to1_0.3.0.json", "cpsu_1to1.json")
#: 1:1 runs of the one-pass month in the memory table: before the survey waves lost their
#: whole-population temporaries (2827327), and after
MEMORY_1TO1 = ("cpsu_1to1_onepass_unreleased.json", "cpsu_1to1_unreleased.json")
OUTPUTS = (("members_1989_01_01", "members 1 Jan 1989"),
           ("committed_members_1989_01_01", "committed members"),
           ("exits_1990", "exits in 1990"), ("crisis_defenders_members",
                                             "members defending at the crisis"))


def one_to_one() -> str:
    runs = [_load(n) for n in ONE_TO_ONE]
    names = [_version(n) for n in ONE_TO_ONE]
    steps = runs[0]["agent_steps"]

    def bold(i, text):
        return f"**{text}**" if i == 0 else text

    wall, cpu, ns, rss, passes, outs = [], [], [], [], [], []
    for i, r in enumerate(runs):
        w = r["wall_seconds"]
        wall.append(bold(i, f"{w:,.0f} s = {w / 60:.1f} min")
                    + f" (setup {r['setup_seconds']:.1f} s)")
        cpu.append(f"{r['cpu']:,.0f} s")
        ns.append(bold(i, f"{1e9 * w / r['agent_steps']:.1f}"))
        gb = r["peak_rss_bytes"]
        est = r["memory_estimate_bytes"]
        rss.append(bold(i, f"{gb / 1e9:.2f} GB ({gb / 2**30:.2f} GiB)") + f"; estimate "
                   f"{est / 1e9:.2f} GB ({_minus(100 * (est / gb - 1), '+.1f')} %)")
        ph = sorted(r["phase_seconds"].items(), key=lambda kv: -kv[1])
        passes.append(", ".join(
            f"`{k}` {v:,.0f}" + (f" ({1e9 * v / r['agent_steps']:.1f})"
                                 if round(1e9 * v / r["agent_steps"], 1) >= 0.5 else "")
            for k, v in ph))
        o = ", ".join(f"{label} {r[k]:,.0f}" for k, label in OUTPUTS)
        same = i > 0 and all(r[k] == runs[i - 1][k] for k, _ in OUTPUTS)
        outs.append("the same, to the person" if same else o)
    src = "; ".join(_src(n) for n in ONE_TO_ONE)
    lines = [f"Raw results: {src}.", "",
             "| quantity | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for label, cells in (("wall time (engine: setup + 890 months)", wall), ("CPU time", cpu),
                         (f"ns of wall time per agent-step ({steps:.4e})".replace(
                             "e+11", " × 10¹¹"), ns),
                         ("peak RSS, crisis included", rss),
                         ("per pass, s (ns per agent-step)", passes), ("outputs", outs)):
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def limits() -> str:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from limits import MONTHS, STREAM_BYTES

    d = _load("limits.json")
    seq = sum(nb for nb, _ in MONTHS["sequential"].values())  # besides `cell`, as STREAM_BYTES
    lines = [f"Raw result: `{d['command']}` → `benchmarks/results/limits.json`.", "",
             f"| threads | copy GB/s | {STREAM_BYTES} B streamed | scattered read | scattered add "
             "| one pass: floor per agent-month | floor of a 1:1 run | sequential (two passes, "
             f"{seq} B) | 1:1 run |", "|---|---|---|---|---|---|---|---|---|"]
    best = _floor()[1]
    for t, r in sorted(d["threads"].items()):
        b = "**" if t == best else ""
        lines.append(f"| {t} | {r['copy_gb_s']:.1f} | {r['stream_ns']:.2f} ns | "
                     f"{r['gather']:.2f} ns | {r['scatter']:.2f} ns | {b}{r['floor_ns']:.2f} ns{b} "
                     f"| {b}{r['floor_1to1_s']:,.0f} s ({r['floor_1to1_s'] / 60:.1f} min){b} | "
                     f"{r['floor_sequential_ns']:.2f} ns | "
                     f"{r['floor_sequential_1to1_s'] / 60:.1f} min |")
    run = d.get("run")
    if run:
        r = json.loads((ROOT / run["file"]).read_text())
        t = str(run["threads"])
        order = run.get("m7_order", "sequential")
        whole = 1e9 * r["wall_seconds"] / r["agent_steps"]
        floor = d["threads"][t]["floor_ns" if order == "synchronous" else "floor_sequential_ns"]
        parts = [f"`{k}` took {run[k]['ns']:.2f} ns per agent-step against a floor of "
                 f"{run[k]['floor_ns']:.2f} ({100 * run[k]['floor_ns'] / run[k]['ns']:.0f} %)"
                 for k in MONTHS[order]]
        extra = (" (`learning` also ran the decisions to apply, which the floor leaves out)"
                 if order == "sequential" else "")
        lines += ["", f"With `--run {run['file']}` (commit {run['commit']}, {t} threads, M7 "
                  f"{order}) the same call sets that run's passes against their floors: "
                  + ", ".join(parts) + f"{extra}; the whole run {whole:.2f} against "
                  f"{floor:.2f} ({100 * floor / whole:.0f} %)."]
    return "\n".join(lines) + "\n"


def m7_order() -> str:
    """The one-pass month against the sequential one and the tree before (m7_order_*.json)."""
    lines = ["| scale | synchronous (default) | sequential | before | synchronous / sequential "
             "| synchronous / before |", "|---|---:|---:|---:|---:|---:|"]
    cmds = []
    for name in ("m7_order_1e-3.json", "m7_order_1e-2.json"):
        d = _load(name)
        m, r = d["medians"], d["ratios"]
        lines.append(f"| {_scale(d['scale'])} | {m['synchronous']['wall_s']:.2f} s | "
                     f"{m['sequential']['wall_s']:.2f} s | {m['before']['wall_s']:.2f} s | "
                     f"{r['synchronous/sequential']:.2f} | {r['synchronous/before']:.2f} |")
        cmds.append(f"`{d['command']}` → `benchmarks/results/{name}`")
    d = _load("m7_order_1e-2.json")["medians"]
    ph = {v: d[v]["phase_s"] for v in d}
    per = (f"Per phase at 1:100 (medians, s): synchronous `adults` "
           f"{ph['synchronous']['adults']:.1f} + `applications` "
           f"{ph['synchronous']['applications']:.1f}; sequential `adults` "
           f"{ph['sequential']['adults']:.1f} + `learning` {ph['sequential']['learning']:.1f}; "
           f"before `adults` {ph['before']['adults']:.1f} + `learning` "
           f"{ph['before']['learning']:.1f}.")
    return ("Raw result: " + "; ".join(cmds) + " (one thread, median of 3 runs each in a fresh "
            "interpreter, variants rotating; ratios are medians of same-round ratios).\n\n"
            + "\n".join(lines) + "\n\n" + per + "\n")


def _branched_vs_start(d: dict, each: str, start: str = "from the start") -> str:
    """The medians, speed-up and every time of a branched-against-from-the-start benchmark
    (compare_branch.json, sweep_branch.json), as the sentence's middle."""
    t, m = d["times"], d["median"]

    def runs(k: str) -> str:
        return ", ".join(f"{x:.2f}" for x in t[k])

    return (f"**{m['from the start']:.2f} s** {start} and **{m['branched']:.2f} s** "
            f"branched, a **{d['speedup']:.2f}×** speed-up ({len(t['branched'])} {each} each way, "
            f"alternating; from the start {runs('from the start')} s; branched "
            f"{runs('branched')} s")


def compare_branch() -> str:
    """``compare A B`` with B branched from A's state, against from the start
    (compare_branch.json)."""
    d = _load("compare_branch.json")
    return (f"For {' and '.join(f'`{x}`' for x in d['set_b'])} (B branches at "
            f"{d['branch_at']}) at {_scale(d['scale'])} on one thread, the pair took a median "
            f"{_branched_vs_start(d, 'runs')}). {_src('compare_branch.json')}.\n")


def sweep_branch() -> str:
    """A sweep over a dated hold, branched against from the start (sweep_branch.json)."""
    d = _load("sweep_branch.json")
    vals = d["values"]
    return (f"A sweep of {d['runs']} values of privilege ({vals[0]:g} to {vals[-1]:g}) held "
            f"from {d['hold_from']}, one seed for every point, at {_scale(d['scale'])} in one "
            f"process (`--serial`), branching at {', '.join(d['branch_at'])}: a median "
            f"{_branched_vs_start(d, 'sweeps', 'with every run from the start (`--no-branch`)')}"
            f"; `runs.parquet` and every run's time series the same "
            f"bytes either way). Load average {d['loadavg_before'][0]:.1f} before and "
            f"{d['loadavg_after'][0]:.1f} after on {d['nproc']} cores: the machine was shared, "
            f"so read the ratio. {_src('sweep_branch.json')}.\n")


def convergence_table() -> str:
    conv, rows, about = _convergence()
    lines = [f"Raw results: `{about['command']}` → `benchmarks/results/convergence/runs.jsonl` "
             f"(allegiance {', '.join(conv.versions(rows, about))}).", "",
             "| scale | runs | members 1989 (M): mean [min, max] | exits 1990 (M) | "
             "committed members 1989 (k) | defenders (members) |", "|---|---|---|---|---|---|"]

    def cell(v, k, fmt):
        if len(v) == 1:
            return format(v[0] * k, fmt)
        return (f"{format(statistics.mean(v) * k, fmt)} [{format(min(v) * k, fmt)}, "
                f"{format(max(v) * k, fmt)}]")

    for s in sorted({r["scale"] for r in rows}):
        rs = [r for r in rows if r["scale"] == s]

        def col(key, rs=rs):
            return [r[key] for r in rs]

        d = col("crisis_defenders_members")
        lines.append(f"| {_scale(s)} | {len(rs)} | {cell(col('members_1989_01_01'), 1e-6, '.2f')} "
                     f"| {cell(col('exits_1990'), 1e-6, '.2f')} | "
                     f"{cell(col('committed_members_1989_01_01'), 1e-3, '.0f')} | "
                     f"{min(d):.0f}" + (f"–{max(d):.0f}" if max(d) != min(d) else "") + " |")
    return "\n".join(lines) + "\n"


def convergence_caption() -> str:
    import allegiance

    conv, rows, about = _convergence()
    vs = conv.versions(rows, about)
    now = allegiance.__version__
    later = "" if vs == [now] else (
        f" These are {', '.join(vs)} runs; this is allegiance {now}, and `CHANGELOG.md` says "
        "which versions since changed the CPSU model's results: rerun the command to redraw.")
    cmd = about["command"] + ("" if "--figure" in about["command"] else " --figure docs/figures")
    return f"*Figure: {conv.caption(rows, about)} Drawn by `{cmd}`.{later}*\n"


def engines() -> str:
    d = _load("engines.json")
    lines = [f"Raw result: {_src('engines.json')}; cpsu 1917–1991, seed 1, warm kernels, "
             "alternating rounds; medians, reference / fused the median of the same round's "
             "ratios.", "", "| scale | threads | runs | fused | reference | reference / fused |",
             "|---|---:|---:|---:|---:|---:|"]
    for s, r in sorted(d.items(), key=lambda kv: float(kv[0])):
        lines.append(f"| {_scale(float(s))} | {r['threads']} | {r['runs']} | {r['fused_s']:.2f} s "
                     f"| {r['reference_s']:.2f} s | {r['reference_over_fused']:.2f} |")
    ratios = [r["reference_over_fused"] for r in d.values()]
    lines += ["", f"The reference engine costs {min(ratios):.1f}–{max(ratios):.1f} times the "
              "fused one here."]
    return "\n".join(lines) + "\n"


def small_runs() -> str:
    d = _load("small_runs.json")
    before = d.get("before")
    lines = [f"Raw result: {_src('small_runs.json')}; cpsu 1917–1991, one thread, kernels "
             f"loaded, {d['runs']} runs (seeds {d['seeds'][0]}–{d['seeds'][1]}) per scale"
             + (f", each run alternating with the same run of the tree before ({before}), "
                "in a worker process of its own" if before else "")
             + f"; a run's time is the whole `allegiance.run` call; load average "
             f"{d['loadavg'][0]:.1f} on {d['nproc']} cores when it ended.", "",
             "| scale | median run | runs per second per core | min – max |"
             + (" before: median run | before / now |" if before else ""),
             "|---|---:|---:|---:|" + ("---:|---:|" if before else "")]
    for s, per in sorted(d["scales"].items(), key=lambda kv: -float(kv[0])):
        now = per["this"]
        t = now["wall_seconds"]
        row = (f"| {_scale(float(s))} | **{now['median_s']:.3f} s** | "
               f"{now['runs_per_second_per_core']:.2f} | {min(t):.3f} – {max(t):.3f} s |")
        if before:
            b = per["before"]
            row += f" {b['median_s']:.3f} s | {b['median_s'] / now['median_s']:.2f} |"
        lines.append(row)
    small = d["scales"].get("0.0001")
    if small is not None:
        med = small["this"]["median_s"]
        lines += ["", "Issue 18's target is 0.3 s a 1:10,000 run in a warm process: "
                  + (f"**met** by this measurement's median ({med:.3f} s)." if med <= 0.3 else
                     f"not met by this measurement's median ({med:.3f} s).")
                  + " A run's time on this shared machine varies from minute to minute "
                  "(min – max above), so compare versions by the ratio of the same run."]
    return "\n".join(lines) + "\n"


def small_run_profile() -> str:
    """Where a small run's time goes: kernels against Python (small_run_profile.json)."""
    d = _load("small_run_profile.json")
    k = d["kernels"]
    top = list(k.items())[:4]
    rest = d["median_kernels_s"] - sum(v for _, v in top)
    share = d["median_kernels_s"] / d["median_run_s"]
    other = d["months"] - d.get("stretch_months", 0)
    text = (f"Where a {_scale(d['scale'])} run's time goes ({d['runs']} runs, seeds "
            f"{d['seeds'][0]}–{d['seeds'][1]}, one thread, kernels loaded; load average "
            f"{d['loadavg'][0]:.1f} on {d['nproc']} cores when it ended): a median run took "
            f"**{d['median_run_s']:.2f} s**, of which compiled code **"
            f"{d['median_kernels_s']:.2f} s** ({100 * share:.0f} %: "
            + ", ".join(f"`{n}` {v:.3f} s" for n, v in top)
            + f", the other {len(k) - len(top)} {rest:.3f} s) and Python "
            f"**{d['median_python_s']:.2f} s**. ")
    if "stretch_months" in d:
        text += (f"{d['stretch_months']} of its {d['months']} months ran in {d['stretches']} "
                 f"compiled stretches (`months`: the stocks, the terms and the phases of each "
                 f"month, {d['stretch_us_per_month']:.0f} µs a month over "
                 f"{d['mean_slots']:,} slots a month on average); of the other {other}, "
                 f"{d['one_call_months']} ran the phases from `demography` to `members_end` in "
                 f"one compiled call (`month_phases`). ")
    else:
        text += (f"In {d['one_call_months']} of its {d['months']} months the phases from "
                 f"`demography` to `members_end` ran in one compiled call (`month_phases`, the "
                 f"one pass over every agent among them): "
                 f"{d['one_call_ns_per_slot_month']:.1f} ns a slot a month, over "
                 f"{d['mean_slots']:,} slots a month on average. ")
    if d["median_run_s"] <= 0.3:
        text += ("The run takes less than the target's 0.3 s (the tables above measure it "
                 "against the version before, in the same minutes). ")
    elif d["median_kernels_s"] > 0.3:
        text += ("The compiled code alone takes more than the target's 0.3 s, so the target "
                 "needs faster passes. ")
    else:
        text += (f"The compiled code takes less than the target's 0.3 s: at most "
                 f"{0.3 - d['median_kernels_s']:.2f} s of Python may stay. ")
    return text + f"{_src('small_run_profile.json')}.\n"


def one_pass_parts() -> str:
    """Where the one pass's time goes, per part and slot (one_pass_parts.json)."""
    d = _load("one_pass_parts.json")
    parts = list(next(iter(d["scales"].values()))["part_ns_per_slot"])
    lines = [f"Raw result: {_src('one_pass_parts.json')}; the pass of {d['at']} on "
             f"{d['threads']} thread{'s' if d['threads'] > 1 else ''}, each way the median of "
             f"{d['repeat']} batches taking turns; load average {d['loadavg'][0]:.1f} on "
             f"{d['nproc']} cores when it ended. Nanoseconds per slot:", "",
             "| scale | slots | the pass | " + " | ".join(parts) + " | the rest |",
             "|---|---:|---:|" + "---:|" * len(parts) + "---:|"]
    for s, r in sorted(d["scales"].items(), key=lambda kv: -float(kv[0])):
        ns, part = r["ns_per_slot"], r["part_ns_per_slot"]
        lines.append(f"| {_scale(float(s))} | {r['slots']:,} | **{ns['all parts']:.2f}** | "
                     + " | ".join(f"{part[p]:.2f}" for p in parts)
                     + f" | {ns['no part']:.2f} |")
    return "\n".join(lines) + "\n"


def _bench():
    d = _load("bench.json")
    return d, {int(k): v for k, v in d["stream"].items()}


def bench_stream() -> str:
    d, st = _bench()
    m = d["machine"]
    return (f"Raw result: {_src('bench.json')}. Machine: {m['nproc']} cores, "
            f"{m['mem_total_gib']} GiB, {m['cpu']}, load average {m['loadavg'][0]:.1f} at the "
            f"start. **Memory bandwidth** (STREAM-style copy `c[i] = a[i]` and triad "
            f"`a[i] = b[i] + s·c[i]` over 2²⁴ float64 compiled with numba, best of 7; 16 and 24 "
            f"bytes per element): **copy {st[1]['copy']:.1f} GB/s on 1 thread, "
            f"{st[2]['copy']:.1f} on 2; triad {st[1]['triad']:.1f} and {st[2]['triad']:.1f}**.\n")


def throughput() -> str:
    d, _ = _bench()
    lines = ["| scale | threads | agent-steps | wall s | CPU s | agent-steps per wall s | "
             "peak RSS MiB | estimate MiB |", "|---|---|---|---|---|---|---|---|"]
    def sec(x):
        return f"{x:,.0f}" if x >= 1000 else f"{x:.1f}"

    for r in d["runs"]:
        w = r["wall_s"]
        lines.append(f"| {_scale(r['scale'])} | {r['threads']} | {r['agent_steps']:.2e} | "
                     f"{sec(w)} | {sec(r['process_cpu_s'])} | "
                     f"{r['agent_steps'] / w / 1e6:.1f} M | {r['peak_rss_bytes'] / 2**20:,.0f} | "
                     f"{r['memory_estimate_bytes'] / 2**20:,.0f} |")
    return "\n".join(lines) + "\n"


def roofline() -> str:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench import PHASE_TRAFFIC, phase_bytes

    d, st = _bench()
    cols = [(1e-3, 1), (1e-2, 2), (1.0, 2)]
    runs = {(r["scale"], r["threads"]): r for r in d["runs"]}
    cols = [c for c in cols if c in runs]
    head = " | ".join(f"{_scale(s)}{' (whole run)' if s == 1 else ''}, {t} thread"
                      f"{'s' if t > 1 else ''}: GB/s | %" for s, t in cols)
    lines = [f"| pass | B/agent-step | {head} |", "|---|---|" + "---|---|" * len(cols)]
    for phase in PHASE_TRAFFIC:
        b = phase_bytes(phase, PHASE_TRAFFIC)  # bench.json: 0.3.1, sequential M7
        cells = []
        for c in cols:
            r = runs[c]
            gbs = b * r["agent_steps"] / r["phase_seconds"][phase] / 1e9
            cells.append(f"{gbs:.2f} | {100 * gbs / st[c[1]]['copy']:.0f} %")
        lines.append(f"| `{phase}` | {b} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def parallel() -> str:
    import allegiance
    from allegiance import engine
    from allegiance.models.cpsu import CpsuModel

    sc = allegiance.load_scenario("cpsu")
    slots = CpsuModel.peak_slots(sc, 1e-3)
    need = 2 * engine.PARALLEL_MIN_SLOTS
    return (f"On 2 threads a step runs on both only from 2 × {engine.PARALLEL_MIN_SLOTS:,} = "
            f"{need:,} slots (`engine.PARALLEL_MIN_SLOTS`), which 1:1,000 (at most {slots:,} "
            f"slots, `CpsuModel.peak_slots`) {'never reaches' if slots < need else 'reaches'}: "
            "\"2 threads\" there shows what asking for them costs.\n")


def startup() -> str:
    d, _ = _bench()
    c = d["compile"]
    return "\n".join([
        f"Raw result: {_src('bench.json')}.", "", "| what | measured |", "|---|---|",
        f"| `python -m allegiance --help` | {1000 * d['startup']['median_s']:.0f} ms, median of "
        f"{len(d['startup']['runs'])} |",
        "| a 14-month 1:100,000 run, empty numba cache (`NUMBA_CACHE_DIR` = a fresh temporary "
        f"folder) | {c['cold_s']:.1f} s |",
        f"| the same run, cache warm (median of {len(c['warm_runs'])}) | {c['warm_s']:.1f} s |",
        f"| ⇒ numba compile time of all kernels | ~{c['cold_s'] - c['warm_s']:.0f} s, paid once "
        "per machine and Python/numba version |"]) + "\n"


def sobol() -> str:
    d = _load("sobol_cpsu.json")
    ms = d["measurements"]
    whole = ms[0]["runs"] == d["design_runs"]
    timed = ("the whole design timed (its analysis included)" if whole
             else f"the first {ms[0]['runs']} runs timed")
    full = d["design_runs"] == d["full_design_runs_512"] and whole
    lines = [f"Raw result: {_src('sobol_cpsu.json')}; {d['design_runs']:,}-run design, {timed}, "
             "a fresh pool and run store per measurement.", "",
             "| workers (process pool) | runs | wall (s) | runs / s | 1-min load average after "
             f"| time for {d['full_design_runs_512']:,} runs |",
             "| --- | --- | --- | --- | --- | --- |"]
    for m in ms:
        span = (f"**{m['wall_seconds'] / 60:.0f} min**, measured" if full else
                f"{m['extrapolated_hours_for_512_base_samples']:.1f} h, extrapolated")
        lines.append(f"| {m['workers']} | {m['runs']:,} | {m['wall_seconds']:.1f} | "
                     f"{m['runs_per_second']:.3f} | {m['load_average_1min_after']:.1f} | "
                     f"{span} |")
    if full:
        wall = ms[-1]["wall_seconds"]
        lines += ["", f"Issue 18's target is 30 minutes for this design on this 2-core machine: "
                  + ("**met**" if wall <= 1800 else "not met")
                  + f" by this measurement ({wall / 60:.1f} min, worker start-up and the "
                  "analysis included)."]
    small = _load("small_runs.json")["scales"].get("0.0001")
    if full and small is not None:
        # what a run costs a worker against a run alone ("Small runs"), and what 30 minutes
        # needs of a run alone at the same ratio
        m = ms[-1]
        per_worker = m["workers"] / m["runs_per_second"]
        alone = small["this"]["median_s"]
        need = m["workers"] / (d["design_runs"] / 1800.0) / (per_worker / alone)
        kernels = _load("small_run_profile.json")["median_kernels_s"]
        lines += ["", f"With {m['workers']} workers a run took {per_worker:.3f} s of a worker's "
                  f"wall time, {per_worker / alone:.2f}× the median run alone in one process "
                  f"(\"Small runs\": {alone:.3f} s at 1:10,000). At that ratio, 30 minutes "
                  f"needs {need:.2f} s a run alone, against the kernels' {kernels:.2f} s of "
                  "a run (the profile there)."]
    return "\n".join(lines) + "\n"


def morris() -> str:
    d = _load("morris_cpsu.json")
    how = "extrapolated from the first runs" if d["extrapolated"] else "measured, whole design"
    lines = [f"Raw result: {_src('morris_cpsu.json')}; worker start-up and the analysis "
             "included.", "",
             "| parameters | trajectories | runs | scale | workers | wall | runs / s | "
             "1-min load average after | whole screening | target |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
             f"| {d['parameters']} | {d['trajectories']} | {d['runs_timed']} of "
             f"{d['design_runs']} | {_scale(d['scale'])} | {d['workers']} | "
             f"{d['wall_seconds'] / 60:.1f} min | {d['runs_per_second']:.3f} | "
             f"{d['load_average_1min_after']:.1f} | {d['minutes_for_design']:.1f} min ({how}) "
             f"| ≤ {d['target_minutes']} min |"]
    return "\n".join(lines) + "\n"


def mesa_equivalence() -> str:
    d = _load("epstein_vs_mesa_equivalence.json")
    names = {"mean_active": "mean actives", "peak_active": "peak actives",
             "outbursts": "outbursts", "jailed_at_end": "jailed at the end"}
    lines = [f"Raw result: {_src('epstein_vs_mesa_equivalence.json')}; Mesa "
             f"{d['mesa_version']}.", "",
             f"| metric (per run) | Mesa {d['mesa_version']} mean (sd) | allegiance mean (sd) | "
             "KS p | Mann-Whitney p |", "|---|---|---|---|---|"]
    for r in d["table"]:
        lines.append(f"| {names.get(r['metric'], r['metric'])} | {r['mesa_mean']:.2f} "
                     f"({r['mesa_sd']:.2f}) | {r['allegiance_mean']:.2f} "
                     f"({r['allegiance_sd']:.2f}) | {r['ks_p']:.3f} | {r['mannwhitney_p']:.3f} |")
    lines += ["", f"({d['seeds']} seeds x {d['steps']} ticks each side; wall time of that "
              f"session: Mesa {d['mesa_wall_s']:,.0f} s, allegiance {d['allegiance_wall_s']:.1f} "
              "s.) "
              + ("No metric differs at the 10 % level." if min(
                  min(r["ks_p"], r["mannwhitney_p"]) for r in d["table"]) > 0.1 else
                 "Some metric differs at the 10 % level.")]
    return "\n".join(lines) + "\n"


def mesa_speed() -> str:
    d = _load("epstein_vs_mesa_speed.json")
    lines = [f"Raw result: {_src('epstein_vs_mesa_speed.json')}; Mesa {d['mesa_version']}.", "",
             f"| lattice | agents | Mesa {d['mesa_version']} (runs) | allegiance (runs) | ratio of "
             "medians | slowest allegiance / fastest Mesa |", "|---|---|---|---|---|---|"]
    for r in d["table"]:
        s = r["size"]
        me = [x["agent_steps_per_s"] for x in d["mesa_rows"] if x["size"] == s]
        al = [x["agent_steps_per_s"] for x in d["allegiance_rows"] if x["size"] == s]
        mcell = (f"{r['mesa']:,.0f} ({len(me)}: {min(me):,.0f}-{max(me):,.0f})" if len(me) > 1
                 else f"{r['mesa']:,.0f} (1 run)")
        lines.append(f"| {s}x{s} | {r['agents']:,} | {mcell} | {r['allegiance']:,.0f} "
                     f"({len(al)}: {min(al):,.0f}-{max(al):,.0f}) | {r['ratio']:.0f}x | "
                     f"{min(al) / max(me):.0f}x |")
    return "\n".join(lines) + "\n"


TARGET_S = 15 * 60  # issue 6: a 1:1 run in 15 minutes (aim 8)
TARGET_BYTES = 12e9  # issue 6: 1:1 peak memory <= 12 GB


def _estimate_now(scale: float = 1.0) -> tuple[str, int]:
    """The current version and its memory estimate of the bundled cpsu on a 2-core machine
    (the estimate counts one lane of workplace sums per core)."""
    from unittest import mock

    import allegiance
    from allegiance.models.cpsu import CpsuModel

    with mock.patch("os.cpu_count", return_value=2):
        est = CpsuModel.memory_estimate(allegiance.load_scenario("cpsu"), scale)
    return allegiance.__version__, est


def _latest_1to1():
    name = ONE_TO_ONE[0]
    return name, _version(name), _load(name)


def _floor():
    d = _load("limits.json")
    t, r = min(d["threads"].items(), key=lambda kv: kv[1]["floor_ns"])
    return d, t, r


def intro() -> str:
    import allegiance
    from allegiance.calendar import parse_month
    from allegiance.models.cpsu import CpsuModel

    sc = allegiance.load_scenario("cpsu")
    n0, peak = CpsuModel._population_range(sc)
    months = parse_month(sc.run.end) - parse_month(sc.run.start) + 1
    name, _, r = _latest_1to1()
    return (f"`cpsu` runs the USSR from {sc.run.start} to {sc.run.end} in monthly steps ({months} "
            f"months): about {n0 / 1e6:.0f} million persons at the start and {peak / 1e6:.0f} "
            "million at the peak (the census series the model follows); `scale` is agents per "
            "person. **agent-steps** below = the sum over months of living agents (the population "
            f"column × scale), the unit of work: {r['agent_steps']:.3e} at 1:1 (`{name}`).\n"
            ).replace("e+11 at", " × 10¹¹ at")


def status() -> str:
    name, v, r = _latest_1to1()
    now, est = _estimate_now()
    gb = r["peak_rss_bytes"]
    ns = 1e9 * r["wall_seconds"] / r["agent_steps"]
    need = 1e9 * TARGET_S / r["agent_steps"]
    d, t, fl = _floor()
    rest = ns - sum(d["run"][k]["ns"] for k in ("adults", "learning") if k in d["run"])
    mem_ok = gb <= TARGET_BYTES
    edge = ("at its edge" if est > 0.97 * TARGET_BYTES else "within reach") if \
        est <= TARGET_BYTES else "exceeded"
    mem = (f"**{'met' if mem_ok else 'not met'} by {v}, measured over the whole run**: "
           f"{gb / 1e9:.2f} GB peak RSS ({gb / 2**30:.2f} GiB), the August 1991 crisis included "
           f"(`{name}`)." + ("" if now == v else
                             f" **{now} not yet measured at 1:1**: its estimate is "
                             f"**{est / 1e9:.2f} GB** (`CpsuModel.memory_estimate("
                             f"load_scenario(\"cpsu\"), 1.0)` on 2 cores), so the target is "
                             f"{edge}."))
    wall = (f"**{'met' if ns <= need else 'not met'}** by {v}: **{r['wall_seconds'] / 60:.1f} "
            f"minutes**, measured ({ns:.1f} ns per agent-step; `{name}`). 15 minutes needs "
            f"{need:.1f} ns per agent-step. Since the one-pass month (M7 synchronous, issue 18) "
            "the pass the model's M4/M6/M7 need every month has a floor on this machine of "
            f"**{fl['floor_ns']:.2f} ns per agent-step, {fl['floor_1to1_s'] / 60:.1f} minutes at "
            f"1:1** (`limits.json`, {t} threads: its bytes at the measured copy bandwidth plus "
            "one scattered read-modify-write into the table of workplace sums; the sequential "
            f"month's two passes: {fl['floor_sequential_ns']:.2f} ns), which leaves "
            f"{need - fl['floor_ns']:.1f} ns per agent-step for all the rest ({rest:.1f} in that "
            f"{d['run'].get('m7_order', 'sequential')} run)." + _load_words(r))
    runs = [x for x in _load("bench.json")["runs"] if x["scale"] == 0.01]
    eng = _load("engines.json").get("0.01")
    hundred = [f"{x['wall_s']:.1f} s ({KNOWN['bench.json']['version']}, {x['threads']} threads, "
               "`bench.json`)" for x in runs]
    if eng:
        hundred.insert(0, f"{eng['fused_s']:.1f} s ({KNOWN['engines.json']['version']}, "
                          f"{eng['threads']} thread, `engines.json`)")
    best = min([x["wall_s"] for x in runs] + ([eng["fused_s"]] if eng else []))
    conv, crow, about = _convergence()
    pct = []
    for sc in sorted({x["scale"] for x in crow}):
        rs = [x for x in crow if x["scale"] == sc]
        pct.append(abs(rs[0]["memory_estimate_bytes"] /
                       statistics.mean(x["peak_rss_bytes"] for x in rs) - 1))
    for n in ONE_TO_ONE[:2]:
        x = _load(n)
        pct.append(abs(x["memory_estimate_bytes"] / x["peak_rss_bytes"] - 1))
    b, st = _bench()
    one = next(x for x in b["runs"] if x["scale"] == 1.0)
    hund = next(x for x in b["runs"] if x["scale"] == 0.01)

    def share(x, phase):
        from bench import phase_bytes

        return 100 * phase_bytes(phase, x["phase_seconds"]) * x["agent_steps"] / \
            x["phase_seconds"][phase] / 1e9 / \
            st[x["threads"]]["copy"]

    sys.path.insert(0, str(ROOT / "benchmarks"))
    a100, l100, a1, l1 = (share(hund, "adults"), share(hund, "learning"), share(one, "adults"),
                          share(one, "learning"))
    ra, rl = (100 * d["run"][k]["floor_ns"] / d["run"][k]["ns"] if k in d["run"] else
              float("nan") for k in ("adults", "learning"))
    dfn = {}
    for x in crow:
        dfn.setdefault(x["scale"], []).append(x["crisis_defenders_members"])
    rows = [
        ("1:1 peak memory ≤ 12 GB", mem),
        ("1:1 wall ≤ 15 min (aim 8)", wall),
        ("1:100 full run < 60 s", f"**{'met' if best < 60 else 'not met'}:** "
         + "; ".join(hundred) + "."),
        ("memory estimate; refusal with exit 2 naming scale and estimate",
         f"done; the estimate is within {100 * max(pct):.1f} % of measured peak RSS from "
         "1:10,000 to 1:1 (table below)."),
        ("1 vs 2 threads bit-identical", "done, and also independent of when dead slots are "
         "compacted and of prefetching (`tests/test_scale.py`); each blocked pass equals the "
         "one-agent loop (`tests/test_kernels.py`)."),
        ("roofline: main kernels ≥ 25 % of measured bandwidth", _roofline_words(
            a100, l100, a1, l1, v, ra, rl)),
        ("convergence figure 1:10,000 … 1:1",
         f"**done** with allegiance {', '.join(conv.versions(crow, about))} runs from "
         + ", ".join(f"{_scale(k)} ({len(v_)})" for k, v_ in sorted(dfn.items()))
         + " (runs per scale); members defending at the crisis: "
         + ", ".join(f"{_scale(k)} {max(v_):.0f}" for k, v_ in sorted(dfn.items())) + "."),
    ]
    return "| target | status |\n|---|---|\n" + "".join(f"| {a} | {b_} |\n" for a, b_ in rows)


def _load_words(r: dict) -> str:
    """What ran beside a 1:1 run, as far as its file says (the load at its start and end)."""
    if "loadavg" not in r:
        return ""
    cpu = 100 * r["cpu"] / r["wall_total"]
    return (f" The run's process used {cpu:.0f} % CPU on its {r['threads']} threads (load "
            f"average {r['loadavg'][0]:.1f} at the start, {r['loadavg_end'][0]:.1f} at the end).")


def _roofline_words(a100, l100, a1, l1, v, ra, rl) -> str:
    text = (f"{KNOWN['bench.json']['version']} (`bench.json`): `adults` {a100:.0f} % at 1:100 and "
            f"{a1:.0f} % at 1:1, `learning` {l100:.0f} % and {l1:.0f} % "
            f"({'met' if max(a100, a1) >= 25 else 'not met'} by `adults`, "
            f"{'met' if max(l100, l1) >= 25 else 'not met'} by `learning`); why, below "
            "(\"## Roofline\"). Counting the scattered accesses to the workplace sums as well as "
            "the bytes (the floor of `limits.py`), ")
    if not math.isnan(rl):  # a sequential run: two passes
        return text + (f"the 1:1 run of {v}: `adults` reaches {ra:.0f} % of its floor and "
                       f"`learning` {rl:.0f} % (with the decisions to apply, which the floor "
                       "leaves out).")
    return text + f"the 1:1 run of {v}: its one pass (`adults`) reaches {ra:.0f} % of its floor."


def memory_formula() -> str:
    import allegiance
    from allegiance.models.cpsu import CpsuModel

    sc = allegiance.load_scenario("cpsu")
    r = _load("cpsu_1to100.json")
    peak = CpsuModel._population_range(sc)[1]
    measured = r["state_peak_slots"] / (peak * r["scale"])
    return (f"`CpsuModel.memory_estimate` (`models/cpsu/memory.py`) = interpreter "
            f"({CpsuModel.BASE_BYTES / 2**20:.0f} MiB) + peak slots × "
            f"{CpsuModel._bytes_per_slot(sc)} B + member index (2 × 4 B × "
            f"{100 * CpsuModel.MEMBERS_PER_SLOT_PEAK:g} % of slots × 1.125) + per-thread workplace "
            f"sums + the lists of next month's deaths and of applicants + the larger transient "
            f"(crisis {CpsuModel.CRISIS_BYTES} B per slot, or a setup block). Peak slots = peak "
            f"population ({peak / 1e6:.0f} million) × scale × {CpsuModel.SLOTS_PER_PERSON_PEAK} "
            f"(measured {measured:.3f} at 1:100 with compaction at one thirty-second dead: "
            "`state_peak_slots` of `cpsu_1to100.json`). The refusal (exit 2) compares it with "
            "available memory.\n")


def target() -> str:
    _, v, r = _latest_1to1()
    prev = _load(ONE_TO_ONE[1])
    need = 1e9 * TARGET_S / r["agent_steps"]
    return (f"A 1:1 run in 15 minutes needs **{need:.1f} ns of wall time per agent-step** "
            f"({r['agent_steps']:.4e} agent-steps); {v} took "
            f"{1e9 * r['wall_seconds'] / r['agent_steps']:.1f} ns over the whole 1:1 run "
            f"({_version(ONE_TO_ONE[1])}: "
            f"{1e9 * prev['wall_seconds'] / prev['agent_steps']:.1f}; \"### 1:1\").\n"
            ).replace("e+11 agent", " × 10¹¹ agent")


def onepass_1to1() -> str:
    """The latest 1:1 run (the one-pass month) against the last sequential one (0.3.2), pass
    by pass, and what is left against the floor (``limits.json``'s ``run``)."""
    name, v, r = _latest_1to1()
    prev_name = ONE_TO_ONE[1]
    prev = _load(prev_name)
    steps = r["agent_steps"]

    def ns(x, k=None):
        return 1e9 * (x["wall_seconds"] if k is None else x["phase_seconds"].get(k, 0.0)) / steps

    need = 1e9 * TARGET_S / steps
    d, t, fl = _floor()
    run = d.get("run", {})
    mine = run.get("file", "").endswith(name)
    phases = sorted(r["phase_seconds"].items(), key=lambda kv: -kv[1])
    rest = ns(r) - ns(r, "adults")
    text = (f"**1:1 with the one-pass month** ({v}, `{name}`, {r['threads']} threads): "
            f"**{r['wall_seconds'] / 60:.1f} minutes**, {ns(r):.1f} ns per agent-step, against "
            f"{_version(prev_name)}'s {prev['wall_seconds'] / 60:.1f} minutes ({ns(prev):.1f} ns) "
            "with the sequential month." + _load_words(r) + " Per phase, ns per agent-step "
            f"({_version(prev_name)} in brackets where it had the phase): "
            + ", ".join(f"`{k}` {ns(r, k):.2f}"
                        + (f" ({ns(prev, k):.2f})" if k in prev["phase_seconds"] else "")
                        for k, _ in phases if ns(r, k) >= 0.05) + ". ")
    if mine:
        a = run["adults"]
        text += (f"The one pass (`adults`) took {a['ns']:.2f} ns against its floor of "
                 f"{a['floor_ns']:.2f} on {t} threads ({100 * a['floor_ns'] / a['ns']:.0f} %; "
                 "`limits.json`, measured the same day with `--run` this file); ")
    else:
        text += f"The one pass (`adults`) took {ns(r, 'adults'):.2f} ns; "
    text += (f"the rest of the month took {rest:.1f} ns against the "
             f"{need - fl['floor_ns']:.1f} ns that 15 minutes leaves beside the pass's floor.\n")
    return text


def floor_sentence() -> str:
    _, v, r = _latest_1to1()
    d, t, fl = _floor()
    ns = 1e9 * r["wall_seconds"] / r["agent_steps"]
    need = 1e9 * TARGET_S / r["agent_steps"]
    rest = ns - sum(d["run"][k]["ns"] for k in ("adults", "learning") if k in d["run"])
    return (f"**So the one-pass month alone needs {fl['floor_1to1_s'] / 60:.1f} minutes at 1:1 "
            f"at this machine's best in that call** (`limits.json`, {t} threads), leaving at most "
            f"{need - fl['floor_ns']:.1f} ns per agent-step "
            f"({(TARGET_S - fl['floor_1to1_s']) / 60:.1f} minutes) for everything else: the "
            "members' phases (promotions, confirmations, purges, the M8/M9/M11 decisions, their "
            "stocks), the decisions to apply and admissions, births and deaths, compaction and "
            f"bookkeeping, which took {rest:.1f} ns per agent-step in the 1:1 run of {v} (its "
            f"whole {ns:.1f} ns less its passes over everyone).\n")


def convergence_words() -> str:
    rows = _convergence()[1]
    by = {}
    for x in rows:
        by.setdefault(x["scale"], []).append(x)

    def mean(sc, k):
        return statistics.mean(x[k] for x in by[sc])

    below = [sc for sc in sorted(by) if sc < 1]
    out = []
    for k, label in (("members_1989_01_01", "members in 1989"), ("exits_1990", "exits in 1990")):
        ms = [mean(sc, k) for sc in below]
        out.append(f"{label} {100 * (max(ms) / min(ms) - 1):.1f} %")
    text = (f"The seeds' means differ across scales from {_scale(below[0])} to "
            f"{_scale(below[-1])} by at most {' and '.join(out)}.")
    spread = [f"{_scale(sc)} {(max(x['members_1989_01_01'] for x in by[sc]) - min(x['members_1989_01_01'] for x in by[sc])) / 1e6:.2f} M"  # noqa: E501
              for sc in below if len(by[sc]) > 1]
    text += (f" The seeds' spread of members in 1989 (max − min): {', '.join(spread)}. Committed "
             "members are a few dozen agents at 1:10,000 (one agent = 10,000 persons), hence "
             "the coarse values there.")
    if 1.0 in by:
        one = by[1.0][0]
        near = [sc for sc in below if sc >= 0.01]
        dev = max(abs(one[k] / mean(sc, k) - 1) for sc in near
                  for k in ("members_1989_01_01", "exits_1990"))
        text += (f" The 1:1 run is within {100 * dev:.1f} % of " +
                 " and ".join(_scale(sc) for sc in near) + " on members and exits.")
        same = [_version(n) for n in ONE_TO_ONE[:2]
                if all(_load(n)[k] == one[k] for k, _ in OUTPUTS)]
        if same:
            text += (f" The 1:1 runs of {' and '.join(same)} gave its four outputs to the "
                     "person.")
    return text + "\n"


#: the blocks of docs/PERFORMANCE.md, in the doc's order
PERFORMANCE = {
    "perf-intro": intro, "perf-status": status, "perf-memory-formula": memory_formula,
    "perf-memory": memory, "perf-1to1": one_to_one, "perf-target": target,
    "perf-limits": limits, "perf-floor-sentence": floor_sentence, "perf-m7-order": m7_order,
    "perf-onepass-1to1": onepass_1to1,
    "perf-compare-branch": compare_branch, "perf-sweep-branch": sweep_branch,
    "perf-convergence-caption": convergence_caption, "perf-convergence": convergence_table,
    "perf-convergence-words": convergence_words, "perf-engines": engines,
    "perf-small-runs": small_runs, "perf-small-run-profile": small_run_profile,
    "perf-one-pass-parts": one_pass_parts,
    "perf-stream": bench_stream, "perf-throughput": throughput,
    "perf-parallel": parallel, "perf-roofline": roofline, "perf-startup": startup,
    "perf-sobol": sobol, "perf-morris": morris, "perf-mesa-equivalence": mesa_equivalence,
    "perf-mesa-speed": mesa_speed,
}


# ---- docs/DASHBOARD.md ------------------------------------------------------------------------

def dashboard_threads() -> str:
    d = _load("dashboard_runs.json")
    t = d["threads_1935"]
    both = max(t, key=int)
    return (f"  Measured on a {d['nproc']}-core machine (load average {d['loadavg'][0]:.1f} when "
            f"the measurement ended), cpsu 1917-1935 at 1:10,000: {t['1']:.1f} s with "
            f"`threads=1`, {t[both]:.1f} s with {both} threads (second run of each in one "
            f"process; {_src('dashboard_runs.json')}).\n  ")


def dashboard_tests() -> str:
    d = _load("dashboard_runs.json")
    w = d["whole_run_one_thread"]
    small, big = (w[k] for k in sorted(w, key=float))
    return (f"The dashboard tests run cpsu 1917-1991 at 1:100,000: {small:.1f} s a run against "
            f"{big:.1f} s at 1:10,000 with `threads=1` (second run in one process; "
            f"{_src('dashboard_runs.json')}).\n")


DASHBOARD = {"dashboard-threads": dashboard_threads, "dashboard-tests": dashboard_tests}
DOCS = {"docs/PERFORMANCE.md": PERFORMANCE, "docs/DASHBOARD.md": DASHBOARD}


def main(argv: list[str] | None = None) -> int:
    from allegiance import odd

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args(argv)
    status = 0
    for doc, gens in DOCS.items():
        blocks = {name: fn() for name, fn in gens.items()}
        if not (a.write or a.check):
            for name, body in blocks.items():
                print(f"## {doc}: {name}\n\n{body}")
            continue
        status |= odd.write_blocks(ROOT / doc, blocks, a.check, COMMAND)
    return status


if __name__ == "__main__":
    sys.exit(main())
