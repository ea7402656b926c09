"""Visit windows, baseline, per-visit scores and changes.

Windows
-------
Times are days relative to an anchor (:class:`~hepatostat.cohort.VisitSpec`):
``t = lab day - anchor day``. Defaults (configurable in the criteria file's
``[visits]`` table):

======  ===========  ===================================================
visit   nominal day  window (days)
======  ===========  ===================================================
W0      baseline     the *last* value from 14 days before up to the day of
                     the first infusion (``-14 <= t <= 0``), always relative
                     to the first infusion
W1      7            4 to 10
W4      28           21 to 35
W12     84           70 to 98
W24     168          140 to 196
======  ===========  ===================================================

Follow-up windows are relative to the first infusion by default
(``anchor = "first_infusion"``); Jia et al. write "1, 4, 12 and 24 weeks
after off-therapy", which ``anchor = "last_infusion"`` implements. Windows
may not overlap and start after day 0, so no value counts for two visits.

Rules
-----
* In each follow-up window the value closest to the nominal day is used;
  of two equally close values the *earlier* one; of two on the same day the
  one that comes first in the input file.
* The baseline is the last value in the look-back window (same-day ties: the
  first in the input file).
* A visit without a value in its window is missing. Missing visits are kept
  as rows with a missing value and are never imputed (no LOCF).
* Values rejected at import (implausible) do not exist here; censored values
  (``"<5"``) are used at their limit and flagged in ``censored``.
* MELD and MELD-Na are computed per visit by :func:`hepatostat.scores.meld`
  and :func:`hepatostat.scores.meld_na` from the values chosen for that visit
  (each lab chosen independently within the window), in canonical units
  (mg/dL), so results in µmol/L and in mg/dL give the same score. A score
  with any component missing is missing. Dialysis is not recorded and taken
  as absent.

Changes (sign convention)
-------------------------
``decline = earlier value - later value``, as the paper uses "decline": a
positive decline means the value fell. For PTA, which rises as the liver
recovers, improvement is a negative decline.

* interval decline at visit k: value at visit k-1 minus value at visit k
  (W0-W1, W1-W4, W4-W12, W12-W24); missing if either is missing - an
  interval is never bridged over a missing visit;
* cumulative decline at visit k: baseline (W0) minus value at visit k.

SQL
---
Window assignment, baseline and closest-value selection are one SQL query
(:data:`VISIT_SQL`) run by DuckDB on the tables ``labs``, ``anchors``,
``windows``, ``cohort`` and ``outcomes`` (see :func:`visit_tables`). It uses
only standard SQL (common table expressions, ``ROW_NUMBER() OVER
(PARTITION BY ... ORDER BY ...)``, ``CASE``, ``ABS``, ``BETWEEN``, ``CROSS
JOIN``, ``LEFT JOIN``) so that the same text runs on Spark SQL or
PostgreSQL for multi-centre data; the test suite also runs it on SQLite.
Dates are turned into day numbers before the query because date arithmetic
is the part of SQL that differs most between engines. The one DuckDB-specific
step is registering pandas frames as tables (``connection.register``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import scores as _scores
from .. import units as _units
from ..errors import InputError
from .eligibility import SCORE_OUTCOMES, VisitSpec
from .schema import CohortData

__all__ = ["VISIT_SQL", "VisitTable", "extract_visits", "visit_tables", "run_visit_sql", "visit_lab_tests", "window_table"]

VISIT_SQL = """
WITH rel AS (
    SELECT l.person_id, l.test, l.value, l.op_sign, l.row_id, l.lab_day,
           l.lab_day - a.first_day  AS t_first,
           l.lab_day - a.anchor_day AS t_anchor
    FROM labs l
    JOIN anchors a ON a.person_id = l.person_id
),
candidates AS (
    SELECT r.person_id, r.test, w.visit, r.value, r.op_sign, r.row_id, r.lab_day,
           CASE WHEN w.is_baseline = 1 THEN r.t_first ELSE r.t_anchor END AS t,
           ROW_NUMBER() OVER (
               PARTITION BY r.person_id, r.test, w.visit
               ORDER BY CASE WHEN w.is_baseline = 1 THEN -r.t_first
                             ELSE ABS(r.t_anchor - w.nominal_day) END,
                        r.lab_day,
                        r.row_id
           ) AS rank_in_window
    FROM rel r
    JOIN windows w
      ON CASE WHEN w.is_baseline = 1 THEN r.t_first ELSE r.t_anchor END
         BETWEEN w.low_day AND w.high_day
),
chosen AS (
    SELECT * FROM candidates WHERE rank_in_window = 1
),
grid AS (
    SELECT c.person_id, o.test, w.visit, w.visit_order, w.week, w.nominal_day
    FROM cohort c
    CROSS JOIN outcomes o
    CROSS JOIN windows w
)
SELECT g.person_id, g.test, g.visit, g.visit_order, g.week, g.nominal_day,
       ch.value, ch.op_sign, ch.lab_day, ch.t, ch.row_id
FROM grid g
LEFT JOIN chosen ch
  ON ch.person_id = g.person_id AND ch.test = g.test AND ch.visit = g.visit
ORDER BY g.person_id, g.test, g.visit_order
"""

_EPOCH = pd.Timestamp("1970-01-01")


def visit_lab_tests(spec: VisitSpec) -> list[str]:
    """Lab tests :data:`VISIT_SQL` needs for ``spec`` (its ``outcomes`` table).

    The lab outcomes in their order, then the components of the requested
    scores that are not among them (bilirubin, INR, creatinine; sodium for
    MELD-Na).
    """
    lab_tests = list(spec.lab_outcomes)
    for s in SCORE_OUTCOMES:
        if s in spec.outcomes:
            lab_tests += [t for t in ("bilirubin", "inr", "creatinine") + (("sodium",) if s == "meld_na" else ()) if t not in lab_tests]
    return lab_tests


def window_table(spec: VisitSpec) -> pd.DataFrame:
    """The ``windows`` table of :data:`VISIT_SQL` for ``spec``.

    ``visit, visit_order, week, nominal_day, low_day, high_day, is_baseline``;
    the baseline window is ``[-lookback_days, 0]``.
    """
    windows = pd.DataFrame([
        {"visit": w.visit, "visit_order": k, "week": float(w.week), "nominal_day": w.nominal_day,
         "low_day": w.low, "high_day": w.high, "is_baseline": int(w.is_baseline)}
        for k, w in enumerate(spec.windows)
    ])
    windows.loc[windows["is_baseline"] == 1, "low_day"] = -float(spec.lookback_days)
    windows.loc[windows["is_baseline"] == 1, "high_day"] = 0.0
    return windows


def visit_tables(data: CohortData, person_ids, spec: VisitSpec) -> dict[str, pd.DataFrame]:
    """The five input tables of :data:`VISIT_SQL` as pandas frames.

    ``labs(person_id, test, value, op_sign, row_id, lab_day)``,
    ``anchors(person_id, first_day, anchor_day)``,
    ``windows(visit, visit_order, week, nominal_day, low_day, high_day, is_baseline)``,
    ``cohort(person_id)``, ``outcomes(test)``. ``row_id`` is the position
    of the row in ``data.labs`` (file order within a person).
    """
    ids = pd.Index(pd.unique(pd.Series(list(person_ids), dtype=object)))
    tr = data.treatments[data.treatments["person_id"].isin(ids)]
    g = tr.groupby("person_id")["day"]
    anchors = pd.DataFrame({"first_day": g.min(), "last_day": g.max()}).reset_index()
    anchors["anchor_day"] = anchors["first_day"] if spec.anchor == "first_infusion" else anchors["last_day"]
    anchors = anchors[["person_id", "first_day", "anchor_day"]].astype({"person_id": object})
    lab_tests = visit_lab_tests(spec)
    labs = data.labs
    sel = labs["person_id"].isin(ids) & labs["test"].isin(lab_tests)
    lab_tab = pd.DataFrame({
        "person_id": labs.loc[sel, "person_id"].astype(object).to_numpy(),
        "test": labs.loc[sel, "test"].astype(object).to_numpy(),
        "value": labs.loc[sel, "value"].astype(float).to_numpy(),
        "op_sign": labs.loc[sel, "operator"].astype(object).to_numpy(),
        "row_id": np.flatnonzero(sel.to_numpy()).astype(np.int64),
        "lab_day": labs.loc[sel, "day"].astype(float).to_numpy(),
    })
    windows = window_table(spec)
    return {
        "labs": lab_tab,
        "anchors": anchors,
        "windows": windows,
        "cohort": pd.DataFrame({"person_id": ids.astype(object)}),
        "outcomes": pd.DataFrame({"test": pd.Series(lab_tests, dtype=object)}),
    }


def run_visit_sql(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Run :data:`VISIT_SQL` in an in-memory DuckDB on ``tables``."""
    import duckdb

    con = duckdb.connect()
    try:
        for name, frame in tables.items():
            con.register(name, frame)
        out = con.execute(VISIT_SQL).df()
    finally:
        con.close()
    return out


# --------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------


def _f(x):
    if x is None:
        return None
    try:
        x = float(x)
    except (TypeError, ValueError):
        return x
    return x if math.isfinite(x) else None


@dataclass(frozen=True, eq=False)
class VisitTable:
    """Analysis-ready visit values and changes.

    Attributes
    ----------
    long : pandas.DataFrame
        One row per person, outcome and visit: ``person_id, group, outcome,
        visit, week, nominal_day, value, unit, t`` (days from the anchor; from
        the first infusion for the baseline), ``date`` (for calendar data),
        ``censored`` (``""``, ``<``, ``<=``, ``>``, ``>=``; for scores
        ``from_censored`` when a component was censored), ``source_row``
        (row of the lab in its file), ``interval`` (e.g. ``W1-W4``),
        ``decline_interval``, ``decline_cumulative``. Missing visits have a
        missing ``value``.
    wide : pandas.DataFrame
        One row per person: ``person_id, group``, the person's ``diagnosis,
        sex, age`` where known, then per outcome ``{outcome}_{visit}``,
        ``{outcome}_decline_{from}_{to}`` and ``{outcome}_cumdecline_{visit}``.
    spec : VisitSpec
    time_axis : str
    """

    long: pd.DataFrame
    wide: pd.DataFrame
    spec: VisitSpec
    time_axis: str = "date"

    @property
    def outcomes(self) -> tuple:
        return tuple(self.spec.outcomes)

    def to_frame(self, layout: str = "long") -> pd.DataFrame:
        """``layout="long"`` (per person, outcome and visit) or ``"wide"`` (per person)."""
        if layout not in ("long", "wide"):
            raise InputError(f"layout must be 'long' or 'wide', got {layout!r}")
        return (self.long if layout == "long" else self.wide).copy()

    def completeness(self) -> pd.DataFrame:
        """Observed values per outcome, visit and group: ``outcome, visit, group, n, n_observed``."""
        d = self.long.assign(observed=self.long["value"].notna())
        out = d.groupby(["outcome", "visit", "group"], sort=False).agg(n=("observed", "size"), n_observed=("observed", "sum"))
        return out.reset_index()

    def to_dict(self) -> dict[str, Any]:
        comp = self.completeness()
        return {
            "n_persons": int(self.wide.shape[0]),
            "visits": self.spec.to_dict(),
            "completeness": [
                {"outcome": r.outcome, "visit": r.visit, "group": r.group, "n": int(r.n), "n_observed": int(r.n_observed)}
                for r in comp.itertuples()
            ],
        }

    def summary(self) -> str:
        from ..io.format import fmt_n

        comp = self.completeness().groupby(["outcome", "visit"], sort=False)[["n", "n_observed"]].sum().reset_index()
        visits = list(self.spec.visits)
        lines = [
            f"Visit table: {fmt_n(self.wide.shape[0])} persons, outcomes {', '.join(self.outcomes)}; "
            f"observed values per visit (missing visits are not imputed)",
            f"{'outcome':<12}" + "".join(f"{v:>10}" for v in visits),
        ]
        for o in self.outcomes:
            row = comp[comp["outcome"] == o].set_index("visit")
            cells = [f"{fmt_n(int(row.loc[v, 'n_observed']))}/{fmt_n(int(row.loc[v, 'n']))}" if v in row.index else "-"
                     for v in visits]
            lines.append(f"{o:<12}" + "".join(f"{c:>10}" for c in cells))
        lines.append("decline = earlier - later (positive = the value fell); cumulative = baseline - visit")
        return "\n".join(lines)


# --------------------------------------------------------------------------
# extraction
# --------------------------------------------------------------------------


def _scores_per_visit(picked: pd.DataFrame, spec: VisitSpec) -> list[pd.DataFrame]:
    """MELD / MELD-Na rows from the chosen bilirubin, INR, creatinine, sodium."""
    out = []
    wanted = [s for s in SCORE_OUTCOMES if s in spec.outcomes]
    if not wanted:
        return out
    idx = ["person_id", "visit", "visit_order", "week", "nominal_day"]
    vals = picked.pivot_table(index=idx, columns="test", values="value", aggfunc="first", dropna=False)
    cens = picked.assign(c=picked["op_sign"].fillna("").astype(str) != "").pivot_table(
        index=idx, columns="test", values="c", aggfunc="first", dropna=False)
    base = picked[idx].drop_duplicates().set_index(idx)
    vals = vals.reindex(base.index)
    cens = cens.reindex(base.index)
    for s in wanted:
        comps = ["bilirubin", "inr", "creatinine"] + (["sodium"] if s == "meld_na" else [])
        arrays = [vals[c].to_numpy(dtype=float) if c in vals.columns else np.full(len(vals), np.nan) for c in comps]
        if s == "meld":
            score = _scores.meld(*arrays, units="mg/dL")
        else:
            score = _scores.meld_na(*arrays, units="mg/dL")
        flag = np.zeros(len(vals), bool)
        for c in comps:
            if c in cens.columns:
                flag |= cens[c].fillna(False).to_numpy(dtype=bool)
        frame = base.reset_index()
        frame["test"] = s
        frame["value"] = np.asarray(score, dtype=float)
        frame["op_sign"] = np.where(flag & ~np.isnan(frame["value"].to_numpy()), "from_censored", "")
        frame["lab_day"] = np.nan
        frame["t"] = np.nan
        frame["row_id"] = np.nan
        out.append(frame)
    return out


def _declines(long: pd.DataFrame, spec: VisitSpec) -> pd.DataFrame:
    visits = list(spec.visits)
    order = {v: k for k, v in enumerate(visits)}
    long = long.sort_values(["person_id", "outcome", "visit_order"], kind="stable")
    keys = [long["person_id"], long["outcome"]]
    first = long["visit_order"] == 0
    prev = long["value"].groupby(keys, sort=False).shift(1)
    base = long["value"].where(first).groupby(keys, sort=False).transform("max")  # the W0 value, or missing
    long["interval"] = [None if order[v] == 0 else f"{visits[order[v] - 1]}-{v}" for v in long["visit"]]
    long["decline_interval"] = (prev - long["value"]).where(~first)
    long["decline_cumulative"] = (base - long["value"]).where(~first)
    return long


def _wide(long: pd.DataFrame, persons: pd.DataFrame, spec: VisitSpec) -> pd.DataFrame:
    visits = list(spec.visits)
    cols = {}
    for o in spec.outcomes:
        sub = long[long["outcome"] == o]
        v = sub.pivot(index="person_id", columns="visit", values="value")
        di = sub.pivot(index="person_id", columns="visit", values="decline_interval")
        dc = sub.pivot(index="person_id", columns="visit", values="decline_cumulative")
        for vis in visits:
            cols[f"{o}_{vis}"] = v.get(vis)
        for a, b in zip(visits, visits[1:]):
            cols[f"{o}_decline_{a}_{b}"] = di.get(b)
        for vis in visits[1:]:
            cols[f"{o}_cumdecline_{vis}"] = dc.get(vis)
    wide = pd.DataFrame(cols)
    keep = [c for c in ("person_id", "group", "diagnosis", "sex", "age") if c in persons.columns]
    wide = persons[keep].merge(wide, how="left", left_on="person_id", right_index=True)
    return wide.reset_index(drop=True)


def extract_visits(data: CohortData, persons, spec: VisitSpec | None = None) -> VisitTable:
    """Assign lab values to visits, compute per-visit scores and declines.

    Parameters
    ----------
    data : CohortData
    persons : pandas.DataFrame or list
        The persons to extract: a frame with ``person_id`` and optionally
        ``group`` (and ``diagnosis, sex, age``, copied to the wide table), or
        a list of ids. Every person must have an infusion record (the
        anchor).
    spec : VisitSpec, optional
        Windows and outcomes; default :meth:`VisitSpec.default`.

    Returns
    -------
    VisitTable

    Notes
    -----
    See the module notes for the windows, the tie rules, the sign
    convention and the SQL.
    """
    spec = spec or VisitSpec.default()
    if not isinstance(persons, pd.DataFrame):
        persons = pd.DataFrame({"person_id": [str(p) for p in persons]})
    persons = persons.copy()
    if "group" not in persons.columns:
        persons["group"] = "all"
    ids = persons["person_id"].tolist()
    have = set(data.treatments["person_id"])
    missing = [p for p in ids if p not in have]
    if missing:
        raise InputError(
            f"person(s) without an infusion record cannot be placed on the visit schedule: {', '.join(missing[:5])}"
            + (" ..." if len(missing) > 5 else ""),
            value=missing[0],
        )
    tables = visit_tables(data, ids, spec)
    picked = run_visit_sql(tables)
    picked["op_sign"] = picked["op_sign"].astype(object).where(picked["op_sign"].notna(), "")
    parts = [picked[picked["test"].isin(spec.lab_outcomes)]] + _scores_per_visit(picked, spec)
    long = pd.concat(parts, ignore_index=True)
    long = long.rename(columns={"test": "outcome", "op_sign": "censored"})
    data_units = data.labs.drop_duplicates("test").set_index("test")["unit"].to_dict() if len(data.labs) else {}
    absent = [o for o in spec.lab_outcomes if o not in data_units and o not in _units.TESTS and o not in _units.EXTRA_TESTS]
    if absent:
        raise InputError(
            f"outcome(s) {', '.join(absent)} are neither built-in lab tests nor tests of the data; tests in the data: "
            f"{', '.join(sorted(map(str, data_units)))}. Declare other tests with their unit (build --units)",
            value=absent[0])
    unit = {o: ("score" if o in SCORE_OUTCOMES else data_units.get(o) or _units.canonical_unit(o)) for o in spec.outcomes}
    long["unit"] = long["outcome"].map(unit)
    rows = data.labs["row"].to_numpy()
    rid = long["row_id"].to_numpy(dtype=float)
    long["source_row"] = pd.array([None if np.isnan(r) else int(rows[int(r)]) for r in rid], dtype="Int64")
    if data.time_axis == "date":
        long["date"] = _EPOCH + pd.to_timedelta(long["lab_day"], unit="D")
    long = long.merge(persons[["person_id", "group"]], on="person_id", how="left")
    long = _declines(long, spec)
    order = {o: k for k, o in enumerate(spec.outcomes)}
    long = long.assign(_o=long["outcome"].map(order)).sort_values(["person_id", "_o", "visit_order"], kind="stable")
    cols = ["person_id", "group", "outcome", "visit", "week", "nominal_day", "value", "unit", "t"]
    cols += ["date"] if data.time_axis == "date" else []
    cols += ["censored", "source_row", "interval", "decline_interval", "decline_cumulative"]
    long = long[cols].reset_index(drop=True)
    long["value"] = long["value"].astype(float)
    wide = _wide(long, persons, spec)
    return VisitTable(long=long, wide=wide, spec=spec, time_axis=data.time_axis)
