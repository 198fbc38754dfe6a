"""The allegiance half of the Epstein vs Mesa benchmark (run with the project's Python).

Reads a JSON job from argv[1] and prints a JSON result on stdout; ``compare.py`` drives it.
"""

from __future__ import annotations

import json
import sys
import time

import allegiance


def scenario(p: dict, width: int, height: int, steps: int) -> dict:
    """The allegiance scenario matching Mesa 3.5's example with parameters ``p``."""
    return {
        "name": "epstein_vs_mesa", "model": "epstein",
        "run": {"steps": steps, "seed": 0},
        "world": {"width": width, "height": height, "citizen_density": p["citizen_density"],
                  "cop_density": p["cop_density"], "placement": "bernoulli"},
        "params": {"legitimacy": p["legitimacy"], "k": 2.3, "threshold": 0.1,
                   "vision": p["vision"], "cop_vision": p["vision"],
                   "neighbourhood": "von_neumann", "arrest_rule": "rounded",
                   "max_jail_term": p["max_jail_term"], "jail": "occupy", "movement": True},
    }


def equivalence(job: dict) -> dict:
    out = []
    g = job.get("grid", 40)
    sc = scenario(job["params"], g, g, job["steps"])
    for seed in job["seeds"]:
        r = allegiance.run(sc, seed=seed)
        ts, h = r.timeseries, r.summary["headline"]
        # rows hold the state at the start of each tick; append the state after the last one
        out.append({"seed": seed, "citizens": h["citizens"],
                    "active": [*ts["active"].tolist(), h["final_active"]],
                    "jailed": [*ts["jailed"].tolist(), h["final_jailed"]]})
    return {"runs": out}


def speed(job: dict) -> dict:
    rows = []
    allegiance.run(scenario(job["params"], 40, 40, 5), seed=0)  # compile / load numba caches
    for size, steps in job["sizes"]:
        for rep in range(job["reps"]):
            r = allegiance.run(scenario(job["params"], size, size, steps), seed=rep + 1, threads=1)
            m, h = r.manifest, r.summary["headline"]
            secs = m["wall_seconds"] - m["setup_seconds"]
            agents = h["citizens"] + h["cops_at_start"]
            rows.append({"size": size, "rep": rep, "steps": steps, "agents": agents,
                         "seconds": secs, "agent_steps_per_s": agents * steps / secs})
    return {"rows": rows}


def fresh(job: dict) -> dict:
    """One run, no warm-up: the caller times this whole process."""
    allegiance.run(scenario(job["params"], job["size"], job["size"], job["steps"]),
                   seed=job["seed"], threads=1)
    return {}


if __name__ == "__main__":
    job = json.loads(sys.argv[1])
    t = time.perf_counter()
    res = {"equivalence": equivalence, "speed": speed, "fresh": fresh}[job["what"]](job)
    res["wall_seconds"] = time.perf_counter() - t
    print(json.dumps(res))
