"""Results in words and numbers for people (the CLI's run summary, the report).

Machine outputs (``summary.json``, Parquet) keep their keys and full precision; this module
only decides how a person reads them: ``members_1989_01_01`` as "members + candidates, 1 Jan
1989", 19590000.0 as "19,590,000", 0.16633953563275236 as "0.166", and the headline as
sentences that say what "committed" means.
"""

from __future__ import annotations

import math
import re
from typing import Any

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DATED = re.compile(r"(.*)_(\d{4})_(\d{2})_(\d{2})")
#: readable names of the parts of summary keys (the keys themselves stay as they are)
_WORDS = {"members": "members + candidates", "committed_members": "committed members",
          "nonmembers": "non-members", "fit_rmse_log_members_to_1988":
          "fit to membership data ≤ 1988 (rmse of log)",
          "lapsed_members": "lapsed members (on the register, no dues, no meetings)",
          "members_active": "active members + candidates (paying dues)",
          "disengaged": "members who stopped paying dues and attending",
          "reengaged": "lapsed members who came back",
          "exits_lapsed": "exits of lapsed members",
          "defenders_lapsed": "at the crisis: lapsed members defending",
          "passive_lapsed": "at the crisis: lapsed members passive",
          "opponents_lapsed": "at the crisis: lapsed members opposing"}


def human(v: Any) -> str:
    """A number for people: persons with thousands separators, shares to 3 significant digits.

    Whole numbers (counts of persons, even when stored as floats) and anything from 1,000 up
    print as ``19,590,000``; other numbers with 3 significant digits (``0.165``).
    """
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if not isinstance(v, int | float):
        return str(v)
    if float(v).is_integer() or abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3g}"


def _date_words(y: str, m: str, d: str) -> str:
    return f"{int(d)} {MONTHS[int(m) - 1]} {y}"


#: fields of the crisis (M10) that are not "<side>_<group>"
_CRISIS = {"iterations": "rounds of the cascade", "security_forces": "in the security forces",
           "security_obeyed": "security forces that obeyed",
           "security_refused": "security forces that refused",
           "security_obey_share": "share of the security forces that obeyed",
           "instigators_regime": "instigators for the regime",
           "instigators_regime_elite": "instigators for the regime, of the elite",
           "instigators_regime_security": "instigators for the regime, of the forces",
           "instigators_challenger": "instigators for the challenger",
           "regime_side": "on the regime's side", "challenger_side": "on the challenger's side"}


def label(key: str) -> str:
    """A summary key in words: ``members_1989_01_01`` -> ``members + candidates, 1 Jan 1989``."""
    if key in _WORDS:
        return _WORDS[key]
    if key.startswith(("crisis_", "crisis.")):
        rest = key[len("crisis_"):]
        if rest in _CRISIS:
            return f"at the crisis: {_CRISIS[rest]}"
        who, _, side = rest.partition("_")
        verb = {"defenders": "defending", "opponents": "opposing", "passive": "passive"}
        return f"at the crisis: {side.replace('nonmembers', 'non-members')} {verb.get(who, who)}"
    m = _DATED.fullmatch(key)
    if m:
        return f"{_WORDS.get(m[1], m[1].replace('_', ' '))}, {_date_words(*m.groups()[1:])}"
    m = re.fullmatch(r"([a-z_]+)_(\d{4})", key)
    if m:
        return f"{_WORDS.get(m[1], m[1].replace('_', ' '))} during {m[2]}"
    return key.replace("_", " ")


def headline_words(summary: dict[str, Any], manifest: dict[str, Any]) -> list[str]:
    """The headline of a run in sentences: what 'committed' means, and what the numbers say."""
    h = summary.get("headline") or {}
    sc = manifest.get("scenario") or {}
    out = []
    thr = ((sc.get("mechanisms") or {}).get("commitment") or {}).get("threshold")
    committed = [(k, m) for k in h if (m := _DATED.fullmatch(k)) and m[1] == "committed_members"]
    if thr is not None and committed:
        out.append(f"Committed members are members and candidates whose belief in the ideal is "
                   f"at least {thr:g} on its 0–1 scale (mechanisms.commitment.threshold).")
    for k, m in committed:
        total = h.get(k.replace("committed_members", "members", 1))
        if total:
            out.append(f"On {_date_words(*m.groups()[1:])} the party has {human(total)} members "
                       f"and candidates; {human(h[k])} of them ({100 * h[k] / total:.3g} %) are "
                       "committed.")
    fc = summary.get("forecast") or {}
    crisis = fc.get("crisis") or {}
    if crisis:
        out.append(f"At the crisis of {crisis.get('date')}, "
                   f"{human(crisis.get('defenders_members'))} members and "
                   f"{human(crisis.get('defenders_nonmembers'))} non-members defend the party; "
                   f"{human(crisis.get('opponents_members'))} members and "
                   f"{human(crisis.get('opponents_nonmembers'))} non-members side with the "
                   "challenger.")
    if fc.get("note"):
        out.append("From 1989 on the numbers are an out-of-sample forecast: the model was "
                   "calibrated on data up to 1988 only.")
    return out
