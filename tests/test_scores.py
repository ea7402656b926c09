"""Tests for hepatostat.scores.

Where each expected number comes from
-------------------------------------
[CALCLIB]  Published MELD worked example, https://calculatorlib.com/meld-score-calculator:
           "bilirubin = 1.9, INR = 1.2, creatinine = 1.3 ... = 13.41 which
           rounds to a MELD score of 13".
[AMELD]    Test values of an independent implementation, the R package
           ameld (ampel-leipzig/ameld, tests/testthat/test_meld.R):
           meld(creatinine=1.9, bilirubin=4.2, inr=1.2) = 20.0391626
           (unrounded, 10 x OPTN MELD(i)); meld(0.9, 0.9, 0.9) = 6.43;
           meld_na(creatinine=1.9, bilirubin=4.2, inr=1.2, sodium=125,
           type="unos", round=TRUE) = 28.
[CAL57]    Published ALBI worked example,
           https://cal57.calculator.city/albi-calculator.html: albumin
           3.5 g/dL, bilirubin 1.2 mg/dL -> 35 g/L, 20.52 µmol/L,
           "ALBI ≈ -2.10", grade 2. (A sibling page of the same site prints
           -2.35 for the same inputs; the arithmetic below shows -2.109, so
           -2.10 is the right one, quoted to 2 decimals by truncation.)
[OPTN]     Rules, not worked numbers: OPTN policy notice Nov 2015 / OPTN MELD
           calculator text ("round to the tenth decimal place and multiply
           by 10"; "If MELD(i) > 11 ..."; values < 1.0 -> 1.0; Cr 4.0 if
           > 4.0 or >= 2 dialyses / 24 h CVVHD in 7 days; Na 125-137;
           maximum MELD = 40).
[KIM2021]  Kim et al. Gastroenterology 2021;161:1887-1895.e4,
           doi:10.1053/j.gastro.2021.08.050: MELD 3.0 formula and bounds.
           No worked patient example from the paper or its supplement was
           available to me, so MELD 3.0 expectations are HAND-COMPUTED.
[PUGH1973] Pugh et al. Br J Surg 1973;60:646-649, doi:10.1002/bjs.1800600817,
           point table with the usual INR substitution (see
           hepatostat.scores.child_pugh Notes). No published worked example
           used: points are read off the table by hand.
[JOHNSON2015] Johnson et al. J Clin Oncol 2015;33:550-558,
           doi:10.1200/JCO.2014.57.9151: ALBI formula and grade cut-offs.
[HAND]     Computed by hand from the formula; the arithmetic is in the
           comment next to the assertion (ln values to 6 decimals).
"""

import math

import numpy as np
import pytest

from hepatostat.errors import InputError
from hepatostat.scores import albi, child_pugh, meld, meld3, meld_na

# ==========================================================================
# MELD
# ==========================================================================


def test_meld_published_example_calculatorlib():
    # [CALCLIB] 3.78 ln(1.9) + 11.2 ln(1.2) + 9.57 ln(1.3) + 6.43
    #         = 2.426 + 2.042 + 2.511 + 6.43 = 13.41 -> 13
    assert meld(1.9, 1.2, 1.3) == 13
    assert meld(1.9, 1.2, 1.3, rounded=False) == pytest.approx(13.41, abs=0.005)
    assert type(meld(1.9, 1.2, 1.3)) is int


def test_meld_matches_ameld_reference_values():
    # [AMELD] unrounded 10 x MELD(i) for Cr 1.9, bili 4.2, INR 1.2
    assert meld(4.2, 1.2, 1.9, rounded=False) == pytest.approx(20.0391626, abs=1e-6)
    assert meld(4.2, 1.2, 1.9) == 20
    # [AMELD] floors: every value < 1 counts as 1 -> 10 x 0.643 = 6.43
    assert meld(0.9, 0.9, 0.9, rounded=False) == pytest.approx(6.43)


def test_meld_seed_unit_error_is_refused():
    """The cohort paper's error: SI values entered as mg/dL.

    Patient: bilirubin 100 µmol/L, INR 1.8, creatinine 80 µmol/L. [HAND]
    Typed into a mg/dL formula:
        3.78 ln(100) + 11.2 ln(1.8) + 9.57 ln(80) + 6.43
      = 3.78*4.605170 + 11.2*0.587787 + 9.57*4.382027 + 6.43
      = 17.4075 + 6.5832 + 41.9360 + 6.43 = 72.36   (raw, uncapped)
    with the OPTN creatinine cap of 4.0: 17.4075 + 6.5832 + 9.57*1.386294
      + 6.43 = 43.69, reported as the cap, 40.
    Correct (units="SI"): bili 100/17.1 = 5.848 mg/dL, Cr 80/88.4 = 0.905 -> 1.0
        MELD(i) = 0.378*ln(5.848) + 1.120*ln(1.8) + 0.957*0 + 0.643
                = 0.378*1.766090 + 1.120*0.587787 + 0.643 = 1.968904
        -> round to tenth 2.0 -> x 10 = 20   (unrounded 19.689)
    """
    # what the unit-blind arithmetic gives (documenting the bug, not our API)
    raw = 3.78 * math.log(100) + 11.2 * math.log(1.8) + 9.57 * math.log(80) + 6.43
    assert raw == pytest.approx(72.36, abs=0.01)
    capped = 3.78 * math.log(100) + 11.2 * math.log(1.8) + 9.57 * math.log(4.0) + 6.43
    assert min(capped, 40) == 40

    with pytest.raises(InputError) as exc:
        meld(100, 1.8, 80)  # units default to mg/dL
    msg = str(exc.value)
    assert 'units="SI"' in msg
    assert "bilirubin" in msg and "creatinine" in msg
    assert exc.value.column == "bilirubin" and exc.value.value == 100

    assert meld(100, 1.8, 80, units="SI") == 20
    assert meld(100, 1.8, 80, units="si", rounded=False) == pytest.approx(19.689, abs=0.001)
    # the same patient in mg/dL gives the same score
    assert meld(100 / 17.1, 1.8, 80 / 88.4) == 20


def test_meld_bounds():
    # [OPTN] values < 1 are set to 1 -> MELD(i) = 0.643 -> 6.43 -> 6
    assert meld(0.5, 0.9, 0.8) == meld(1.0, 1.0, 1.0) == 6
    assert meld(0.0, 1.0, 1.0) == 6  # bilirubin 0 is floored, not an error
    # [OPTN] creatinine capped at 4.0 [HAND]: 0.957 ln 4 + 0.643
    #   = 0.957*1.386294 + 0.643 = 1.969684 -> 2.0 -> 20
    assert meld(1.0, 1.0, 4.0) == 20
    assert meld(1.0, 1.0, 6.5) == 20
    assert meld(1.0, 1.0, 6.5, rounded=False) == meld(1.0, 1.0, 4.0, rounded=False)
    # [OPTN] dialysis -> creatinine 4.0 whatever was measured
    assert meld(1.0, 1.0, 1.0, dialysis=True) == 20
    assert meld(1.0, 1.0, 0.7, dialysis=True) == 20
    # [OPTN] maximum 40 [HAND]: 3.78 ln 40 + 11.2 ln 10 + 9.57 ln 4 + 6.43
    #   = 13.944 + 25.789 + 13.267 + 6.43 = 59.43 -> 40
    assert meld(40, 10, 4) == 40
    assert meld(40, 10, 4, rounded=False) == 40.0


def test_meld_rounding_is_optn_tenth_then_times_ten():
    # [OPTN][HAND] Cr 2.7, bili 1.5, INR 1.1:
    # 0.957*0.993252 + 0.378*0.405465 + 1.120*0.095310 + 0.643 = 1.853555
    # -> 1.9 -> 19 (the unrounded 18.536 also rounds to 19)
    assert meld(1.5, 1.1, 2.7) == 19
    assert meld(1.5, 1.1, 2.7, rounded=False) == pytest.approx(18.53555, abs=1e-4)


def test_meld_vectorised_equals_scalar():
    bili = np.array([0.5, 1.9, 4.2, 12.0, 30.0])
    inr = np.array([0.9, 1.2, 1.2, 2.5, 6.0])
    cr = np.array([0.6, 1.3, 1.9, 3.1, 6.0])
    dia = np.array([False, False, True, False, False])
    vec = meld(bili, inr, cr, dialysis=dia)
    assert vec.dtype == np.int64 and vec.shape == (5,)
    assert vec.tolist() == [meld(b, i, c, dialysis=d) for b, i, c, d in zip(bili, inr, cr, dia)]
    vecf = meld(bili, inr, cr, dialysis=dia, rounded=False)
    assert vecf.tolist() == pytest.approx(
        [meld(b, i, c, dialysis=d, rounded=False) for b, i, c, d in zip(bili, inr, cr, dia)]
    )
    # broadcasting a scalar INR and lists
    assert meld([1.9, 4.2], 1.2, [1.3, 1.9]).tolist() == [13, 20]
    # 2-D
    assert meld(bili.reshape(5, 1), 1.2, 1.3).shape == (5, 1)


def test_meld_si_equals_conventional():
    bili = np.array([0.5, 1.9, 4.2, 12.0, 30.0])
    inr = np.array([1.0, 1.2, 1.2, 2.5, 6.0])
    cr = np.array([0.6, 1.3, 1.9, 3.1, 6.0])
    np.testing.assert_allclose(
        meld(bili * 17.1, inr, cr * 88.4, units="SI", rounded=False),
        meld(bili, inr, cr, rounded=False),
        rtol=1e-12,
    )


def test_meld_nan_in_nan_out():
    out = meld([1.9, np.nan, 1.9], [1.2, 1.2, np.nan], [1.3, 1.3, 1.3])
    assert out.dtype == float  # NaN has no integer form
    assert out[0] == 13 and np.isnan(out[1:]).all()
    assert math.isnan(meld(np.nan, 1.2, 1.3))
    # NaN creatinine gives NaN even on dialysis (documented: any NaN -> NaN)
    assert math.isnan(meld(1.0, 1.0, np.nan, dialysis=True))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(bilirubin=-1, inr=1.2, creatinine=1.0), "bilirubin must be >= 0"),
        (dict(bilirubin=1, inr=-1.2, creatinine=1.0), "inr must be >= 0"),
        (dict(bilirubin=1, inr=1.2, creatinine=np.inf), "creatinine"),
        (dict(bilirubin=300, inr=1.2, creatinine=1.0), 'units="SI"'),
        (dict(bilirubin=1, inr=1.2, creatinine=0.0), "creatinine = 0 is implausible"),
        (dict(bilirubin=1, inr=40, creatinine=1.0), "inr = 40 is implausible"),
        (dict(bilirubin="1.2", inr=1.2, creatinine="high"), "'high'"),
        (dict(bilirubin=[1, 2], inr=[1, 2, 3], creatinine=1), "broadcastable"),
        (dict(bilirubin=1, inr=1, creatinine=1, units="US"), "units must be"),
        (dict(bilirubin=1, inr=1, creatinine=1, units="umol/L"), "units must be"),
        (dict(bilirubin=1, inr=1, creatinine=1, dialysis=2), "dialysis must be"),
        (dict(bilirubin=1, inr=1, creatinine=1, dialysis="maybe"), "dialysis must be"),
    ],
)
def test_meld_bad_input(kwargs, match):
    with pytest.raises(InputError, match=match):
        meld(**kwargs)


def test_meld_si_values_that_look_conventional_are_refused():
    # creatinine 1.0 "µmol/L" = 0.011 mg/dL, impossible; 1.0 mg/dL is normal
    with pytest.raises(InputError, match='units="mg/dL"'):
        meld(1.2, 1.8, 1.0, units="SI")


def test_meld_error_names_index():
    with pytest.raises(InputError, match="index 2"):
        meld([1.0, 2.0, 120.0], 1.2, [1.0, 1.0, 1.0])


def test_meld_keyword_only():
    with pytest.raises(TypeError):
        meld(1.0, 1.0, 1.0, True)


# ==========================================================================
# MELD-Na
# ==========================================================================


def test_meld_na_matches_ameld_reference_value():
    # [AMELD] Cr 1.9, bili 4.2, INR 1.2, Na 125, UNOS type, rounded -> 28.
    # [HAND] MELD(i) = 20 (see above); 20 + 1.32*12 - 0.033*20*12
    #        = 20 + 15.84 - 7.92 = 27.92 -> 28
    assert meld_na(4.2, 1.2, 1.9, 125) == 28
    # unrounded uses the unrounded MELD(i) = 20.039163:
    # 20.039163 + 15.84 - 0.033*20.039163*12 = 27.943654
    assert meld_na(4.2, 1.2, 1.9, 125, rounded=False) == pytest.approx(27.943654, abs=1e-5)


def test_meld_na_hand_example():
    # [HAND] bili 1.5, INR 1.1, Cr 2.7, Na 135: MELD(i) = 19 (see MELD test)
    #   19 + 1.32*2 - 0.033*19*2 = 19 + 2.64 - 1.254 = 20.386 -> 20
    assert meld_na(1.5, 1.1, 2.7, 135) == 20
    # unrounded: 18.535549 + 2.64 - 0.033*18.535549*2 = 19.952205
    assert meld_na(1.5, 1.1, 2.7, 135, rounded=False) == pytest.approx(19.952205, abs=1e-5)


def test_meld_na_sodium_bounds():
    # [OPTN] Na < 125 -> 125, Na > 137 -> 137
    assert meld_na(4.2, 1.2, 1.9, 110) == meld_na(4.2, 1.2, 1.9, 125) == 28
    assert meld_na(4.2, 1.2, 1.9, 145) == meld_na(4.2, 1.2, 1.9, 137)
    # at Na >= 137 the sodium terms vanish: MELD-Na = MELD
    assert meld_na(4.2, 1.2, 1.9, 145) == meld(4.2, 1.2, 1.9) == 20


def test_meld_na_only_when_meld_i_above_11():
    # [OPTN][HAND] Cr 1.6: 0.957*ln(1.6) + 0.643 = 0.957*0.470004 + 0.643
    #   = 1.092793 -> 1.1 -> MELD(i) = 11, not > 11: sodium ignored -> 11
    assert meld_na(1.0, 1.0, 1.6, 125) == 11
    # Cr 1.7: 0.957*0.530628 + 0.643 = 1.150811 -> 1.2 -> 12 > 11:
    #   12 + 1.32*12 - 0.033*12*12 = 12 + 15.84 - 4.752 = 23.088 -> 23
    assert meld_na(1.0, 1.0, 1.7, 125) == 23
    # unrounded: MELD(i) = 10.928 <= 11 -> unchanged
    assert meld_na(1.0, 1.0, 1.6, 125, rounded=False) == pytest.approx(10.92793, abs=1e-5)


def test_meld_na_bounds_and_dialysis():
    # [OPTN] floors -> 6 whatever the sodium (MELD(i) = 6 <= 11)
    assert meld_na(0.5, 0.8, 0.5, 120) == 6
    # [OPTN] dialysis -> Cr 4: MELD(i) = 20 (see MELD bounds); Na 137 -> 20
    assert meld_na(1.0, 1.0, 1.0, 137, dialysis=True) == 20
    # [OPTN] cap 40: MELD(i) 59 -> 40 at any sodium
    assert meld_na(40, 10, 4, 125) == 40
    assert meld_na(40, 10, 4, 137, rounded=False) == 40.0


def test_meld_na_vectorised_equals_scalar():
    rng = np.random.default_rng(1)
    bili = rng.uniform(0.3, 30, 40)
    inr = rng.uniform(0.8, 5, 40)
    cr = rng.uniform(0.4, 6, 40)
    na = rng.uniform(115, 145, 40)
    dia = rng.random(40) < 0.2
    vec = meld_na(bili, inr, cr, na, dialysis=dia)
    assert vec.dtype == np.int64
    assert vec.tolist() == [
        meld_na(b, i, c, n, dialysis=d) for b, i, c, n, d in zip(bili, inr, cr, na, dia)
    ]
    np.testing.assert_allclose(
        meld_na(bili * 17.1, inr, cr * 88.4, na, dialysis=dia, units="SI", rounded=False),
        meld_na(bili, inr, cr, na, dialysis=dia, rounded=False),
        rtol=1e-12,
    )


def test_meld_na_bad_input():
    with pytest.raises(InputError, match="sodium = 1.35 is implausible"):
        meld_na(1.0, 1.0, 1.0, 1.35)
    with pytest.raises(InputError, match='units="SI"'):
        meld_na(100, 1.8, 80, 130)
    out = meld_na([1.0, 1.0], 1.0, 1.0, [np.nan, 130])
    assert np.isnan(out[0]) and out[1] == 6


# ==========================================================================
# MELD 3.0
# ==========================================================================


def test_meld3_hand_example():
    # [KIM2021 formula][HAND] bili 1.9, INR 1.2, Cr 1.3, Na 135, Alb 3.0, female
    #   ln 1.9 = 0.641854, ln 1.2 = 0.182322, ln 1.3 = 0.262364
    #   1.33 + 4.56*0.641854 + 0.82*2 - 0.24*2*0.641854 + 9.09*0.182322
    #   + 11.14*0.262364 + 1.85*0.5 - 1.83*0.5*0.262364 + 6
    #   = 1.33 + 2.926854 + 1.64 - 0.308090 + 1.657307 + 2.922735
    #     + 0.925 - 0.240063 + 6 = 16.853743 -> 17
    assert meld3(1.9, 1.2, 1.3, 135, 3.0, female=True) == 17
    assert meld3(1.9, 1.2, 1.3, 135, 3.0, female=True, rounded=False) == pytest.approx(16.853743, abs=1e-5)
    # male: 16.853743 - 1.33 = 15.523743 -> 16
    assert meld3(1.9, 1.2, 1.3, 135, 3.0, female=False) == 16
    assert meld3(1.9, 1.2, 1.3, 135, 3.0, female="M", rounded=False) == pytest.approx(15.523743, abs=1e-5)


def test_meld3_high_score_not_capped_by_default():
    # [HAND] female, bili 30, INR 4, Cr 3, Na 120 (-> 125), Alb 1.0 (-> 1.5)
    #   ln 30 = 3.401197, ln 4 = 1.386294, ln 3 = 1.098612; dNa = 12, dAlb = 2
    #   1.33 + 4.56*3.401197 + 0.82*12 - 0.24*12*3.401197 + 9.09*1.386294
    #   + 11.14*1.098612 + 1.85*2 - 1.83*2*1.098612 + 6
    #   = 1.33 + 15.509458 + 9.84 - 9.795447 + 12.601413 + 12.238538
    #     + 3.7 - 4.020920 + 6 = 47.403042 -> 47
    # [KIM2021] MELD 3.0 was scaled "without a presumption that the score
    # would be capped at 40" -> no cap by default; cap_at_40 gives 40.
    assert meld3(30, 4, 3, 120, 1.0, female=True, rounded=False) == pytest.approx(47.403042, abs=1e-5)
    assert meld3(30, 4, 3, 120, 1.0, female=True) == 47
    assert meld3(30, 4, 3, 120, 1.0, female=True, cap_at_40=True) == 40
    assert meld3(30, 4, 3, 120, 1.0, female=True, rounded=False, cap_at_40=True) == 40.0


def test_meld3_bounds():
    # [KIM2021] bili, INR, Cr < 1 -> 1; Na > 137 -> 137; Alb > 3.5 -> 3.5:
    # every term is 0 -> 6 (male) or 6 + 1.33 = 7.33 -> 7 (female)  [HAND]
    assert meld3(0.5, 0.9, 0.7, 140, 4.0, female=False) == 6
    assert meld3(0.5, 0.9, 0.7, 140, 4.0, female=False, rounded=False) == pytest.approx(6.0)
    assert meld3(0.5, 0.9, 0.7, 140, 4.0, female=True, rounded=False) == pytest.approx(7.33)
    # creatinine upper bound 3.0 (not 4.0) and 3.0 on dialysis
    args = (2.0, 1.5, 3.0, 130, 2.5)
    base = meld3(*args, female=True, rounded=False)
    assert meld3(2.0, 1.5, 5.0, 130, 2.5, female=True, rounded=False) == pytest.approx(base)
    assert meld3(2.0, 1.5, 1.1, 130, 2.5, female=True, dialysis=True, rounded=False) == pytest.approx(base)
    # sodium 125-137
    assert meld3(2.0, 1.5, 1.5, 118, 2.5, female=False, rounded=False) == pytest.approx(
        meld3(2.0, 1.5, 1.5, 125, 2.5, female=False, rounded=False)
    )
    assert meld3(2.0, 1.5, 1.5, 150, 2.5, female=False, rounded=False) == pytest.approx(
        meld3(2.0, 1.5, 1.5, 137, 2.5, female=False, rounded=False)
    )
    # albumin 1.5-3.5
    assert meld3(2.0, 1.5, 1.5, 130, 0.9, female=False, rounded=False) == pytest.approx(
        meld3(2.0, 1.5, 1.5, 130, 1.5, female=False, rounded=False)
    )
    assert meld3(2.0, 1.5, 1.5, 130, 5.0, female=False, rounded=False) == pytest.approx(
        meld3(2.0, 1.5, 1.5, 130, 3.5, female=False, rounded=False)
    )


def test_meld3_creatinine_cap_differs_from_meld():
    # [HAND] Cr 3.5 vs 3.0 in MELD 3.0 (cap 3): identical; in MELD (cap 4): not.
    assert meld3(1.0, 1.0, 3.5, 137, 3.5, female=False) == meld3(1.0, 1.0, 3.0, 137, 3.5, female=False)
    # MELD 3.0 at Cr 3 (all else neutral): 11.14*ln 3 + 6 = 11.14*1.098612 + 6
    #   = 18.238538 -> 18
    assert meld3(1.0, 1.0, 3.5, 137, 3.5, female=False) == 18
    assert meld(1.0, 1.0, 3.5) != meld(1.0, 1.0, 3.0)


def test_meld3_vectorised_equals_scalar_and_si():
    rng = np.random.default_rng(7)
    n = 30
    bili = rng.uniform(0.3, 30, n)
    inr = rng.uniform(0.8, 5, n)
    cr = rng.uniform(0.4, 6, n)
    na = rng.uniform(115, 145, n)
    alb = rng.uniform(1.0, 5.0, n)
    fem = rng.random(n) < 0.5
    dia = rng.random(n) < 0.2
    vec = meld3(bili, inr, cr, na, alb, female=fem, dialysis=dia)
    assert vec.dtype == np.int64
    assert vec.tolist() == [
        meld3(*row[:5], female=row[5], dialysis=row[6]) for row in zip(bili, inr, cr, na, alb, fem, dia)
    ]
    np.testing.assert_allclose(
        meld3(bili * 17.1, inr, cr * 88.4, na, alb * 10, female=fem, dialysis=dia, units="SI", rounded=False),
        meld3(bili, inr, cr, na, alb, female=fem, dialysis=dia, rounded=False),
        rtol=1e-12,
    )
    # female given as strings
    assert meld3(1.9, 1.2, 1.3, 135, 3.0, female=["F", "male"]).tolist() == [17, 16]


def test_meld3_bad_input():
    with pytest.raises(TypeError):
        meld3(1.9, 1.2, 1.3, 135, 3.0)  # female is required
    with pytest.raises(InputError, match="female must be"):
        meld3(1.9, 1.2, 1.3, 135, 3.0, female="unknown")
    with pytest.raises(InputError, match='units="SI"'):
        meld3(1.9, 1.2, 1.3, 135, 30.0, female=True)  # albumin in g/L
    with pytest.raises(InputError, match='units="mg/dL"'):
        meld3(32, 1.2, 115, 135, 3.0, female=True, units="SI")  # albumin in g/dL
    out = meld3([1.9, 1.9], 1.2, 1.3, 135, [3.0, np.nan], female=True)
    assert out[0] == 17 and np.isnan(out[1])


# ==========================================================================
# Child-Pugh
# ==========================================================================


def test_child_pugh_examples():
    # [PUGH1973][HAND] bili 2.5 -> 2, alb 3.0 -> 2, INR 1.8 -> 2, ascites mild -> 2,
    # encephalopathy none -> 1: 9 points, class B
    r = child_pugh(2.5, 3.0, 1.8, "mild", "none")
    assert r == (9, "B")
    assert type(r.points) is int
    # all best: 1+1+1+1+1 = 5, A
    assert child_pugh(1.0, 4.0, 1.0, 1, 1) == (5, "A")
    # all worst: 3*5 = 15, C
    assert child_pugh(4.0, 2.5, 2.5, "moderate-severe", "grade 3-4") == (15, "C")


@pytest.mark.parametrize(
    "bili, alb, inr, expected_points",
    [
        # [PUGH1973] cut-offs, middle category inclusive; ascites/enceph 1+1
        (1.99, 3.6, 1.0, 5),  # 1+1+1
        (2.0, 3.6, 1.0, 6),  # bili 2.0 -> 2
        (3.0, 3.6, 1.0, 6),  # bili 3.0 -> 2
        (3.01, 3.6, 1.0, 7),  # bili > 3 -> 3
        (1.0, 3.5, 1.0, 6),  # alb 3.5 -> 2
        (1.0, 2.8, 1.0, 6),  # alb 2.8 -> 2
        (1.0, 2.79, 1.0, 7),  # alb < 2.8 -> 3
        (1.0, 3.6, 1.69, 5),  # INR < 1.7 -> 1
        (1.0, 3.6, 1.7, 6),  # INR 1.7 -> 2
        (1.0, 3.6, 2.3, 6),  # INR 2.3 -> 2
        (1.0, 3.6, 2.31, 7),  # INR > 2.3 -> 3
    ],
)
def test_child_pugh_cutoffs(bili, alb, inr, expected_points):
    assert child_pugh(bili, alb, inr, "none", "none").points == expected_points


@pytest.mark.parametrize(
    "args, points, grade",
    [
        # [PUGH1973] A 5-6, B 7-9, C 10-15; points per item in the comments
        ((1.0, 4.0, 1.0, 1, 1), 5, "A"),  # 1+1+1+1+1
        ((1.0, 4.0, 1.0, 2, 1), 6, "A"),  # 1+1+1+2+1
        ((1.0, 4.0, 1.0, 3, 1), 7, "B"),  # 1+1+1+3+1
        ((1.0, 4.0, 1.0, 3, 3), 9, "B"),  # 1+1+1+3+3
        ((2.5, 4.0, 1.0, 3, 3), 10, "C"),  # 2+1+1+3+3
        ((4.0, 2.5, 2.5, 3, 3), 15, "C"),  # 3+3+3+3+3
    ],
)
def test_child_pugh_classes(args, points, grade):
    assert child_pugh(*args) == (points, grade)


def test_child_pugh_codes():
    for code in ("none", "Absent", "NO", 1, 1.0):
        assert child_pugh(1, 4, 1, code, 1).points == 5
    for code in ("mild", "Slight", 2):
        assert child_pugh(1, 4, 1, code, 1).points == 6
    for code in ("moderate-severe", "Moderate/Severe", "moderate to severe", "severe", "moderate", 3):
        assert child_pugh(1, 4, 1, code, 1).points == 7
    assert child_pugh(1, 4, 1, 1, "grade 1-2").points == 6
    assert child_pugh(1, 4, 1, 1, "Grade 3\u20134").points == 7  # en dash


def test_child_pugh_si_and_vectorised():
    # [HAND] SI cut-offs: 2 mg/dL = 34.2 µmol/L, 3 mg/dL = 51.3 µmol/L;
    # 35 g/L = 3.5 g/dL, 28 g/L = 2.8 g/dL
    r = child_pugh([34.2, 51.3, 51.4], [35, 28, 27.9], 1.0, 1, 1, units="SI")
    # 2+2+1+1+1 = 7, 2+2+1+1+1 = 7, 3+3+1+1+1 = 9
    assert r.points.tolist() == [7, 7, 9]
    assert r.grade.tolist() == ["B", "B", "B"]
    bili = np.array([1.0, 2.5, 4.0])
    alb = np.array([4.0, 3.0, 2.5])
    inr = np.array([1.0, 2.0, 2.5])
    asc = ["none", "mild", "severe"]
    enc = [1, 2, 3]
    vec = child_pugh(bili, alb, inr, asc, enc)
    assert vec.points.tolist() == [child_pugh(*a).points for a in zip(bili, alb, inr, asc, enc)]
    assert vec.points.tolist() == [5, 10, 15]
    assert vec.grade.tolist() == ["A", "C", "C"]
    si = child_pugh(bili * 17.1, alb * 10, inr, asc, enc, units="SI")
    assert si.points.tolist() == vec.points.tolist()


def test_child_pugh_missing_and_bad():
    r = child_pugh([1.0, 1.0, np.nan], 4.0, 1.0, ["none", None, "none"], 1)
    assert r.points[0] == 5 and np.isnan(r.points[1]) and np.isnan(r.points[2])
    assert r.grade.tolist() == ["A", None, None]
    with pytest.raises(InputError, match="ascites must be"):
        child_pugh(1, 4, 1, 0, 1)  # 0 is not a Child-Pugh code
    with pytest.raises(InputError, match="encephalopathy must be"):
        child_pugh(1, 4, 1, 1, "coma")
    with pytest.raises(InputError, match='units="SI"'):
        child_pugh(60, 35, 1.2, 1, 1)  # SI values, default mg/dL
    with pytest.raises(InputError, match="units must be"):
        child_pugh(1, 4, 1, 1, 1, units="g/L")


# ==========================================================================
# ALBI
# ==========================================================================


def test_albi_published_example_cal57():
    # [CAL57] albumin 3.5 g/dL, bilirubin 1.2 mg/dL -> "ALBI ≈ -2.10", grade 2
    # [HAND] 0.66*log10(20.52) - 0.085*35 = 0.66*1.312177 - 2.975
    #        = 0.866037 - 2.975 = -2.108963
    r = albi(1.2, 3.5)
    assert r.score == pytest.approx(-2.10, abs=0.01)
    assert r.score == pytest.approx(-2.108963, abs=1e-6)
    assert r.grade == 2
    # the same patient in SI units
    s = albi(20.52, 35, units="SI")
    assert s.score == pytest.approx(r.score, rel=1e-12) and s.grade == 2


def test_albi_grades():
    # [JOHNSON2015] grade 1 <= -2.60 < grade 2 <= -1.39 < grade 3
    # [HAND] bili 8.55 µmol/L, alb 45 g/L: 0.66*0.931966 - 3.825 = -3.209902 -> 1
    assert albi(8.55, 45, units="SI").grade == 1
    assert albi(0.5, 4.5).score == pytest.approx(-3.209902, abs=1e-6)
    # [HAND] bili 85.5 µmol/L, alb 25 g/L: 0.66*1.931966 - 2.125 = -0.849902 -> 3
    assert albi(85.5, 25, units="SI").grade == 3
    # cut-offs themselves: choose albumin so that the score is exactly the cut-off
    # bili 10 µmol/L -> 0.66*1 = 0.66; alb = (0.66 + 2.60)/0.085 = 38.352941 g/L
    assert albi(10, (0.66 + 2.60) / 0.085, units="SI").grade == 1
    assert albi(10, (0.66 + 2.60) / 0.085 - 1e-6, units="SI").grade == 2
    # alb = (0.66 + 1.39)/0.085 = 24.117647 g/L -> exactly -1.39 -> grade 2
    assert albi(10, (0.66 + 1.39) / 0.085, units="SI").grade == 2
    assert albi(10, (0.66 + 1.39) / 0.085 - 1e-6, units="SI").grade == 3


def test_albi_vectorised_and_missing():
    bili = np.array([0.5, 1.2, 5.0])
    alb = np.array([4.5, 3.5, 2.5])
    r = albi(bili, alb)
    assert r.grade.dtype == np.int64 and r.grade.tolist() == [1, 2, 3]
    assert r.score.tolist() == pytest.approx([albi(b, a).score for b, a in zip(bili, alb)])
    m = albi([1.2, np.nan], 3.5)
    assert m.grade[0] == 2 and np.isnan(m.grade[1]) and np.isnan(m.score[1])


def test_albi_bad_input():
    with pytest.raises(InputError, match="bilirubin must be > 0"):
        albi(0, 3.5)
    with pytest.raises(InputError, match='units="SI"'):
        albi(1.2, 35)  # albumin in g/L with mg/dL units
    with pytest.raises(InputError, match='units="mg/dL"'):
        albi(20.5, 3.5, units="SI")  # albumin in g/dL with SI units
    with pytest.raises(InputError, match="units must be"):
        albi(1.2, 3.5, units="metric")
