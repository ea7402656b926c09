"""Tests of hepatostat.meta.effects against R metafor 3.8-1 ``escalc()``.

Reference values: tests/reference/meta_core.json, written by
tests/reference/meta_core.R (each entry carries the exact R call).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hepatostat.errors import InputError
from hepatostat.meta import effects
from hepatostat.meta.effects import smd_correction_factor

from refdata import reference, reference_data

# escalc() is closed-form: agreement is limited only by floating point.
TOL = 1e-12

EFFECTS = reference("meta_core.json")["effects"]


@pytest.mark.parametrize("entry", EFFECTS, ids=[f"{e['dataset']}-{e['measure']}" for e in EFFECTS])
def test_effects_agree_with_escalc(entry):
    es = effects(reference_data(entry["dataset"]), entry["measure"])
    yi = np.array([np.nan if v is None else v for v in entry["yi"]], dtype=float)
    vi = np.array([np.nan if v is None else v for v in entry["vi"]], dtype=float)
    assert list(es.study) == [s for s, y in zip(entry["study"], yi) if np.isfinite(y)]
    np.testing.assert_allclose(es.yi, yi[np.isfinite(yi)], rtol=TOL, atol=TOL)
    np.testing.assert_allclose(es.vi, vi[np.isfinite(vi)], rtol=TOL, atol=TOL)


def test_peto_effects_agree_with_escalc():
    # rma.peto entries carry escalc(measure="PETO") yi/vi (add=1/2, to="only0", drop00=FALSE)
    for entry in reference("meta_core.json")["peto"]:
        es = effects(reference_data(entry["dataset"]), "PETO")
        np.testing.assert_allclose(es.yi, entry["yi"], rtol=TOL, atol=TOL)
        np.testing.assert_allclose(es.vi, entry["vi"], rtol=TOL, atol=TOL)


def test_double_zero_study_kept_with_correction():
    # metafor escalc default drop00=FALSE: Waagstein (0/39 vs 0/15) gets 0.5 in every cell
    es = effects(reference_data("yusuf1985_t9"), "OR")
    i = es.study.index("Waagstein")
    assert es.yi[i] == pytest.approx(np.log((0.5 * 15.5) / (39.5 * 0.5)), rel=1e-12)
    assert any("Waagstein" in n for n in es.notes)


def test_drop00_excludes_and_logs():
    es = effects(reference_data("yusuf1985_t9"), "OR", drop00=True)
    dropped = [e.study for e in es.excluded]
    assert "Waagstein" in dropped
    assert all("both arms" in e.reason for e in es.excluded)
    assert es.k + len(es.excluded) == 26


def test_no_correction_logs_inestimable_studies():
    es = effects(reference_data("li2007"), "OR", to="none")
    assert es.excluded, "studies with a zero cell must be excluded and logged without a correction"
    assert all("zero-cell correction" in e.reason for e in es.excluded)


def test_smd_options_follow_their_formulas():
    # Hand computation for one study (Hedges 1981; RevMan 5 statistical methods, Deeks & Higgins 2010)
    row = pd.DataFrame({"study": ["A"], "m1": [10.0], "sd1": [2.0], "n1": [12], "m2": [8.0], "sd2": [3.0], "n2": [15]})
    sp = np.sqrt((11 * 4 + 14 * 9) / 25)
    d = 2.0 / sp
    cohen = effects(row, "SMD", correction="none")
    assert cohen.yi[0] == pytest.approx(d, rel=1e-14)
    approx = effects(row, "SMD", correction="approx", vtype="REVMAN")
    g = d * (1 - 3 / (4 * 25 - 1))
    assert approx.yi[0] == pytest.approx(g, rel=1e-14)
    assert approx.vi[0] == pytest.approx(27 / (12 * 15) + g**2 / (2 * (27 - 3.94)), rel=1e-14)
    assert approx.notes  # a non-default choice is reported


def test_smd_exact_correction_against_gamma_values():
    # c(m) = Gamma(m/2)/(sqrt(m/2) Gamma((m-1)/2)); m = 10: Gamma(5) = 24, Gamma(4.5) = 11.631728396567448
    assert smd_correction_factor(10) == pytest.approx(24 / (np.sqrt(5) * 11.631728396567448), rel=1e-14)


def test_generic_sei_is_turned_into_vi():
    es = effects(pd.DataFrame({"study": ["a", "b"], "yi": [0.1, 0.2], "sei": [0.5, 0.25]}), "GEN")
    np.testing.assert_allclose(es.vi, [0.25, 0.0625])


def test_moderators_are_kept():
    es = effects(reference_data("bcg"), "RR")
    assert {"ablat", "year", "alloc"} <= set(es.data.columns)


def test_missing_values_are_excluded_with_reason():
    data = reference_data("normand1999")
    data.loc[2, "sd2"] = np.nan
    es = effects(data, "SMD")
    assert es.k == 8
    (ex,) = es.excluded
    assert ex.study == "Orpington-Moderate" and "sd2" in ex.reason and "row 4" in ex.reason


# ---------------------------------------------------------------- bad input


def _continuous():
    return pd.DataFrame(
        {"study": ["A", "B"], "m1": [1.0, 2.0], "sd1": [1.0, 1.0], "n1": [10, 10],
         "m2": [0.5, 1.0], "sd2": [1.0, 1.0], "n2": [10, 10]}
    )


def _binary():
    return pd.DataFrame({"study": ["A", "B"], "e1": [3, 4], "n1": [10, 10], "e2": [5, 6], "n2": [10, 10]})


@pytest.mark.parametrize(
    "change, measure, match",
    [
        (lambda d: d.drop(columns="sd1"), "SMD", r"missing column\(s\) 'sd1'"),
        (lambda d: d.rename(columns={"sd1": "sdd1"}), "SMD", r"did you mean 'sdd1'\?"),
        (lambda d: d.assign(sd1=["1.0", "abc"]), "SMD", r"row 3, column 'sd1', value 'abc': not a number"),
        (lambda d: d.assign(sd2=[1.0, -1.0]), "SMD", r"row 3, column 'sd2', value -1: standard deviation must be > 0"),
        (lambda d: d.assign(sd2=[0.0, 1.0]), "MD", r"row 2, column 'sd2', value 0: standard deviation must be > 0"),
        (lambda d: d.assign(n1=[1, 10]), "SMD", r"row 2, column 'n1', value 1: group size must be a whole number >= 2"),
        (lambda d: d.assign(study=["A", "A"]), "SMD", r"row 3, column 'study', value 'A': duplicate study label"),
        (lambda d: d.iloc[0:0], "SMD", r"no rows"),
    ],
)
def test_bad_continuous_input(change, measure, match):
    with pytest.raises(InputError, match=match):
        effects(change(_continuous()), measure, source="trials.csv")


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda d: d.assign(e1=[11, 4]), r"row 2, column 'e1', value 11: events exceed the group size n1 = 10"),
        (lambda d: d.assign(e2=[-1, 4]), r"row 2, column 'e2', value -1: event count must be a whole number >= 0"),
        (lambda d: d.assign(n2=[0, 10]), r"row 2, column 'n2', value 0: group size must be a whole number >= 1"),
        (lambda d: d.assign(e1=[2.5, 4]), r"value 2.5: event count must be a whole number"),
    ],
)
def test_bad_binary_input(change, match):
    with pytest.raises(InputError, match=match):
        effects(change(_binary()), "OR", source="trials.csv")


def test_bad_generic_variance():
    with pytest.raises(InputError, match=r"column 'vi', value 0: sampling variance must be > 0"):
        effects(pd.DataFrame({"study": ["a"], "yi": [0.1], "vi": [0.0]}), "GEN")
    with pytest.raises(InputError, match=r"column 'sei', value -0.1: standard error must be > 0"):
        effects(pd.DataFrame({"study": ["a"], "yi": [0.1], "sei": [-0.1]}), "GEN")


def test_error_names_the_file():
    with pytest.raises(InputError, match=r"^file trials.csv, row 3"):
        effects(_continuous().assign(sd1=[1.0, -2.0]), "SMD", source="trials.csv")


@pytest.mark.parametrize("kw, match", [
    ({"measure": "XYZ"}, "unknown measure 'XYZ'"),
    ({"measure": "SMD", "vtype": "foo"}, "unknown vtype"),
    ({"measure": "SMD", "correction": "foo"}, "unknown SMD correction"),
    ({"measure": "OR", "to": "sometimes"}, "unknown zero-cell option"),
    ({"measure": "OR", "add": -1}, "add must be a non-negative number"),
])
def test_bad_options(kw, match):
    data = _binary() if kw["measure"] == "OR" else _continuous()
    with pytest.raises(InputError, match=match):
        effects(data, **kw)
