"""Checks on extracted trial numbers (``meta check-extraction``).

Worked examples: GRIM (Brown & Heathers 2017) with the examples printed in
descriptions of the test; GRIMMER (Anaya 2016) against exhaustive enumeration
of integer samples; the SD bound of Shiffler & Harsha (1980) against the
sample that attains it; p values against scipy's t tests; Shi et al.'s (2023)
skewness test against its stated 5% level on simulated data. Planted-error
tables: the bundled synthetic extraction with one error planted at a time
(it raises no flag untouched).
"""

from __future__ import annotations

import itertools
import json
import math
from decimal import ROUND_HALF_DOWN, ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hepatostat import datasets
from hepatostat.cli import main
from hepatostat.errors import InputError
from hepatostat.meta.extraction_checks import (
    CHECKS,
    check_extraction,
    grim_consistent,
    grim_sums,
    grimmer_consistent,
    max_sd,
    p_range,
    reported,
    skew_test,
    timepoint_days,
)

def synthetic() -> pd.DataFrame:
    return pd.read_csv(datasets.path("synthetic_msc_trials_long"), dtype=str, keep_default_na=False,
                       na_values=[""])


def one(**cols) -> list:
    """Flags of a one-row table."""
    row = {"study": "A", "outcome": "MELD", "timepoint": "baseline"}
    row.update(cols)
    return list(check_extraction([row], integer_outcomes=("MELD",)).flags)


# --------------------------------------------------------------------------
# GRIM
# --------------------------------------------------------------------------

@pytest.mark.parametrize("mean, n, ok", [
    # Wikipedia "GRIM test" (example section): 20 rolls of a die cannot average 3.48
    ("3.48", 20, False),
    # The Economist, 18 June 2016 ("Come again"), describing Brown & Heathers: 49 participants, mean 5.93
    # (5.93 x 49 = 290.57; 290/49 = 5.918 and 291/49 = 5.939 round to 5.92 and 5.94)
    ("5.93", 49, False),
    # scrutiny's GRIM vignette example, x = "5.27", n = 43: 226/43 = 5.256, 227/43 = 5.279
    ("5.27", 43, False),
    ("5.28", 43, True),
    ("3.45", 20, True),
    # n >= 10^decimals: every mean is possible
    ("5.3", 12, True),
])
def test_grim_worked_examples(mean, n, ok):
    assert grim_consistent(mean, n) is ok


def test_grim_equals_enumeration_of_integer_totals():
    # For every n and every 2-decimal mean: consistent <=> some integer total S gives S/n rounding to it
    # (rounding half up or half down both allowed, as reports differ).
    for n in range(1, 31):
        possible = set()
        for s in range(0, 10 * n + 1):
            x = Decimal(s) / Decimal(n)
            for mode in (ROUND_HALF_UP, ROUND_HALF_DOWN):
                possible.add(str(x.quantize(Decimal("0.01"), rounding=mode)))
        for k in range(0, 1001):
            text = f"{k / 100:.2f}"
            assert grim_consistent(text, n) is (text in possible), (text, n)


def test_grim_keeps_trailing_zeros():
    # "5.10" (two decimals) with n = 28 is impossible (143/28 = 5.107, 142/28 = 5.071) while "5.1" is fine
    assert not grim_consistent("5.10", 28)
    assert grim_consistent("5.1", 28)
    assert list(grim_sums("5.1", 28)) == [142, 143, 144]


# --------------------------------------------------------------------------
# GRIMMER
# --------------------------------------------------------------------------

def _achievable(n: int, top: int = 10) -> set:
    out = set()
    for combo in itertools.combinations_with_replacement(range(top + 1), n):
        s, q = sum(combo), sum(c * c for c in combo)
        var = Fraction(q * n - s * s, n * (n - 1))
        sd = (Decimal(var.numerator) / Decimal(var.denominator)).sqrt()
        mean = Decimal(s) / Decimal(n)
        for mode in (ROUND_HALF_UP, ROUND_HALF_DOWN):
            out.add((str(mean.quantize(Decimal("0.01"), rounding=mode)),
                     str(sd.quantize(Decimal("0.01"), rounding=mode))))
    return out


@pytest.mark.parametrize("n", [5, 6])
def test_grimmer_equals_exhaustive_enumeration(n):
    # Every sample of n integers with a mean in [4, 6] and SD <= 1.5 has all values within 0..10
    # (a value deviates from the mean by at most SD*sqrt(n - 1) < 3.4), so enumerating 0..10 finds
    # every achievable (mean, SD) pair there: GRIMMER must accept exactly those.
    achievable = _achievable(n)
    wrong = []
    for mi in range(400, 601, 3):
        for si in range(0, 151):
            m, s = f"{mi / 100:.2f}", f"{si / 100:.2f}"
            if grimmer_consistent(m, s, n) is not ((m, s) in achievable):
                wrong.append((m, s))
    assert wrong == []


def test_grimmer_parity_example():
    # Worked by hand: mean 7.3, SD 2.51, n = 12 (the example of scrutiny's GRIMMER vignette).
    # Totals passing GRIM: 87 (7.25) and 88 (7.33). Q = 11 SD^2 + S^2/12 with SD in [2.505, 2.515]:
    # S = 88 gives Q in [714.4, 714.9] (no integer); S = 87 gives Q in [699.8, 700.3] -> Q = 700,
    # which is even while S is odd (x^2 and x have the same parity). So the SD is impossible.
    assert grim_consistent("7.3", 12)
    assert not grimmer_consistent("7.3", "2.51", 12)


# --------------------------------------------------------------------------
# sd_range, order, mean_range
# --------------------------------------------------------------------------

@pytest.mark.parametrize("n", [2, 3, 4, 5, 10, 11])
def test_max_sd_is_attained_by_the_split_sample(n):
    # Shiffler & Harsha 1980: the largest SD puts half the values at each end
    x = np.array([0.0] * (n // 2) + [1.0] * (n - n // 2))
    assert max_sd(n, 0.0, 1.0) == pytest.approx(x.std(ddof=1), rel=1e-12)
    rng = np.random.default_rng(n)
    for _ in range(200):
        y = rng.uniform(0, 1, n)
        y[0], y[-1] = 0.0, 1.0
        assert y.std(ddof=1) <= max_sd(n, 0.0, 1.0, y.mean()) + 1e-12  # Bhatia-Davis with the mean


def test_sd_range_flags_impossible_sd():
    flags = one(m1="6", sd1="5.0", n1="10", min1="2", max1="9")
    assert [f.check for f in flags] == ["sd_range"]
    assert "expected at most" in flags[0].message and flags[0].arm == 1
    # SD 3.6 is possible with range 2-9 and mean 6 (n = 10): bound sqrt(3*4*10/9) = 3.65
    assert one(m1="6", sd1="3.6", n1="10", min1="2", max1="9") == []


def test_order_and_mean_range():
    flags = one(med2="12", q1_2="14", q3_2="20", n2="30")
    assert [(f.check, f.arm) for f in flags] == [("order", 2)]
    assert "q1 14 > median 12" in flags[0].message
    flags = one(m1="25.1", sd1="2", n1="30", min1="10", max1="25")
    assert [f.check for f in flags] == ["mean_range"]
    assert "outside the range 10 to 25" in flags[0].message


# --------------------------------------------------------------------------
# p_recompute
# --------------------------------------------------------------------------

def test_p_range_contains_scipy_p_values():
    m1, s1, n1, m2, s2, n2 = 20.7, 4.1, 43, 23.0, 5.2, 48
    student = stats.ttest_ind_from_stats(m1, s1, n1, m2, s2, n2, equal_var=True).pvalue
    welch = stats.ttest_ind_from_stats(m1, s1, n1, m2, s2, n2, equal_var=False).pvalue
    lo, hi = p_range(reported("20.7"), reported("4.1"), n1, reported("23.0"), reported("5.2"), n2)
    assert lo <= min(student, welch) and max(student, welch) <= hi
    # the rounding allowance is small: bounds within a factor 2 of scipy's central p (0.0229 / 0.0215)
    assert lo > student / 2 and hi < student * 2


def test_p_range_against_r():
    # tests/reference/extraction_checks.R: Student and Welch p from summary statistics with R's pt(), checked
    # there against t.test() on raw data. With ten decimals the rounding intervals vanish and the range is
    # exactly [min, max] of the two p values; with the printed decimals it contains both.
    ref = json.loads((Path(__file__).parents[1] / "reference" / "extraction_checks.json").read_text())
    assert ref["provenance"]["R"].startswith("R version")
    for c in ref["cases"]:
        exact = [reported(f"{c[k]:.10f}") for k in ("m1", "sd1")] + [int(c["n1"])]
        exact += [reported(f"{c[k]:.10f}") for k in ("m2", "sd2")] + [int(c["n2"])]
        lo, hi = p_range(*exact)
        assert lo == pytest.approx(min(c["student_p"], c["welch_p"]), rel=1e-7)
        assert hi == pytest.approx(max(c["student_p"], c["welch_p"]), rel=1e-7)
        printed = [reported(repr(c[k])) for k in ("m1", "sd1")] + [int(c["n1"])]
        printed += [reported(repr(c[k])) for k in ("m2", "sd2")] + [int(c["n2"])]
        lo, hi = p_range(*printed)
        assert lo <= min(c["student_p"], c["welch_p"]) and max(c["student_p"], c["welch_p"]) <= hi


def test_p_recompute_flags_only_impossible_p():
    base = dict(m1="20.7", sd1="4.1", n1="43", m2="23.0", sd2="5.2", n2="48")
    student = stats.ttest_ind_from_stats(20.7, 4.1, 43, 23.0, 5.2, 48).pvalue
    assert one(p_reported=f"{student:.3f}", **base) == []
    assert one(p_reported="<0.05", **base) == []
    flags = one(p_reported="0.30", **base)
    assert [(f.check, f.arm) for f in flags] == [("p_recompute", None)]
    assert "p between" in flags[0].message
    assert [f.check for f in one(p_reported="<0.001", **base)] == ["p_recompute"]
    assert [f.check for f in one(p_reported="NS", **base)] == ["p_recompute"]
    # SPSS prints p < 0.0005 as "0.000"
    big = dict(m1="10.0", sd1="1.0", n1="40", m2="20.0", sd2="1.0", n2="40")
    assert one(p_reported="0.000", **big) == []


# --------------------------------------------------------------------------
# skew (Shi et al. 2023)
# --------------------------------------------------------------------------

def test_skew_critical_values_follow_the_paper():
    n = 50
    _, c1, _ = skew_test(n, median=0, min=-1, max=1)
    _, c2, _ = skew_test(n, median=0, q1=-1, q3=1)
    _, c3, _ = skew_test(n, median=0, q1=-1, q3=1, min=-2, max=2)
    assert c1 == pytest.approx(1 / math.log(n + 9) + 2.5 / (n + 1))
    assert c2 == pytest.approx(2.65 / math.sqrt(n) - 6 / n ** 2)
    assert c3 == pytest.approx(3 / math.sqrt(n) - 40 / n ** 3)


def _five(x):
    q1, med, q3 = np.quantile(x, [0.25, 0.5, 0.75])
    return dict(min=x.min(), q1=q1, median=med, q3=q3, max=x.max())


@pytest.mark.parametrize("keys, power", [(("min", "max"), 0.8), (("q1", "q3"), 0.6), (("min", "q1", "q3", "max"), 0.8)])
def test_skew_test_level_and_power(keys, power):
    # a 5% test: normal samples rejected about 5% of the time, log-normal (sigma = 1) samples mostly
    # (the quartiles alone carry less information, so that test has less power, as Shi et al. report)
    rng = np.random.default_rng(2023)
    n, reps = 100, 400

    def rate(draw):
        hits = 0
        for _ in range(reps):
            s = _five(draw())
            stat, crit, _ = skew_test(n, median=s["median"], **{k: s[k] for k in keys})
            hits += stat > crit
        return hits / reps

    assert 0.01 <= rate(lambda: rng.normal(size=n)) <= 0.10
    assert rate(lambda: rng.lognormal(sigma=1.0, size=n)) >= power


def test_skew_flag_message():
    flags = one(med1="12", q1_1="10", q3_1="30", min1="5", max1="90", n1="40")
    assert [f.check for f in flags] == ["skew"]
    assert "critical value" in flags[0].message and "expected a statistic" in flags[0].message
    assert one(med1="20", q1_1="15", q3_1="25", min1="5", max1="35", n1="40") == []


# --------------------------------------------------------------------------
# planted errors in the bundled synthetic extraction
# --------------------------------------------------------------------------

def test_synthetic_extraction_raises_no_flag():
    out = check_extraction(synthetic(), integer_outcomes=("MELD",))
    assert out.counts()["flags"] == 0 and out.n_rows == 125


def _row_of(frame, study, outcome, timepoint):
    hit = frame.index[(frame.study == study) & (frame.outcome == outcome) & (frame.timepoint == timepoint)]
    assert len(hit) == 1
    return hit[0]


def test_planted_se_as_sd():
    d = synthetic()
    i = _row_of(d, "Synthetic trial 03", "ALB", "W12")
    n = int(d.at[i, "n1"])
    d.at[i, "sd1"] = f"{float(d.at[i, 'sd1']) / math.sqrt(n):.2f}"
    flags = check_extraction(d).flags
    assert [(f.row, f.check, f.arm) for f in flags] == [(i + 2, "se_as_sd", 1)]
    assert "standard error" in flags[0].message


def test_planted_unit_scale():
    d = synthetic()
    rows = d.index[(d.study == "Synthetic trial 05") & (d.outcome == "ALB")]
    for i in rows:  # g/L entered as g/dL
        for c in ("m1", "sd1", "m2", "sd2"):
            d.at[i, c] = f"{float(d.at[i, c]) / 10:.2f}"
    flags = check_extraction(d).flags
    assert {(f.row, f.check) for f in flags} == {(i + 2, "unit_scale") for i in rows}
    assert all("×10" in f.message for f in flags)
    d = synthetic()
    i = _row_of(d, "Synthetic trial 07", "TBIL", "W4")  # µmol/L entered as mg/dL
    for c in ("m1", "sd1", "m2", "sd2"):
        d.at[i, c] = f"{float(d.at[i, c]) / 17.1:.2f}"
    flags = check_extraction(d).flags
    assert [(f.row, f.check) for f in flags] == [(i + 2, "unit_scale")]
    assert "17.1" in flags[0].message


def test_planted_n_change():
    d = synthetic()
    i = _row_of(d, "Synthetic trial 02", "MELD", "W24")
    d.at[i, "n2"] = str(int(d.at[i, "n2"]) + 3)
    flags = check_extraction(d).flags
    assert [(f.row, f.check, f.arm) for f in flags] == [(i + 2, "n_change", 2)]
    assert "expected at most" in flags[0].message


def test_planted_grim_in_integer_outcome():
    d = synthetic()
    d = d[d.study == "Synthetic trial 04"].copy()
    d["n1"] = d["n1"].where(d.outcome != "MELD", "9")
    d["m1"] = d["m1"].where(d.outcome != "MELD", "18.25")  # 164/9 = 18.22, 165/9 = 18.33
    out = check_extraction(d, integer_outcomes=["MELD"])
    assert {f.check for f in out.flags} == {"grim"}
    assert out.counts()["by_check"]["grim"] == (d.outcome == "MELD").sum()
    assert "18.22 (164/9) and 18.33 (165/9)" in out.flags[0].message


def test_timepoint_labels():
    assert timepoint_days("baseline") == 0
    assert timepoint_days("W4") == 28 and timepoint_days("4 weeks") == 28 and timepoint_days("week 4") == 28
    assert timepoint_days("M6") == pytest.approx(182.625)
    assert timepoint_days("end of study") is None


# --------------------------------------------------------------------------
# the review's published numbers (Liu et al. 2022, Table 1)
# --------------------------------------------------------------------------

def test_liu2022_table1_ages():
    # Table 1 prints one age per arm, headed "Median age" but with values such as 40.67 (n = 30) that
    # cannot be a median of whole years: read as mean ages in whole years, GRIM applies. Salama 2014's
    # 50.27 with n = 20 is impossible (1005/20 = 50.25, 1006/20 = 50.30); all other ages are possible.
    from importlib import resources

    with resources.as_file(resources.files("hepatostat.review").joinpath("data/liu2022_table1.csv")) as p:
        t1 = pd.read_csv(p, dtype=str)  # the bundled Table 1, numbers as printed
    d = pd.DataFrame({"study": t1["study"], "outcome": "age", "timepoint": "baseline", "m1": t1["age_exp"],
                      "n1": t1["n_exp"], "m2": t1["age_con"], "n2": t1["n_con"]})
    assert len(d) == 13
    out = check_extraction(d, integer_outcomes=["age"])
    assert [(f.study, f.arm, f.check) for f in out.flags] == [("Salama 2014", 1, "grim")]


# --------------------------------------------------------------------------
# bad input and the command line
# --------------------------------------------------------------------------

@pytest.mark.parametrize("col, value, match", [
    ("sd1", "abc", "is not a number"),
    ("n1", "12.5", "whole number"),
    ("sd1", "-1", "must not be negative"),
    ("p_reported", "maybe", "p-value not understood"),
])
def test_bad_cells_name_file_row_column_value(col, value, match):
    d = synthetic().head(3).copy()
    d[col] = d.get(col, "")
    d.loc[1, col] = value
    with pytest.raises(InputError, match=match) as exc:
        check_extraction(d, source="x.csv")
    e = exc.value
    assert (e.file, e.row, e.column, e.value) == ("x.csv", 3, col, value)


def test_unknown_integer_outcome_and_missing_study():
    with pytest.raises(InputError, match="integer outcome 'CTP' is not in the table"):
        check_extraction(synthetic(), integer_outcomes=["CTP"])
    with pytest.raises(InputError, match="missing column 'study'"):
        check_extraction(synthetic().drop(columns="study"))


def test_cli_json_contract(tmp_path, capsys):
    d = synthetic()
    i = _row_of(d, "Synthetic trial 02", "MELD", "W24")
    d.at[i, "n2"] = str(int(d.at[i, "n2"]) + 3)
    f = tmp_path / "x.csv"
    d.to_csv(f, index=False)
    assert main(["meta", "check-extraction", str(f), "--integer", "MELD", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"flags", "counts"}
    assert out["flags"] == [{"row": i + 2, "study": "Synthetic trial 02", "outcome": "MELD", "timepoint": "W24",
                             "arm": 2, "check": "n_change", "message": out["flags"][0]["message"]}]
    assert out["counts"]["flags"] == 1 and set(out["counts"]["by_check"]) == set(CHECKS)


def test_cli_bad_input_prints_error(tmp_path, capsys):
    f = tmp_path / "bad.csv"
    f.write_text("study,outcome,timepoint,m1,sd1,n1\nA,MELD,W4,12,x,20\n")
    assert main(["meta", "check-extraction", str(f)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and "row 2" in err and "column 'sd1'" in err and "'x'" in err
    assert "Traceback" not in err
    assert main(["meta", "check-extraction", str(tmp_path / "none.csv")]) == 1
    assert "file not found" in capsys.readouterr().err


def test_planted_errors_found_in_large_groups():
    # 40 copies of the synthetic trials: 400 studies per outcome x time point, the LARGE_GROUP path
    d = synthetic()
    big = pd.concat([d.assign(study=d.study + f" r{i}") for i in range(40)], ignore_index=True)
    assert check_extraction(big, integer_outcomes=["MELD"]).flags == ()
    i = _row_of(big, "Synthetic trial 03 r5", "ALB", "W12")
    big.at[i, "sd1"] = f"{float(big.at[i, 'sd1']) / math.sqrt(int(big.at[i, 'n1'])):.2f}"
    j = _row_of(big, "Synthetic trial 05 r7", "TBIL", "W4")
    for c in ("m1", "sd1", "m2", "sd2"):
        big.at[j, c] = f"{float(big.at[j, c]) / 17.1:.2f}"
    flags = check_extraction(big).flags
    assert [(f.row, f.check, f.arm) for f in flags] == [(i + 2, "se_as_sd", 1), (j + 2, "unit_scale", None)]
