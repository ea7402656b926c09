"""Tests for hepatostat.units.

Sources of expected numbers
---------------------------
* Conversion factors: bilirubin µmol/L ÷ 17.1 = mg/dL, creatinine µmol/L ÷
  88.4 = mg/dL, albumin g/L ÷ 10 = g/dL, as printed in e.g.
  https://healthcalculum.com/en/calculators/gastroenterology/meld ("Creatinine
  (μmol/L) ÷ 88.4 = mg/dL; Bilirubin (μmol/L) ÷ 17.1 = mg/dL") and
  https://cal57.calculator.city/albi-calculator.html ("Bilirubin: mg/dL × 17.1
  = µmol/L", "Albumin: g/dL × 10 = g/L"). They follow from the molar masses
  (bilirubin 584.66 g/mol, creatinine 113.12 g/mol). 1 µkat/L = 60 U/L
  because 1 U = 1 µmol/min and 1 kat = 1 mol/s.
* LOINC codes: the project brief (ALT 1742-6, AST 1920-8, total bilirubin
  1975-2, INR 6301-6, creatinine 2160-0, albumin 1751-7, sodium 2951-2,
  prothrombin activity 5894-1).
* Plausibility ranges: chosen in hepatostat.units (documented there); the
  expected results below are hand arithmetic on those ranges.
"""

import math

import numpy as np
import pytest

from hepatostat.errors import InputError
from hepatostat.units import (
    TESTS,
    allowed_units,
    canonical_unit,
    check_plausible,
    convert,
    get_test,
    normalize_unit,
    parse_censored,
    plausible_range,
    to_canonical,
)

# --------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key, loinc, unit",
    [
        ("alt", "1742-6", "U/L"),
        ("ast", "1920-8", "U/L"),
        ("bilirubin", "1975-2", "mg/dL"),
        ("inr", "6301-6", "ratio"),
        ("creatinine", "2160-0", "mg/dL"),
        ("albumin", "1751-7", "g/dL"),
        ("sodium", "2951-2", "mmol/L"),
        ("pta", "5894-1", "%"),
    ],
)
def test_registry_loinc_and_canonical_unit(key, loinc, unit):
    assert TESTS[key].loinc == loinc
    assert get_test(loinc) is TESTS[key]  # lookup by LOINC code
    assert canonical_unit(key) == unit


@pytest.mark.parametrize(
    "alias, key",
    [
        ("TBIL", "bilirubin"),
        ("Total bilirubin", "bilirubin"),
        ("total_bilirubin", "bilirubin"),
        ("Cr", "creatinine"),
        ("Na", "sodium"),
        ("SGPT", "alt"),
        ("SGOT", "ast"),
        ("prothrombin activity", "pta"),
        ("INR", "inr"),
    ],
)
def test_get_test_aliases(alias, key):
    assert get_test(alias).key == key


def test_unknown_test_lists_allowed():
    with pytest.raises(InputError) as exc:
        get_test("ggt")
    msg = str(exc.value)
    assert "'ggt'" in msg
    for key in TESTS:
        assert key in msg


def test_registry_is_read_only():
    with pytest.raises(TypeError):
        TESTS["ggt"] = None


# --------------------------------------------------------------------------
# unit spellings and conversion
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    ["umol/L", "µmol/L", "\u00b5mol/L", "\u03bcmol/L", "μmol/l", "UMOL/L", " umol / L ", "micromol/L"],
)
def test_micro_spellings_are_one_unit(spelling):
    # U+00B5 MICRO SIGN and U+03BC GREEK SMALL LETTER MU both mean micro
    assert normalize_unit(spelling, "bilirubin") == "µmol/L"
    assert convert(171.0, "bilirubin", spelling, "mg/dL") == pytest.approx(10.0)


@pytest.mark.parametrize(
    "spelling, test, expected",
    [
        ("mg/dl", "bilirubin", "mg/dL"),
        ("MG/DL", "creatinine", "mg/dL"),
        ("mg/100mL", "creatinine", "mg/dL"),
        ("g/l", "albumin", "g/L"),
        ("G/DL", "albumin", "g/dL"),
        ("mEq/L", "sodium", "mEq/L"),
        ("meq/l", "sodium", "mEq/L"),
        ("mmol/l", "sodium", "mmol/L"),
        ("IU/L", "alt", "IU/L"),
        ("U/L", "ast", "U/L"),
        ("µkat/L", "alt", "µkat/L"),
        ("", "inr", "ratio"),
        ("ratio", "inr", "ratio"),
        ("%", "pta", "%"),
    ],
)
def test_normalize_unit(spelling, test, expected):
    assert normalize_unit(spelling, test) == expected


@pytest.mark.parametrize(
    "value, test, frm, to, expected",
    [
        # bilirubin: µmol/L ÷ 17.1 = mg/dL (171 / 17.1 = 10)
        (171.0, "bilirubin", "µmol/L", "mg/dL", 10.0),
        (1.0, "bilirubin", "mg/dL", "µmol/L", 17.1),
        (50.0, "bilirubin", "mg/dL", "µmol/L", 855.0),
        # 0.486 mmol/L = 486 µmol/L = 486 / 17.1 = 28.42 mg/dL
        (0.486, "bilirubin", "mmol/L", "mg/dL", 486 / 17.1),
        # creatinine: µmol/L ÷ 88.4 = mg/dL
        (88.4, "creatinine", "umol/L", "mg/dL", 1.0),
        (2.0, "creatinine", "mg/dL", "umol/L", 176.8),
        # albumin: g/L ÷ 10 = g/dL
        (35.0, "albumin", "g/L", "g/dL", 3.5),
        (3.5, "albumin", "g/dL", "g/L", 35.0),
        # sodium: mEq/L = mmol/L for a monovalent ion
        (135.0, "sodium", "mEq/L", "mmol/L", 135.0),
        # ALT: IU/L = U/L; 1 µkat/L = 60 U/L
        (40.0, "alt", "IU/L", "U/L", 40.0),
        (1.0, "alt", "µkat/L", "U/L", 60.0),
        (1.5, "inr", "ratio", "", 1.5),
    ],
)
def test_convert_values(value, test, frm, to, expected):
    assert convert(value, test, frm, to) == pytest.approx(expected, rel=1e-12)


def test_convert_round_trip_and_vectorised():
    x = np.array([[5.0, 17.1, 342.0], [np.nan, 0.0, 855.0]])
    mg = convert(x, "bilirubin", "umol/L", "mg/dL")
    assert isinstance(mg, np.ndarray) and mg.shape == x.shape
    assert np.isnan(mg[1, 0])
    back = convert(mg, "bilirubin", "mg/dL", "umol/L")
    np.testing.assert_allclose(back, x, rtol=1e-12)
    # element-wise equal to scalar calls
    for idx in np.ndindex(x.shape):
        s = convert(x[idx], "bilirubin", "umol/L", "mg/dL")
        assert isinstance(s, float)
        assert (math.isnan(s) and math.isnan(mg[idx])) or s == mg[idx]


def test_to_canonical():
    assert to_canonical(35, "albumin", "g/l") == pytest.approx(3.5)
    assert to_canonical([88.4, 176.8], "creatinine", "µmol/L").tolist() == pytest.approx([1.0, 2.0])


def test_unknown_unit_lists_allowed():
    with pytest.raises(InputError) as exc:
        convert(1.0, "bilirubin", "mg/dL", "ppm")
    msg = str(exc.value)
    assert "'ppm'" in msg
    for u in allowed_units("bilirubin"):
        assert u in msg
    # a unit of another test is not accepted
    with pytest.raises(InputError, match="g/L"):
        convert(1.0, "bilirubin", "g/L", "mg/dL")
    with pytest.raises(InputError):
        normalize_unit(5, "bilirubin")


def test_convert_non_numeric_names_value():
    with pytest.raises(InputError, match="'<5'"):
        convert(["1", "<5"], "bilirubin", "mg/dL", "umol/L")


# --------------------------------------------------------------------------
# plausibility
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "test, unit, expected",
    [
        # ranges from hepatostat.units (see plausible_note); SI by hand:
        # 50 × 17.1 = 855; 0.1 × 88.4 = 8.84; 25 × 88.4 = 2210
        ("bilirubin", "mg/dL", (0.0, 50.0)),
        ("bilirubin", "µmol/L", (0.0, 855.0)),
        ("creatinine", "mg/dL", (0.1, 25.0)),
        ("creatinine", "µmol/L", (8.84, 2210.0)),
        ("inr", None, (0.5, 15.0)),
        ("albumin", "g/dL", (0.5, 7.0)),
        ("albumin", "g/L", (5.0, 70.0)),
        ("sodium", "mmol/L", (100.0, 180.0)),
    ],
)
def test_plausible_ranges(test, unit, expected):
    assert plausible_range(test, unit) == pytest.approx(expected)


def test_tbil_486_mmol_is_implausible():
    # 486 mmol/L = 486,000 µmol/L = 28,421 mg/dL  >>  50 mg/dL
    ok, why = check_plausible(486, "TBIL", "mmol/L")
    assert ok is False
    assert "mmol/L" in why and "above" in why
    assert "µmol/L" in why  # suggests the unit that would make it plausible
    # the same number in µmol/L is plausible (486 / 17.1 = 28.4 mg/dL)
    ok, why = check_plausible(486, "TBIL", "umol/L")
    assert ok is True and why == ""


def test_check_plausible_vectorised_with_reasons():
    values = [1.2, 300.0, -1.0, float("nan"), 50.0, float("inf")]
    res = check_plausible(values, "bilirubin", "mg/dL")
    assert res.mask.tolist() == [True, False, False, False, True, False]
    assert res.reasons[0] == "" and res.reasons[4] == ""
    # 300 "mg/dL" would be 300 / 17.1 = 17.5 mg/dL if it were µmol/L
    assert "above" in res.reasons[1] and "µmol/L" in res.reasons[1]
    assert "negative" in res.reasons[2]
    assert "missing" in res.reasons[3]
    assert "finite" in res.reasons[5]


@pytest.mark.parametrize(
    "value, test, unit, plausible",
    [
        (0.05, "creatinine", "mg/dL", False),  # below 0.1 mg/dL
        (80.0, "creatinine", "mg/dL", False),  # a µmol/L value
        (80.0, "creatinine", "µmol/L", True),
        (35.0, "albumin", "g/dL", False),  # a g/L value
        (35.0, "albumin", "g/L", True),
        (3.5, "albumin", "g/L", False),  # a g/dL value: 0.35 g/dL
        (0.3, "inr", "ratio", False),
        (20.0, "inr", "", False),
        (95.0, "sodium", "mmol/L", False),
        (185.0, "sodium", "mEq/L", False),
        (135.0, "sodium", "mEq/L", True),
        (12000.0, "alt", "U/L", True),  # acute liver failure
        (50000.0, "ast", "U/L", False),
        (250.0, "pta", "%", False),
    ],
)
def test_check_plausible_cases(value, test, unit, plausible):
    ok, why = check_plausible(value, test, unit)
    assert ok is plausible
    assert (why == "") is plausible


def test_check_plausible_bad_unit():
    with pytest.raises(InputError, match="allowed"):
        check_plausible(1.0, "creatinine", "g/L")


# --------------------------------------------------------------------------
# censored strings
# --------------------------------------------------------------------------


def test_parse_censored_examples():
    r = parse_censored(["<5", ">1000", "≤ 0.5", "\u2265 2", "12.5", "<=3", ">= 7", "1e3"])
    assert r.values.tolist() == [5.0, 1000.0, 0.5, 2.0, 12.5, 3.0, 7.0, 1000.0]
    assert r.censored.tolist() == [True, True, True, True, False, True, True, False]
    assert r.side.tolist() == ["<", ">", "<", ">", "", "<", ">", ""]
    assert r.inclusive.tolist() == [False, False, True, True, False, True, True, False]


def test_parse_censored_scalar_and_numbers():
    r = parse_censored("<5")
    assert r == (5.0, True, "<", False)
    r = parse_censored(3)
    assert r == (3.0, False, "", False)
    r = parse_censored([1, 2.5, "3"])
    assert r.values.tolist() == [1.0, 2.5, 3.0]
    assert not r.censored.any()


def test_parse_censored_missing_markers():
    r = parse_censored([None, "", "NA", "nan", "N/A", float("nan")])
    assert np.isnan(r.values).all()
    assert not r.censored.any()


@pytest.mark.parametrize("bad", ["positive", "1,5", "5 U/L", "<", "<<5", "inf", "trace"])
def test_parse_censored_rejects_text_naming_value(bad):
    with pytest.raises(InputError) as exc:
        parse_censored(["1", bad])
    assert repr(bad) in str(exc.value)
    assert "index 1" in str(exc.value)
    assert exc.value.value == bad
