"""M3 — Ideological shocks from the top.

Essay §2.1–2.2 and §3.2: the 1956 Secret Speech "thrust a dagger at history and faith"; the
1961 Programme declared a "party of the whole people"; glasnost negated the party's history.
A shock event removes a proportion of belief in the ideal and/or of trust in the party,

    belief ← belief · (1 + Δ_belief · exposure · (1 − history_education_effect))
    trust  ← trust  · (1 + Δ_trust  · exposure)

where exposure is 1 for the exposed cohorts (``born_before``/``born_after``) and
``other_exposure`` for everyone else, and the history-education remedy (M11) dampens the
belief part. Positive deltas (a victory) raise belief towards 1 instead.

Switched off, shock events change nothing.
"""

from __future__ import annotations

from numba import njit, prange

from ._common import ADULT_MONTHS, MechanismParams, clip01, unit

#: the mechanism's id in the brief
ID = "M3"
#: the flows it counts (columns of ``timeseries.parquet``, persons per month)
FLOWS: tuple[str, ...] = ()
STATE: list = []


class Params(MechanismParams):
    """Shock events' effects."""

    child_exposure: float = unit(0.3, "exposure of those under 16 at the shock")


@njit(cache=True, parallel=True)
def apply_shock(alive, birth, status, belief, trust, month, d_belief, d_trust, target,
                born_lo, born_hi, other_exposure, child_exposure):
    """Apply one shock; ``target`` 0 all, 1 members, 2 non-members."""
    for i in prange(alive.shape[0]):
        if not alive[i]:
            continue
        is_member = status[i] > 0
        if (target == 1 and not is_member) or (target == 2 and is_member):
            continue
        exp_ = 1.0 if born_lo <= birth[i] < born_hi else other_exposure
        if month - birth[i] < ADULT_MONTHS - 24:
            exp_ *= child_exposure
        db = d_belief * exp_
        dt = d_trust * exp_
        b = belief[i]
        t = trust[i]
        belief[i] = clip01(b + db * b if db < 0 else b + db * (1.0 - b))
        trust[i] = clip01(t + dt * t if dt < 0 else t + dt * (1.0 - t))


def apply(ctx, st, ev) -> bool:
    """Apply a ``shock`` event to the state ``st``; whether it was applied (M3 on)."""
    from ..calendar import parse_month
    from . import remedies

    if not ctx.params.shocks.enabled:
        return False
    lo = parse_month(ev.born_after) if ev.born_after else -(2**31)
    hi = parse_month(ev.born_before) if ev.born_before else 2**31 - 1
    damp = remedies.history_effect(ctx)
    apply_shock(st.view("alive"), st.view("birth"), st.view("status"), st.view("belief"),
                st.view("trust"), ctx.month, ev.belief * (1.0 - damp if ev.belief < 0 else 1.0),
                ev.trust, ("all", "members", "nonmembers").index(ev.target), lo, hi,
                ev.other_exposure, ctx.params.shocks.child_exposure)
    return True
