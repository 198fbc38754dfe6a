"""M8 — Elite defection: converting power into private wealth.

Essay §4.2: for the upper bureaucrats "the choice was ... how to use their power during the
regime's collapse to legally and safely transform the 'state wealth' they had previously
appropriated into 'personal private property'". Each month an office-holder (cadre or elite)
who has not yet converted compares

    convert = gain · outside_option · stake
    keep    = privilege · (1 − risk) + w_belief · belief + w_trust · trust

and converts with probability ``hazard/12 · logistic((convert − keep) / 0.1)``. The outside
option is a lever that grows with reform (the 1988 Law on Cooperatives, 1990–91 privatization).
A converted official stays in office but no longer defends the party (M10) and leaves more
easily (M9).

State: ``converted``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..rng import uniform
from ._common import CADRE, MechanismParams, logistic, positive, unit

STATE = [("converted", np.bool_, False)]


class Params(MechanismParams):
    """Conversion decision of office-holders."""

    gain: float = positive(2.0, "value of converting one unit of stake at outside option 1")
    risk: float = unit(0.0, "perceived risk of losing office, lowering the value of keeping it")
    w_belief: float = positive(0.5, "weight of belief in keeping faith")
    w_trust: float = positive(0.3, "weight of trust in keeping faith")
    hazard: float = positive(0.5, "yearly conversion rate when converting clearly pays")


@njit(cache=True, parallel=True)
def convert(alive, status, belief, trust, stake, converted, uid, outside, privilege,
            gain, risk, w_b, w_t, hazard, key, bounds, part):
    """Office-holders decide whether to convert."""
    for c in prange(bounds.shape[0] - 1):
        k = 0
        for i in range(bounds[c], bounds[c + 1]):
            if not alive[i] or status[i] < CADRE or converted[i]:
                continue
            v_conv = gain * outside * stake[i]
            v_keep = privilege * (1.0 - risk) + w_b * belief[i] + w_t * trust[i]
            if uniform(key, uid[i]) < hazard * logistic((v_conv - v_keep) / 0.1):
                converted[i] = True
                k += 1
        part[c, 0] = k


def step(m, step: int) -> None:
    """Phase ``elite``."""
    p = m.params.elite
    if not p.enabled:
        return
    outside = m.lever("outside_option")
    if outside <= 0:
        return
    st = m.state
    bounds = m.bounds()
    part = np.zeros((bounds.shape[0] - 1, 1), dtype=np.int64)
    convert(st.view("alive"), st.view("status"), st.view("belief"), st.view("trust"),
            st.view("stake"), st.view("converted"), st.view("uid"), outside,
            m.lever("privilege"), p.gain, p.risk, p.w_belief, p.w_trust, p.hazard / 12.0,
            m.rng.key("elite.convert", step), bounds, part)
    m.flows["conversions"] += int(part[:, 0].sum())
