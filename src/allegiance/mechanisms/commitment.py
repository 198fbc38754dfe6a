"""M12 — "Not a single real man": committed members and defenders (the headline outputs).

Essay §4 and §1.3: what matters is not the number of members but how many believe. A member
is *committed* when belief in the ideal is at least ``threshold``. This module owns no
dynamics; it defines the measurement reported every month (``committed_members``) and, with
M10, the defenders at the crisis. It cannot be switched off (it only measures).
"""

from __future__ import annotations

from pydantic import Field, model_validator

from ._common import MechanismParams

#: the mechanism's id in the brief
ID = "M12"
#: the flows it counts (columns of ``timeseries.parquet``, persons per month)
FLOWS: tuple[str, ...] = ()
STATE: list = []


class Params(MechanismParams):
    """Measurement of commitment."""

    threshold: float = Field(0.6, ge=0.0, le=1.0,
                             description="belief in the ideal at or above which a member "
                                         "counts as committed")
    survey_firm: float = Field(0.6, ge=0.0, le=1.0,
                               description="trust in the party at or above which an adult "
                                           "would answer a survey with firm support")
    survey_against: float = Field(0.4, ge=0.0, le=1.0,
                                  description="trust below which an adult would answer against "
                                              "(partial support in between)")

    @model_validator(mode="after")
    def _ordered(self):
        if self.survey_against > self.survey_firm:
            raise ValueError(f"survey_against {self.survey_against:g} is above survey_firm "
                             f"{self.survey_firm:g}; allowed: survey_against <= survey_firm")
        return self
