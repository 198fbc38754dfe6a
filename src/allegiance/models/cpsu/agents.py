"""The agents' attributes at one moment, as a table (``allegiance run --snapshot``).

Read from the struct-of-arrays state between two months (at the start of a month, where the
month's row of ``timeseries.parquet`` takes its stocks), one row per living agent; codes are
decoded to labels. Nothing is changed: a run with snapshots gives the same results as one
without.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...mechanisms._common import ADULT_MONTHS, LAPSED
from ...mechanisms.legitimacy import DISPOSITION_STEPS
from .stocks import COHORT_EDGES

#: ``status`` codes as the tiers of the timeseries' columns
TIERS = ("nonmember", "candidate", "rank_and_file", "cadre", "elite")
#: ``motive`` codes (the motive at joining; ``none`` for those who never joined)
MOTIVES = ("none", "ideal", "career", "conformist")
#: birth cohorts as in the timeseries' ``members_born_*`` columns (edges: 1900, 1920, ...)
COHORTS = ("pre1900", "1900_1919", "1920_1939", "1940_1959", "1960plus")
#: the columns, in order, and what each is (docs/ODD.md, "Snapshots")
COLUMNS = {
    "uid": "the agent's id (stable through the run)",
    "tier": "nonmember, candidate, rank_and_file, cadre or elite",
    "member": "on the party's register (candidates included)",
    "lapsed": "a member who stopped paying dues and attending (M9), still on the register",
    "converted": "an official who turned office into private wealth (M8)",
    "adult": "aged 18 or more",
    "age": "age in years",
    "cohort": "birth cohort: pre1900, 1900_1919, 1920_1939, 1940_1959, 1960plus",
    "birth_year": "year of birth",
    "motive": "motive at joining: none, ideal, career, conformist",
    "join_year": "year the agent last joined the party (NaN: never)",
    "belief": "belief in the ideal, 0-1",
    "trust": "trust in the party, 0-1",
    "stake": "material stake in office (M5)",
    "disposition": "lasting disposition that filters the news (M6), in standard deviations",
    "workplace": "workplace (primary organization) id",
}


def agent_table(model, step: int) -> Any:
    """One row per living agent at the start of month ``step`` (the model's current step)."""
    import pandas as pd

    st = model.state
    month = model.month(step)
    alive = st.view("alive")
    idx = np.flatnonzero(alive)
    status = st.view("status")[idx].astype(np.int64)
    birth = st.view("birth")[idx].astype(np.int64)
    join = st.view("join")[idx].astype(np.int64)
    age_months = month - birth
    cohort = np.searchsorted(COHORT_EDGES, birth, side="right")
    member = status > 0
    join_year = np.floor_divide(join, 12).astype(np.float64)
    join_year[join < 0] = np.nan  # never joined
    return pd.DataFrame({
        "uid": st.view("uid")[idx],
        "tier": pd.Categorical.from_codes(status, TIERS),
        "member": member,
        "lapsed": member & (st.view("left")[idx] == LAPSED),
        "converted": st.view("converted")[idx].astype(bool),
        "adult": age_months >= ADULT_MONTHS,
        "age": age_months / 12.0,
        "cohort": pd.Categorical.from_codes(cohort, COHORTS),
        "birth_year": np.floor_divide(birth, 12),
        "motive": pd.Categorical.from_codes(st.view("motive")[idx].astype(np.int64), MOTIVES),
        "join_year": join_year,
        "belief": st.view("belief")[idx],
        "trust": st.view("trust")[idx],
        "stake": st.view("stake")[idx],
        "disposition": st.view("disposition")[idx] / float(DISPOSITION_STEPS),
        "workplace": st.view("cell")[idx],
    })
