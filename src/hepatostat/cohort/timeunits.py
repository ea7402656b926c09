"""Visit times: the unit they are given in, their labels, and a plausibility check.

A visit column holds a number of days, weeks or months after the baseline
(the first infusion). The statistics work in weeks, the unit of the seed
papers (W0, W1, W4, ...); :func:`to_weeks` converts, and
:func:`check_schedule` stops a table whose visit column cannot be a visit
schedule (dates given as day numbers to a "week" option, a free-running
day counter) with a hint, instead of making hundreds of one-patient
"visits".
"""

from __future__ import annotations

import math
import re

from ..errors import InputError
from ..io.format import fmt_plain

__all__ = ["TIME_UNITS", "DAYS_PER", "week_label", "time_label", "to_weeks", "check_schedule", "unit_in_name",
           "MAX_VISITS", "MAX_TIME"]

#: accepted ``--time-unit`` values
TIME_UNITS = ("week", "day", "month")
#: days in one unit (a month is 365.25 / 12 days)
DAYS_PER = {"day": 1.0, "week": 7.0, "month": 365.25 / 12}
#: more distinct visit times than this is not a visit schedule
MAX_VISITS = 60
#: visit times beyond this are implausible: 520 weeks (10 years; a larger
#: "week" is almost always a day number), 25 years in days or months
MAX_TIME = {"week": 520.0, "day": 25 * 365.25, "month": 300.0}


def week_label(w: float) -> str:
    """``W4`` for week 4, ``W0.5`` for half a week."""
    return f"W{int(w)}" if float(w).is_integer() else f"W{fmt_plain(w)}"


def time_label(t: float, unit: str = "week") -> str:
    """``W4``, ``D28`` or ``M3``: a visit time in its own unit."""
    prefix = {"week": "W", "day": "D", "month": "M"}[unit]
    return f"{prefix}{int(t)}" if float(t).is_integer() else f"{prefix}{fmt_plain(t)}"


def _unit(unit: str) -> str:
    u = str(unit).strip().lower().rstrip("s")
    if u not in TIME_UNITS:
        raise InputError(f"unknown time unit {unit!r}; allowed: {', '.join(TIME_UNITS)}")
    return u


def to_weeks(t: float, unit: str = "week") -> float:
    """A visit time given in ``unit`` (day, week, month) as weeks."""
    u = _unit(unit)
    return float(t) * DAYS_PER[u] / 7.0


#: words in a column name that say its unit ("study_day", "Days", "month_fu", "wk")
_NAME_UNITS = {"day": "day", "days": "day", "week": "week", "weeks": "week", "wk": "week", "wks": "week",
               "month": "month", "months": "month", "mo": "month"}


def unit_in_name(column) -> str | None:
    """The time unit a column's name states (``study_day`` -> ``day``), or None when it states none or several."""
    words = {_NAME_UNITS[w] for w in re.split(r"[^a-z]+", str(column).lower()) if w in _NAME_UNITS}
    return words.pop() if len(words) == 1 else None


def check_schedule(times, unit: str, *, column: str, source=None, n_patients: int | None = None) -> None:
    """Stop with a hint when the distinct visit times cannot be a visit schedule.

    Implausible: a column whose name states another unit than the declared
    one (``day`` read as weeks: days 0-365 would pass as 7 years of weekly
    visits), more than :data:`MAX_VISITS` distinct times, or a time later
    than :data:`MAX_TIME` in the declared unit (a "week" column with values
    > 520 is almost always days).
    """
    u = _unit(unit)
    named = unit_in_name(column)
    if named is not None and named != u:
        raise InputError(
            f"the visit column {column!r} is named in {named}s but the visit times are read as {u}s: pass "
            f"--time-unit {named} (or rename the column if it really holds {u}s)", file=source, column=column)
    vals = sorted({float(t) for t in times if t is not None and math.isfinite(float(t))})
    if not vals:
        return
    limit = MAX_TIME[u]
    years = round(limit * DAYS_PER[u] / 365.25)
    hint_unit = ("; if the column counts days, pass --time-unit day" if u != "day" else "")
    if max(vals) > limit:
        raise InputError(
            f"visit times up to {fmt_plain(max(vals))} {u}s are more than {fmt_plain(years)} years after baseline: this is not a "
            f"visit schedule in {u}s{hint_unit}; or put the visits in windows first (hepatostat cohort build)",
            file=source, column=column, value=max(vals))
    if len(vals) > MAX_VISITS:
        per = f" for {n_patients} patients" if n_patients else ""
        raise InputError(
            f"{len(vals)} distinct visit times{per}: more than {MAX_VISITS} is not a visit schedule (each 'visit' would "
            f"hold one or two patients); assign the measurements to visit windows first (hepatostat cohort build, "
            f"[visits] in the criteria file){hint_unit if u == 'week' and max(vals) > 104 else ''}",
            file=source, column=column)
