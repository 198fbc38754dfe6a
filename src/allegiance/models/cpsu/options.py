"""Compile options and block sizes shared by the month's kernels."""

from __future__ import annotations

#: options of the month's kernels. ``error_model="numpy"``: every division in them is guarded
#: (``count > 1``, ``tm > 0``, ...), so numba's default Python error model would only add a
#: zero-divisor test to each one on the hot path; results are equal.
KERNEL = {"cache": True, "parallel": True, "error_model": "numpy"}

#: slots per block of the blocked passes: a block's per-agent buffers (8 bytes per slot) stay
#: in the L1/L2 cache between the block's loops
BLOCK = 4096

#: slots tested at once for a rare event (an applicant, a death) in a loop that vectorizes
GROUP = 64
