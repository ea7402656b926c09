"""Every import format round-trips; OMOP CDM tables in DuckDB; folder and workbook discovery."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from hepatostat.cohort import cohort_data, read_cohort, read_omop, write_cohort
from hepatostat.errors import InputError

from .tiny_cohort import tiny_data, tiny_tables

LAB_KEYS = ["person_id", "day", "test", "value", "unit", "operator", "censored"]


def _same(a, b):
    """The canonical content of two CohortData objects is equal."""
    assert a.time_axis == b.time_axis
    pa, pb = a.persons, b.persons
    assert list(pa.columns) == list(pb.columns)
    for c in pa.columns:
        x, y = pa[c].astype(object).tolist(), pb[c].astype(object).tolist()
        x = [None if pd.isna(v) else v for v in x]
        y = [None if pd.isna(v) else v for v in y]
        assert x == y, c
    pd.testing.assert_frame_equal(a.labs[LAB_KEYS].reset_index(drop=True), b.labs[LAB_KEYS].reset_index(drop=True),
                                  check_dtype=False)
    cols = ["person_id", "day", "dose"]
    pd.testing.assert_frame_equal(a.treatments[cols].reset_index(drop=True), b.treatments[cols].reset_index(drop=True),
                                  check_dtype=False)
    if a.time_axis == "date":
        assert a.labs["date"].tolist() == b.labs["date"].tolist()


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "sav", "dta", "parquet", "duckdb"])
def test_round_trip(tmp_path, fmt):
    data = tiny_data()
    target = tmp_path / ("cohort.duckdb" if fmt == "duckdb" else "cohort")
    written = write_cohort(data, target, format=fmt)
    assert all(p.endswith(fmt) for p in written)
    back = read_cohort(target)
    _same(data, back)


def test_round_trip_with_study_days(tmp_path):
    persons = pd.DataFrame({"person_id": ["a", "b"], "age": [40.0, 50.0], "diagnosis": ["cirrhosis", "liver_failure"],
                            "liver_cancer": [True, False]})
    tr = pd.DataFrame({"person_id": ["a", "b"], "day": [0, 3], "dose": [1.0, 1.0]})
    labs = pd.DataFrame({"person_id": ["a", "b"], "day": [-1, 2], "test": ["alt", "pta"], "value": ["<5", "40"],
                         "unit": ["U/L", "%"]})
    data = cohort_data(persons, tr, labs)
    for fmt in ("csv", "duckdb"):
        target = tmp_path / ("d.duckdb" if fmt == "duckdb" else "d")
        write_cohort(data, target, format=fmt, prefix="study_")
        _same(data, read_cohort(target))


def test_omop_cdm_schema_in_duckdb(tmp_path):
    """A minimal OMOP CDM 5.4 schema: concept ids resolved to LOINC through the concept table."""
    db = tmp_path / "omop.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE SCHEMA cdm")
    con.execute("CREATE TABLE cdm.person (person_id INTEGER, gender_concept_id INTEGER, year_of_birth INTEGER, "
                "month_of_birth INTEGER, day_of_birth INTEGER, race_concept_id INTEGER)")
    con.execute("INSERT INTO cdm.person VALUES (1, 8507, 1975, 6, 1, 0), (2, 8532, 1970, 1, 10, 0)")
    con.execute("CREATE TABLE cdm.person_attribute (person_id INTEGER, diagnosis VARCHAR, hbsag_months DOUBLE, "
                "liver_cancer BOOLEAN)")
    con.execute("INSERT INTO cdm.person_attribute VALUES (1, 'liver_failure', 24, false), (2, 'cirrhosis', 60, false)")
    con.execute("CREATE TABLE cdm.drug_exposure (drug_exposure_id INTEGER, person_id INTEGER, drug_concept_id INTEGER, "
                "drug_exposure_start_date DATE, quantity DOUBLE)")
    con.execute("INSERT INTO cdm.drug_exposure VALUES (1, 1, 0, DATE '2015-01-10', 1), (2, 2, 0, DATE '2015-01-10', 1)")
    con.execute("CREATE TABLE cdm.concept (concept_id INTEGER, concept_name VARCHAR, vocabulary_id VARCHAR, concept_code VARCHAR)")
    con.execute("INSERT INTO cdm.concept VALUES (3024128, 'Bilirubin.total', 'LOINC', '1975-2'), "
                "(3006923, 'ALT', 'LOINC', '1742-6'), (3004501, 'Glucose', 'LOINC', '2345-7'), "
                "(8749, 'micromole per liter', 'UCUM', 'umol/L'), (8645, 'unit per liter', 'UCUM', 'U/L')")
    con.execute("CREATE TABLE cdm.measurement (measurement_id INTEGER, person_id INTEGER, measurement_concept_id INTEGER, "
                "measurement_date DATE, operator_concept_id INTEGER, value_as_number DOUBLE, unit_concept_id INTEGER, "
                "unit_source_value VARCHAR, value_source_value VARCHAR, measurement_source_value VARCHAR)")
    con.execute("INSERT INTO cdm.measurement VALUES "
                "(1, 1, 3024128, DATE '2015-01-09', NULL, 171, 8749, NULL, '171', 'TBIL'), "
                "(2, 1, 3006923, DATE '2015-01-09', 4171756, 5, 8645, 'U/L', '<5', 'ALT'), "
                "(3, 2, 3004501, DATE '2015-01-09', NULL, 5.5, NULL, 'mmol/L', '5.5', 'GLU')")
    con.close()
    data = read_cohort(db, schema="cdm")
    assert data.persons["person_id"].tolist() == ["1", "2"]
    assert data.persons["sex"].tolist() == ["M", "F"] and data.persons["diagnosis"].tolist() == ["liver_failure", "cirrhosis"]
    labs = data.labs.set_index("test")
    assert sorted(labs.index) == ["alt", "bilirubin"]  # glucose is not read
    assert labs.loc["bilirubin", "value"] == pytest.approx(10.0) and labs.loc["bilirubin", "unit_source"] == "umol/L"
    assert labs.loc["alt", "operator"] == "<"
    with duckdb.connect(str(db), read_only=True) as c:
        again = read_omop(c, schema="cdm", source="omop")
    assert len(again.labs) == 2
    with pytest.raises(InputError, match="missing table\\(s\\)"):
        read_cohort(db)  # the tables are in schema cdm, not main
    with pytest.raises(InputError, match="plain SQL identifier"):
        read_cohort(db, schema="cdm; DROP TABLE x")


def test_folder_discovery(tmp_path):
    t = tiny_tables()
    t["persons"].to_csv(tmp_path / "study_patients.csv", index=False)
    t["treatments"].to_csv(tmp_path / "study_infusions.csv", index=False)
    t["labs"].to_csv(tmp_path / "study_labs.csv", index=False)
    (tmp_path / "README.txt").write_text("not a table")
    d = read_cohort(tmp_path)
    assert d.n_persons == 7 and len(d.labs) == len(tiny_data().labs)
    assert d.labs["file"].iloc[0].endswith("study_labs.csv")
    t["labs"].to_parquet(tmp_path / "labs.parquet")
    with pytest.raises(InputError, match="more than one labs table"):
        read_cohort(tmp_path)


def test_missing_tables_and_unknown_sources(tmp_path):
    tiny_tables()["persons"].to_csv(tmp_path / "persons.csv", index=False)
    with pytest.raises(InputError, match="missing table\\(s\\) treatments"):
        read_cohort(tmp_path)
    with pytest.raises(InputError, match="not found"):
        read_cohort(tmp_path / "nope")
    f = tmp_path / "x.json"
    f.write_text("{}")
    with pytest.raises(InputError, match="cannot read a cohort from a .json file"):
        read_cohort(f)


def test_excel_workbook_with_a_wide_lab_sheet(tmp_path):
    t = tiny_tables()
    wide = pd.DataFrame({"person_id": ["P1", "P2"], "date": ["2015-01-09", "2015-01-10"],
                         "TBIL_umol_L": [171.0, 85.5], "ALT": [40, 35]})
    path = tmp_path / "cohort.xlsx"
    with pd.ExcelWriter(path) as xw:
        t["persons"].to_excel(xw, sheet_name="persons", index=False)
        t["treatments"].to_excel(xw, sheet_name="treatments", index=False)
        wide.to_excel(xw, sheet_name="labs_wide", index=False)
    d = read_cohort(path, units={"ALT": "U/L"})
    assert sorted(d.labs["test"]) == ["alt", "alt", "bilirubin", "bilirubin"]
    assert d.labs["file"].iloc[0].endswith("cohort.xlsx[labs_wide]")
    with pytest.raises(InputError, match="no unit for column 'ALT'"):
        read_cohort(path)


def test_write_cohort_rejects_unknown_formats(tmp_path):
    with pytest.raises(InputError, match="unknown format 'json'"):
        write_cohort(tiny_data(), tmp_path, format="json")
