"""The one number formatter: journal style (p, decimals per statistic, CI, thousands, integers)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hepatostat.io.format import DEFAULT, Style, fmt, fmt_ci, fmt_est_ci, fmt_p, fmt_p_eq, format_frame, kind_of, merge_ci


@pytest.mark.parametrize("p, text", [(0.0, "<0.001"), (5.55e-07, "<0.001"), (0.000999, "<0.001"), (0.001, "0.001"),
                                     (0.0424, "0.042"), (0.05, "0.050"), (0.9996, "1.000"), (1.0, "1.000")])
def test_p_values_as_journals_print_them(p, text):
    # never "0.000", never "5.55e-07", never "p < .0001" (issue 16)
    assert fmt_p(p) == text
    assert fmt(np.float64(p), "p") == text


def test_p_in_sentences():
    assert fmt_p_eq(2e-5) == "P < 0.001" and fmt_p_eq(0.2) == "P = 0.200"


def test_p_style_settings():
    st = Style(p_decimals=4, p_floor=0.0001)
    assert fmt_p(0.00005, st) == "<0.0001" and fmt_p(0.01234, st) == "0.0123"


def test_integers_stay_integers_and_trailing_zeros_are_kept():
    assert fmt(33.0, "int") == "33" and fmt(np.int64(33)) == "33" and fmt(33) == "33"
    assert fmt(0.5, "estimate") == "0.50" and fmt(2.0, "mean") == "2.0"
    assert fmt(12.3456, "se") == "12.346"
    assert fmt(45.91, "I2") == "45.9%"


def test_thousands_separators_from_ten_thousand():
    assert fmt(1234, "int") == "1234"
    assert fmt(12345, "int") == "12,345"
    assert fmt(1234567.891, "estimate") == "1,234,567.89"
    assert fmt(12345, "int", Style(thousands="")) == "12345"
    assert fmt(-12345.5, "mean") == "-12,345.5"


def test_no_negative_zero_and_missing_values():
    assert fmt(-0.0004, "estimate") == "0.00"
    assert fmt(float("nan")) == "" and fmt(None) == "" and fmt(pd.NA) == ""
    assert fmt(float("nan"), style=Style(missing="–")) == "–"
    assert fmt(math.inf) == "∞"


def test_confidence_intervals():
    assert fmt_ci(-0.43, -0.12) == "-0.43 to -0.12"
    assert fmt_ci(0.3, 1.41, style=DEFAULT.with_(ci_sep="–")) == "0.30–1.41"
    assert fmt_est_ci(0.65, 0.3, 1.41) == "0.65 (0.30 to 1.41)"


def test_decimals_per_statistic_can_be_changed():
    st = DEFAULT.with_(decimals={"estimate": 3})
    assert fmt(0.5, "estimate", st) == "0.500" and st.digits("se") == 3


def test_kinds_from_column_names():
    assert [kind_of(c) for c in ("pval", "P", "Q_pval", "P (heterogeneity)", "P, A vs B", "p_implied")] == ["p"] * 6
    assert [kind_of(c) for c in ("n", "k", "df", "Studies (k)", "n (MSC)")] == ["int"] * 5
    assert kind_of("I²") == "I2" and kind_of("tau2") == "tau2" and kind_of("Weight (%)") == "weight"


def test_format_frame_keeps_duplicate_headers_and_counts_read_as_floats():
    f = pd.DataFrame([[1.0, 0.0001, 0.25], [33.0, 0.5, np.nan]], columns=["n", "P", "P"])
    out = format_frame(f)
    assert list(out.columns) == ["n", "P", "P"]
    assert out.values.tolist() == [["1", "<0.001", "0.250"], ["33", "0.500", ""]]


def test_merge_ci():
    f = pd.DataFrame({"Estimate": ["0.1"], "95% CI lower": [-0.2], "95% CI upper": [0.4], "P": ["0.5"]})
    assert merge_ci(f).columns.tolist() == ["Estimate", "95% CI", "P"] and merge_ci(f)["95% CI"][0] == "-0.20 to 0.40"


def test_excel_number_formats_match_the_text():
    assert DEFAULT.excel_format("p") == '[<0.001]"<0.001";0.000'
    assert DEFAULT.excel_format("int") == "#,##0" and DEFAULT.excel_format("estimate") == "#,##0.00"


# ---------------------------------------------------------------- helpers for text (CLI tables, summaries)
from hepatostat.io.format import (fmt_fixed, fmt_level, fmt_n, fmt_pct, fmt_plain, fmt_seconds, fmt_sig,  # noqa: E402
                                  fmt_stat, table_text, with_digits)


def test_counts_and_percentages():
    assert fmt_n(7) == "7" and fmt_n(1234) == "1234" and fmt_n(20007) == "20,007" and fmt_n(np.int64(33)) == "33"
    assert fmt_n(33.0) == "33" and fmt_n(None) == ""
    assert fmt_pct(12.345) == "12.3%" and fmt_pct(45.91, "I2") == "45.9%" and fmt_pct(float("nan")) == ""


def test_significant_digits_for_values_of_unknown_scale():
    assert fmt_sig(0.000123456) == "0.0001235" and fmt_sig(1234.5678) == "1235" and fmt_sig(123456.7) == "123,457"
    assert fmt_sig(2.0) == "2" and fmt_sig(-0.5) == "-0.5" and fmt_sig(0) == "0" and fmt_sig(1e-7) == "1e-7"
    assert fmt_sig(0.0004999, 3) == "0.0005" and fmt_sig(float("inf")) == "∞"


def test_settings_print_as_written():
    assert [fmt_plain(x) for x in (0.1, 50.0, 0.5, 1e-6, -2, 3)] == ["0.1", "50", "0.5", "1e-6", "-2", "3"]
    assert fmt_level(0.95) == "95%" and fmt_level(0.975) == "97.5%"


def test_fixed_decimals_chosen_by_the_caller():
    assert fmt_fixed(2.5, 2) == "2.50" and fmt_fixed(-0.001, 1) == "0.0" and fmt_fixed(37.50, 2, trim=True) == "37.5"
    assert fmt_fixed(214.0, 1, trim=True) == "214" and fmt_fixed(12345.25, 1) == "12,345.2"


def test_seconds():
    assert [fmt_seconds(s) for s in (0.423, 12.34, 125, 3725)] == ["0.42 s", "12.3 s", "2 min 05 s", "1 h 02 min"]


def test_statistics_with_degrees_of_freedom():
    assert fmt_stat("Q", 4.2111, 3) == "Q(3) = 4.21" and fmt_stat("z", -1.96) == "z = -1.96"
    assert fmt_stat("t", 2.1, 4.5) == "t(4.5) = 2.10" and fmt_stat("F", 3.3, (2, 10)) == "F(2, 10) = 3.30"


def test_with_digits_keeps_p_and_counts():
    st = with_digits(4)
    assert fmt(0.5, "estimate", st) == "0.5000" and fmt(0.0423, "p", st) == "0.042" and fmt(3.0, "int", st) == "3"
    assert with_digits(None) is DEFAULT


def test_table_text_aligns_numbers_right_and_formats_every_cell():
    f = pd.DataFrame({"study": ["a", "bb"], "yi": [0.1234, -1.5], "n": [3.0, 40.0], "pval": [0.00001, 0.5]})
    lines = table_text(f).split("\n")
    assert lines == ["study     yi   n    pval",
                     "a       0.12   3  <0.001",
                     "bb     -1.50  40   0.500"]
    assert table_text(pd.DataFrame({"P": ["<0.001", "0.25"]})).split("\n") == ["     P", "<0.001", "  0.25"]
