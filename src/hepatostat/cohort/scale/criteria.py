"""Eligibility criteria and groups compiled to SQL: the attrition table at scale.

The in-memory engine (:func:`hepatostat.cohort.eligibility`) reads the person
table into pandas, derives the treatment fields and evaluates each condition of
:mod:`hepatostat.cohort.expr` column-wise. Here the same steps are SQL over the
OMOP tables (``person``, optional ``person_attribute``, ``drug_exposure``), run
by DuckDB or Spark:

1. **Fields** (view ``person_fields``): the columns of ``person`` and
   ``person_attribute`` as :func:`~hepatostat.cohort.cohort_data` reads them
   (snake_case names and the aliases of
   :data:`~hepatostat.cohort.schema.PERSON_COLUMNS`; ``sex`` from
   M/F/male/female/8507/8532; ``diagnosis`` and ``etiology`` lower-cased with
   runs of white space and hyphens as ``_``; text stripped, with ``NA``, ``n/a``,
   ``null``, ... as missing; a column whose values are all true/false words or
   0/1 is a true/false flag), plus the derived fields of
   :data:`~hepatostat.cohort.eligibility.DERIVED_FIELDS` from ``drug_exposure``
   (``n_infusions``, ``course_weeks``, ``first_infusion``, ``last_infusion``,
   ``total_dose``, ``age`` in completed years at the first infusion). Only the
   fields the conditions name are computed.
2. **Conditions**: each node of a parsed condition becomes a SQL boolean that
   is NULL when the in-memory engine says *unknown*; SQL's AND, OR and NOT on
   NULL are Kleene's logic, which :mod:`~hepatostat.cohort.expr` follows. Type
   errors (``age == 'old'``) are found before any SQL runs, by the in-memory
   evaluator itself on an empty table of the fields' types, so the messages
   are the same.
3. **Attrition**: the first step that removes each person (CONSORT practice),
   in the order of :mod:`hepatostat.cohort.eligibility`: infusion record,
   inclusion criteria, exclusion criteria, "assigned to a group"; an unknown
   inclusion criterion is not met, an unknown exclusion criterion does not
   exclude. One aggregate query gives the attrition table; the per-person
   status (``person_id, included, step, stage, criterion, reason, failed,
   group``) is a view, written to Parquet.

A condition that SQL cannot evaluate exactly as the in-memory engine does
(a field of a type other than number, text, true/false or date, e.g. a list; a
date field stored as text) raises an :class:`~hepatostat.errors.InputError`
naming the criterion and the field instead of running differently.

Not repeated at scale: the row-by-row import checks of ``cohort_data`` other
than duplicate person ids, unknown sex codes and impossible birth years,
months and days (which raise here too).
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ...errors import InputError
from ...io.format import fmt_n, fmt_plain, fmt_seconds
from ..eligibility import Attrition, CohortSpec, check_attrition_steps, load_criteria
from ..expr import All, Any_, Between, Compare, Condition, ConditionError, Flag, In, IsMissing, Not
from ..schema import PERSON_COLUMNS, snake
from .engines import Engine, duckdb_engine, require_pyspark, spark_engine, spark_frames, spark_session
from .inputs import int_argument, is_synthetic, memory_limit_argument, table_paths
from .sql import DUCKDB, TREATMENT_STATS_SQL, Dialect

__all__ = ["ScaleAttrition", "CriteriaPlan", "criteria_sql", "condition_sql", "eligibility_at_scale", "eligibility_spark", "criteria_spec",
           "prepare_eligibility", "baseline_step", "status_select", "STATUS_COLUMNS"]

#: columns of the per-person status table (as ``Attrition.persons``)
STATUS_COLUMNS = ("person_id", "included", "step", "stage", "criterion", "reason", "failed", "group")
_STEP_COLUMNS = ("step", "stage", "criterion", "label", "n_before", "n_excluded", "n_after", "n_missing", "reason")

# what cohort_data reads as missing text, true and false (hepatostat.cohort.schema)
_MISSING_TEXT = ("", "na", "nan", "n/a", "null", "none", "nat")
_TRUE = ("true", "t", "yes", "y", "1", "1.0")
_FALSE = ("false", "f", "no", "n", "0", "0.0")
_SEX = {"m": "M", "male": "M", "man": "M", "8507": "M", "f": "F", "female": "F", "woman": "F", "8532": "F"}
#: Python's white space (str.isspace, re's \s): the characters str.strip() removes
_WS = "".join(f"\\x{{{c:x}}}" for c in (0x9, 0xA, 0xB, 0xC, 0xD, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680,
                                         *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000))
_DERIVED_TREATMENT = ("n_infusions", "first_day", "last_day", "course_weeks", "first_infusion", "last_infusion",
                      "total_dose")


# --------------------------------------------------------------------------
# fields: SQL expression and kind (number, text, bool, date)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    sql: str  # SQL expression over the join of person (p), person_attribute (a) and treatment stats (t)
    kind: str  # number | text | bool | date | other
    days: str = ""  # for dates: the day number (float), else ""
    source: str = ""  # where it comes from, for messages


def _kind_of(sql_type: str) -> str:
    t = sql_type.strip().lower()
    if t in ("boolean", "bool"):
        return "bool"
    if t == "date":
        return "date"
    if t.startswith("timestamp"):
        return "timestamp"
    if t in ("string", "varchar", "text") or t.startswith(("varchar", "char", "string")):
        return "text"
    if (t in ("tinyint", "smallint", "integer", "int", "bigint", "hugeint", "float", "double", "real", "long",
              "short", "byte", "utinyint", "usmallint", "uinteger", "ubigint")
            or t.startswith(("decimal", "numeric"))):
        return "number"
    return "other"


def _trim(d: Dialect, x: str) -> str:
    return f"REGEXP_REPLACE({x}, {d.lit(f'^[{_WS}]+|[{_WS}]+$')}, '')" if d.name == "spark" else \
        f"REGEXP_REPLACE({x}, {d.lit(f'^[{_WS}]+|[{_WS}]+$')}, '', 'g')"


def _text(d: Dialect, x: str, sql_kind: str) -> str:
    """Stripped text with the missing markers as NULL (schema._text)."""
    s = f"CAST({x} AS STRING)" if sql_kind != "text" else x
    t = _trim(d, s)
    markers = ", ".join(d.lit(m) for m in _MISSING_TEXT)
    return f"(CASE WHEN LOWER({t}) IN ({markers}) THEN NULL ELSE {t} END)"


def _number(x: str, sql_kind: str) -> str:
    v = f"CAST({x} AS DOUBLE)"
    return f"(CASE WHEN ISNAN({v}) THEN NULL ELSE {v} END)" if sql_kind == "number" else v


class _Columns:
    """The person and person_attribute columns, snake_cased and renamed as cohort_data does."""

    def __init__(self, engine: Engine, has_attributes: bool):
        d = engine.dialect
        self.d = d
        q = d.quote
        person = engine.types("person")
        cols: dict[str, tuple[str, str, str]] = {}  # snake name -> (sql, sql type kind, source)
        for name, typ in person.items():
            s = snake(name)
            if s in cols:
                raise InputError(f"person: columns have the same name after snake_case ({s!r}); rename one",
                                 column=name)
            cols[s] = (f"p.{q(name)}", _kind_of(typ), f"person.{name}")
        if "person_id" not in cols:
            raise InputError("person has no person_id column")
        if has_attributes:
            attr = engine.types("person_attribute")
            snaked = {snake(n): n for n in attr}
            if "person_id" not in snaked:
                raise InputError("person_attribute has no person_id column")
            self.attr_id = f"a.{q(snaked['person_id'])}"
            for s, name in snaked.items():
                if s in cols:  # read_omop keeps the person table's column
                    continue
                cols[s] = (f"a.{q(name)}", _kind_of(attr[name]), f"person_attribute.{name}")
        # cohort_data's renaming: the first alias present of each canonical column
        rename = {}
        for canon, aliases in PERSON_COLUMNS.items():
            if canon in cols:
                continue
            for a in aliases:
                if a in cols and a not in rename and a not in PERSON_COLUMNS:
                    rename[a] = canon
                    break
        self.cols = {rename.get(k, k): v for k, v in cols.items()}
        self.person_id = self.cols["person_id"][0]


def _days_in_month(y: str, m: str) -> str:
    leap = f"(MOD({y}, 4) = 0 AND (MOD({y}, 100) <> 0 OR MOD({y}, 400) = 0))"
    return (f"(CASE WHEN {m} = 2 THEN (CASE WHEN {leap} THEN 29 ELSE 28 END) "
            f"WHEN {m} IN (4, 6, 9, 11) THEN 30 ELSE 31 END)")


class _Fields:
    """SQL for each field a condition may name; checks made while building them are collected."""

    def __init__(self, engine: Engine, has_attributes: bool, has_dose: bool):
        self.engine = engine
        self.d = engine.dialect
        self.c = _Columns(engine, has_attributes)
        self.has_dose = has_dose
        self.checks: list[tuple[str, str, str]] = []  # (SQL count of bad rows, message, column)
        self._cache: dict[str, _Field] = {}

    @property
    def available(self) -> list[str]:
        names = set(self.c.cols) | set(_DERIVED_TREATMENT) | {"age"}
        names -= {"year_of_birth", "month_of_birth", "day_of_birth"}
        return sorted(names)

    def _day(self, x: str) -> str:
        return f"CAST({self.d.day.format(x=x)} AS DOUBLE)"

    def _birth_parts(self) -> tuple[str, str, str] | None:
        """(year, month, day) of the date of birth as SQL integers (NULL when unknown or impossible)."""
        d = self.d
        if "birth_date" in self.c.cols:
            x, k, src = self.c.cols["birth_date"]
            if k not in ("date", "timestamp"):
                return None  # text dates: see field()
            dt = f"CAST({x} AS DATE)"
            return f"YEAR({dt})", f"MONTH({dt})", f"DAY({dt})"
        if "year_of_birth" not in self.c.cols:
            return None
        parts = []
        for name, lo, hi, default in (("year_of_birth", 1850, 2100, None), ("month_of_birth", 1, 12, 7),
                                      ("day_of_birth", 1, 31, 1)):
            if name not in self.c.cols:
                parts.append(str(default))
                continue
            x, k, src = self.c.cols[name]
            if k != "number":
                raise InputError(f"{src} must be numeric to be read at scale (found a {k} column)", column=name)
            v = _number(x, k)
            self.checks.append((f"{v} IS NOT NULL AND ({v} < {lo} OR {v} > {hi} OR {v} <> FLOOR({v}))",
                                f"persons: {name} must be a whole number from {lo} to {hi}", name))
            parts.append(f"CAST({v} AS BIGINT)" if default is None else f"CAST(COALESCE({v}, {default}) AS BIGINT)")
        y, m, dd = parts
        ok = f"({y} IS NOT NULL AND {dd} <= {_days_in_month(y, m)})"
        return (f"(CASE WHEN {ok} THEN {y} END)", f"(CASE WHEN {ok} THEN {m} END)", f"(CASE WHEN {ok} THEN {dd} END)")

    def field(self, name: str) -> _Field:
        if name in self._cache:
            return self._cache[name]
        f = self._field(name)
        self._cache[name] = f
        return f

    def _field(self, name: str) -> _Field:
        d = self.d
        cols = self.c.cols
        if name in ("n_infusions",):
            return _Field("COALESCE(t.n_infusions, 0)", "number", source="drug_exposure")
        if name in ("first_day", "last_day"):
            return _Field(f"CAST(t.{name} AS DOUBLE)", "number", source="drug_exposure")
        if name == "course_weeks":
            return _Field("(FLOOR(CAST(t.last_day - t.first_day AS DOUBLE) / 7.0E0 + 0.5E0) + 1.0E0)", "number",
                          source="drug_exposure")
        if name in ("first_infusion", "last_infusion"):
            day = "t.first_day" if name == "first_infusion" else "t.last_day"
            return _Field(d.date.format(x=day), "date", days=f"CAST({day} AS DOUBLE)", source="drug_exposure")
        if name == "total_dose":
            return _Field("t.total_dose" if self.has_dose else "CAST(NULL AS DOUBLE)", "number",
                          source="drug_exposure.quantity")
        if name == "age":
            derived = None
            parts = self._birth_parts()
            if parts is not None:
                y, m, dd = parts
                fi = d.date.format(x="t.first_day")
                derived = (f"CAST(YEAR({fi}) - {y} - (CASE WHEN MONTH({fi}) < {m} OR (MONTH({fi}) = {m} AND "
                           f"DAY({fi}) < {dd}) THEN 1 ELSE 0 END) AS DOUBLE)")
            if "age" in cols:
                x, k, src = cols["age"]
                if k != "number":
                    raise InputError(f"{src} must be numeric to be read at scale (found a {k} column)", column="age")
                v = _number(x, k)
                self.checks.append((f"{v} IS NOT NULL AND ({v} < 0 OR {v} > 130)",
                                    "persons: age must be a number of years from 0 to 130", "age"))
                return _Field(v if derived is None else f"COALESCE({v}, {derived})", "number", source=src)
            if derived is None and "birth_date" in cols:
                raise InputError(f"{cols['birth_date'][2]} holds text dates; at scale give birth dates as a DATE "
                                 "column (or year_of_birth, month_of_birth, day_of_birth)", column="birth_date")
            return _Field(derived or "CAST(NULL AS DOUBLE)", "number", source="person")
        if name == "birth_date" and name not in cols and "year_of_birth" in cols:
            y, m, dd = self._birth_parts()
            dt = f"MAKE_DATE(CAST({y} AS INT), CAST({m} AS INT), CAST({dd} AS INT))"
            return _Field(f"(CASE WHEN {y} IS NOT NULL THEN {dt} END)", "date", days=self._day(dt), source="person")
        if name not in cols:
            raise KeyError(name)
        x, k, src = cols[name]
        if name == "sex":
            raw = f"CAST(CAST({x} AS BIGINT) AS STRING)" if k == "number" else _text(d, x, k)
            key = f"LOWER({raw})"
            case = "CASE " + " ".join(f"WHEN {key} = {d.lit(a)} THEN {d.lit(b)}" for a, b in _SEX.items()) + " END"
            self.checks.append((f"{raw} IS NOT NULL AND ({case}) IS NULL",
                                "persons: sex must be M or F (also male/female, man/woman, OMOP gender_concept_id "
                                "8507/8532)", "sex"))
            return _Field(f"({case})", "text", source=src)
        if name in ("diagnosis", "etiology"):
            t = _text(d, x, k)
            pat = d.lit(f"[{_WS}-]+")
            rep = f"REGEXP_REPLACE(LOWER({t}), {pat}, '_')" if d.name == "spark" else \
                f"REGEXP_REPLACE(LOWER({t}), {pat}, '_', 'g')"
            return _Field(rep, "text", source=src)
        if name == "hbsag_months":
            if k != "number":
                raise InputError(f"{src} must be numeric to be read at scale (found a {k} column)", column=name)
            v = _number(x, k)
            self.checks.append((f"{v} IS NOT NULL AND {v} < 0", "persons: hbsag_months must be >= 0", name))
            return _Field(v, "number", source=src)
        if k in ("date", "timestamp"):
            days = self._day(x) if k == "date" else d.ts_days.format(x=x)
            return _Field(x, "date", days=days, source=src)
        if k == "bool":
            return _Field(x, "bool", source=src)
        if k in ("number", "text") and name not in PERSON_COLUMNS:
            return _Field(x, "flag?" + k, source=src)  # decided by the data (see resolve_flags)
        return _Field(x, "other", source=src)

    def resolve_flags(self, names) -> None:
        """Columns whose values are all true/false words or 0/1 are flags (schema._as_flag); one query for all."""
        d = self.d
        todo = [n for n in names if self.field(n).kind.startswith("flag?")]
        if not todo:
            return
        aggs = []
        for k, n in enumerate(todo):
            f = self._cache[n]
            if f.kind == "flag?number":
                v = _number(f.sql, "number")
                aggs.append(f"SUM(CASE WHEN {v} IS NOT NULL THEN 1 ELSE 0 END) AS n{k}")
                aggs.append(f"SUM(CASE WHEN {v} IN (0.0E0, 1.0E0) THEN 1 ELSE 0 END) AS f{k}")
            else:
                t = _text(d, f.sql, "text")
                words = ", ".join(d.lit(w) for w in _TRUE + _FALSE)
                aggs.append(f"SUM(CASE WHEN {t} IS NOT NULL THEN 1 ELSE 0 END) AS n{k}")
                aggs.append(f"SUM(CASE WHEN LOWER({t}) IN ({words}) THEN 1 ELSE 0 END) AS f{k}")
        got = self.engine.fetch(f"SELECT {', '.join(aggs)} FROM {self.from_sql(with_treatments=False)}").iloc[0]
        for k, n in enumerate(todo):
            f = self._cache[n]
            nk, fk = int(got[f"n{k}"] or 0), int(got[f"f{k}"] or 0)
            flag = nk > 0 and nk == fk
            if f.kind == "flag?number":
                v = _number(f.sql, "number")
                self._cache[n] = (_Field(f"({v} <> 0.0E0)", "bool", source=f.source) if flag
                                  else _Field(v, "number", source=f.source))
            else:
                t = _text(d, f.sql, "text")
                if flag:
                    tw = ", ".join(d.lit(w) for w in _TRUE)
                    fw = ", ".join(d.lit(w) for w in _FALSE)
                    sql = f"(CASE WHEN LOWER({t}) IN ({tw}) THEN TRUE WHEN LOWER({t}) IN ({fw}) THEN FALSE END)"
                    self._cache[n] = _Field(sql, "bool", source=f.source)
                else:
                    self._cache[n] = _Field(t, "text", source=f.source)

    def from_sql(self, with_treatments: bool = True) -> str:
        s = "person p"
        if hasattr(self.c, "attr_id"):
            s += f" LEFT JOIN person_attribute a ON {self.c.attr_id} = {self.c.person_id}"
        if with_treatments:
            s += f" LEFT JOIN treatment_stats t ON t.person_id = {self.c.person_id}"
        return s


# --------------------------------------------------------------------------
# conditions -> SQL
# --------------------------------------------------------------------------


class _NotSQL(Exception):
    """A condition SQL cannot evaluate as the in-memory engine does (the message says why)."""


def _empty_frame(fields: Mapping[str, _Field]) -> pd.DataFrame:
    """A zero-row table with each field's pandas type, to type-check a condition with the in-memory evaluator."""
    cols = {}
    for n, f in fields.items():
        cols[n] = {"number": pd.Series([], dtype="float64"), "bool": pd.Series(pd.array([], dtype="boolean")),
                   "date": pd.Series([], dtype="datetime64[ns]")}.get(f.kind, pd.Series([], dtype=object))
    return pd.DataFrame(cols)


def _num_lit(d: Dialect, v) -> str:
    try:
        x = float(v)
    except OverflowError:
        raise _NotSQL(f"the number {str(v)[:20]}... is too large") from None
    if not math.isfinite(x):
        raise _NotSQL(f"the number {v!r} is not finite")
    return d.lit(x)


def _lit(d: Dialect, f: _Field, v) -> str:
    """A literal of the field's kind, converted as expr._coerce converts it."""
    if f.kind == "number":
        return _num_lit(d, v)
    if f.kind == "bool":
        return "TRUE" if bool(v) else "FALSE"
    if f.kind == "date":
        days = (pd.Timestamp(v) - pd.Timestamp("1970-01-01")).total_seconds() / 86400.0
        return _num_lit(d, days)
    return d.lit(str(v))


def _value(f: _Field) -> str:
    return f.days if f.kind == "date" else f.sql


def _compile(c: Condition, fields: Mapping[str, _Field], d: Dialect) -> str:
    """SQL boolean for ``c``: TRUE, FALSE, or NULL where the in-memory engine says unknown."""
    if isinstance(c, Compare):
        f = fields[c.field]
        op = {"==": "=", "!=": "<>"}.get(c.op, c.op)
        return f"({_value(f)} {op} {_lit(d, f, c.value)})"
    if isinstance(c, Between):
        f = fields[c.field]
        v = _value(f)
        return f"({v} >= {_lit(d, f, c.low)} AND {v} <= {_lit(d, f, c.high)})"
    if isinstance(c, In):
        f = fields[c.field]
        lits = ", ".join(_lit(d, f, v) for v in c.values)
        return f"({_value(f)} {'NOT IN' if c.negate else 'IN'} ({lits}))"
    if isinstance(c, IsMissing):
        return f"({_value(fields[c.field])} IS {'NOT ' if c.negate else ''}NULL)"
    if isinstance(c, Flag):
        f = fields[c.field]
        return f"({f.sql})" if f.kind == "bool" else f"({f.sql} <> 0.0E0)"
    if isinstance(c, All):
        return "(" + " AND ".join(_compile(i, fields, d) for i in c.items) + ")"
    if isinstance(c, Any_):
        return "(" + " OR ".join(_compile(i, fields, d) for i in c.items) + ")"
    if isinstance(c, Not):
        return f"(NOT {_compile(c.item, fields, d)})"
    raise _NotSQL(f"the condition type {type(c).__name__} has no SQL translation")


def condition_sql(condition: Condition, kinds: Mapping[str, str], dialect: Dialect = DUCKDB) -> str:
    """The SQL boolean of a parsed condition over columns named as its fields.

    ``kinds`` maps each field to ``number``, ``text``, ``bool`` or ``date``
    (a date column holds the day number since 1970-01-01, possibly
    fractional). The result is TRUE, FALSE, or NULL where
    :meth:`Condition.evaluate` says unknown. Raises an InputError for a
    condition SQL cannot evaluate as the in-memory engine does.
    """
    fields = {n: _Field(dialect.quote(n), k, days=dialect.quote(n)) for n, k in kinds.items()}
    try:
        return _compile(condition, fields, dialect)
    except _NotSQL as exc:
        raise InputError(f"condition ({condition}) cannot be evaluated in SQL: {exc}") from None


def _label_text(c) -> str:
    # as the in-memory attrition table words it (eligibility._label_text); the tests compare the tables
    return c.label if c.label == c.text else f"{c.label} [{c.text}]"


@dataclass(frozen=True)
class CriteriaPlan:
    """The compiled criteria: SQL of the person status view and the attrition aggregates."""

    eval_sql: str
    status_sql: str
    counts_sql: str
    overlap_sql: str | None
    steps: tuple  # (stage, criterion, label, reason, column of the condition or None)
    group_labels: dict
    checks: tuple  # (SQL of a bad row, message, column)
    fields: tuple
    from_sql: str
    person_id: str


def _where(item) -> str:
    return f"{item.kind} criterion {item.id!r}" if hasattr(item, "kind") else f"group {item.id!r}"


def criteria_sql(engine: Engine, spec: CohortSpec, *, has_attributes: bool, has_dose: bool) -> CriteriaPlan:
    """Compile ``spec``'s criteria and groups to SQL for ``engine`` (its dialect and the tables' columns).

    Raises
    ------
    InputError
        A condition naming an unknown field (the message names the criterion
        and lists the available fields), a comparison of the wrong type (the
        in-memory message), or anything SQL cannot evaluate as the in-memory
        engine does (named criterion, field and reason).
    """
    d = engine.dialect
    F = _Fields(engine, has_attributes, has_dose)
    items = list(spec.criteria) + list(spec.groups)
    available = F.available
    for item in items:
        unknown = sorted(f for f in item.condition.fields if f not in available)
        if unknown:
            raise InputError(
                f"{_where(item)} ({item.text}) names unknown field(s) {', '.join(repr(u) for u in unknown)}; "
                f"available fields: {', '.join(available)}", column=unknown[0])
    names = sorted(set().union(*(i.condition.fields for i in items)) if items else set())
    for n in names:
        try:
            F.field(n)
        except InputError as exc:
            who = next(i for i in items if n in i.condition.fields)
            raise InputError(f"{_where(who)} ({who.text}) cannot be evaluated at scale: {exc}", column=n) from None
    F.resolve_flags(names)
    fields = {n: F.field(n) for n in names}
    # the fields are computed once (view person_eval: dates as day numbers), the conditions read those columns
    named = {n: _Field(d.quote("f_" + n), f.kind, days=d.quote("f_" + n), source=f.source) for n, f in fields.items()}
    empty = _empty_frame(fields)
    compiled = []
    for item in items:
        for n in sorted(item.condition.fields):
            f = fields[n]
            if f.kind not in ("number", "text", "bool", "date"):
                raise InputError(f"{_where(item)} ({item.text}) cannot be evaluated in SQL: field {n!r} "
                                 f"({f.source}) is neither a number, text, true/false nor a date", column=n)
        try:
            item.condition.evaluate(empty)  # the in-memory type checks and their messages
        except ConditionError as exc:
            raise InputError(f"{_where(item)} ({item.text}): {exc}", column=exc.field) from None
        try:
            compiled.append(_compile(item.condition, named, d))
        except _NotSQL as exc:
            raise InputError(f"{_where(item)} ({item.text}) cannot be evaluated in SQL: {exc}",
                             column=next(iter(sorted(item.condition.fields)), None)) from None
    n_inc = len(spec.inclusion)
    n_crit = n_inc + len(spec.exclusion)

    # ---- per person: first step that removes them, reason, every criterion failed, group
    steps = [("data", "infusion_record", "Has an infusion record", "no infusion record", None)]
    fail = ["(n_infusions = 0)"]
    reason = [d.lit("no infusion record (treatment table)")]
    for k, c in enumerate(spec.inclusion):
        steps.append(("inclusion", c.id, c.label, f"not met: {_label_text(c)}", f"c{k}"))
        fail.append(f"(NOT COALESCE(c{k}, FALSE))")
        miss = ", ".join(f"CASE WHEN {named[n].sql} IS NULL THEN {d.lit(n)} END" for n in sorted(c.condition.fields))
        reason.append(f"CONCAT({d.lit('not met: ' + c.label)}, CASE WHEN c{k} IS NULL AND CONCAT_WS(', ', {miss}) <> '' "
                      f"THEN CONCAT(' (missing: ', CONCAT_WS(', ', {miss}), ')') ELSE '' END)")
    for k, c in enumerate(spec.exclusion, n_inc):
        steps.append(("exclusion", c.id, c.label, f"met: {_label_text(c)}", f"c{k}"))
        fail.append(f"COALESCE(c{k}, FALSE)")
        reason.append(d.lit(f"met: {c.label}"))
    member = [f"COALESCE(c{k}, FALSE)" for k in range(n_crit, len(items))]
    if spec.groups:
        steps.append(("grouping", "no_group", "Assigned to a group",
                      "fits no group: " + "; ".join(f"{g.id} = {g.text}" for g in spec.groups), None))
        fail.append(f"(NOT ({' OR '.join(member)}))")
        reason.append(d.lit("fits no group"))
        group_case = "CASE " + " ".join(f"WHEN {m} THEN {d.lit(g.id)}" for m, g in zip(member, spec.groups)) + " END"
        group_labels = {g.id: g.label for g in spec.groups}
    else:
        group_case = d.lit("all")
        group_labels = {"all": "All included persons"}
    criteria_of_step = [s[1] for s in steps]
    first = "CASE " + " ".join(f"WHEN {f} THEN {k + 1}" for k, f in enumerate(fail)) + " END"
    eval_cols = "".join(f", {_value(f)} AS {named[n].sql}" for n, f in fields.items())
    eval_sql = (f"CREATE OR REPLACE TEMPORARY VIEW person_eval AS SELECT {F.c.person_id} AS person_id, "
                f"COALESCE(t.n_infusions, 0) AS n_infusions{eval_cols} FROM {F.from_sql()}")
    cond_cols = "".join(f", {s} AS c{k}" for k, s in enumerate(compiled))
    per_step = lambda col: "CASE first_step " + " ".join(  # noqa: E731
        f"WHEN {k + 1} THEN {v}" for k, v in enumerate(col)) + " END"
    failed = "CONCAT_WS(';', " + ", ".join(f"CASE WHEN {f} THEN {d.lit(c)} END"
                                           for f, c in zip(fail, criteria_of_step)) + ")"
    status_sql = f"""CREATE OR REPLACE TEMPORARY VIEW person_status AS
SELECT person_id, first_step IS NULL AS included, CAST(first_step AS BIGINT) AS step,
       {per_step([d.lit(s[0]) for s in steps])} AS stage,
       {per_step([d.lit(s[1]) for s in steps])} AS criterion,
       {per_step(reason)} AS reason,
       failed,
       CASE WHEN first_step IS NULL THEN {group_case} END AS {d.quote("group")}{"".join(f", c{k}" for k in range(len(items)))}
FROM (
    SELECT e.*, {first} AS first_step, {failed} AS failed
    FROM (SELECT person_eval.*{cond_cols} FROM person_eval) e
) s"""
    aggs = ["COUNT(*) AS n"]
    for k, s in enumerate(steps, 1):
        aggs.append(f"SUM(CASE WHEN step = {k} THEN 1 ELSE 0 END) AS x{k}")
        if s[4] is not None:
            aggs.append(f"SUM(CASE WHEN (step IS NULL OR step >= {k}) AND {s[4]} IS NULL THEN 1 ELSE 0 END) AS m{k}")
    for j, g in enumerate(group_labels):
        aggs.append(f"SUM(CASE WHEN included AND {d.quote('group')} = {d.lit(g)} THEN 1 ELSE 0 END) AS g{j}")
    counts_sql = f"SELECT {', '.join(aggs)} FROM person_status"
    overlap_sql = None
    if len(spec.groups) > 1:
        s = " + ".join(f"(CASE WHEN COALESCE(c{k}, FALSE) THEN 1 ELSE 0 END)" for k in range(n_crit, len(items)))
        overlap_sql = (f"SELECT person_id, {', '.join(f'COALESCE(c{k}, FALSE) AS g{k - n_crit}' for k in range(n_crit, len(items)))} "
                       f"FROM person_status WHERE included AND {s} > 1 ORDER BY person_id LIMIT 1")
    return CriteriaPlan(eval_sql=eval_sql, status_sql=status_sql, counts_sql=counts_sql, overlap_sql=overlap_sql,
                 steps=tuple(steps), group_labels=group_labels, checks=tuple(F.checks), fields=tuple(names),
                 from_sql=F.from_sql(with_treatments=False), person_id=F.c.person_id)


# --------------------------------------------------------------------------
# running it
# --------------------------------------------------------------------------


def criteria_spec(criteria) -> CohortSpec:
    """A :class:`CohortSpec`, or a criteria file / bundled name read with :func:`load_criteria`."""
    if isinstance(criteria, CohortSpec):
        return criteria
    if isinstance(criteria, (str, Path)):
        return load_criteria(criteria)
    raise InputError(f"criteria must be a CohortSpec, a criteria file or a bundled name, got {type(criteria).__name__}")


@dataclass(frozen=True, eq=False)
class ScaleAttrition:
    """The attrition table computed in SQL (:func:`eligibility_at_scale`, :func:`eligibility_spark`).

    Attributes
    ----------
    steps : pandas.DataFrame
        ``step, stage, criterion, label, n_before, n_excluded, n_after,
        n_missing, reason``: the columns and wording of
        :attr:`Attrition.steps <hepatostat.cohort.Attrition>`.
    groups : pandas.DataFrame
        ``group, label, n`` (included persons).
    name : str
    engine : str
        ``"duckdb"`` or ``"spark"``.
    persons_path : str or None
        Parquet with one row per screened person: ``person_id`` (OMOP's
        integer), ``included, step, stage, criterion, reason, failed, group``.
    seconds : float
    synthetic : bool
    """

    steps: pd.DataFrame
    groups: pd.DataFrame
    name: str
    engine: str
    persons_path: str | None = None
    seconds: float = math.nan
    synthetic: bool = False

    def __post_init__(self):
        check_attrition_steps(self.steps, int(self.groups["n"].sum()))

    @property
    def n_screened(self) -> int:
        return int(self.steps["n_before"].iloc[0])

    @property
    def n_included(self) -> int:
        return int(self.steps["n_after"].iloc[-1])

    def to_frame(self) -> pd.DataFrame:
        return self.steps.copy()

    def persons(self) -> pd.DataFrame:
        """The per-person status table read into pandas (meant for samples)."""
        if self.persons_path is None:
            raise InputError("no per-person table was written (give out=)")
        import pyarrow.parquet as pq

        return pq.read_table(self.persons_path).to_pandas()

    def to_attrition(self) -> Attrition:
        """An in-memory :class:`~hepatostat.cohort.Attrition` (person ids as text, as the import makes them)."""
        p = self.persons()
        p = p.assign(person_id=p["person_id"].astype("int64").astype(str), step=p["step"].astype("Int64"),
                     failed=p["failed"].fillna(""))[list(STATUS_COLUMNS)]
        return Attrition(self.steps.copy(), p.reset_index(drop=True), self.groups.copy(), self.name)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "engine": self.engine, "synthetic": self.synthetic, "n_screened": self.n_screened,
                "n_included": self.n_included, "steps": self.steps.to_dict("records"),
                "groups": self.groups.to_dict("records"), "persons_path": self.persons_path, "seconds": self.seconds}

    def summary(self) -> str:
        lines = ["SYNTHETIC DATA - not real patients"] if self.synthetic else []
        lines.append(f"Attrition{': ' + self.name if self.name else ''} ({self.engine})")
        w = max([16] + [len(str(c)) for c in self.steps["criterion"]])
        lines.append(f"{'step':>4}  {'criterion':<{w}} {'before':>10} {'excl.':>10} {'after':>10} {'unknown':>9}  reason")
        for r in self.steps.itertuples():
            lines.append(f"{r.step:>4}  {str(r.criterion):<{w}} {fmt_n(r.n_before):>10} {fmt_n(r.n_excluded):>10} {fmt_n(r.n_after):>10} "
                         f"{fmt_n(r.n_missing):>9}  {r.reason}")
        lines.append(f"Screened {fmt_n(self.n_screened)}, included {fmt_n(self.n_included)}, "
                     f"excluded {fmt_n(self.n_screened - self.n_included)}")
        if len(self.groups):
            lines.append("Groups: " + ", ".join(f"{g.group} = {fmt_n(g.n)}" for g in self.groups.itertuples()))
        return "\n".join(lines)


def _check_data(engine: Engine, plan: CriteriaPlan, paths: Mapping[str, str]) -> None:
    """The import checks that apply to the fields used: duplicate person ids, impossible values."""
    d = engine.dialect
    dup = engine.fetch(f"SELECT COUNT(*) AS n, COUNT(DISTINCT person_id) AS k FROM person").iloc[0]
    if int(dup["n"]) != int(dup["k"]):
        ex = engine.fetch("SELECT person_id FROM person GROUP BY person_id HAVING COUNT(*) > 1 "
                          "ORDER BY person_id LIMIT 1")
        raise InputError(f"persons: duplicate person_id ({fmt_n(int(dup['n']) - int(dup['k']))} repeated rows); "
                         "each person must appear once", file=paths.get("person"), column="person_id",
                         value=ex.iloc[0, 0].item() if hasattr(ex.iloc[0, 0], "item") else ex.iloc[0, 0])
    for k, (bad, message, column) in enumerate(plan.checks):
        got = engine.fetch(f"SELECT COUNT(*) AS n, MIN({plan.person_id}) AS pid FROM {plan.from_sql} WHERE {bad}")
        n = int(got["n"].iloc[0])
        if n:
            raise InputError(f"{message} ({fmt_n(n)} row(s); first person_id {got['pid'].iloc[0]})",
                             file=paths.get("person"), column=column)


def prepare_eligibility(engine: Engine, paths: Mapping[str, str], spec: CohortSpec,
                        log=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Create the views ``treatment_stats``, ``person_eval`` and ``person_status``; return (steps, groups).

    ``groups`` has the columns ``group, label, n``.

    Runs the checks, the aggregate query and the group-overlap check (an
    error naming a person in two groups, as the in-memory engine).
    """
    d = engine.dialect
    de_cols = engine.columns("drug_exposure")
    for t, cols in (("person", ("person_id",)), ("drug_exposure", ("person_id", "drug_exposure_start_date"))):
        have = engine.columns(t)
        miss = [c for c in cols if c not in have]
        if miss:
            raise InputError(f"{t} has no column(s) {', '.join(miss)}", file=paths[t])
    dose_col = next((c for c in ("dose", "quantity") if c in de_cols), None)
    start = d.day.format(x="d.drug_exposure_start_date")
    dose = f"SUM(CAST(d.{d.quote(dose_col)} AS DOUBLE))" if dose_col else "CAST(NULL AS DOUBLE)"
    engine.execute(TREATMENT_STATS_SQL.format(start_day=start, dose=dose))
    t0 = time.perf_counter()
    plan = criteria_sql(engine, spec, has_attributes="person_attribute" in paths, has_dose=dose_col is not None)
    _check_data(engine, plan, paths)
    engine.execute(plan.eval_sql)
    engine.execute(plan.status_sql)
    if plan.overlap_sql is not None:
        o = engine.fetch(plan.overlap_sql)
        if len(o):
            gs = [g.id for k, g in enumerate(spec.groups) if bool(o[f"g{k}"].iloc[0])]
            pid = o["person_id"].iloc[0]
            pid = pid.item() if hasattr(pid, "item") else pid
            raise InputError(f"groups {' and '.join(repr(g) for g in gs)} overlap for person_id {str(pid)!r}; "
                             "group conditions must be mutually exclusive", value=pid)
    c = engine.fetch(plan.counts_sql).iloc[0]
    n = int(c["n"])
    rows = [dict(step=0, stage="screened", criterion="screened", label="Persons in the data source", n_before=n,
                 n_excluded=0, n_after=n, n_missing=0, reason="screened")]
    left = n
    for k, (stage, crit, label, reason, col) in enumerate(plan.steps, 1):
        x = int(c[f"x{k}"] or 0)
        m = int(c[f"m{k}"] or 0) if col is not None else 0
        rows.append(dict(step=k, stage=stage, criterion=crit, label=label, n_before=left, n_excluded=x,
                         n_after=left - x, n_missing=m, reason=reason))
        left -= x
    steps = pd.DataFrame(rows, columns=list(_STEP_COLUMNS))
    groups = pd.DataFrame([{"group": g, "label": lab, "n": int(c[f"g{j}"] or 0)}
                           for j, (g, lab) in enumerate(plan.group_labels.items())], columns=["group", "label", "n"])
    if log:
        log(f"criteria: {len(plan.steps)} steps, {fmt_n(n)} screened, {fmt_n(left)} included; {fmt_seconds(time.perf_counter() - t0)}")
    return steps, groups


def eligibility_at_scale(parquet_dir=None, *, criteria, out=None, tables: Mapping[str, str] | None = None,
                         threads: int = 2, memory_limit: str = "16GB", temp_directory=None,
                         log=None) -> ScaleAttrition:
    """The eligibility criteria and groups of ``criteria`` evaluated by DuckDB over OMOP Parquet files.

    Parameters
    ----------
    parquet_dir : str or Path, optional
        Folder with ``person``, ``drug_exposure``, ``measurement`` and
        optionally ``person_attribute`` (the study's person-level fields:
        diagnosis, flags, ...), as for :func:`~hepatostat.cohort.scale.extract_at_scale`.
    criteria : CohortSpec, str or Path
        From :func:`~hepatostat.cohort.load_criteria`, or a criteria file or
        bundled name (``"seed_jia2020"``).
    out : str or Path, optional
        Parquet file for the per-person status table (``person_id, included,
        step, stage, criterion, reason, failed, group``); not written when None.
    tables, threads, memory_limit, temp_directory, log
        As for :func:`~hepatostat.cohort.scale.extract_at_scale`.

    Returns
    -------
    ScaleAttrition
        The attrition table of :func:`hepatostat.cohort.eligibility` (same
        steps, counts, unknowns and wording).

    Raises
    ------
    InputError
        Unknown fields, wrong types, conditions SQL cannot evaluate (each
        naming the criterion), overlapping groups, duplicate person ids,
        missing tables or columns.
    """
    spec = criteria_spec(criteria)
    threads = int_argument("threads", threads, 1)
    memory_limit = memory_limit_argument(memory_limit)
    paths = table_paths(parquet_dir, tables)
    own_tmp = temp_directory is None
    tmp = Path(tempfile.mkdtemp(prefix="hepatostat_duckdb_")) if own_tmp else Path(temp_directory)
    t0 = time.perf_counter()
    engine = None
    try:
        engine = duckdb_engine(paths, threads=threads, memory_limit=memory_limit, temp_directory=tmp)
        steps, groups = prepare_eligibility(engine, paths, spec, log)
        if out is not None:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            engine.execute(f"COPY ({status_select(DUCKDB)}) TO {DUCKDB.lit(str(out))} (FORMAT parquet)")
    finally:
        if engine is not None:
            engine.con.close()
        if own_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return ScaleAttrition(steps, groups, spec.name, "duckdb", None if out is None else str(out),
                          time.perf_counter() - t0, is_synthetic(paths["person"]))


def eligibility_spark(parquet_dir=None, *, criteria, out=None, tables: Mapping | None = None, spark=None,
                      log=None) -> ScaleAttrition:
    """:func:`eligibility_at_scale` on Spark (``tables`` may hold DataFrames; ``out`` any path Spark writes)."""
    require_pyspark("eligibility_spark")
    spec = criteria_spec(criteria)
    frames, named = spark_frames(tables)
    paths = table_paths(parquet_dir, named)
    t0 = time.perf_counter()
    with spark_session(spark) as spark:
        engine = spark_engine(spark, paths, frames)
        steps, groups = prepare_eligibility(engine, paths, spec, log)
        if out is not None:
            spark.sql(status_select(engine.dialect)).write.mode("overwrite").parquet(str(out))
    return ScaleAttrition(steps, groups, spec.name, "spark", None if out is None else str(out),
                          time.perf_counter() - t0, is_synthetic(paths["person"]))


def baseline_step(engine: Engine, steps: pd.DataFrame, group_labels: Mapping[str, str], visits,
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The last step of :func:`~hepatostat.cohort.build_cohort`: a baseline value for each required outcome.

    Reads the materialised visit values ``picked`` and ``person_status``;
    creates the view ``person_final`` (the status after this step) and
    returns the attrition table and groups with the step added (no step when
    ``visits.require_baseline`` is empty, as in the in-memory engine).
    """
    d = engine.dialect
    g = d.quote("group")
    req = [o for o in visits.outcomes if o in visits.require_baseline]
    look = f"{fmt_plain(visits.lookback_days)} days"
    if req:
        lack = ", ".join(f"CASE WHEN MAX(CASE WHEN test = {d.lit(o)} AND visit_order = 0 AND value IS NOT NULL "
                         f"THEN 1 ELSE 0 END) = 0 THEN {d.lit(o)} END" for o in req)
        engine.execute(f"CREATE OR REPLACE TEMPORARY VIEW baseline_lacking AS SELECT person_id, lacking FROM "
                       f"(SELECT person_id, CONCAT_WS(', ', {lack}) AS lacking FROM picked GROUP BY person_id) b "
                       "WHERE lacking <> ''")
    else:
        engine.execute("CREATE OR REPLACE TEMPORARY VIEW baseline_lacking AS SELECT person_id, "
                       "CAST(NULL AS STRING) AS lacking FROM person_status WHERE FALSE")
    k = len(steps)
    hit = "(s.included AND b.lacking IS NOT NULL)"
    engine.execute(f"""CREATE OR REPLACE TEMPORARY VIEW person_final AS
SELECT s.person_id, s.included AND b.lacking IS NULL AS included,
       CASE WHEN {hit} THEN CAST({k} AS BIGINT) ELSE s.step END AS step,
       CASE WHEN {hit} THEN 'baseline' ELSE s.stage END AS stage,
       CASE WHEN {hit} THEN 'baseline' ELSE s.criterion END AS criterion,
       CASE WHEN {hit} THEN CONCAT({d.lit(f'no baseline value within {look} before the first infusion for: ')},
                                   b.lacking) ELSE s.reason END AS reason,
       CASE WHEN {hit} THEN CONCAT_WS(';', NULLIF(s.failed, ''), 'baseline') ELSE s.failed END AS failed,
       CASE WHEN s.included AND b.lacking IS NULL THEN s.{g} END AS {g}
FROM person_status s LEFT JOIN baseline_lacking b ON b.person_id = s.person_id""")
    aggs = ["SUM(CASE WHEN stage = 'baseline' THEN 1 ELSE 0 END) AS x"] + [
        f"SUM(CASE WHEN included AND {g} = {d.lit(name)} THEN 1 ELSE 0 END) AS g{j}"
        for j, name in enumerate(group_labels)]
    c = engine.fetch(f"SELECT {', '.join(aggs)} FROM person_final").iloc[0]
    groups = pd.DataFrame([{"group": name, "label": lab, "n": int(c[f"g{j}"] or 0)}
                           for j, (name, lab) in enumerate(group_labels.items())], columns=["group", "label", "n"])
    if not req:
        return steps, groups
    x = int(c["x"] or 0)
    left = int(steps["n_after"].iloc[-1])
    row = dict(step=k, stage="baseline", criterion="baseline", label=f"Baseline value for {', '.join(req)}",
               n_before=left, n_excluded=x, n_after=left - x, n_missing=0,
               reason=f"no baseline value within {look} before the first infusion for a required outcome "
                      f"({', '.join(req)})")
    return pd.concat([steps, pd.DataFrame([row], columns=list(_STEP_COLUMNS))], ignore_index=True), groups


def status_select(d: Dialect, view: str = "person_status") -> str:
    """The per-person status table (:data:`STATUS_COLUMNS`) from ``view``, by person."""
    return (f"SELECT person_id, included, step, stage, criterion, reason, failed, {d.quote('group')} "
            f"FROM {view} ORDER BY person_id")
