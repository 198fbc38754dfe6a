"""CPU time of allegiance's Epstein tick kernel alone (no recording), Mesa-equivalent settings.

    PYTHONPATH=src python benchmarks/vs_mesa/kernel_cpu.py

Prints agent-steps per CPU-second (``time.process_time``), which a shared machine disturbs less
than wall-clock rates.
"""

from __future__ import annotations

import time

from allegiance_side import scenario
from compare_params import PARAMS

from allegiance.models.classic.epstein import EpsteinModel
from allegiance.scenario import load_scenario

for size, steps in ((40, 400), (200, 40), (400, 20)):
    m = EpsteinModel(load_scenario(scenario(PARAMS, size, size, steps)), seed=1, scale=1.0)
    m.setup()
    m._tick(0)  # compiles or loads the kernel
    t = time.process_time()
    for s in range(1, steps):
        m._tick(s)
    cpu = time.process_time() - t
    print(f"{size}x{size}: {m.state.n * (steps - 1) / cpu:,.0f} agent-steps per CPU-second")
