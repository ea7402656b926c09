"""The cohort data model: persons, treatments and laboratory measurements.

A cohort is three tables. Their names and, where it has them, their column
names follow the OMOP Common Data Model (CDM 5.4): ``person``,
``drug_exposure`` and ``measurement``. Short names are accepted as well, and
every column name is matched case-insensitively after turning it into
snake_case (``"Person ID"`` -> ``person_id``).

persons (OMOP ``person``), one row per person
    ===============  ==============================================================
    column           meaning (accepted aliases)
    ===============  ==============================================================
    person_id        unique id, text or integer (patient_id, subject_id, pid, id)
    sex              ``M``/``F`` (gender, gender_source_value; ``male``/``female``
                     and OMOP gender_concept_id 8507/8532 are read too)
    birth_date       date of birth (birth_datetime, date_of_birth, dob; or OMOP
                     year_of_birth [+ month_of_birth, day_of_birth])
    age              age in completed years at the first infusion (age_years);
                     computed from birth_date where missing
    diagnosis        e.g. ``liver_failure``, ``cirrhosis`` (dx); lower-cased,
                     spaces and hyphens become ``_``
    etiology         e.g. ``hbv`` (aetiology)
    hbsag_months     months of HBsAg positivity (hbsag_positive_months,
                     hbsag_duration_months)
    *flags*          any other column whose values are all true/false, yes/no,
                     y/n, t/f or 1/0 (or missing) is a boolean condition flag,
                     e.g. ``liver_cancer``; other columns are kept as they are
    ===============  ==============================================================

treatments (OMOP ``drug_exposure``), one row per infusion
    person_id, date (infusion_date, drug_exposure_start_date) *or* day
    (study_day, infusion_day), dose (quantity), drug (drug_source_value).

labs (OMOP ``measurement``), long form, one row per result
    ===============  ==============================================================
    person_id
    date / day       measurement_date / study day
    test             test name, alias or LOINC code (measurement_source_value);
                     or ``loinc`` (measurement_concept_code) alone. Known tests
                     are those of :data:`hepatostat.units.TESTS`
    value            number or text such as ``"<5"`` (value_source_value;
                     value_as_number is used where value is empty)
    unit             any spelling accepted by :mod:`hepatostat.units`
                     (unit_source_value); may be empty only for tests with a
                     single unit (INR, PTA)
    operator         optional ``<``, ``<=``, ``>``, ``>=``, ``=`` or OMOP
                     operator_concept_id (4171756, 4171754, 4172704, 4171755,
                     4172703)
    ===============  ==============================================================

The wide per-visit sheet clinicians keep (one row per person and visit, one
column per test, e.g. ``TBIL_umol_L``, ``ALT``, ``PTA``) is turned into the
long form by :func:`wide_to_long`.

Time
----
Treatments and labs share one time axis: both have dates, or both have study
days. Dates are read to the day (times of day are dropped). Internally every
row gets a numeric ``day`` (days since 1970-01-01 for dates), which is what
the visit windows use.

What happens at import (:func:`cohort_data`)
--------------------------------------------
* Bad input raises :class:`~hepatostat.errors.InputError` naming the file,
  row, column, value and what is allowed: duplicate person ids, unknown tests
  or units, values that are neither numbers nor censored strings, unreadable
  dates, lab or infusion dates before the date of birth, sex codes other than
  M/F.
* Legal but unusable rows go to the exclusion log with a reason and are not
  used: lab results with no value, physiologically implausible values (e.g.
  total bilirubin 486 "mmol/L"; the reason says which unit would make it
  plausible), rows of persons missing from the person table, rows with no
  date or day. Nothing is dropped silently.
* Every lab value is converted to the canonical unit of its test
  (:func:`hepatostat.units.to_canonical`: bilirubin and creatinine mg/dL,
  albumin g/dL, ALT/AST U/L, PTA %, INR ratio, sodium mmol/L).
* Censored strings (``"<5"``, ``"> 1000"``) are read by
  :func:`hepatostat.units.parse_censored`: the value is the limit and the
  sign is kept in ``operator`` (``censored`` is True).

Row numbers in messages are spreadsheet rows for CSV and Excel files (the
header is row 1, the first data row is row 2) and case numbers (1-based) for
SPSS, Stata, Parquet and database tables.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .. import units as _units
from ..errors import InputError
from ..io.format import fmt_n, fmt_plain
from ..io.jsonsafe import to_jsonable

__all__ = [
    "CohortData",
    "cohort_data",
    "wide_to_long",
    "EXCLUSION_COLUMNS",
    "PERSON_COLUMNS",
    "TREATMENT_COLUMNS",
    "LAB_COLUMNS",
    "snake",
]

#: canonical person columns -> accepted aliases (after snake_case)
PERSON_COLUMNS = {
    "person_id": ("person_id", "patient_id", "subject_id", "pid", "id"),
    "sex": ("sex", "gender", "gender_source_value", "gender_concept_id"),
    "birth_date": ("birth_date", "birth_datetime", "date_of_birth", "dob"),
    "age": ("age", "age_years"),
    "diagnosis": ("diagnosis", "dx"),
    "etiology": ("etiology", "aetiology"),
    "hbsag_months": ("hbsag_months", "hbsag_positive_months", "hbsag_duration_months"),
}
#: canonical treatment columns -> aliases
TREATMENT_COLUMNS = {
    "person_id": PERSON_COLUMNS["person_id"],
    "date": ("date", "infusion_date", "drug_exposure_start_date", "drug_exposure_start_datetime"),
    "day": ("day", "study_day", "infusion_day"),
    "dose": ("dose", "quantity"),
    "drug": ("drug", "drug_source_value"),
}
#: canonical lab columns -> aliases
LAB_COLUMNS = {
    "person_id": PERSON_COLUMNS["person_id"],
    "date": ("date", "measurement_date", "measurement_datetime", "lab_date"),
    "day": ("day", "study_day", "lab_day"),
    "test": ("test", "measurement_source_value", "lab_test", "analyte"),
    "loinc": ("loinc", "measurement_concept_code", "loinc_code"),
    "value": ("value", "result"),
    "value_as_number": ("value_as_number",),
    "value_source_value": ("value_source_value",),
    "unit": ("unit", "unit_source_value", "units"),
    "unit_concept_code": ("unit_concept_code",),
    "operator": ("operator", "operator_concept_id"),
}

#: columns of the exclusion log
EXCLUSION_COLUMNS = ("stage", "table", "person_id", "file", "row", "column", "value", "criterion", "reason")

#: metadata columns a reader may attach to raw lab rows (file, row, column of origin)
_META = ("source_file", "source_row", "source_column")

_OPERATOR_CONCEPTS = {4171756: "<", 4171754: "<=", 4172704: ">", 4171755: ">=", 4172703: ""}  # "=": exact, not censored
_OPERATORS = {"<": "<", "<=": "<=", "=<": "<=", "≤": "<=", ">": ">", ">=": ">=", "=>": ">=", "≥": ">=", "=": "", "": ""}
_SEX = {
    "m": "M", "male": "M", "man": "M", "8507": "M",
    "f": "F", "female": "F", "woman": "F", "8532": "F",
}
_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}
_MISSING_TEXT = {"", "na", "nan", "n/a", "null", "none", "nat"}
_EPOCH = pd.Timestamp("1970-01-01")


def snake(name) -> str:
    """Identifier-safe snake_case of a column name (``"Person ID"`` -> ``person_id``)."""
    s = re.sub(r"[^0-9a-zA-Z]+", "_", str(name).strip()).strip("_").lower()
    return s or "column"


# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------


def _is_missing(v) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    if isinstance(v, str) and v.strip().lower() in _MISSING_TEXT:
        return True
    return False


def _is_blank(v) -> bool:
    """Missing without reading text markers: for test names, where "NA" is sodium."""
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and not v.strip()


def _py(v):
    """A cell as a plain Python value for messages and the log."""
    if _is_missing(v):
        return None
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    return v


class _Source:
    """Where the rows of one table came from (for messages)."""

    def __init__(self, frame: pd.DataFrame, file, offset: int):
        n = len(frame)
        self.file = None if file is None else str(file)
        if "source_row" in frame.columns:
            self.rows = frame["source_row"].to_numpy()
        else:
            self.rows = np.arange(offset, offset + n)
        self.files = frame["source_file"].astype(object).to_numpy() if "source_file" in frame.columns else None
        self.columns = frame["source_column"].astype(object).to_numpy() if "source_column" in frame.columns else None

    def where(self, i: int, column: str | None):
        f = self.files[i] if self.files is not None and not _is_missing(self.files[i]) else self.file
        c = self.columns[i] if self.columns is not None and column in ("value", "unit", "test") else column
        return {"file": f, "row": int(self.rows[i]), "column": c}


def _rename(frame: pd.DataFrame, spec: Mapping[str, tuple], table: str, file) -> pd.DataFrame:
    """snake_case all columns and rename the first alias found of each canonical column."""
    meta = [c for c in frame.columns if c in _META]
    other = [c for c in frame.columns if c not in _META]
    snaked = [snake(c) for c in other]
    seen: dict[str, str] = {}
    for orig, s in zip(other, snaked):
        if s in seen:
            raise InputError(
                f"{table}: columns {seen[s]!r} and {orig!r} have the same name after snake_case ({s!r}); rename one",
                file=file,
                column=orig,
            )
        seen[s] = orig
    out = frame[other].copy()
    out.columns = snaked
    rename = {}
    for canon, aliases in spec.items():
        if canon in out.columns:
            continue
        for a in aliases:
            if a in out.columns and a not in rename and a not in spec:
                rename[a] = canon
                break
    out = out.rename(columns=rename)
    for m in meta:
        out[m] = frame[m].to_numpy()
    return out


def _person_ids(series: pd.Series, src: _Source, table: str) -> np.ndarray:
    """person_id as text; integral numbers lose their '.0'."""
    vals = series.to_numpy(dtype=object)
    out = np.empty(len(vals), dtype=object)
    for i, v in enumerate(vals):
        if _is_missing(v):
            raise InputError(f"{table}: person_id is missing; every row needs one", value=None, **src.where(i, "person_id"))
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            out[i] = str(int(v))
        elif isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            out[i] = str(int(v))
        else:
            out[i] = str(v).strip()
    return out


def _dates(series: pd.Series, src: _Source, table: str, column: str) -> pd.Series:
    """Parse a date column (ISO text, datetime, date objects) to day resolution."""
    s = series
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        nonnull = s.dropna()
        if len(nonnull):
            i = int(np.flatnonzero(s.notna().to_numpy())[0])
            raise InputError(
                f"{table}: {column} must hold dates such as 2014-03-01, got numbers; if these are study days "
                "name the column 'day' (or study_day)",
                value=_py(s.iloc[i]),
                **src.where(i, column),
            )
        return pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s
    else:
        obj = s.astype(object).map(lambda v: None if _is_missing(v) else v)
        out = pd.to_datetime(obj, errors="coerce", format="mixed") if obj.notna().any() else pd.to_datetime(obj)
        bad = obj.notna().to_numpy() & out.isna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{table}: cannot read {column} as a date; allowed: ISO dates such as 2014-03-01 (or Excel/SPSS/Stata dates)",
                value=_py(s.iloc[i]),
                **src.where(i, column),
            )
        if isinstance(out.dtype, pd.DatetimeTZDtype):
            out = out.dt.tz_localize(None)
    return out.astype("datetime64[us]").dt.normalize()


def _numbers(series: pd.Series, src: _Source, table: str, column: str, *, lo=None, hi=None, what="") -> pd.Series:
    """Numeric column; text that is not a number is an error naming the row."""
    if pd.api.types.is_bool_dtype(series):
        raise InputError(f"{table}: {column} must be numeric, got true/false values", column=column, file=src.file)
    if pd.api.types.is_numeric_dtype(series):
        out = series.astype(float)
    else:
        obj = series.astype(object).map(lambda v: None if _is_missing(v) else (v.strip() if isinstance(v, str) else v))
        out = pd.to_numeric(obj, errors="coerce").astype(float)
        bad = obj.notna().to_numpy() & out.isna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"{table}: {column} must be a number{what}", value=_py(series.iloc[i]), **src.where(i, column))
    arr = out.to_numpy()
    with np.errstate(invalid="ignore"):
        bad = np.zeros(len(arr), bool)
        if lo is not None:
            bad |= arr < lo
        if hi is not None:
            bad |= arr > hi
        bad |= np.isinf(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        rng = f"{lo if lo is not None else '-inf'} to {hi if hi is not None else 'inf'}"
        raise InputError(f"{table}: {column} must be between {rng}{what}", value=_py(series.iloc[i]), **src.where(i, column))
    return out


def _text(series: pd.Series) -> pd.Series:
    """Stripped text with missing markers as NA (object dtype)."""
    return series.astype(object).map(lambda v: None if _is_missing(v) else str(v).strip())


def _as_flag(series: pd.Series) -> pd.Series | None:
    """A boolean flag column if every value is a true/false word or 0/1, else None."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype("boolean")
    vals = series.astype(object).to_numpy()
    out = []
    n_known = 0
    for v in vals:
        if _is_missing(v):
            out.append(pd.NA)
            continue
        if isinstance(v, (bool, np.bool_)):
            out.append(bool(v))
        elif isinstance(v, (int, float, np.integer, np.floating)) and float(v) in (0.0, 1.0):
            out.append(bool(v))
        elif isinstance(v, str) and v.strip().lower() in _TRUE:
            out.append(True)
        elif isinstance(v, str) and v.strip().lower() in _FALSE:
            out.append(False)
        else:
            return None
        n_known += 1
    if n_known == 0:
        return None
    return pd.Series(pd.array(out, dtype="boolean"), index=series.index)


def _log_rows(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(EXCLUSION_COLUMNS))
    return frame.astype({"row": "Int64"}) if len(frame) else frame


def _entry(stage, table, person_id, where, value, reason, criterion=None) -> dict:
    return {
        "stage": stage,
        "table": table,
        "person_id": person_id,
        "file": where.get("file"),
        "row": where.get("row"),
        "column": where.get("column"),
        "value": None if value is None else str(value),
        "criterion": criterion,
        "reason": reason,
    }


# --------------------------------------------------------------------------
# the data set
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CohortData:
    """Validated cohort tables in canonical form (see the module notes).

    Attributes
    ----------
    persons : pandas.DataFrame
        One row per person: ``person_id`` (text), ``sex`` (``M``/``F``),
        ``birth_date``, ``age``, ``diagnosis``, ``etiology``,
        ``hbsag_months``, boolean flags and any other columns as given.
    treatments : pandas.DataFrame
        ``person_id, date, day, dose, drug`` (+ other columns), sorted.
    labs : pandas.DataFrame
        ``person_id, date, day, test, loinc, value, unit, operator,
        censored, value_source, unit_source, file, row``: ``test`` is the
        registry key, ``value`` is in the canonical ``unit``; sorted.
    exclusions : pandas.DataFrame
        Rows not used, with the reason (columns :data:`EXCLUSION_COLUMNS`).
    time_axis : {"date", "day"}
        Whether times are calendar dates or study days.
    source : str or None
        Where the data came from.
    synthetic : bool
        True when every table is marked synthetic (a ``synthetic`` column
        that is True throughout).
    """

    persons: pd.DataFrame
    treatments: pd.DataFrame
    labs: pd.DataFrame
    exclusions: pd.DataFrame
    time_axis: str
    source: str | None = None
    synthetic: bool = False
    read_notes: tuple = ()

    @property
    def n_persons(self) -> int:
        return len(self.persons)

    def to_frame(self, table: str = "labs") -> pd.DataFrame:
        """One of the tables: ``"persons"``, ``"treatments"``, ``"labs"`` or ``"exclusions"``."""
        tables = {"persons": self.persons, "treatments": self.treatments, "labs": self.labs, "exclusions": self.exclusions}
        if table not in tables:
            raise InputError(f"unknown table {table!r}; allowed: {', '.join(tables)}")
        return tables[table].copy()

    def to_dict(self) -> dict[str, Any]:
        """Counts per table and test, and the exclusion log."""
        tests = self.labs.groupby("test").size().to_dict() if len(self.labs) else {}
        return {
            "source": self.source,
            "synthetic": self.synthetic,
            "time_axis": self.time_axis,
            "n_persons": int(len(self.persons)),
            "n_treatments": int(len(self.treatments)),
            "n_labs": int(len(self.labs)),
            "labs_per_test": {k: int(v) for k, v in tests.items()},
            "n_censored": int(self.labs["censored"].sum()) if len(self.labs) else 0,
            "exclusions": to_jsonable(self.exclusions.to_dict("records")),
            "read_notes": list(self.read_notes),
        }

    def summary(self) -> str:
        d = self.to_dict()
        lines = [
            f"Cohort data{' (SYNTHETIC)' if self.synthetic else ''}: {fmt_n(d['n_persons'])} persons, "
            f"{fmt_n(d['n_treatments'])} infusions, {fmt_n(d['n_labs'])} lab results ({fmt_n(d['n_censored'])} censored); "
            f"time axis: {'calendar dates' if self.time_axis == 'date' else 'study days'}"
        ]
        if d["labs_per_test"]:
            lines.append("Lab results per test: " + ", ".join(f"{k} {fmt_n(v)}" for k, v in d["labs_per_test"].items()))
        for note in self.read_notes:
            lines.append(f"Read: {note}")
        lines.append(f"Rows not used (exclusion log): {fmt_n(len(self.exclusions))}")
        for reason, n in self.exclusions.groupby("reason").size().sort_values(ascending=False).head(8).items():
            lines.append(f"  {fmt_n(n):>6}  {reason}")
        return "\n".join(lines)


def _source_of(source, table):
    if isinstance(source, Mapping):
        return source.get(table)
    return source


def cohort_data(
    persons,
    treatments,
    labs,
    *,
    source=None,
    row_offset: int | Mapping[str, int] = 2,
    unknown_tests: str = "error",
    tests: Mapping[str, str] | None = None,
    pt_to_inr: tuple | None = None,
) -> CohortData:
    """Validate the three cohort tables and bring them into canonical form.

    Parameters
    ----------
    persons, treatments, labs : pandas.DataFrame
        The tables described in the module notes (any accepted column
        aliases; labs in long form - see :func:`wide_to_long` for a wide
        per-visit sheet).
    source : str or mapping, optional
        File name(s) for messages: one name, or ``{"persons": ...,
        "treatments": ..., "labs": ...}``.
    row_offset : int or mapping, default 2
        Row number of the first data row in messages (2 for spreadsheets,
        whose header is row 1; 1 for SPSS/Stata/database tables).
    unknown_tests : {"error", "log"}
        What to do with a lab row whose test is not in
        :data:`hepatostat.units.TESTS` and not declared in ``tests``: raise
        (default) or put it in the exclusion log.
    tests : mapping, optional
        Lab tests hepatostat does not know, with the unit the user declares:
        ``{"alk_phos": "U/L", "platelets": "10^9/L"}`` (see
        :func:`hepatostat.units.custom_test`). Their rows pass through with
        that unit (a row with another unit is an error), and they can be
        windowed and compared like built-in tests. Keys that are built-in
        tests are ignored here (their units are known).
    pt_to_inr : (isi, mnpt), optional
        Derive INR rows from prothrombin times in seconds with the WHO
        formula ``INR = (PT / MNPT) ^ ISI`` (:func:`hepatostat.units.pt_to_inr`).
        Only done when asked; a measured INR of the same person and day is
        kept and the derived one logged. Prothrombin activity (%) is never
        converted (no formula exists).

    Returns
    -------
    CohortData

    Raises
    ------
    InputError
        See the module notes; every message names the file, row, column and
        value and says what is allowed.
    """
    if unknown_tests not in ("error", "log"):
        raise InputError(f"unknown_tests must be 'error' or 'log', got {unknown_tests!r}")
    frames = {"persons": persons, "treatments": treatments, "labs": labs}
    for name, f in frames.items():
        if not isinstance(f, pd.DataFrame):
            raise InputError(f"{name} must be a table (pandas DataFrame), got {type(f).__name__}")
    offs = {t: (row_offset.get(t, 2) if isinstance(row_offset, Mapping) else row_offset) for t in frames}
    files = {t: _source_of(source, t) for t in frames}
    log: list[dict] = []

    per = _persons(persons, files["persons"], offs["persons"])
    birth = dict(zip(per["person_id"], per["birth_date"])) if "birth_date" in per.columns else {}
    known_ids = set(per["person_id"])

    tr, tr_axis = _treatments(treatments, files["treatments"], offs["treatments"], known_ids, birth, log)
    custom = declared_tests(tests)
    lb, lb_axis = _labs(labs, files["labs"], offs["labs"], known_ids, birth, log, unknown_tests, custom)
    if pt_to_inr is not None:
        lb = _derive_inr(lb, pt_to_inr, log)
    axes = {a for a in (tr_axis, lb_axis) if a is not None}
    if len(axes) > 1:
        raise InputError(
            "treatments and labs must share one time axis: both calendar dates (date, drug_exposure_start_date, "
            "measurement_date) or both study days (day, study_day); "
            f"found treatments: {tr_axis}, labs: {lb_axis}",
            file=files["labs"],
        )
    axis = axes.pop() if axes else "date"
    if axis == "day":
        for f in (tr, lb):
            f["date"] = pd.Series(pd.NaT, index=f.index, dtype="datetime64[us]")
    synthetic = all(
        "synthetic" in f.columns and len(f) and pd.Series(f["synthetic"]).astype(object).map(lambda v: v is True or v == 1 or str(v).lower() == "true").all()
        for f in (persons, treatments, labs)
    )
    src = source if isinstance(source, (str, type(None))) else ", ".join(str(v) for v in dict(source).values() if v)
    return CohortData(
        persons=per.reset_index(drop=True),
        treatments=tr.reset_index(drop=True),
        labs=lb.reset_index(drop=True),
        exclusions=_log_rows(log),
        time_axis=axis,
        source=None if src is None else str(src),
        synthetic=bool(synthetic),
    )


# --------------------------------------------------------------------------
# persons
# --------------------------------------------------------------------------


def _persons(frame: pd.DataFrame, file, offset: int) -> pd.DataFrame:
    f = _rename(frame, PERSON_COLUMNS, "persons", file)
    src = _Source(f, file, offset)
    if "person_id" not in f.columns:
        raise InputError(
            f"persons: no person_id column; accepted names: {', '.join(PERSON_COLUMNS['person_id'])} "
            f"(found: {', '.join(map(str, frame.columns)) or 'none'})",
            file=file,
        )
    out = pd.DataFrame(index=f.index)
    out["person_id"] = _person_ids(f["person_id"], src, "persons")
    dup = pd.Series(out["person_id"]).duplicated(keep="first").to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        pid = out["person_id"].iloc[i]
        first = int(np.flatnonzero(out["person_id"].to_numpy() == pid)[0])
        raise InputError(
            f"persons: duplicate person_id (first seen at row {int(src.rows[first])}); each person must appear once",
            value=pid,
            **src.where(i, "person_id"),
        )
    if "sex" in f.columns:
        vals = f["sex"].astype(object).to_numpy()
        sex = []
        for i, v in enumerate(vals):
            if _is_missing(v):
                sex.append(None)
                continue
            key = str(int(v)) if isinstance(v, (int, float, np.integer, np.floating)) and float(v).is_integer() else str(v).strip().lower()
            if key not in _SEX:
                raise InputError(
                    "persons: sex must be M or F (also male/female, man/woman, OMOP gender_concept_id 8507/8532)",
                    value=_py(v),
                    **src.where(i, "sex"),
                )
            sex.append(_SEX[key])
        out["sex"] = pd.Series(sex, index=f.index, dtype=object)
    if "birth_date" in f.columns:
        out["birth_date"] = _dates(f["birth_date"], src, "persons", "birth_date")
    elif "year_of_birth" in f.columns:
        y = _numbers(f["year_of_birth"], src, "persons", "year_of_birth", lo=1850, hi=2100)
        m = _numbers(f["month_of_birth"], src, "persons", "month_of_birth", lo=1, hi=12) if "month_of_birth" in f.columns else None
        d = _numbers(f["day_of_birth"], src, "persons", "day_of_birth", lo=1, hi=31) if "day_of_birth" in f.columns else None
        parts = pd.DataFrame({"year": y, "month": 7.0 if m is None else m.fillna(7), "day": 1.0 if d is None else d.fillna(1)})
        parts.loc[y.isna(), :] = np.nan
        out["birth_date"] = pd.to_datetime(parts, errors="coerce").astype("datetime64[us]")
    # OMOP's year/month/day_of_birth are read into birth_date (or superseded by it)
    f = f.drop(columns=[c for c in ("year_of_birth", "month_of_birth", "day_of_birth") if c in f.columns])
    if "age" in f.columns:
        out["age"] = _numbers(f["age"], src, "persons", "age", lo=0, hi=130, what=" of years")
    for c in ("diagnosis", "etiology"):
        if c in f.columns:
            out[c] = _text(f[c]).map(lambda v: None if v is None or pd.isna(v) else re.sub(r"[\s\-]+", "_", v.lower()))
    if "hbsag_months" in f.columns:
        out["hbsag_months"] = _numbers(f["hbsag_months"], src, "persons", "hbsag_months", lo=0, what=" of months")
    for c in f.columns:
        if c in out.columns or c in PERSON_COLUMNS or c in _META:
            continue
        flag = _as_flag(f[c])
        if flag is not None:
            out[c] = flag
        elif f[c].dtype == object or pd.api.types.is_string_dtype(f[c]):
            out[c] = _text(f[c])
        else:
            out[c] = f[c]
    return out


# --------------------------------------------------------------------------
# time columns shared by treatments and labs
# --------------------------------------------------------------------------


def _time(f: pd.DataFrame, src: _Source, table: str) -> tuple[pd.Series, pd.Series, str | None]:
    """(date, day, axis) of a treatment or lab table."""
    has_date = "date" in f.columns and f["date"].notna().any()
    has_day = "day" in f.columns and f["day"].notna().any()
    if has_date:
        date = _dates(f["date"], src, table, "date")
        day = (date - _EPOCH).dt.days.astype(float)
        return date, day, "date"
    if has_day:
        day = _numbers(f["day"], src, table, "day", what=" (study day)")
        return pd.Series(pd.NaT, index=f.index, dtype="datetime64[us]"), day, "day"
    if len(f) == 0:
        return (pd.Series(pd.NaT, index=f.index, dtype="datetime64[us]"), pd.Series(np.nan, index=f.index), None)
    raise InputError(
        f"{table}: no time column; give calendar dates (date, "
        f"{'drug_exposure_start_date' if table == 'treatments' else 'measurement_date'}) or study days (day, study_day)",
        file=src.file,
    )


def _check_orphans_and_birth(table, f, pid, date, day, src, known_ids, birth, log, keep):
    """Log rows of unknown persons and rows without a time; raise for dates before birth."""
    pids = pid.to_numpy()
    days = day.to_numpy()
    for i in range(len(f)):
        if not keep[i]:
            continue
        if pids[i] not in known_ids:
            log.append(_entry("import", table, pids[i], src.where(i, "person_id"), pids[i], "person_id not in the person table"))
            keep[i] = False
            continue
        if np.isnan(days[i]):
            log.append(_entry("import", table, pids[i], src.where(i, "date"), None, "no date or study day"))
            keep[i] = False
    if birth and date.notna().any():
        b = pid.map(birth)
        b = pd.to_datetime(b).astype("datetime64[us]")
        before = (date < b).to_numpy() & keep
        if before.any():
            i = int(np.flatnonzero(before)[0])
            raise InputError(
                f"{table}: date {date.iloc[i].date().isoformat()} is before the date of birth "
                f"({b.iloc[i].date().isoformat()}) of person {pids[i]!r}; check both dates",
                value=_py(date.iloc[i]),
                **src.where(i, "date"),
            )


# --------------------------------------------------------------------------
# treatments
# --------------------------------------------------------------------------


def _treatments(frame, file, offset, known_ids, birth, log):
    f = _rename(frame, TREATMENT_COLUMNS, "treatments", file)
    src = _Source(f, file, offset)
    if "person_id" not in f.columns:
        raise InputError("treatments: no person_id column", file=file)
    pid = pd.Series(_person_ids(f["person_id"], src, "treatments"), index=f.index)
    date, day, axis = _time(f, src, "treatments")
    keep = np.ones(len(f), bool)
    _check_orphans_and_birth("drug_exposure", f, pid, date, day, src, known_ids, birth, log, keep)
    out = pd.DataFrame({"person_id": pid, "date": date, "day": day}, index=f.index)
    out["dose"] = _numbers(f["dose"], src, "treatments", "dose", lo=0) if "dose" in f.columns else np.nan
    out["drug"] = _text(f["drug"]) if "drug" in f.columns else None
    for c in f.columns:
        if c not in out.columns and c not in TREATMENT_COLUMNS and c not in _META:
            out[c] = f[c]
    out["row"] = src.rows
    out = out[keep]
    return out.sort_values(["person_id", "day", "row"], kind="stable"), axis


# --------------------------------------------------------------------------
# labs
# --------------------------------------------------------------------------


def _lab_value_column(f: pd.DataFrame) -> pd.Series:
    """value, then value_as_number, then value_source_value (first non-missing)."""
    cols = [c for c in ("value", "value_as_number", "value_source_value") if c in f.columns]
    if not cols:
        raise InputError("labs: no value column; accepted names: value, result, value_as_number, value_source_value")
    out = f[cols[0]].astype(object)
    for c in cols[1:]:
        miss = out.map(_is_missing)
        out = out.where(~miss, f[c].astype(object))
    return out


def _operator(v, src, i) -> str:
    if _is_missing(v):
        return ""
    if isinstance(v, (int, float, np.integer, np.floating)) and float(v).is_integer():
        code = int(v)
        if code in _OPERATOR_CONCEPTS:
            return _OPERATOR_CONCEPTS[code]
        if code == 0:
            return ""
    s = str(v).strip()
    if s in _OPERATORS:
        return _OPERATORS[s]
    raise InputError(
        "labs: operator must be one of <, <=, >, >=, = or an OMOP operator_concept_id "
        "(4171756 <, 4171754 <=, 4172704 >, 4171755 >=, 4172703 =)",
        value=_py(v),
        **src.where(i, "operator"),
    )


def _lab_unit(t, unit, src, i) -> str:
    """Display form of a lab row's unit, or an InputError naming the row."""
    if unit is None:
        if len(t.units) == 1:
            return t.units[0]
        raise InputError(f"labs: the unit of {t.key} is missing; allowed: {', '.join(t.units)}", value=None, **src.where(i, "unit"))
    spelled = re.sub(r"\[([^\]]*)\]", r"\1", unit)  # UCUM "[iU]/L" -> "iU/L"
    try:
        return _units.normalize_unit(spelled, t)
    except InputError:
        raise InputError(
            f"labs: unit {unit!r} is not accepted for {t.key}; allowed: {', '.join(t.units)}",
            value=unit,
            **src.where(i, "unit"),
        ) from None


def _lab_text_value(v: str, src, i) -> tuple[float, str]:
    """(number, censoring sign) of a text lab value."""
    s = v.strip()
    if "_" not in s:
        try:
            return float(s), ""
        except ValueError:
            pass
    try:
        parsed = _units.parse_censored(v)
    except InputError:
        raise InputError(
            "labs: cannot read the value; allowed: a number ('12.5'), a censored value ('<5', '> 1000', "
            "'<= 0.5') or an empty cell. Use '.' as decimal separator",
            value=v,
            **src.where(i, "value"),
        ) from None
    sign = parsed.side + ("=" if parsed.inclusive else "") if parsed.censored else ""
    return float(parsed.values), sign


def declared_tests(tests) -> dict:
    """``{key: LabTest}`` for the user's declared tests (name -> unit); built-in names are skipped."""
    out: dict = {}
    for name, unit in dict(tests or {}).items():
        try:
            _units.get_test(str(name))
            continue  # a built-in test: its units are known
        except InputError:
            pass
        t = _units.custom_test(name, unit)
        out[t.key] = t
    return out


def _lookup_test(key: str, custom: Mapping):
    """Registry key of a lab test name: built-in (name, alias, LOINC) or declared; None if unknown."""
    try:
        return _units.get_test(key).key
    except InputError:
        pass
    k = re.sub(r"[^0-9a-z]+", "_", key.lower()).strip("_")
    return k if k in custom else None


def _derive_inr(lb: pd.DataFrame, params, log) -> pd.DataFrame:
    """Add INR rows computed from PT (s) rows (see ``pt_to_inr`` of :func:`cohort_data`)."""
    try:
        isi, mnpt = (float(x) for x in params)
    except (TypeError, ValueError):
        raise InputError(f"pt_to_inr needs two numbers (ISI, mean normal PT in seconds), got {params!r}") from None
    pt = lb[lb["test"] == "pt"]
    if pt.empty:
        raise InputError("PT to INR was asked for, but the labs hold no prothrombin time (test pt, in seconds)")
    inr = pt.copy()
    inr["test"] = "inr"
    inr["loinc"] = _units.TESTS["inr"].loinc
    inr["value"] = np.atleast_1d(_units.pt_to_inr(pt["value"].to_numpy(), isi, mnpt))
    inr["unit"] = _units.canonical_unit("inr")
    inr["value_source"] = [f"PT {v} s -> INR (ISI {fmt_plain(isi)}, MNPT {fmt_plain(mnpt)} s)" for v in pt["value_source"]]
    measured = lb[lb["test"] == "inr"]
    key = ["person_id", "day"]
    clash = inr.merge(measured[key].drop_duplicates(), on=key, how="left", indicator=True)["_merge"].eq("both").to_numpy()
    for _, r in inr[clash].iterrows():
        log.append(_entry("import", "measurement", r["person_id"], {"file": r["file"], "row": int(r["row"]), "column": "value"},
                          r["value_source"], "INR derived from PT not used: a measured INR exists on the same day"))
    out = pd.concat([lb, inr[~clash]], ignore_index=True)
    return out.sort_values(["person_id", "day", "test", "row"], kind="stable")


def _resolve_tests(f, src, log, keep, unknown_tests, custom=None) -> np.ndarray:
    n = len(f)
    tests = np.empty(n, dtype=object)
    raw_test = f["test"].astype(object).to_numpy() if "test" in f.columns else np.full(n, None, dtype=object)
    raw_loinc = f["loinc"].astype(object).to_numpy() if "loinc" in f.columns else np.full(n, None, dtype=object)
    if "test" not in f.columns and "loinc" not in f.columns:
        raise InputError(
            "labs: no test column; accepted names: test, measurement_source_value, lab_test, analyte, "
            "or loinc / measurement_concept_code",
            file=src.file,
        )
    cache: dict = {}
    custom = custom or {}
    allowed = ", ".join(f"{t.key} (LOINC {t.loinc})" for t in _units.TESTS.values())
    if custom:
        allowed += "; declared: " + ", ".join(f"{t.key} ({t.canonical_display})" for t in custom.values())
    for i in range(n):
        name = raw_test[i] if not _is_blank(raw_test[i]) else raw_loinc[i]
        col = "test" if not _is_blank(raw_test[i]) else "loinc"
        if _is_blank(name):
            raise InputError(
                f"labs: the test is missing; allowed: {allowed} (a CSV reader may have read the sodium "
                "abbreviation NA as missing: write Na or sodium)",
                value=None,
                **src.where(i, "test"),
            )
        key = str(name).strip()
        if key not in cache:
            cache[key] = _lookup_test(key, custom)
        if cache[key] is None:
            if unknown_tests == "error":
                raise InputError(
                    f"labs: unknown lab test {key!r}; allowed (name, alias or LOINC code): {allowed}. "
                    "Declare other tests with their unit (build --units FILE with columns column,unit; "
                    "tests= in Python) or pass --unknown-tests log",
                    value=key,
                    **src.where(i, col),
                )
            log.append(_entry("import", "measurement", None, src.where(i, col), key, f"unknown lab test {key!r}"))
            keep[i] = False
        tests[i] = cache[key]
    return tests


def _labs(frame, file, offset, known_ids, birth, log, unknown_tests, custom=None):
    f = _rename(frame, LAB_COLUMNS, "labs", file)
    src = _Source(f, file, offset)
    n = len(f)
    if "person_id" not in f.columns:
        raise InputError("labs: no person_id column", file=file)
    pid = pd.Series(_person_ids(f["person_id"], src, "labs"), index=f.index)
    keep = np.ones(n, bool)
    custom = custom or {}
    registry = {**_units.TESTS, **_units.EXTRA_TESTS, **custom}
    tests = _resolve_tests(f, src, log, keep, unknown_tests, custom)
    date, day, axis = _time(f, src, "labs")
    # units: column, then the UCUM code of the unit concept
    if "unit" in f.columns:
        raw_unit = f["unit"].astype(object)
        if "unit_concept_code" in f.columns:
            raw_unit = raw_unit.where(~raw_unit.map(_is_missing), f["unit_concept_code"].astype(object))
    elif "unit_concept_code" in f.columns:
        raw_unit = f["unit_concept_code"].astype(object)
    else:
        raw_unit = pd.Series([None] * n, index=f.index, dtype=object)
    raw_unit = raw_unit.to_numpy()
    raw_value = _lab_value_column(f).to_numpy()
    raw_op = f["operator"].astype(object).to_numpy() if "operator" in f.columns else np.full(n, None, dtype=object)

    unit_cache: dict = {}
    value_cache: dict = {}
    units = np.empty(n, dtype=object)
    values = np.full(n, np.nan)
    ops = np.empty(n, dtype=object)
    ops[:] = ""
    pids = pid.to_numpy()
    for i in range(n):
        if not keep[i]:
            continue
        t = registry[tests[i]]
        u = raw_unit[i]
        key = (t.key, None if _is_missing(u) else str(u).strip())
        if key not in unit_cache:
            unit_cache[key] = _lab_unit(t, key[1], src, i)
        units[i] = unit_cache[key]
        v = raw_value[i]
        op = "" if raw_op[i] is None else _operator(raw_op[i], src, i)
        if isinstance(v, str):
            if v not in value_cache:
                value_cache[v] = _lab_text_value(v, src, i)
            num, sign = value_cache[v]
            values[i] = num
            if sign:
                op = sign
        elif _is_missing(v):
            values[i] = np.nan
        elif isinstance(v, (bool, np.bool_)):
            raise InputError("labs: the value must be a number, got true/false", value=v, **src.where(i, "value"))
        else:
            try:
                values[i] = float(v)
            except (TypeError, ValueError):
                raise InputError("labs: the value must be a number or a censored value such as '<5'", value=_py(v), **src.where(i, "value")) from None
        ops[i] = op
        if np.isnan(values[i]):
            log.append(_entry("import", "measurement", pids[i], src.where(i, "value"), None, f"{t.key}: no value"))
            keep[i] = False
    _check_orphans_and_birth("measurement", f, pid, date, day, src, known_ids, birth, log, keep)

    # plausibility, then conversion, one (test, unit) group at a time
    canon = np.full(n, np.nan)
    canon_unit = np.empty(n, dtype=object)
    idx_keep = np.flatnonzero(keep)
    if len(idx_keep):
        groups = pd.DataFrame({"i": idx_keep, "test": tests[idx_keep], "unit": units[idx_keep]}).groupby(["test", "unit"], sort=False)
        for (test, unit), g in groups:
            ii = g["i"].to_numpy()
            ok, reasons = _units.check_plausible(values[ii], registry[test], unit)
            ok = np.atleast_1d(ok)
            reasons = np.atleast_1d(reasons)
            for j in np.flatnonzero(~ok):
                i = ii[j]
                log.append(
                    _entry("import", "measurement", pid.iloc[i], src.where(i, "value"), _py(raw_value[i]),
                           f"implausible {test}: {reasons[j]}")
                )
                keep[i] = False
            good = ii[ok]
            canon[good] = np.atleast_1d(_units.to_canonical(values[good], registry[test], unit))
            canon_unit[good] = _units.canonical_unit(registry[test])

    if src.files is not None:
        files = [src.file if _is_missing(x) else x for x in src.files]
    else:
        files = [src.file] * n
    out = pd.DataFrame(
        {
            "person_id": pids,
            "date": date.to_numpy(),
            "day": day.to_numpy(),
            "test": tests,
            "loinc": [None if t is None or not registry[t].loinc else registry[t].loinc for t in tests],
            "value": canon,
            "unit": canon_unit,
            "operator": ops,
            "censored": np.array([o != "" for o in ops], dtype=bool),
            "value_source": [None if _is_missing(v) else str(v) for v in raw_value],
            "unit_source": [None if _is_missing(u) else str(u) for u in raw_unit],
            "file": files,
            "row": src.rows,
        }
    )
    out["date"] = out["date"].astype("datetime64[us]")
    out = out[keep]
    return out.sort_values(["person_id", "day", "test", "row"], kind="stable"), axis


# --------------------------------------------------------------------------
# the wide per-visit sheet
# --------------------------------------------------------------------------

_WIDE_RESERVED = {
    "person_id": PERSON_COLUMNS["person_id"],
    "date": ("date", "visit_date", "measurement_date", "lab_date"),
    "day": ("day", "study_day", "visit_day"),
    "visit": ("visit", "visit_label", "timepoint", "time_point"),
}
_UNIT_WORDS = {"pct": "%", "percent": "%", "ratio": "ratio", "none": "ratio"}


def _header_unit(text: str) -> str:
    t = text.strip()
    if t.lower() in _UNIT_WORDS:
        return _UNIT_WORDS[t.lower()]
    return t.replace("_", "/", 1).replace("_", "")


def _split_header(header: str):
    """``"TBIL_umol_L"`` -> (bilirubin, "µmol/L"); ``"ALT"`` -> (alt, None); else None."""
    h = str(header).strip()
    m = re.match(r"^(.+?)\s*[\(\[]\s*(.*?)\s*[\)\]]$", h)
    if m:
        try:
            t = _units.get_test(m.group(1))
        except InputError:
            return None
        return t, m.group(2)
    try:
        return _units.get_test(h), None
    except InputError:
        pass
    parts = h.split("_")
    for k in range(len(parts) - 1, 0, -1):
        prefix, suffix = "_".join(parts[:k]), "_".join(parts[k:])
        try:
            t = _units.get_test(prefix)
        except InputError:
            continue
        try:
            return t, _units.normalize_unit(_header_unit(suffix), t)
        except InputError:
            continue
    return None


def wide_to_long(frame: pd.DataFrame, *, units=None, source=None, row_offset: int = 2, ignore=()) -> pd.DataFrame:
    """Turn a wide per-visit lab sheet into long-form lab rows.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per person and visit: ``person_id``, ``date`` or ``day``,
        optionally ``visit`` (kept as ``visit_label``), and one column per
        test. A test column's unit comes from its header - ``TBIL_umol_L``,
        ``CREA_mg_dL``, ``ALB_g_L``, ``PTA_pct``, ``TBIL (µmol/L)``,
        ``TBIL [umol/L]`` - or from ``units``.
    units : mapping or DataFrame, optional
        Column (or test) -> unit, e.g. ``{"TBIL": "umol/L", "CREA":
        "umol/L"}``, or a table with columns ``column, unit``. A unit given
        both here and in the header must agree.
    source : str, optional
        File name for messages.
    row_offset : int
        Row number of the first data row (2 for spreadsheets).
    ignore : iterable of str
        Columns that are neither ids, times nor tests (notes, ...).

    Returns
    -------
    pandas.DataFrame
        ``person_id, date/day, visit_label, test, value, unit`` plus the
        origin of each cell (``source_file, source_row, source_column``),
        ready for :func:`cohort_data`. Blank cells mean "not measured" and
        give no row.

    Raises
    ------
    InputError
        A column that is not a known test (the message lists the tests and
        the header format), a test column without a unit where the test has
        several units, or conflicting units.
    """
    if isinstance(units, pd.DataFrame):
        cols = {snake(c): c for c in units.columns}
        if not {"column", "unit"} <= set(cols):
            raise InputError("a units table needs columns 'column' and 'unit'", file=source)
        units = dict(zip(units[cols["column"]].astype(str).str.strip(), units[cols["unit"]].astype(str).str.strip()))
    units = dict(units or {})
    used_units = set()
    reserved: dict[str, str] = {}
    for c in frame.columns:
        s = snake(c)
        for canon, aliases in _WIDE_RESERVED.items():
            if s in aliases and canon not in reserved:
                reserved[canon] = c
                break
    if "person_id" not in reserved:
        raise InputError(f"wide lab sheet: no person_id column (found: {', '.join(map(str, frame.columns))})", file=source)
    if "date" not in reserved and "day" not in reserved:
        raise InputError("wide lab sheet: no date or day column; each row is one visit and needs its date or study day", file=source)
    ignore = {str(c) for c in ignore}
    missing_ignored = sorted(ignore - {str(c) for c in frame.columns})
    if missing_ignored:
        raise InputError(f"ignore names columns not in the sheet: {', '.join(missing_ignored)}", file=source)
    allowed = ", ".join(f"{t.key} ({', '.join(t.units)})" for t in _units.TESTS.values())
    declared: dict = {}
    pieces = []
    rows = (frame["source_row"].to_numpy() if "source_row" in frame.columns
            else np.arange(row_offset, row_offset + len(frame)))
    base = {k: frame[v].to_numpy() for k, v in reserved.items()}
    for c in frame.columns:
        if c in reserved.values() or str(c) in ignore or c in _META:
            continue
        split = _split_header(str(c))
        if split is None:
            m = re.match(r"^(.+?)\s*[\(\[]\s*(.+?)\s*[\)\]]$", str(c).strip())
            if str(c) in units:
                test, unit = _units.custom_test(str(c), units[str(c)]), None
            elif m:
                test, unit = _units.custom_test(m.group(1), m.group(2)), None
            else:
                raise InputError(
                    f"wide lab sheet: column {str(c)!r} is not a known lab test; allowed tests (units): {allowed}. "
                    "Write the unit in the header (TBIL_umol_L, TBIL (umol/L); any other test as 'ALP (U/L)'), "
                    "declare its unit in a units table (build --units), or leave the column out (--ignore; "
                    "ignore= in Python)",
                    file=source,
                    column=str(c),
                )
            declared[test.key] = test.canonical_display
        else:
            test, unit = split
        mapped = None
        for k in (str(c), str(c).split("_")[0], test.key):
            if k in units:
                mapped, _ = units[k], used_units.add(k)
                break
        if mapped is not None:
            m_norm = _units.normalize_unit(mapped, test)
            if unit is not None and _units.normalize_unit(unit, test) != m_norm:
                raise InputError(
                    f"wide lab sheet: column {str(c)!r} says {unit} in its header but the units mapping says {mapped}",
                    file=source,
                    column=str(c),
                )
            unit = m_norm
        if unit is None:
            if len(test.units) == 1:
                unit = test.units[0]
            else:
                raise InputError(
                    f"wide lab sheet: no unit for column {str(c)!r} ({test.key}); allowed: {', '.join(test.units)}. "
                    f"Write it in the header (e.g. {str(c)}_{test.units[0].replace('/', '_').replace('µ', 'u')}) "
                    "or pass units=",
                    file=source,
                    column=str(c),
                )
        else:
            unit = _units.normalize_unit(unit, test)
        vals = frame[c].astype(object).to_numpy()
        present = np.array([not _is_missing(v) for v in vals], dtype=bool)
        part = {k: v[present] for k, v in base.items()}
        part.update(
            test=np.full(present.sum(), test.key, dtype=object),
            value=vals[present],
            unit=np.full(present.sum(), unit, dtype=object),
            source_file=np.full(present.sum(), None if source is None else str(source), dtype=object),
            source_row=rows[present],
            source_column=np.full(present.sum(), str(c), dtype=object),
        )
        pieces.append(pd.DataFrame(part))
    unknown = set(units) - used_units
    if unknown:
        raise InputError(f"units mapping names columns not in the sheet: {', '.join(sorted(unknown))}", file=source)
    if not pieces:
        raise InputError("wide lab sheet: no lab test columns", file=source)
    out = pd.concat(pieces, ignore_index=True)
    if "visit" in out.columns:
        out = out.rename(columns={"visit": "visit_label"})
    out.attrs["declared_tests"] = declared
    return out.sort_values(["source_row", "test"], kind="stable").reset_index(drop=True)
