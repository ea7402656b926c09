"""The SQL text of the scale extraction: one text for every engine, with a dialect per engine.

Everything after the table readers is one SQL text. Two things differ between
engines and are filled in per :class:`Dialect`: day numbers from dates (DuckDB
``date - DATE '1970-01-01'``, Spark ``UNIX_DATE``) and back, and how the chosen
values are materialised (DuckDB ``CREATE TEMPORARY TABLE``, Spark ``CACHE
TABLE``), because the result query reads them twice. Small key tables
(windows, outcomes, unit keys) are ``VALUES`` lists, which both engines read.

MELD in SQL follows the OPTN definition used by :func:`hepatostat.scores.meld`
(Kamath et al. 2001, doi:10.1053/jhep.2001.22172; OPTN policy notice, November
2015): ``10 * (0.957 ln Cr + 0.378 ln bilirubin + 1.120 ln INR + 0.643)`` with
bilirubin, INR and creatinine below 1 set to 1 and creatinine above 4 mg/dL set
to 4, rounded half up after rounding to 9 decimals and bounded to 6-40; MELD-Na
(Kim et al. 2008, doi:10.1056/NEJMoa0801209) adds ``1.32 (137 - Na) - 0.033
MELD(i) (137 - Na)`` when MELD(i) > 11, sodium bounded to 125-137. The SQL keeps
numpy's order of operations, so the unrounded score is the same double;
``ROUND(x, 9)`` rounds a tie at the ninth decimal away from zero (DuckDB) or on
the decimal representation (Spark) where numpy rounds it to even, which could
change the integer only for a score within 1e-9 of a half-integer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...errors import InputError
from ..eligibility import SCORE_OUTCOMES, VisitSpec

__all__ = ["Dialect", "DUCKDB", "SPARK", "OUTPUT_COLUMNS", "MELD_I_SQL", "DNA_SQL", "MELD_SQL", "MELD_NA_SQL",
           "KEYS_SQL", "MEASUREMENT_IN_SQL", "LAB_ROWS_SQL", "ANCHORS_SQL", "COHORT_SQL", "COHORT_CRITERIA_SQL",
           "TREATMENT_STATS_SQL", "LABS_SQL", "COUNTS_SQL",
           "PERSONS_SQL", "result_sql"]


@dataclass(frozen=True)
class Dialect:
    name: str
    day: str  # day number (days since 1970-01-01) of the DATE expression {x}
    date: str  # DATE of the day number {x}
    materialize: str  # make table {name} from query {sql}
    backslash_escapes: bool  # whether \ escapes in string literals
    quote_char: str = '"'  # quotes an identifier
    ts_days: str = ""  # day number (float, with the time of day) of the TIMESTAMP expression {x}

    def quote(self, name: str) -> str:
        """A quoted identifier (column names of the user's tables may be anything)."""
        q = self.quote_char
        return q + str(name).replace(q, q + q) + q

    def lit(self, v) -> str:
        """A SQL literal for a Python value (typed, so VALUES columns get one type)."""
        if v is None:
            return "NULL"
        if isinstance(v, (bool, np.bool_)):
            return "TRUE" if v else "FALSE"
        if isinstance(v, (int, np.integer)):
            return f"CAST({int(v)} AS BIGINT)"
        if isinstance(v, (float, np.floating)):
            if not math.isfinite(float(v)):
                raise InputError(f"cannot put a non-finite number into SQL: {v!r}", value=v)
            return f"CAST({float(v)!r} AS DOUBLE)"
        s = str(v).replace("'", "''")
        if self.backslash_escapes:
            s = s.replace("\\", "\\\\")
        return f"'{s}'"

    def values(self, name: str, columns, rows) -> str:
        body = ", ".join("(" + ", ".join(self.lit(x) for x in r) + ")" for r in rows)
        return f"CREATE OR REPLACE TEMPORARY VIEW {name} AS SELECT * FROM (VALUES {body}) AS t({', '.join(columns)})"


DUCKDB = Dialect(
    "duckdb",
    day="CAST(CAST({x} AS DATE) - DATE '1970-01-01' AS BIGINT)",
    date="CAST(DATE '1970-01-01' + CAST({x} AS INTEGER) AS DATE)",
    materialize="CREATE OR REPLACE TEMPORARY TABLE {name} AS {sql}",
    backslash_escapes=False,
    quote_char='"',
    ts_days="(CAST(EPOCH_US(CAST({x} AS TIMESTAMP)) AS DOUBLE) / 1.0E6 / 86400.0E0)",
)
SPARK = Dialect(
    "spark",
    day="CAST(UNIX_DATE(CAST({x} AS DATE)) AS BIGINT)",
    date="DATE_ADD(DATE '1970-01-01', CAST({x} AS INT))",
    materialize="CACHE TABLE {name} AS {sql}",
    backslash_escapes=True,
    quote_char="`",
    ts_days="(CAST(UNIX_MICROS(CAST({x} AS TIMESTAMP)) AS DOUBLE) / 1.0E6 / 86400.0E0)",
)

#: distinct (test key, unit, operator) of the measurement table, with counts
KEYS_SQL = """
SELECT lab_key, unit_key, operator_concept_id, COUNT(*) AS n_rows
FROM measurement_in
GROUP BY lab_key, unit_key, operator_concept_id
"""

MEASUREMENT_IN_SQL = """
CREATE OR REPLACE TEMPORARY VIEW measurement_in AS
SELECT person_id, measurement_id, measurement_date, value_as_number,
       {key} AS lab_key,
       COALESCE({unit}, '') AS unit_key,
       {operator} AS operator_concept_id
FROM measurement
"""

LAB_ROWS_SQL = """
CREATE OR REPLACE TEMPORARY VIEW lab_rows AS
SELECT m.person_id, k.test,
       m.value_as_number * k.mul / k.div AS value,
       CASE WHEN m.operator_concept_id IS NULL THEN '' ELSE o.op_sign END AS op_sign,
       m.measurement_id AS row_id,
       {lab_day} AS lab_day,
       CASE WHEN m.value_as_number IS NULL THEN 'no value'
            WHEN NOT (m.value_as_number >= 0
                      AND m.value_as_number * k.mul / k.div >= k.lo
                      AND m.value_as_number * k.mul / k.div <= k.hi) THEN 'implausible'
            WHEN m.measurement_date IS NULL THEN 'no date'
            ELSE 'used' END AS status
FROM measurement_in m
JOIN lab_keys k ON k.lab_key = m.lab_key AND k.unit_key = m.unit_key
LEFT JOIN op_codes o ON o.operator_concept_id = m.operator_concept_id
"""

ANCHORS_SQL = """
CREATE OR REPLACE TEMPORARY VIEW anchors AS
SELECT d.person_id, MIN({start_day}) AS first_day, {anchor_agg}({start_day}) AS anchor_day
FROM drug_exposure d
WHERE d.drug_exposure_start_date IS NOT NULL
  AND d.person_id IN (SELECT person_id FROM person)
GROUP BY d.person_id
"""

COHORT_SQL = "CREATE OR REPLACE TEMPORARY VIEW cohort AS SELECT person_id FROM anchors"
#: the cohort when eligibility criteria are given: the persons they admit (view person_status, .criteria)
COHORT_CRITERIA_SQL = ("CREATE OR REPLACE TEMPORARY VIEW cohort AS SELECT person_id FROM person_status "
                       "WHERE included")

#: per person with an infusion record: count, first and last day, total dose (the derived fields of eligibility)
TREATMENT_STATS_SQL = """
CREATE OR REPLACE TEMPORARY VIEW treatment_stats AS
SELECT d.person_id, COUNT(*) AS n_infusions, MIN({start_day}) AS first_day, MAX({start_day}) AS last_day,
       {dose} AS total_dose
FROM drug_exposure d
WHERE d.drug_exposure_start_date IS NOT NULL
  AND d.person_id IN (SELECT person_id FROM person)
GROUP BY d.person_id
"""

LABS_SQL = """
CREATE OR REPLACE TEMPORARY VIEW labs AS
SELECT person_id, test, value, op_sign, row_id, lab_day
FROM lab_rows
WHERE status = 'used' AND test IN (SELECT test FROM outcomes)
"""

COUNTS_SQL = """
SELECT test, status, COUNT(*) AS n_rows
FROM lab_rows
GROUP BY test, status
"""

PERSONS_SQL = """
SELECT (SELECT COUNT(*) FROM person) AS n_screened,
       (SELECT COUNT(*) FROM cohort) AS n_persons
"""


def _meld_i(b: str, i: str, c: str) -> str:
    """OPTN MELD(i) * 10 before rounding, as in hepatostat.scores._meld_inner (same order of operations)."""
    return (f"(1.0E1 * (0.957E0 * LN(LEAST(GREATEST({c}, 1.0E0), 4.0E0)) + 0.378E0 * LN(GREATEST({b}, 1.0E0))"
            f" + 1.120E0 * LN(GREATEST({i}, 1.0E0)) + 0.643E0))")


def _half_up(x: str) -> str:
    """Round half up after rounding to 9 decimals (hepatostat.scores._round_half_up)."""
    return f"CAST(FLOOR(ROUND({x}, 9) + 0.5E0) AS DOUBLE)"


def _bounded(x: str) -> str:
    return f"LEAST(GREATEST({x}, 6.0E0), 40.0E0)"


#: rounded MELD(i) * 10 (``mi``) and 137 - bounded sodium (``dna``), per person and visit
MELD_I_SQL = _half_up(_meld_i("bilirubin", "inr", "creatinine"))
DNA_SQL = "(137.0E0 - LEAST(GREATEST(sodium, 125.0E0), 137.0E0))"
#: MELD from ``mi`` (scores.meld: the rounded score bounded to 6-40)
MELD_SQL = _bounded("mi")
#: MELD-Na from ``mi`` and ``dna`` (scores.meld_na, same order of operations)
MELD_NA_SQL = _bounded(_half_up("CASE WHEN mi > 11.0E0 THEN mi + 1.32E0 * dna - 0.033E0 * mi * dna ELSE mi END"))
_SCORE_SQL = {
    "meld": (MELD_SQL, ("bilirubin", "inr", "creatinine")),
    "meld_na": (MELD_NA_SQL, ("bilirubin", "inr", "creatinine", "sodium")),
}


def result_sql(d: Dialect, spec: VisitSpec, *, groups: bool = False) -> str:
    """Lab rows + scores per visit + declines, from the materialised ``picked`` (VISIT_SQL's result).

    With ``groups``, only the persons ``person_final`` includes, with their ``group`` as the last column.
    """
    scores_wanted = [s for s in SCORE_OUTCOMES if s in spec.outcomes]
    parts = ["""
lab_out AS (
    SELECT p.person_id, p.test AS outcome, p.visit, p.visit_order, p.week, p.nominal_day, p.value,
           COALESCE(p.op_sign, '') AS censored, p.lab_day, CAST(p.t AS DOUBLE) AS t, p.row_id
    FROM picked p
    WHERE p.test IN (SELECT outcome FROM outcome_info)
)"""]
    union = ["SELECT * FROM lab_out"]
    if scores_wanted:
        parts.append("""
comp AS (
    SELECT person_id, visit, visit_order, week, nominal_day,
           MAX(CASE WHEN test = 'bilirubin' THEN value END) AS bilirubin,
           MAX(CASE WHEN test = 'inr' THEN value END) AS inr,
           MAX(CASE WHEN test = 'creatinine' THEN value END) AS creatinine,
           MAX(CASE WHEN test = 'sodium' THEN value END) AS sodium,
           MAX(CASE WHEN test IN ('bilirubin', 'inr', 'creatinine') AND op_sign <> '' THEN 1 ELSE 0 END) AS cens_meld,
           MAX(CASE WHEN test IN ('bilirubin', 'inr', 'creatinine', 'sodium') AND op_sign <> '' THEN 1 ELSE 0 END)
               AS cens_meld_na
    FROM picked
    GROUP BY person_id, visit, visit_order, week, nominal_day
)""")
        cols = []
        for s in scores_wanted:
            expr, comps = _SCORE_SQL[s]
            missing = " OR ".join(f"{c} IS NULL" for c in comps)
            cols.append(f"CASE WHEN {missing} THEN NULL ELSE {expr} END AS {s}")
            cols.append(f"cens_{s}")
        parts.append(f"""
meld_i AS (
    SELECT comp.*, {MELD_I_SQL} AS mi, {DNA_SQL} AS dna
    FROM comp
)""")
        parts.append(f"""
score_values AS (
    SELECT person_id, visit, visit_order, week, nominal_day, {', '.join(cols)}
    FROM meld_i
)""")
        for s in scores_wanted:
            union.append(f"""SELECT person_id, '{s}' AS outcome, visit, visit_order, week, nominal_day, {s} AS value,
           CASE WHEN cens_{s} = 1 AND {s} IS NOT NULL THEN 'from_censored' ELSE '' END AS censored,
           CAST(NULL AS BIGINT) AS lab_day, CAST(NULL AS DOUBLE) AS t, CAST(NULL AS BIGINT) AS row_id
    FROM score_values""")
    parts.append("\nall_rows AS (\n    " + "\n    UNION ALL\n    ".join(union) + "\n)")
    date = d.date.format(x="a.lab_day")
    g = d.quote("group")
    group_col = f", s.{g} AS {g}" if groups else ""
    group_join = "\nJOIN person_final s ON s.person_id = a.person_id AND s.included" if groups else ""
    return "WITH" + ",".join(parts) + f"""
SELECT a.person_id, a.outcome, a.visit, a.week, a.nominal_day, a.value, i.unit, a.t,
       {date} AS date,
       a.censored, a.row_id AS source_row,
       CASE WHEN a.visit_order = 0 THEN NULL ELSE CONCAT(pw.visit, '-', a.visit) END AS interval,
       CASE WHEN a.visit_order = 0 THEN NULL
            ELSE LAG(a.value) OVER (PARTITION BY a.person_id, a.outcome ORDER BY a.visit_order) - a.value
       END AS decline_interval,
       CASE WHEN a.visit_order = 0 THEN NULL
            ELSE MAX(CASE WHEN a.visit_order = 0 THEN a.value END) OVER (PARTITION BY a.person_id, a.outcome) - a.value
       END AS decline_cumulative{group_col}
FROM all_rows a
JOIN outcome_info i ON i.outcome = a.outcome
LEFT JOIN windows pw ON pw.visit_order = a.visit_order - 1{group_join}
ORDER BY a.person_id, i.outcome_order, a.visit_order
"""


#: columns of the output table, in order
OUTPUT_COLUMNS = ("person_id", "outcome", "visit", "week", "nominal_day", "value", "unit", "t", "date", "censored",
                  "source_row", "interval", "decline_interval", "decline_cumulative")

