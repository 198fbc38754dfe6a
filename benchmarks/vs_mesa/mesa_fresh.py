"""One Mesa run in a fresh interpreter, for the fresh-process timing of ``compare.py``.

    python mesa_fresh.py '{"size": 40, "steps": 20, "seed": 1, "params": {...}}'
"""

from __future__ import annotations

import json
import sys

if __name__ == "__main__":
    job = json.loads(sys.argv[1])
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    import compare_params

    compare_params.PARAMS.update(job["params"])
    from compare import mesa_model

    m = mesa_model(job["size"], job["seed"])
    for _ in range(job["steps"]):
        m.step()
    print(json.dumps({"agents": len(m.agents)}))
