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
