"""Read and write cohorts: files, DuckDB and OMOP CDM databases.

Sources
-------
A folder
    One file per table, found by name: ``person``/``persons``/``patients``,
    ``treatments``/``drug_exposure``/``infusions``, ``labs``/``measurement``
    (long form) or ``labs_wide``/``visits`` (the wide per-visit sheet); a
    prefix such as ``synthetic_`` is allowed (``synthetic_labs.parquet``).
    Formats: CSV, TSV, Excel (``.xlsx``), SPSS (``.sav``, via pyreadstat),
    Stata (``.dta``, via pandas) and Parquet. Other files are ignored.
An Excel workbook
    Sheets named as the files above.
A DuckDB file (``.duckdb``, ``.ddb``, ``.db``)
    Tables ``person``, ``measurement``, ``drug_exposure`` (or ``persons``,
    ``labs``, ``treatments``) in the main schema or in ``schema=``; read by
    :func:`read_omop` through DuckDB's DB-API connection. DuckDB is the
    embedded default store (:func:`write_cohort` with ``format="duckdb"``).
Any DB-API connection (:func:`read_omop`)
    The same SQL runs on an OMOP CDM database, e.g. PostgreSQL through
    psycopg (``read_omop(psycopg.connect(...), schema="cdm")``). Only the
    DuckDB path is tested here: hepatostat has no PostgreSQL server to test
    against and DuckDB's postgres extension cannot be installed offline.

OMOP CDM notes
--------------
* ``measurement``: the test is identified by the LOINC code of
  ``measurement_concept_id`` when a ``concept`` table is present (only the
  tests hepatostat knows are read: ``WHERE concept_code IN (...)``),
  otherwise by ``measurement_source_value``. The value is ``value_as_number``
  with ``operator_concept_id``, or the text ``value_source_value`` (which may
  read ``"<5"``); the unit is ``unit_source_value``, else the UCUM code of
  ``unit_concept_id``.
* ``drug_exposure``: ``drug_exposure_start_date`` and ``quantity`` (dose).
  hepatostat takes every row as an infusion of the cell product; restrict the
  table (a view) to the product's concepts first if it holds other drugs.
* OMOP has no columns for the diagnosis, HBsAg duration or the exclusion
  conditions of a study; their concept sets are site-specific. Put them in a
  person-level table (default name ``person_attribute``: ``person_id`` plus
  any columns) and it is joined to ``person``.
* Schema and table names are checked to be plain identifiers before they
  are put into SQL; no user values are interpolated.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .. import units as _units
from ..errors import InputError
from ..io.read import TABLE_SUFFIXES, read_table
from .schema import CohortData, cohort_data, snake, wide_to_long

__all__ = ["read_cohort", "read_omop", "write_cohort", "read_any", "COHORT_SUFFIXES", "WRITE_FORMATS"]

COHORT_SUFFIXES = TABLE_SUFFIXES
DB_SUFFIXES = (".duckdb", ".ddb", ".db")
WRITE_FORMATS = ("csv", "xlsx", "sav", "dta", "parquet", "duckdb")

_TABLE_NAMES = {
    "labs_wide": ("labs_wide", "wide_labs", "visits", "visit_sheet", "lab_sheet"),
    "persons": ("person", "persons", "patient", "patients"),
    "treatments": ("treatment", "treatments", "drug_exposure", "infusion", "infusions"),
    "labs": ("lab", "labs", "measurement", "measurements"),
}
_DB_TABLES = {
    "persons": ("person", "persons"),
    "treatments": ("drug_exposure", "treatments"),
    "labs": ("measurement", "labs"),
}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_OP_CODES = {"<": 4171756, "<=": 4171754, ">": 4172704, ">=": 4171755}


# --------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------


def read_any(path) -> tuple[pd.DataFrame, int]:
    """Read one table file; return it with the row number of its first data row.

    Every format through :func:`hepatostat.io.read_table` (CSV/TSV sniffed,
    Excel, SPSS and Stata with value labels applied, Parquet, DuckDB). The
    frame gets ``source_row`` (the spreadsheet row of each row, right also
    after blank lines) unless it has one; labelled categories become text.
    """
    p = Path(path)
    frame = read_table(p)
    off = 2 if frame.attrs.get("format") in ("csv", "excel") else 1
    for c in frame.columns:
        if isinstance(frame[c].dtype, pd.CategoricalDtype):
            frame[c] = frame[c].astype(object)
    if "source_row" not in frame.columns:
        idx = frame.index
        frame["source_row"] = (np.asarray(idx, dtype=np.int64) + off if pd.api.types.is_integer_dtype(idx.dtype)
                               else np.arange(off, off + len(frame)))
    return frame, off


def _table_of(stem: str) -> str | None:
    """The cohort table a file name stands for: ``labs``, ``labs_2021``, ``2021_labs`` -> labs."""
    s = snake(stem)
    for table, names in _TABLE_NAMES.items():
        for n in names:
            # prefix and period together (synthetic_labs_2021) count too: issue 14, such a file was skipped unsaid
            if s == n or s.endswith("_" + n) or s.startswith(n + "_") or f"_{n}_" in s:
                return table
    return None


#: tables that may come in several files (rows appended); the others must be one file
MULTI_FILE_TABLES = ("labs", "labs_wide")


def _find_files(folder: Path) -> tuple[dict[str, list[Path]], list[str]]:
    """Files per table (labs may be several: labs.csv, labs_2021.csv) and notes saying which were used."""
    found: dict[str, list[Path]] = {}
    notes: list[str] = []
    skipped = []
    for p in sorted(folder.iterdir()):
        if not p.is_file() or p.name.startswith((".", "~$")):
            continue
        if p.suffix.lower() not in COHORT_SUFFIXES:
            skipped.append(p.name)
            continue
        t = _table_of(p.stem)
        if t is not None:
            found.setdefault(t, []).append(p)
        else:
            skipped.append(p.name)
    for t, ps in found.items():
        if len(ps) > 1:
            if t not in MULTI_FILE_TABLES or len({p.suffix.lower() for p in ps}) > 1:
                # labs.csv + labs_2021.csv are parts of one table; labs.csv + labs.parquet are one table saved twice
                raise InputError(f"more than one {t} table: {', '.join(p.name for p in ps)}; keep one"
                                 + (" (lab files split by period are appended when they have the same format)"
                                    if t in MULTI_FILE_TABLES else ""), file=folder)
            notes.append(f"{t}: {len(ps)} files read and appended: {', '.join(p.name for p in ps)}")
    if skipped:
        notes.append(f"not a cohort table, not read: {', '.join(skipped)}")
    return found, notes


def _labs_from(parts: dict, units, ignore=()) -> tuple[pd.DataFrame, str, int, dict]:
    """Long labs from long tables, wide sheets or both (with their origins and declared tests)."""
    declared: dict = {}
    frames = []
    names = []
    offset = 2
    for key in ("labs", "labs_wide"):
        for frame, off, name in parts.get(key, []):
            is_long = key == "labs" and any(
                snake(c) in ("test", "measurement_source_value", "lab_test", "analyte", "loinc", "measurement_concept_code")
                for c in frame.columns)
            if not is_long:
                long = wide_to_long(frame, units=units, source=name, row_offset=off, ignore=ignore)
                declared.update(long.attrs.get("declared_tests", {}))
                frames.append(long)
            else:
                f = frame.copy()
                f["source_file"] = name
                if "source_row" not in f.columns:
                    f["source_row"] = np.arange(off, off + len(f))
                frames.append(f)
            names.append(name)
            offset = off
    if not frames:
        raise InputError("no lab table found; name it labs, measurement or labs_wide")
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return out, ", ".join(names), offset, declared


def _units_mapping(units) -> dict:
    """A units table (columns column/test, unit) or mapping as a dict."""
    if units is None:
        return {}
    if isinstance(units, pd.DataFrame):
        cols = {snake(c): c for c in units.columns}
        name = cols.get("column") or cols.get("test")
        if name is None or "unit" not in cols:
            raise InputError("a units table needs columns 'column' (or 'test') and 'unit'",
                             file=units.attrs.get("source"))
        return dict(zip(units[name].astype(str).str.strip(), units[cols["unit"]].astype(str).str.strip()))
    return dict(units)


def _from_parts(parts: dict, source: str, units, unknown_tests, ignore=(), pt_to_inr=None) -> CohortData:
    missing = [t for t in ("persons", "treatments") if t not in parts]
    if missing:
        names = "; ".join(f"{t}: {', '.join(_TABLE_NAMES[t])}" for t in missing)
        raise InputError(f"missing table(s) {', '.join(missing)}; accepted names ({names})", file=source)
    units = _units_mapping(units)
    labs, lab_name, lab_off, declared = _labs_from(parts, units, ignore)
    persons, treatments = parts["persons"][0], parts["treatments"][0]
    return cohort_data(
        persons[0],
        treatments[0],
        labs,
        source={"persons": persons[2], "treatments": treatments[2], "labs": lab_name},
        row_offset={"persons": persons[1], "treatments": treatments[1], "labs": lab_off},
        unknown_tests=unknown_tests,
        tests={**units, **declared},
        pt_to_inr=pt_to_inr,
    )


def read_cohort(source, *, schema: str | None = None, units=None, unknown_tests: str = "error",
                person_attributes: str = "person_attribute", ignore=(), pt_to_inr=None) -> CohortData:
    """Read a cohort from a folder of files, an Excel workbook or a DuckDB file.

    Parameters
    ----------
    source : str or Path
        See the module notes.
    schema : str, optional
        Schema of the tables in a DuckDB file (OMOP CDM often uses ``cdm``).
    units : mapping or DataFrame, optional
        Units of the columns of a wide lab sheet (see
        :func:`~hepatostat.cohort.wide_to_long`).
    unknown_tests : {"error", "log"}
        Passed to :func:`~hepatostat.cohort.cohort_data`.
    ignore : iterable of str
        Columns of a wide lab sheet that are not lab tests (notes, ...).
    pt_to_inr : (isi, mnpt), optional
        Derive INR from prothrombin times in seconds (WHO formula); see
        :func:`~hepatostat.cohort.cohort_data`. Tests of ``units`` that are not
        built in pass through with the unit declared there.
    person_attributes : str
        Name of the person-level attribute table in a database.

    Returns
    -------
    CohortData

    Raises
    ------
    InputError
        Missing tables, ambiguous file names, unreadable files, and every
        problem :func:`~hepatostat.cohort.cohort_data` finds.
    """
    p = Path(source)
    if not p.exists():
        raise InputError("not found; expected a folder of table files, an .xlsx workbook or a DuckDB file", file=p)
    if p.is_dir():
        files, notes = _find_files(p)
        parts = {}
        for t, fs in files.items():
            for f in fs:
                frame, off = read_any(f)
                notes.extend(f"{f.name}: {n}" for n in frame.attrs.get("read_notes", []))
                parts.setdefault(t, []).append((frame, off, str(f)))
        import dataclasses

        data = _from_parts(parts, str(p), units, unknown_tests, ignore, pt_to_inr)
        return dataclasses.replace(data, read_notes=tuple(notes))
    suffix = p.suffix.lower()
    if suffix in DB_SUFFIXES:
        import duckdb

        try:
            con = duckdb.connect(str(p), read_only=True)
        except Exception as exc:
            raise InputError(f"cannot open the file as a DuckDB database: {str(exc).splitlines()[0]}", file=p) from None
        try:
            return read_omop(con, schema=schema, units=units, unknown_tests=unknown_tests,
                             person_attributes=person_attributes, source=str(p))
        finally:
            con.close()
    if suffix in (".xlsx", ".xls", ".xlsm"):
        try:
            with pd.ExcelFile(p) as book:
                names = list(book.sheet_names)
        except Exception as exc:  # a truncated or corrupt workbook raises zipfile/openpyxl errors
            raise InputError(f"cannot read the workbook: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                             file=p) from None
        parts = {}
        for name in names:
            t = _table_of(str(name))
            if t is None:
                continue
            frame = read_table(p, sheet=name)
            for c in frame.columns:
                if isinstance(frame[c].dtype, pd.CategoricalDtype):
                    frame[c] = frame[c].astype(object)
            if "source_row" not in frame.columns:
                frame["source_row"] = np.asarray(frame.index, dtype=np.int64) + 2
            frame.columns = [str(c).strip() for c in frame.columns]
            if t in parts and t not in MULTI_FILE_TABLES:
                raise InputError(f"more than one {t} sheet in the workbook", file=p)
            parts.setdefault(t, []).append((frame, 2, f"{p}[{name}]"))
        return _from_parts(parts, str(p), units, unknown_tests, ignore, pt_to_inr)
    raise InputError(
        f"cannot read a cohort from a {suffix or 'suffix-less'} file; give a folder (one file per table), "
        f"an .xlsx workbook or a DuckDB file ({', '.join(DB_SUFFIXES)})",
        file=p,
    )


# --------------------------------------------------------------------------
# databases (DB-API)
# --------------------------------------------------------------------------


def _query(con, sql: str) -> pd.DataFrame:
    cur = con.cursor()
    try:
        cur.execute(sql)
        cols = [d[0] for d in cur.description]
        rows = cur.fetchall()
    finally:
        try:
            cur.close()
        except Exception:  # pragma: no cover - some drivers have no close
            pass
    return pd.DataFrame.from_records(rows, columns=cols)


def _columns(con, table: str) -> list[str] | None:
    """Column names of ``table``, or None if it does not exist."""
    cur = con.cursor()
    try:
        cur.execute(f"SELECT * FROM {table} WHERE 1 = 0")
        return [d[0].lower() for d in cur.description]
    except Exception:
        rollback = getattr(con, "rollback", None)
        if rollback is not None:
            try:
                rollback()  # PostgreSQL aborts the transaction after an error
            except Exception:
                pass
        return None
    finally:
        try:
            cur.close()
        except Exception:  # pragma: no cover
            pass


def read_omop(connection, *, schema: str | None = None, units=None, unknown_tests: str = "error",
              person_attributes: str = "person_attribute", source: str | None = None) -> CohortData:
    """Read a cohort from OMOP CDM tables through a DB-API connection.

    Parameters
    ----------
    connection : DB-API 2.0 connection
        ``duckdb.connect(...)``, ``psycopg.connect(...)``, ``sqlite3.connect(...)``.
    schema : str, optional
        Schema holding the tables (e.g. ``"cdm"``); default: the connection's
        search path.
    units, unknown_tests
        As for :func:`read_cohort`.
    person_attributes : str
        Person-level table with study attributes (diagnosis, flags, ...),
        joined to ``person`` when it exists.
    source : str, optional
        Name for messages.

    Returns
    -------
    CohortData
    """
    for name, v in (("schema", schema), ("person_attributes", person_attributes)):
        if v is not None and not _IDENT.match(v):
            raise InputError(f"{name} must be a plain SQL identifier (letters, digits, _), got {v!r}", value=v)
    q = (lambda t: f"{schema}.{t}") if schema else (lambda t: t)
    src = source or "database"
    found = {}
    for t, names in _DB_TABLES.items():
        for n in names:
            cols = _columns(connection, q(n))
            if cols is not None:
                found[t] = (n, cols)
                break
    missing = [t for t in _DB_TABLES if t not in found]
    if missing:
        raise InputError(
            "missing table(s): " + "; ".join(f"{' or '.join(q(n) for n in _DB_TABLES[t])}" for t in missing),
            file=src,
        )
    persons = _query(connection, f"SELECT * FROM {q(found['persons'][0])}")
    attr_cols = _columns(connection, q(person_attributes))
    if attr_cols is not None:
        attrs = _query(connection, f"SELECT * FROM {q(person_attributes)}")
        attrs.columns = [snake(c) for c in attrs.columns]
        persons.columns = [snake(c) for c in persons.columns]
        if "person_id" not in attrs.columns:
            raise InputError(f"{q(person_attributes)} has no person_id column", file=src)
        dup = [c for c in attrs.columns if c in persons.columns and c != "person_id"]
        persons = persons.merge(attrs.drop(columns=dup), how="left", on="person_id")
    treatments = _query(connection, f"SELECT * FROM {q(found['treatments'][0])}")
    m_name, m_cols = found["labs"]
    concept = _columns(connection, q("concept"))
    if concept is not None and "measurement_concept_id" in m_cols:
        loincs = ", ".join(f"'{t.loinc}'" for t in _units.TESTS.values())
        unit_join = ""
        unit_col = ""
        if "unit_concept_id" in m_cols:
            unit_join = f" LEFT JOIN {q('concept')} u ON u.concept_id = m.unit_concept_id"
            unit_col = ", u.concept_code AS unit_concept_code"
        sql = (
            f"SELECT m.*, c.concept_code AS measurement_concept_code{unit_col} "
            f"FROM {q(m_name)} m "
            f"JOIN {q('concept')} c ON c.concept_id = m.measurement_concept_id "
            f"AND c.vocabulary_id = 'LOINC' AND c.concept_code IN ({loincs})"
            f"{unit_join}"
        )
        labs = _query(connection, sql)
        if "measurement_source_value" in labs.columns:
            # the LOINC code decides the test; the source value is kept as text
            labs = labs.rename(columns={"measurement_source_value": "lab_source_value"})
    else:
        labs = _query(connection, f"SELECT * FROM {q(m_name)}")
    return cohort_data(
        persons,
        treatments,
        labs,
        source={"persons": f"{src}:{q(found['persons'][0])}", "treatments": f"{src}:{q(found['treatments'][0])}",
                "labs": f"{src}:{q(m_name)}"},
        row_offset=1,
        unknown_tests=unknown_tests,
    )


# --------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------


def _export_frames(data: CohortData) -> dict[str, pd.DataFrame]:
    """The canonical tables as plain files hold them (what read_cohort reads back)."""
    per = data.persons.copy()
    time = "date" if data.time_axis == "date" else "day"
    tr_cols = ["person_id", time, "dose", "drug"] + [
        c for c in data.treatments.columns if c not in ("person_id", "date", "day", "dose", "drug", "row")
    ]
    tr = data.treatments[tr_cols].copy()
    labs = data.labs[["person_id", time, "test", "value", "unit", "operator"]].copy()
    if "synthetic" in per.columns:
        for f in (tr, labs):
            f["synthetic"] = data.synthetic
    return {"persons": per, "treatments": tr, "labs": labs}


def _for_stat_files(frame: pd.DataFrame) -> pd.DataFrame:
    """SPSS/Stata: booleans as 0/1, text with missing as '' (they have no NA text)."""
    out = frame.copy()
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_bool_dtype(s):
            out[c] = s.astype("Float64").astype(float)
        elif pd.api.types.is_datetime64_any_dtype(s):
            out[c] = s.astype("datetime64[us]")
        elif not pd.api.types.is_numeric_dtype(s):
            out[c] = s.astype(object).map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA else str(v))
    return out


def write_cohort(data: CohortData, path, *, format: str = "parquet", prefix: str = "") -> list[str]:
    """Write a cohort so that :func:`read_cohort` reads it back unchanged.

    Parameters
    ----------
    data : CohortData
    path : str or Path
        A folder for ``csv``, ``xlsx``, ``sav``, ``dta`` and ``parquet``
        (files ``{prefix}persons``, ``{prefix}treatments``, ``{prefix}labs``);
        a file for ``duckdb`` (tables ``person``, ``person_attribute``,
        ``drug_exposure``, ``measurement`` with OMOP column names).
    format : {"csv", "xlsx", "sav", "dta", "parquet", "duckdb"}
    prefix : str
        File name prefix, e.g. ``"synthetic_"``.

    Returns
    -------
    list of str
        The paths written.

    Notes
    -----
    Lab values are written in canonical units with the censoring sign in a
    separate ``operator`` column. SPSS and Stata files store booleans as 0/1
    and missing text as empty strings; both are read back as they were.
    """
    fmt = str(format).lower()
    if fmt not in WRITE_FORMATS:
        raise InputError(f"unknown format {format!r}; allowed: {', '.join(WRITE_FORMATS)}", value=format)
    frames = _export_frames(data)
    p = Path(path)
    if fmt == "duckdb":
        return [_write_duckdb(data, frames, p)]
    p.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in frames.items():
        f = p / f"{prefix}{name}.{fmt}"
        if fmt == "csv":
            frame.to_csv(f, index=False, lineterminator="\n", date_format="%Y-%m-%d")
        elif fmt == "xlsx":
            out = frame.copy()
            for c in out.columns:
                if pd.api.types.is_bool_dtype(out[c]):
                    out[c] = out[c].astype(object)
            out.to_excel(f, index=False)
        elif fmt == "parquet":
            frame.to_parquet(f, index=False)
        elif fmt == "sav":
            import pyreadstat

            pyreadstat.write_sav(_for_stat_files(frame), str(f))
        else:
            out = _for_stat_files(frame)
            dates = {c: "td" for c in out.columns if pd.api.types.is_datetime64_any_dtype(out[c])}
            out.to_stata(f, write_index=False, version=118, convert_dates=dates)
        written.append(str(f))
    return written


def _write_duckdb(data: CohortData, frames: dict, path: Path) -> str:
    import duckdb

    if path.exists():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    per = frames["persons"]
    omop_person = pd.DataFrame({"person_id": per["person_id"].astype(object)})
    if "sex" in per.columns:
        omop_person["gender_source_value"] = per["sex"].astype(object)
    if "birth_date" in per.columns:
        omop_person["birth_datetime"] = per["birth_date"]
        omop_person["year_of_birth"] = per["birth_date"].dt.year.astype("Int64")
    attrs = per[[c for c in per.columns if c not in ("sex", "birth_date")]].copy()
    time_tr = "drug_exposure_start_date" if data.time_axis == "date" else "study_day"
    time_lab = "measurement_date" if data.time_axis == "date" else "study_day"
    tr = frames["treatments"].rename(columns={"date": time_tr, "day": time_tr, "dose": "quantity", "drug": "drug_source_value"})
    labs = frames["labs"]
    meas = pd.DataFrame({
        "person_id": labs["person_id"].astype(object),
        time_lab: labs["date" if data.time_axis == "date" else "day"],
        "measurement_source_value": labs["test"].astype(object),
        "value_as_number": labs["value"].astype(float),
        "unit_source_value": labs["unit"].astype(object),
        "operator_concept_id": pd.array([_OP_CODES.get(o) for o in labs["operator"]], dtype="Int64"),
    })
    if "synthetic" in labs.columns:
        meas["synthetic"] = labs["synthetic"]
    con = duckdb.connect(str(path))
    try:
        for name, frame in (("person", omop_person), ("person_attribute", attrs), ("drug_exposure", tr), ("measurement", meas)):
            con.register("frame_in", frame)
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame_in")
            con.unregister("frame_in")
    finally:
        con.close()
    return str(path)
