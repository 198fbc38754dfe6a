"""A/B timing of two or more ``src/`` trees, alternating fresh-interpreter runs.

    git archive c7fcf62 src | tar -x -C /tmp/old
    python benchmarks/ab.py 1e-3 1991-12 3 None /tmp/old/src src

Arguments: SCALE END REPEAT THREADS SRC... Each round runs ``allegiance.run("cpsu", seed=1)``
once per tree (so all trees see the same machine load); prints median wall and CPU seconds.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

CODE = """
import json, time, allegiance
c = time.process_time()
r = allegiance.run("cpsu", scale={scale}, seed=1, threads={threads},
                   overrides={{"run.end": "{end}"}})
print(json.dumps({{"wall": r.manifest["wall_seconds"], "cpu": time.process_time() - c}}))
"""


def main() -> None:
    scale, end, repeat, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    srcs = sys.argv[5:]
    code = CODE.format(scale=scale, end=end, threads=threads)
    res: dict[str, list[dict]] = {s: [] for s in srcs}
    for _ in range(repeat):
        for s in srcs:
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 env={"PYTHONPATH": s, "PATH": "/usr/bin:/bin"}, check=True)
            res[s].append(json.loads(out.stdout.strip().splitlines()[-1]))
    for s, rs in res.items():
        w = statistics.median(r["wall"] for r in rs)
        c = statistics.median(r["cpu"] for r in rs)
        print(f"{s}: median wall {w:.2f} s  median cpu {c:.2f} s  walls {[r['wall'] for r in rs]}")


if __name__ == "__main__":
    main()
