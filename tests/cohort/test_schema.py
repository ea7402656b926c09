"""Import validation: canonical units, censored values, the exclusion log, bad input, the wide sheet."""

from __future__ import annotations

import pandas as pd
import pytest

from hepatostat.cohort import cohort_data, wide_to_long
from hepatostat.errors import InputError

from .tiny_cohort import tiny_data, tiny_tables


def _data(**changes):
    t = tiny_tables()
    t.update(changes)
    return cohort_data(t["persons"], t["treatments"], t["labs"], source="tiny.csv")


def test_values_are_converted_to_canonical_units():
    labs = tiny_data().labs
    p2 = labs[(labs["person_id"] == "P2") & (labs["day"] == labs["day"].min() + 20)]  # day 0 (min is day -20)
    got = dict(zip(p2["test"], p2["value"]))
    assert got["bilirubin"] == pytest.approx(10.0) and got["creatinine"] == pytest.approx(2.0)
    assert got["inr"] == 1.5 and got["sodium"] == 130
    assert set(labs.loc[labs["test"] == "bilirubin", "unit"]) == {"mg/dL"}
    assert labs.loc[labs["test"] == "inr", "loinc"].iloc[0] == "6301-6"


def test_censored_strings_are_parsed_and_flagged():
    labs = tiny_data().labs
    alt = labs[labs["test"] == "alt"].iloc[0]
    assert alt["value"] == 5.0 and alt["operator"] == "<" and alt["censored"]
    assert not labs.loc[labs["test"] == "bilirubin", "censored"].any()
    t = tiny_tables()
    extra = pd.DataFrame({"person_id": ["P1"], "date": ["2015-01-20"], "test": ["ALT"], "value": [">= 1000"], "unit": ["U/L"]})
    d = _data(labs=pd.concat([t["labs"], extra], ignore_index=True))
    assert d.labs[d.labs["value"] == 1000.0]["operator"].tolist() == [">="]


def test_implausible_values_go_to_the_exclusion_log_with_a_reason():
    t = tiny_tables()
    bad = pd.DataFrame({"person_id": ["P1"], "date": ["2015-01-09"], "test": ["TBIL"], "value": ["486"], "unit": ["mmol/L"]})
    d = _data(labs=pd.concat([t["labs"], bad], ignore_index=True))
    log = d.exclusions
    assert len(log) == 1
    row = log.iloc[0]
    assert row["person_id"] == "P1" and row["row"] == len(t["labs"]) + 2 and row["column"] == "value"
    assert row["value"] == "486" and "implausible bilirubin" in row["reason"] and "µmol/L" in row["reason"]
    assert len(d.labs) == len(t["labs"])  # not used
    # the baseline is still the valid value of day -1
    assert d.labs[(d.labs["person_id"] == "P1") & (d.labs["test"] == "bilirubin")]["value"].max() == 12.0


def test_empty_values_and_orphan_rows_are_logged():
    t = tiny_tables()
    more = pd.DataFrame({"person_id": ["P1", "P99"], "date": ["2015-01-09", "2015-01-09"], "test": ["AST", "AST"],
                         "value": ["", "40"], "unit": ["U/L", "U/L"]})
    d = _data(labs=pd.concat([t["labs"], more], ignore_index=True))
    reasons = d.exclusions["reason"].tolist()
    assert reasons == ["ast: no value", "person_id not in the person table"]


def test_duplicate_person_ids():
    t = tiny_tables()
    persons = pd.concat([t["persons"], t["persons"].iloc[[2]]], ignore_index=True)
    with pytest.raises(InputError, match=r"duplicate person_id \(first seen at row 4\)") as e:
        _data(persons=persons)
    assert e.value.row == 9 and e.value.column == "person_id" and e.value.value == "P3"
    assert "tiny.csv" in str(e.value)


def test_unknown_test_names_file_row_column_and_the_allowed_tests():
    t = tiny_tables()
    labs = t["labs"].copy()
    labs.loc[4, "test"] = "GGT"
    with pytest.raises(InputError, match=r"unknown lab test 'GGT'; allowed .*bilirubin \(LOINC 1975-2\)") as e:
        _data(labs=labs)
    assert (e.value.file, e.value.row, e.value.column, e.value.value) == ("tiny.csv", 6, "test", "GGT")
    d = cohort_data(t["persons"], t["treatments"], labs, unknown_tests="log")
    assert d.exclusions["reason"].tolist() == ["unknown lab test 'GGT'"]


def test_unknown_or_missing_units():
    t = tiny_tables()
    labs = t["labs"].copy()
    labs.loc[0, "unit"] = "mg/mL"
    with pytest.raises(InputError, match=r"unit 'mg/mL' is not accepted for bilirubin; allowed: mg/dL, µmol/L") as e:
        _data(labs=labs)
    assert e.value.row == 2 and e.value.column == "unit"
    labs.loc[0, "unit"] = None
    with pytest.raises(InputError, match="the unit of bilirubin is missing"):
        _data(labs=labs)


def test_lab_dates_before_birth():
    t = tiny_tables()
    labs = t["labs"].copy()
    labs.loc[3, "date"] = "1970-01-01"
    with pytest.raises(InputError, match=r"date 1970-01-01 is before the date of birth \(1975-06-01\) of person 'P1'") as e:
        _data(labs=labs)
    assert e.value.row == 5 and e.value.column == "date"


def test_unreadable_values_dates_and_sex():
    t = tiny_tables()
    labs = t["labs"].copy()
    labs.loc[1, "value"] = "12,5"
    with pytest.raises(InputError, match="cannot read the value") as e:
        _data(labs=labs)
    assert e.value.row == 3
    labs = t["labs"].copy()
    labs.loc[2, "date"] = "yesterday"
    with pytest.raises(InputError, match="cannot read date as a date"):
        _data(labs=labs)
    persons = t["persons"].copy()
    persons.loc[0, "sex"] = "x"
    with pytest.raises(InputError, match="sex must be M or F"):
        _data(persons=persons)


def test_treatments_and_labs_must_share_a_time_axis():
    t = tiny_tables()
    labs = t["labs"].drop(columns="date").assign(day=1)
    with pytest.raises(InputError, match="share one time axis"):
        _data(labs=labs)


def test_study_days_instead_of_dates():
    persons = pd.DataFrame({"id": [1, 2], "age": [40, 50], "diagnosis": ["cirrhosis", "cirrhosis"]})
    tr = pd.DataFrame({"patient_id": [1, 2], "study_day": [0, 3], "quantity": [1, 1]})
    labs = pd.DataFrame({"person_id": [1, 2], "day": [-1, 2], "test": ["alt", "alt"], "value": [40, 50], "unit": ["U/L", "IU/L"]})
    d = cohort_data(persons, tr, labs)
    assert d.time_axis == "day" and d.labs["day"].tolist() == [-1.0, 2.0] and d.persons["person_id"].tolist() == ["1", "2"]


def test_omop_style_columns_are_read():
    persons = pd.DataFrame({"person_id": [1], "gender_concept_id": [8532], "year_of_birth": [1970],
                            "diagnosis": ["cirrhosis"]})
    tr = pd.DataFrame({"person_id": [1], "drug_exposure_start_date": ["2015-01-10"], "quantity": [1.0]})
    labs = pd.DataFrame({"person_id": [1, 1], "measurement_date": ["2015-01-09"] * 2,
                         "measurement_concept_code": ["1975-2", "1742-6"], "value_as_number": [171.0, 5.0],
                         "unit_source_value": ["umol/L", "U/L"], "operator_concept_id": [None, 4171756]})
    d = cohort_data(persons, tr, labs)
    assert d.persons["sex"].tolist() == ["F"] and d.persons["birth_date"].iloc[0] == pd.Timestamp("1970-07-01")
    assert d.labs["test"].tolist() == ["alt", "bilirubin"] and d.labs["operator"].tolist() == ["<", ""]
    assert d.labs["value"].tolist() == pytest.approx([5.0, 10.0])


def test_wide_sheet_to_long():
    wide = pd.DataFrame({
        "Patient ID": ["P1", "P1", "P2"],
        "visit": ["W0", "W1", "W0"],
        "date": ["2015-01-09", "2015-01-17", "2015-01-10"],
        "TBIL_umol_L": [171.0, 85.5, None],
        "ALT": [40, 30, 20],
        "CREA (mg/dL)": [1.0, 1.1, 0.9],
        "INR": [1.2, 1.1, 1.0],
        "NA_mmol_L": [135, 136, 137],
        "PTA_pct": [50, 60, "<10"],
    })
    long = wide_to_long(wide, units={"ALT": "IU/L"}, source="sheet.xlsx")
    assert len(long) == 17  # 18 cells, one blank
    tb = long[long["test"] == "bilirubin"]
    assert tb["unit"].tolist() == ["µmol/L", "µmol/L"] and tb["source_column"].tolist() == ["TBIL_umol_L"] * 2
    assert set(long.loc[long["test"] == "sodium", "unit"]) == {"mmol/L"}
    assert long.loc[long["test"] == "alt", "unit"].iloc[0] == "IU/L"
    persons = pd.DataFrame({"person_id": ["P1", "P2"], "sex": ["M", "F"]})
    tr = pd.DataFrame({"person_id": ["P1", "P2"], "date": ["2015-01-10", "2015-01-10"]})
    d = cohort_data(persons, tr, long, source="sheet.xlsx")
    assert d.labs[d.labs["test"] == "bilirubin"]["value"].tolist() == pytest.approx([10.0, 5.0])
    pta = d.labs[(d.labs["test"] == "pta") & d.labs["censored"]]
    assert pta["value"].tolist() == [10.0] and pta["row"].tolist() == [4]


def test_wide_sheet_errors_name_the_column():
    base = pd.DataFrame({"person_id": ["P1"], "date": ["2015-01-09"]})
    with pytest.raises(InputError, match="column 'GGT_U_L' is not a known lab test") as e:
        wide_to_long(base.assign(GGT_U_L=[30]), source="s.xlsx")
    assert e.value.column == "GGT_U_L"
    with pytest.raises(InputError, match="no unit for column 'TBIL'.*allowed: mg/dL, µmol/L"):
        wide_to_long(base.assign(TBIL=[30]))
    with pytest.raises(InputError, match="says µmol/L in its header but the units mapping says mg/dL"):
        wide_to_long(base.assign(TBIL_umol_L=[30]), units={"TBIL_umol_L": "mg/dL"})
    assert len(wide_to_long(base.assign(TBIL=[30], note=["x"]), units={"TBIL": "umol/L"}, ignore=["note"])) == 1


def test_omop_equals_operator_is_not_censored():
    # regression: operator_concept_id 4172703 ("=") was read as a censoring sign
    persons = pd.DataFrame({"person_id": [1], "gender_concept_id": [8507], "year_of_birth": [1970],
                            "diagnosis": ["cirrhosis"]})
    tr = pd.DataFrame({"person_id": [1], "drug_exposure_start_date": ["2015-01-10"], "quantity": [1.0]})
    labs = pd.DataFrame({"person_id": [1, 1], "measurement_date": ["2015-01-09"] * 2,
                         "measurement_concept_code": ["1742-6", "1742-6"], "value_as_number": [40.0, 5.0],
                         "unit_source_value": ["U/L", "U/L"], "operator_concept_id": [4172703, 4171756]})
    d = cohort_data(persons, tr, labs)
    assert d.labs["censored"].tolist() == [False, True]
    assert d.labs["operator"].tolist() == ["", "<"]
