"""Any lab (issue 15 item 2): declared tests are windowed like built-in ones; PT -> INR only when asked."""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pytest

from hepatostat import units
from hepatostat.cli import main
from hepatostat.cohort import build_cohort, cohort_data, parse_criteria, read_cohort, wide_to_long
from hepatostat.errors import InputError

from .tiny_cohort import DAY0, TINY_CRITERIA, tiny_tables


def _d(day):
    return (DAY0 + pd.Timedelta(days=day)).date().isoformat()


def _tables_with_extra_labs():
    t = tiny_tables()
    extra = pd.DataFrame([
        ("P1", _d(-1), "ALP", "310", "U/L"),
        ("P1", _d(7), "ALP", "290", "U/L"),
        ("P1", _d(28), "ALP", "250", "U/L"),
        ("P2", _d(0), "ALP", "505", "U/L"),
        ("P1", _d(-1), "PT", "24", "s"),
        ("P1", _d(7), "PT", "18", "sec"),
        ("P2", _d(0), "PT", "14.4", "s"),  # P2 also has a measured INR on day 0
    ], columns=["person_id", "date", "test", "value", "unit"])
    t["labs"] = pd.concat([t["labs"], extra], ignore_index=True)
    return t


def _spec(outcomes):
    crit = copy.deepcopy(TINY_CRITERIA)
    crit["visits"] = {"outcomes": outcomes, "require_baseline": ["bilirubin"]}
    return parse_criteria(crit, source="tiny")


def test_unknown_lab_without_a_declared_unit_is_an_error_that_says_how():
    t = _tables_with_extra_labs()
    with pytest.raises(InputError, match=r"unknown lab test 'ALP'.*Declare other tests with their unit"):
        cohort_data(t["persons"], t["treatments"], t["labs"])


def test_declared_test_is_windowed_with_baseline_and_declines():
    t = _tables_with_extra_labs()
    data = cohort_data(t["persons"], t["treatments"], t["labs"], tests={"ALP": "U/L"})
    alp = data.labs[data.labs["test"] == "alp"]
    assert len(alp) == 4 and set(alp["unit"]) == {"U/L"} and alp["loinc"].isna().all()
    res = build_cohort(data, _spec(["bilirubin", "alp"]))
    long = res.visits.long
    p1 = long[(long["person_id"] == "P1") & (long["outcome"] == "alp")].set_index("visit")
    assert p1.loc["W0", "value"] == 310.0 and p1.loc["W1", "value"] == 290.0 and p1.loc["W4", "value"] == 250.0
    assert set(p1["unit"]) == {"U/L"}
    assert p1.loc["W4", "decline_cumulative"] == 60.0  # 310 - 250


def test_declared_test_in_another_unit_is_an_error():
    t = _tables_with_extra_labs()
    t["labs"].loc[t["labs"]["test"] == "ALP", "unit"] = ["U/L", "U/L", "ukat/L", "U/L"]
    with pytest.raises(InputError, match=r"unit 'ukat/L' is not accepted for alp; allowed: U/L"):
        cohort_data(t["persons"], t["treatments"], t["labs"], tests={"ALP": "U/L"})


def test_outcome_missing_from_the_data_is_an_error_at_build_time():
    t = _tables_with_extra_labs()
    data = cohort_data(t["persons"], t["treatments"], t["labs"], tests={"ALP": "U/L"})
    with pytest.raises(InputError, match="outcome\\(s\\) ggt are neither built-in lab tests nor tests of the data"):
        build_cohort(data, _spec(["bilirubin", "ggt"]))


def test_pt_seconds_become_inr_only_when_asked():
    t = _tables_with_extra_labs()
    plain = cohort_data(t["persons"], t["treatments"], t["labs"], tests={"ALP": "U/L"})
    assert set(plain.labs.loc[plain.labs["person_id"] == "P1", "test"]) >= {"pt"}
    assert "inr" not in set(plain.labs.loc[plain.labs["person_id"] == "P1", "test"])
    data = cohort_data(t["persons"], t["treatments"], t["labs"], tests={"ALP": "U/L"}, pt_to_inr=(1.5, 12.0))
    inr = data.labs[(data.labs["test"] == "inr") & (data.labs["person_id"] == "P1")].sort_values("day")
    # WHO: INR = (PT / MNPT) ** ISI -> (24/12)^1.5 and (18/12)^1.5
    np.testing.assert_allclose(inr["value"], [2.0**1.5, 1.5**1.5], rtol=1e-15)
    assert inr["value_source"].iloc[0] == "PT 24 s -> INR (ISI 1.5, MNPT 12 s)"
    # P2 has a measured INR that day: it is kept, the derived one is logged
    p2 = data.labs[(data.labs["test"] == "inr") & (data.labs["person_id"] == "P2")]
    assert p2["value"].tolist() == [1.5]
    assert data.exclusions["reason"].str.contains("INR derived from PT not used").sum() == 1


def test_pt_to_inr_formula_and_refusals():
    assert units.pt_to_inr(24.0, 1.0, 12.0) == 2.0
    assert units.pt_to_inr(18.0, 2.0, 12.0) == pytest.approx(2.25, rel=1e-15)
    assert units.convert_test(24.0, "PT", "INR", isi=1.5, mnpt=12.0) == pytest.approx(2 ** 1.5, rel=1e-15)
    with pytest.raises(InputError, match="needs the reagent's ISI"):
        units.convert_test(24.0, "pt", "inr")
    with pytest.raises(InputError, match="cannot be converted into each other"):
        units.convert_test(50.0, "pta", "inr")
    with pytest.raises(InputError, match="cannot be converted into each other"):
        units.convert_test(1.5, "inr", "pta")
    with pytest.raises(InputError, match="ISI must be a number between 0.5 and 4"):
        units.pt_to_inr(20.0, math.nan, 12.0)
    assert units.convert_test(171.0, "bilirubin", "bilirubin", from_unit="umol/L", to_unit="mg/dL") == 10.0


def test_custom_test_rules():
    t = units.custom_test("Platelets", "10^9/L")
    assert t.key == "platelets" and t.custom and t.units == ("10^9/L",)
    assert units.check_plausible(-3.0, t, "10^9/L").mask  # negatives allowed for declared tests
    with pytest.raises(InputError, match="is the built-in test bilirubin"):
        units.custom_test("TBIL", "mg/dL")
    with pytest.raises(InputError, match="declare the unit"):
        units.custom_test("ggt", "")


def test_wide_sheet_with_unknown_columns_units_and_ignore():
    wide = pd.DataFrame({"person_id": ["P1", "P1"], "day": [0, 7], "TBIL_mg_dL": [2.0, 1.5], "ALP (U/L)": [300, 280],
                         "platelets": [150, 140], "comment": ["ok", "x"]})
    with pytest.raises(InputError, match=r"column 'platelets' is not a known lab test.*--ignore"):
        wide_to_long(wide, ignore=["comment"])
    with pytest.raises(InputError, match="ignore names columns not in the sheet: nope"):
        wide_to_long(wide, ignore=["nope"])
    long = wide_to_long(wide, units={"platelets": "10^9/L"}, ignore=["comment"])
    assert set(long["test"]) == {"bilirubin", "alp", "platelets"}
    assert long.attrs["declared_tests"] == {"alp": "U/L", "platelets": "10^9/L"}


def test_cli_build_with_units_ignore_and_pt_to_inr(tmp_path, capsys):
    t = _tables_with_extra_labs()
    folder = tmp_path / "cohort"
    folder.mkdir()
    t["persons"].to_csv(folder / "persons.csv", index=False)
    t["treatments"].to_csv(folder / "treatments.csv", index=False)
    t["labs"].to_csv(folder / "labs.csv", index=False)
    (tmp_path / "units.csv").write_text("test,unit\nALP,U/L\n", encoding="utf-8")
    crit = tmp_path / "c.toml"
    crit.write_text(
        'name = "t"\n[[inclusion]]\nid = "dx"\nwhen = "diagnosis in [\'liver_failure\', \'cirrhosis\']"\n'
        '[visits]\noutcomes = ["bilirubin", "alp", "inr"]\nrequire_baseline = ["bilirubin"]\n', encoding="utf-8")
    status = main(["cohort", "build", str(folder), "--criteria", str(crit), "--units", str(tmp_path / "units.csv"),
                   "--pt-to-inr", "1.5,12", "--out", str(tmp_path / "out"), "--format", "json"])
    out = capsys.readouterr()
    assert status == 0, out.err
    wide = pd.read_csv(tmp_path / "out" / "visits_long.csv")
    p1 = wide[(wide["person_id"] == "P1") & (wide["outcome"] == "inr") & (wide["visit"] == "W0")]
    assert p1["value"].iloc[0] == pytest.approx(2 ** 1.5, rel=1e-12)
    status = main(["cohort", "build", str(folder), "--criteria", str(crit), "--pt-to-inr", "1.5",
                   "--out", str(tmp_path / "o2")])
    assert status == 1 and "ISI,MNPT" in capsys.readouterr().err
