"""Inputs of the scale extraction: where the OMOP tables are, which outcomes, and the lab key table.

The lab key table maps each distinct (test key, unit) pair of ``measurement``
to a test of :data:`hepatostat.units.TESTS` with its conversion factors and
plausible range; it is made here, in Python, from the registry and joined in
SQL, so no factor is retyped in SQL.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ... import units as _units
from ...errors import InputError
from ...io.format import fmt_n
from ..eligibility import SCORE_OUTCOMES, VisitSpec
from ..schema import _OPERATOR_CONCEPTS, _OPERATORS

__all__ = ["REQUIRED_TABLES", "OPTIONAL_TABLES", "LAB_COLUMNS_NEEDED", "table_paths", "is_synthetic", "spec_for",
           "outcome_info", "lab_keys", "op_codes", "int_argument", "memory_limit_argument"]


def int_argument(name, value, lo):
    """``value`` as an int, or an InputError naming the argument (bools and floats are refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise InputError(f"{name} must be an integer >= {lo}, got {value!r}", column=name, value=value)
    return int(value)


_MEMORY_RE = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)\s*$", re.IGNORECASE)


def memory_limit_argument(memory_limit) -> str:
    """A DuckDB memory limit such as ``"16GB"``, or an InputError."""
    if not isinstance(memory_limit, str) or not _MEMORY_RE.match(memory_limit):
        raise InputError(f"memory_limit must be a size such as '16GB' or '512MB', got {memory_limit!r}",
                         value=memory_limit)
    return memory_limit


REQUIRED_TABLES = ("person", "drug_exposure", "measurement")
OPTIONAL_TABLES = ("concept", "person_attribute")
LAB_COLUMNS_NEEDED = ("person_id", "measurement_id", "measurement_date", "value_as_number")


def table_paths(parquet_dir, tables) -> dict[str, str]:
    """OMOP table name -> Parquet file or folder (or URL, for Spark)."""
    if tables is not None:
        if not isinstance(tables, Mapping):
            raise InputError("tables must map OMOP table names (person, drug_exposure, measurement, ...) to paths")
        found = {str(k): str(v) for k, v in tables.items()}
        unknown = sorted(set(found) - set(REQUIRED_TABLES) - set(OPTIONAL_TABLES))
        if unknown:
            raise InputError(f"unknown table name(s) {', '.join(unknown)}; allowed: {', '.join(REQUIRED_TABLES + OPTIONAL_TABLES)}")
    else:
        if parquet_dir is None:
            raise InputError("give parquet_dir (a folder of OMOP Parquet files) or tables= (name -> path)")
        folder = Path(parquet_dir)
        if not folder.is_dir():
            raise InputError("not a folder of Parquet files", file=folder)
        found = {}
        for name in REQUIRED_TABLES + OPTIONAL_TABLES:
            hits = []
            for p in sorted(folder.iterdir()):
                stem = p.name[: -len(".parquet")] if p.name.endswith(".parquet") else (p.name if p.is_dir() else None)
                if stem is not None and (stem == name or stem.endswith("_" + name)):
                    hits.append(p)
            if len(hits) > 1:
                raise InputError(f"more than one {name} table: {', '.join(h.name for h in hits)}; keep one", file=folder)
            if hits:
                found[name] = str(hits[0])
    missing = [t for t in REQUIRED_TABLES if t not in found]
    if missing:
        raise InputError(
            f"missing OMOP table(s) {', '.join(missing)}; expected {', '.join(n + '.parquet' for n in missing)} "
            "(a prefix such as synthetic_omop_ is allowed) or a folder of that name",
            file=parquet_dir,
        )
    return found


def is_synthetic(path: str) -> bool:
    """True when the Parquet metadata says ``hepatostat.synthetic = true`` (local files only)."""
    import pyarrow.parquet as pq

    p = Path(path)
    try:
        if p.is_dir():
            parts = sorted(p.glob("*.parquet"))
            if not parts:
                return False
            p = parts[0]
        meta = pq.read_schema(p).metadata or {}
    except (OSError, ValueError):  # URLs, unreadable or non-Parquet files: unknown, so not marked
        return False
    return meta.get(b"hepatostat.synthetic") == b"true"



def spec_for(spec: VisitSpec | None, outcomes) -> VisitSpec:
    spec = spec or VisitSpec.default()
    if not isinstance(spec, VisitSpec):
        raise InputError(f"spec must be a VisitSpec (e.g. load_criteria(...).visits), got {type(spec).__name__}")
    if outcomes is None:
        return spec
    if isinstance(outcomes, str):
        outcomes = [outcomes]
    allowed = ", ".join(list(_units.TESTS) + list(SCORE_OUTCOMES))
    keys = []
    for o in outcomes:
        name = str(o).strip().lower().replace("-", "_")
        if name not in SCORE_OUTCOMES:
            try:
                name = _units.get_test(str(o)).key
            except InputError:
                raise InputError(f"unknown outcome {o!r}; allowed: {allowed}", column="outcomes", value=o) from None
        if name not in keys:
            keys.append(name)
    if not keys:
        raise InputError(f"outcomes must name at least one outcome; allowed: {allowed}", column="outcomes")
    return dataclasses.replace(spec, outcomes=tuple(keys),
                               require_baseline=tuple(o for o in spec.require_baseline if o in keys))


def outcome_info(spec: VisitSpec) -> list[tuple]:
    return [(o, "score" if o in SCORE_OUTCOMES else _units.canonical_unit(o), k) for k, o in enumerate(spec.outcomes)]


def lab_keys(keys: pd.DataFrame, loinc_of: Mapping | None, measurement_file) -> tuple[list[tuple], pd.DataFrame]:
    """The lab key table (test, conversion factors and plausible range per test key and unit).

    ``keys``: distinct ``lab_key, unit_key, n_rows``. ``loinc_of``: concept id -> LOINC code
    (concept mode) or None (``measurement_source_value`` holds the test). Factors and ranges are
    those of :data:`hepatostat.units.TESTS`. An accepted test with a unit it does not accept is an
    error, as in :func:`hepatostat.cohort.cohort_data`. Returns the rows and the rows of other tests.
    """
    rows = []
    other = []
    test_of: dict = {}
    for r in keys.groupby(["lab_key", "unit_key"], dropna=False)["n_rows"].sum().reset_index().itertuples(index=False):
        key = None if pd.isna(r.lab_key) else (int(r.lab_key) if loinc_of is not None else str(r.lab_key))
        if key not in test_of:
            name = key if loinc_of is None else loinc_of.get(key)
            try:
                test_of[key] = None if name is None else _units.get_test(name.strip())
            except InputError:
                test_of[key] = None
        t = test_of[key]
        if t is None:
            other.append({"lab_key": key, "n_rows": int(r.n_rows)})
            continue
        unit = r.unit_key
        if unit == "":
            if len(t.units) != 1:
                raise InputError(f"measurement: the unit of {t.key} is missing in {fmt_n(int(r.n_rows))} row(s); "
                                 f"allowed: {', '.join(t.units)}", file=measurement_file, column="unit_source_value",
                                 value=None)
            ukey = t.canonical
        else:
            spelled = re.sub(r"\[([^\]]*)\]", r"\1", unit)  # UCUM "[iU]/L" -> "iU/L", as cohort_data reads it
            try:
                _units.normalize_unit(spelled, t)
            except InputError:
                raise InputError(f"measurement: unit {unit!r} is not accepted for {t.key} ({fmt_n(int(r.n_rows))} row(s)); "
                                 f"allowed: {', '.join(t.units)}", file=measurement_file, column="unit_source_value",
                                 value=unit) from None
            ukey = _units._norm_unit_key(spelled)
        mul, div = t.factors[ukey]
        lo, hi = t.plausible
        rows.append((key, unit, t.key, float(mul), float(div), float(lo), float(hi)))
    return rows, pd.DataFrame(other, columns=["lab_key", "n_rows"])


def op_codes(codes, measurement_file) -> list[tuple]:
    """operator_concept_id -> censoring sign (schema's OMOP operator concepts; "=" is not censored)."""
    out = []
    for c in codes:
        if c is None or pd.isna(c):
            continue
        c = int(c)
        if c in _OPERATOR_CONCEPTS:
            out.append((c, _OPERATORS[_OPERATOR_CONCEPTS[c]]))
        elif c == 0:
            out.append((c, ""))
        else:
            raise InputError("measurement: operator_concept_id must be one of 4171756 (<), 4171754 (<=), "
                             "4172704 (>), 4171755 (>=), 4172703 (=) or 0", file=measurement_file,
                             column="operator_concept_id", value=c)
    return out or [(-1, "")]  # no operator codes: a row that matches nothing keeps the VALUES typed

