"""Monthly calendar: step ``k`` is the month ``k`` months after the scenario's start.

Months are represented as integer month numbers ``year * 12 + (month - 1)`` so that
dates compare and subtract as integers inside compiled kernels.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re

_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?$")


def month_number(year: int, month: int = 1) -> int:
    """Integer month number of ``year``-``month``."""
    return year * 12 + (month - 1)


def parse_month(text: str | _dt.date) -> int:
    """Parse ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` into a month number (the day is dropped).

    Raises:
        ValueError: if the text is not such a date.
    """
    if isinstance(text, _dt.date):
        return month_number(text.year, text.month)
    m = _DATE_RE.match(str(text).strip())
    if not m:
        raise ValueError(f"{text!r} is not a date (use YYYY, YYYY-MM or YYYY-MM-DD)")
    year = int(m.group(1))
    month = int(m.group(2) or 1)
    if not 1 <= month <= 12:
        raise ValueError(f"{text!r} has month {month} (allowed: 1..12)")
    return month_number(year, month)


def month_to_date(mnum: int) -> _dt.date:
    """First day of the month with number ``mnum``."""
    return _dt.date(mnum // 12, mnum % 12 + 1, 1)


@functools.lru_cache(maxsize=1 << 14)
def month_label(mnum: int) -> str:
    """``YYYY-MM`` label of a month number (cached: a run labels every month several
    times)."""
    return f"{mnum // 12:04d}-{mnum % 12 + 1:02d}"


def fractional_year(mnum: int) -> float:
    """Year as a float at the start of the month (1917-11 -> 1917.833)."""
    return mnum / 12.0
