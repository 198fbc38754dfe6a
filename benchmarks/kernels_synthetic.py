"""Time one month kernel on a synthetic state, to compare two source trees on equal work.

    PYTHONPATH=src python benchmarks/kernels_synthetic.py apply --threads 2
    PYTHONPATH=/path/to/other/src python benchmarks/kernels_synthetic.py apply --threads 2
    PYTHONPATH=src python benchmarks/kernels_synthetic.py learning --threads 1

``apply``: ``cpsu.apply_pass`` (the decisions to apply, trial rate 2 %) over 30 million
agents whose uids have gaps (1.6 uids per agent), 7 % members. ``learning``:
``cpsu.learning_pass`` over 20 million agents, M7 alone, next month's stocks alone, and
both. Prints the median of 5 calls after one warm-up, in ns per agent, and a checksum of the
results (equal for trees that are bit-identical). The state is drawn from a fixed seed, so
every tree gets the same one; alternate the trees and take medians (the machine is shared).
"""

from __future__ import annotations

import argparse
import inspect
import types

import numpy as np
from _timing import call_times


def _median(f, n: int) -> float:
    return float(np.median(call_times(f, repeat=5))) / n * 1e9


def apply(cm) -> None:
    n = 30_000_000
    rng = np.random.default_rng(0)
    alive = rng.random(n) < 0.97
    birth = (23000 - rng.integers(0, 1000, n)).astype(np.int16)
    status = np.where(rng.random(n) < 0.07, 2, 0).astype(np.int8)
    left = np.zeros(n, np.int8)
    uid = np.sort(rng.choice(int(n * 1.6), n, replace=False)).astype(np.uint32)
    belief = rng.random(n).astype(np.float32)
    span = 1 << 16
    bounds = np.searchsorted(uid, np.arange(0, int(n * 1.6) + span, span)).astype(np.uint64)
    nchunk = bounds.size - 1
    terms = (23000, 18 * 12, 60 * 12, 0.6, 0.2, 0.1, 2.0, 0.02, 1.0, 1.2, 0.6, 1.2, 0.5, 0.12,
             np.uint64(21), np.uint64(22), np.uint64(23))
    params = inspect.signature(cm.apply_pass.py_func).parameters
    lists = "listed" in params
    if "rt" in params:  # 0.3.3 on: the terms as M1's Terms record
        from allegiance.mechanisms.recruitment import Terms

        t = terms
        terms = (t[0], Terms(*t[1:7], 0.0, *t[7:14], t[15], t[16], np.uint64(0), t[14]))
    out = {}

    def run() -> None:
        motive = np.zeros(n, np.int8)
        w, k = np.zeros(nchunk), np.zeros(nchunk, np.int64)
        extra = (np.zeros((nchunk, 1024), np.uint32),) if lists else ()
        cm.apply_pass(bounds, span, alive, birth, status, left, uid, belief, motive, *terms, w,
                      k, *extra)
        out["check"] = (int(k.sum()), float(w.sum()))

    print(f"apply_pass: {_median(run, n):.3f} ns per agent; applicants, weight sum "
          f"{out['check']}")


def learning(cm) -> None:
    n = 20_000_000
    nc = 4000
    rng = np.random.default_rng(0)
    alive = rng.random(n) < 0.97
    birth = (23000 - rng.integers(0, 1000, n)).astype(np.int16)
    death = np.where(rng.random(n) < 0.001, 23001, 32767).astype(np.int16)
    cell = rng.integers(0, nc, n).astype(np.int32)
    belief = rng.random(n).astype(np.float32)
    trust0 = rng.random(n).astype(np.float32)
    bounds = np.minimum(np.arange(0, n + 65536, 65536), n).astype(np.uint64)
    lanes = np.array([0, bounds.size - 1], np.int64)
    tsum = np.zeros((1, nc), np.int64) + (1000 << 15) + 100
    dying = np.zeros((1, 100_000), np.uint32)
    nd = np.zeros(1, np.int64)
    # trees before 0.3.2 take a ``far`` flag (prefetch the workplaces): off, as for 4,000
    params = inspect.signature(cm.learning_pass.py_func).parameters
    far = (False,) if "far" in params else ()
    # 0.3.3 on: the survey's cut points, and next month's stocks have 12 columns
    cuts = (np.array([0.6, 0.4]),) if "cuts" in params else ()
    nxt = np.zeros((1, 12 if cuts else 6), np.int64)
    for learn, stocks in ((True, False), (False, True), (True, True)):
        trust = trust0.copy()

        def run(learn=learn, stocks=stocks, trust=trust) -> None:
            cm.learning_pass(bounds, lanes, alive, birth, death, cell, belief, trust, 23000,
                             learn, 0.03, tsum, *far, stocks, 0.6, 0.5, 0.3, True, *cuts, nxt,
                             dying, nd)

        print(f"learning_pass (M7 {learn}, stocks {stocks}): {_median(run, n):.3f} ns per "
              f"agent; stocks {nxt.sum(axis=0).tolist() if stocks else '-'}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kernel", choices=["apply", "learning"])
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    import numba

    # the two kernels this script times, wherever the tree under test keeps them (trees
    # before 0.3.3 in one module, cpsu_month)
    try:
        from allegiance.models.cpsu import adults, recruits

        cm = types.SimpleNamespace(apply_pass=recruits.apply_pass,
                                   learning_pass=adults.learning_pass)
    except ImportError:
        from allegiance.models import cpsu_month as cm

    numba.set_num_threads(a.threads)
    {"apply": apply, "learning": learning}[a.kernel](cm)


if __name__ == "__main__":
    main()
