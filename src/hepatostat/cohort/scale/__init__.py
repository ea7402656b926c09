"""Cohort extraction at scale: eligibility criteria, visit windows and scores in DuckDB or Spark over OMOP Parquet.

The cohort engine (:mod:`hepatostat.cohort.visits`) reads a cohort into pandas
and runs :data:`~hepatostat.cohort.visits.VISIT_SQL` on it. That is right for a
trial-sized cohort and wrong for a multi-centre EHR extract of a million persons
and a hundred million lab results. This package runs the same relational steps
*inside the database engine*, straight from the OMOP Parquet files, and writes
the per-person visit table back to Parquet.

Modules
-------
:mod:`.sql`
    The SQL text (one for every engine) and the two dialects; MELD in SQL.
:mod:`.engines`
    Engine adapters: DuckDB (out of core) and Spark.
:mod:`.inputs`
    Locating the tables, the outcomes, the lab key table (units, ranges).
:mod:`.criteria`
    Eligibility criteria and groups compiled to SQL: the attrition table.
:mod:`.extract`
    The extraction itself: :func:`extract_at_scale` (DuckDB) and
    :func:`extract_spark`, and their result :class:`ScaleExtraction`.
:mod:`.compare`
    :func:`compare_visits`, exact comparison of two visit tables.

The SYNTHETIC OMOP generator is :mod:`hepatostat.datasets.synthetic_omop`
(:func:`generate_omop` is importable from here too).

Output
------
One row per person, outcome and visit (the layout of
:attr:`VisitTable.long <hepatostat.cohort.VisitTable>`): ``person_id``
(OMOP's integer), ``outcome, visit, week, nominal_day, value, unit, t``
(days from the anchor; from the first infusion for the baseline), ``date``,
``censored`` (``""``, ``<``, ``<=``, ``>``, ``>=``; ``from_censored`` for a
score), ``source_row`` (the ``measurement_id`` of the chosen result),
``interval, decline_interval, decline_cumulative``; with criteria, also
``group``. Missing visits are rows with a missing value.

Differences from the in-memory engine, on purpose
-------------------------------------------------
* Same-day ties go to the lowest ``measurement_id`` rather than to the first
  row of the file: a distributed store has no file order. For files written
  in ``measurement_id`` order (as :func:`generate_omop` writes them) the two
  are the same.
* Only ``value_as_number`` is read; a text ``value_source_value`` such as
  ``"<5"`` is not parsed (use ``operator_concept_id``). Rows without a
  number are counted as ``no value``.
* Results of tests hepatostat does not know (other concepts) are ignored
  and counted, as :func:`~hepatostat.cohort.read_omop` ignores them.
* ``operator_concept_id`` 4172703 (``=``) means "not censored".
* The import checks of :func:`~hepatostat.cohort.cohort_data` that look at
  every row (dates before the date of birth, negative doses) are not repeated.

Nothing disappears silently: :attr:`ScaleExtraction.lab_rows` counts every
measurement row by test and status (``used``, ``no value``, ``implausible``,
``no date``; other tests), the person counts say how many persons had no
infusion record, and with criteria the attrition table and the per-person
status table say who was excluded at which step and why.
"""

from __future__ import annotations

from ..visits import VISIT_SQL
from .compare import compare_visits
from .criteria import ScaleAttrition, eligibility_at_scale, eligibility_spark
from .extract import ScaleExtraction, extract_at_scale, extract_spark
from .sql import DNA_SQL, MELD_I_SQL, MELD_NA_SQL, MELD_SQL, OUTPUT_COLUMNS

__all__ = [
    "SyntheticOMOP",
    "ScaleExtraction",
    "ScaleAttrition",
    "generate_omop",
    "extract_at_scale",
    "extract_spark",
    "eligibility_at_scale",
    "eligibility_spark",
    "compare_visits",
    "OUTPUT_COLUMNS",
    "VISIT_SQL",
    "MELD_SQL",
    "MELD_NA_SQL",
    "MELD_I_SQL",
    "DNA_SQL",
]


def __getattr__(name):
    # the generator lives in hepatostat.datasets; imported on first use (it imports this package's inputs)
    if name in ("generate_omop", "SyntheticOMOP"):
        from ...datasets import synthetic_omop

        return getattr(synthetic_omop, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
