"""Epstein (2002) Model I against the published patterns and the replication in
/work/shared/data/classic_model_targets.csv (rows E1, E3, E4, E5): prints the tables of
docs/VALIDATION.md ("## Epstein (2002)").

    PYTHONPATH=src python benchmarks/epstein_validation.py [--seeds 20]
"""

from __future__ import annotations

import argparse
import statistics as st

import numpy as np

import allegiance


def run1(seeds):
    print("### Run 1 (epstein_run1): deceptive behaviour, local outbursts")
    print("| seed | actives t=100-700 mean (min-max) | active share of aggrieved citizens "
          "seeing a cop | ... seeing none |")
    print("|---|---|---|---|")
    for s in seeds:
        r = allegiance.run("epstein_run1", seed=s)
        a = r.timeseries["active"].to_numpy()[100:]
        h = r.summary["headline"]
        print(f"| {s} | {a.mean():.1f} ({a.min()}-{a.max()}) | "
              f"{h['active_share_aggrieved_seeing_cops']:.3f} | "
              f"{h['active_share_aggrieved_seeing_no_cops']:.3f} |")


def run2(seeds):
    print("### Run 2 (epstein_run2, 800 ticks): outbursts by arrest rule")
    print("| rule | outbursts per run (seeds) | median actives | peak actives (mean) |")
    print("|---|---|---|---|")
    for rule in ("rounded", "printed", "floored"):
        out, med, peak = [], [], []
        for s in seeds:
            r = allegiance.run("epstein_run2", seed=s, overrides={"params.arrest_rule": rule})
            out.append(r.summary["headline"]["outbursts"])
            med.append(float(np.median(r.timeseries["active"])))
            peak.append(r.summary["headline"]["peak_active"])
        print(f"| {rule} | {out} | {st.mean(med):.1f} | {st.mean(peak):.0f} |")


def runs34(seeds):
    print("### Runs 3-4 (epstein_salami vs epstein_jump, 300 ticks)")
    rows = []
    for s in seeds:
        a = allegiance.run("epstein_salami", seed=s).summary["headline"]
        b = allegiance.run("epstein_jump", seed=s).summary["headline"]
        rows.append((a["peak_active"], b["peak_active"], a["final_jailed"], b["final_jailed"]))
    sp, jp, sj, jj = (np.array(c) for c in zip(*rows, strict=True))
    print("| | salami | jump |")
    print("|---|---|---|")
    print(f"| peak actives, mean (min-max) | {sp.mean():.1f} ({sp.min()}-{sp.max()}) | "
          f"{jp.mean():.1f} ({jp.min()}-{jp.max()}) |")
    print(f"| runs with peak > 50 | {(sp > 50).sum()}/{len(seeds)} | "
          f"{(jp > 50).sum()}/{len(seeds)} |")
    print(f"| jailed at the end, mean | {sj.mean():.0f} | {jj.mean():.0f} |")
    print(f"\njump peak higher than salami peak in {(jp > sp).sum()}/{len(seeds)} seeds; "
          f"jump ends with more jailed in {(jj > sj).sum()}/{len(seeds)}")


def run5(seeds):
    print("### Run 5 (epstein_cops, 400 ticks): withdrawing cops")
    peaks, ts_, left, before = [], [], [], []
    for s in seeds:
        ts = allegiance.run("epstein_cops", seed=s).timeseries
        i = int(ts["active"].idxmax())
        peaks.append(int(ts["active"][i]))
        ts_.append(int(ts["step"][i]))
        left.append(int(ts["cops"][i]))
        before.append(int(ts.loc[ts["step"] < 50, "active"].max()))
    print(f"peak actives {min(peaks)}-{max(peaks)} (mean {st.mean(peaks):.0f}) at mean tick "
          f"{st.mean(ts_):.0f} ({min(ts_)}-{max(ts_)}) with {min(left)}-{max(left)} of 118 cops "
          f"left; most actives before the withdrawal (t < 50): {max(before)}; "
          f"tipped (peak > 150) in {sum(p > 150 for p in peaks)}/{len(seeds)} seeds")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=20)
    n = ap.parse_args().seeds
    run1(range(1, 6))
    run2(range(1, 6))
    runs34(range(1, n + 1))
    run5(range(1, n + 1))
