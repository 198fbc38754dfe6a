"""The historical series shipped with the package (``allegiance/data``), with their sources.

Every row keeps its ``verification`` code (V read in a source, D derived, L literature figure,
E estimate) and ``source``. Readers here only parse; nothing is altered.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources
from pathlib import Path

from .calendar import parse_month

CALIBRATION_END = "1988-12"  # the out-of-sample rule: fit only on data up to the end of 1988


def path(name: str) -> Path:
    """Path of a bundled data file."""
    return Path(str(resources.files("allegiance") / "data" / name))


@cache
def rows(name: str) -> tuple[dict[str, str], ...]:
    """All rows of a bundled CSV file as dictionaries."""
    with path(name).open(newline="", encoding="utf-8") as fh:
        return tuple(csv.DictReader(fh))


def _month_of(text: str) -> int:
    return parse_month(text.strip()[:10])


@cache
def population_series() -> tuple[tuple[int, float], ...]:
    """(month number, persons) of the census series, sorted by date."""
    out = [(_month_of(r["date"]), float(r["population"])) for r in rows("ussr_population.csv")]
    return tuple(sorted(out))


@cache
def membership_series(include_estimates: bool = False) -> tuple[dict, ...]:
    """Members + candidates by date: dicts with month, date, value, verification, basis."""
    out = []
    for r in rows("cpsu_membership.csv"):
        v = r["total_members_and_candidates"].strip()
        if not v or (r["verification"] == "E" and not include_estimates):
            continue
        out.append({"month": _month_of(r["date"]), "date": r["date"], "value": float(v),
                    "verification": r["verification"], "basis": r["basis"]})
    return tuple(sorted(out, key=lambda d: d["month"]))


def in_sample(series, end: str = CALIBRATION_END):
    """Rows dated up to ``end`` (the calibration window)."""
    last = parse_month(end)
    return [r for r in series if r["month"] <= last]


@cache
def seniority_1983() -> dict[str, int]:
    """Full members on 1 January 1983 by year of joining (``cpsu_organization.csv``, aif.ru, V).

    Parsed from the row's text, e.g. ``"1925-40: 490,756"`` -> ``{"1925-40": 490756}``.
    """
    import re

    text = next(r["value"] for r in rows("cpsu_organization.csv") if r["variable"] == "seniority")
    pairs = re.findall(r"([^:;]+):\s*([\d,]+)", text)
    return {k.strip().removeprefix("joined ").strip(): int(v.replace(",", "")) for k, v in pairs}
