"""A/B timing of two or more src/ trees: python benchmarks/ab.py SCALE END N THREADS SRC_A SRC_B ...

Alternates fresh-interpreter runs of allegiance.run("cpsu", seed=1) and prints median wall and CPU.
Make a tree of an old commit with: git archive COMMIT src | tar -x -C /tmp/old
"""
import subprocess, sys, json, statistics
scale, end, n, th = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]; srcs = sys.argv[5:]
code = ("import time,json,allegiance;c=time.process_time();"
        "r=allegiance.run('cpsu',scale=%s,seed=1,threads=%s,overrides={'run.end':'%s'});"
        "print(json.dumps({'wall':r.manifest['wall_seconds'],'cpu':time.process_time()-c,'ph':r.manifest['phase_seconds']}))") % (scale, th, end)
res = {s: [] for s in srcs}
for i in range(n):
    for s in srcs:
        out = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": s, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
        res[s].append(json.loads(out.stdout.strip().splitlines()[-1]))
for s in srcs:
    w = statistics.median(r["wall"] for r in res[s]); c = statistics.median(r["cpu"] for r in res[s])
    print(f"{s}: median wall {w:.2f} s  median cpu {c:.2f} s  walls {[r['wall'] for r in res[s]]}")
