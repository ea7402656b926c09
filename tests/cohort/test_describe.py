"""Tests of hepatostat.cohort.describe (Table 1 / Table 2) against R 4.2.

Reference values: tests/reference/cohort_stats.json, written by
tests/reference/cohort_stats.R from the synthetic CSVs in
tests/reference/data/cohort_synthetic_*.csv; every entry carries the R call
(``quantile(type = t)``, ``shapiro.test``, ``t.test(var.equal = TRUE/FALSE)``,
``oneway.test(var.equal = TRUE/FALSE)``, ``aov``, ``wilcox.test(exact =
FALSE, correct = TRUE)``, ``wilcox.test(exact = TRUE)``, ``kruskal.test``,
``chisq.test(correct = FALSE)``, ``fisher.test``).
"""

from __future__ import annotations

import json
import math

import click
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from hepatostat.cli.cohort_stats import table1_cmd, table2_cmd
from hepatostat.cohort.describe import (
    TESTS,
    anova,
    chi_square,
    fisher_exact,
    kruskal_wallis,
    mann_whitney,
    quantile,
    shapiro_wilk,
    signed_rank,
    standardized_difference,
    standardized_difference_categorical,
    student_t,
    table1,
    table2,
    welch_anova,
    welch_t,
)
from hepatostat.errors import InputError

from refdata import reference, reference_data, reference_path

REF = reference("cohort_stats.json")

# Closed forms (t, F, chi-square, rank sums, exact distributions, quantiles,
# means, SDs) are the same formulas in double precision in R and here; they
# differ only by summation order and the special functions behind the P values
# (R's nmath vs scipy), both ~1e-13 relative. 1e-9 leaves room for that.
RTOL = 1e-9
# Shapiro-Wilk: scipy's port of Royston's AS R94 and R's swilk.c evaluate the
# same polynomial approximations in a different order and precision; W and P
# agree to about 1e-8 relative.
RTOL_SW = 1e-6


def close(actual, expected, rtol=RTOL, what=""):
    if expected is None:
        assert actual is None or not np.isfinite(actual), f"{what}: expected NA, got {actual}"
        return
    assert actual is not None and math.isclose(actual, expected, rel_tol=rtol, abs_tol=1e-300), \
        f"{what}: {actual!r} != {expected!r}"


def data(name):
    return reference_data(name, "cohort_stats.json")


def samples(entry):
    df = data(entry["dataset"])
    return [df.loc[df["group"] == g, entry["variable"]].dropna().to_numpy(float) for g in entry["groups"]]


def _id(e):
    return f"{e['variable']}-{''.join(e['groups'])}"


# ---------------------------------------------------------------------------
# quantiles
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("q", REF["quantiles"], ids=lambda q: q["name"])
def test_quantile_all_nine_types_agree_with_r(q):
    for t in range(1, 10):
        got = quantile(q["x"], q["probs"], t)
        for a, b, p in zip(got, q["types"][t - 1], q["probs"]):
            close(a, b, what=f"type {t}, p = {p}")


def test_spss_quartiles_by_hand():
    # SPSS EXAMINE, HAVERAGE (IBM SPSS Statistics 22 Algorithms): with
    # h = (n + 1) p, Q = x_(floor h) + (h - floor h)(x_(floor h + 1) - x_(floor h)).
    # n = 10: p = .25 -> h = 2.75 -> 4 + .75 * (7 - 4) = 6.25;
    #         p = .50 -> h = 5.5  -> 9 + .5 * (11 - 9) = 10;
    #         p = .75 -> h = 8.25 -> 15 + .25 * (20 - 15) = 16.25.
    x = [23, 2, 9, 12, 4, 7, 15, 11, 20, 8]
    assert list(quantile(x, [0.25, 0.5, 0.75], "spss")) == [6.25, 10.0, 16.25]
    # R's default (type 7): h = 1 + 9p -> 3.25 -> 7 + .25 * 1 = 7.25
    assert quantile(x, 0.25, "r") == 7.25
    # beyond the data the definition clamps to the extremes: h = 11 * .05 = .55 < 1
    assert quantile(x, 0.05, 6) == 2.0


def test_quantile_bad_input():
    with pytest.raises(InputError, match="unknown quartile definition 'tukey'"):
        quantile([1, 2, 3], 0.5, "tukey")
    with pytest.raises(InputError, match="quartile type must be 1 to 9"):
        quantile([1, 2, 3], 0.5, 10)
    with pytest.raises(InputError, match=r"probabilities must lie in \[0, 1\]"):
        quantile([1, 2, 3], 1.5)
    with pytest.raises(InputError, match="needs at least one value"):
        quantile([], 0.5)


# ---------------------------------------------------------------------------
# elementary tests against R
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("s", REF["shapiro"], ids=lambda s: f"{s['variable']}-{s['group']}")
def test_shapiro_wilk_agrees_with_r(s):
    x = data(s["dataset"]).query("group == @s['group']")[s["variable"]].dropna().to_numpy(float)
    r = shapiro_wilk(x)
    close(r.statistic, s["W"], RTOL_SW, "W")
    close(r.pval, s["pval"], RTOL_SW, "p")


@pytest.mark.parametrize("e", REF["continuous"], ids=_id)
def test_continuous_tests_agree_with_r(e):
    xs = samples(e)
    if len(xs) == 2:
        for name, fn in (("student_t", student_t), ("welch_t", welch_t)):
            r = fn(*xs)
            assert r.test == name
            close(r.statistic, e[name]["statistic"], what=f"{name} t")
            close(r.df[0], e[name]["df"], what=f"{name} df")
            close(r.pval, e[name]["pval"], what=f"{name} p")
        r = mann_whitney(*xs)
        close(r.statistic, e["mann_whitney"]["statistic"], what="W")
        close(r.pval, e["mann_whitney"]["pval"], what="Mann-Whitney p")
    for name, fn in (("anova", anova), ("welch_anova", welch_anova)):
        r = fn(*xs)
        close(r.statistic, e[name]["statistic"], what=f"{name} F")
        close(r.df[0], e[name]["df1"], what=f"{name} df1")
        close(r.df[1], e[name]["df2"], what=f"{name} df2")
        close(r.pval, e[name]["pval"], what=f"{name} p")
    close(anova(*xs).statistic, e["anova"]["aov_F"], what="aov F")
    r = kruskal_wallis(*xs)
    close(r.statistic, e["kruskal"]["statistic"], what="H")
    close(r.pval, e["kruskal"]["pval"], what="Kruskal-Wallis p")


def test_exact_mann_whitney_agrees_with_r():
    e = REF["mann_whitney_exact"][0]
    r = mann_whitney(*samples(e), exact=True)
    assert r.method == "exact"
    close(r.statistic, e["statistic"])
    close(r.pval, e["pval"])


def test_exact_mann_whitney_with_ties_falls_back_as_r():
    r = mann_whitney([1, 2, 2, 3], [2, 4, 5, 6], exact=True)
    assert r.method.startswith("normal approximation") and "ties" in r.note


def test_mann_whitney_matches_scipy_normal_approximation():
    rng = np.random.default_rng(7)
    x, y = rng.integers(0, 10, 30).astype(float), rng.integers(2, 12, 25).astype(float)
    from scipy import stats

    ref = stats.mannwhitneyu(x, y, use_continuity=True, method="asymptotic")
    r = mann_whitney(x, y)
    close(r.statistic, float(ref.statistic))
    close(r.pval, float(ref.pvalue))


@pytest.mark.parametrize("e", REF["categorical"], ids=_id)
def test_contingency_tests_agree_with_r(e):
    t = np.array(e["counts"]).T  # rows = levels, columns = groups
    r = chi_square(t)
    close(r.statistic, e["chisq"]["statistic"], what="X2")
    close(r.df[0], e["chisq"]["df"], what="df")
    close(r.pval, e["chisq"]["pval"], what="chi-square p")
    f = fisher_exact(t)
    assert f.method == "exact"
    close(f.pval, e["fisher"]["pval"], what=f"Fisher p, table {t.tolist()}")


def test_fisher_2x2_matches_scipy():
    from scipy import stats

    rng = np.random.default_rng(3)
    for _ in range(50):
        t = rng.integers(1, 20, (2, 2))
        close(fisher_exact(t).pval, float(stats.fisher_exact(t).pvalue))


def test_fisher_falls_back_to_monte_carlo_past_the_limit():
    t = np.array([[10, 12, 9, 14], [8, 15, 11, 7], [12, 6, 13, 10]])
    exact = fisher_exact(t)
    mc = fisher_exact(t, max_nodes=10)
    assert exact.method == "exact" and mc.method.startswith("Monte Carlo") and "too large" in mc.note
    assert abs(mc.pval - exact.pval) < 0.01  # 100 000 tables: Monte Carlo SE ~ 0.0016
    assert fisher_exact(t, max_nodes=10).pval == mc.pval  # fixed seed: reproducible


def test_signed_rank_statistic_is_v():
    # differences 1, 2, -3: the positive ones have ranks 1 and 2 -> V = 3
    r = signed_rank([3.0, 5.0, 1.0], [2.0, 3.0, 4.0])
    assert r.statistic == 3.0
    assert "zero" in signed_rank([1, 2], [1, 1]).note


def test_standardized_differences():
    # unit weights: the n - 1 variances
    x, y = [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 8.0]
    expected = (2.5 - 5) / math.sqrt((np.var(x, ddof=1) + np.var(y, ddof=1)) / 2)
    close(standardized_difference(x, y), expected)
    # two levels: Yang & Dalton equals Austin's binary formula
    p1, p2 = 0.3, 0.5
    close(standardized_difference_categorical([70, 30], [50, 50]),
          abs(p1 - p2) / math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / 2))


# ---------------------------------------------------------------------------
# Table 1 against R's rule
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("e", REF["continuous"], ids=_id)
def test_table1_continuous_rows_follow_the_rule_as_r(e):
    t = table1(data(e["dataset"]), "group", groups=e["groups"], variables=[e["variable"]])
    row = t.rows[0]
    assert row.test == e["rule"]["test"] and row.normal == e["rule"]["normal"]
    close(row.pval, e["rule"]["pval"], what="rule p")
    for g in e["groups"]:
        st = e["stats"][g]
        assert row.groups[g]["n"] == st["n"]
        for k in ("mean", "sd", "median", "q1", "q3"):
            close(row.groups[g][k], st[k], what=f"{g} {k}")
        close(row.groups[g]["shapiro_p"], st["shapiro_p"], RTOL_SW, f"{g} Shapiro-Wilk p")


@pytest.mark.parametrize("e", REF["categorical"], ids=_id)
def test_table1_categorical_rows_follow_the_rule_as_r(e):
    row = table1(data(e["dataset"]), "group", groups=e["groups"], variables=[e["variable"]]).rows[0]
    assert row.test == e["rule"]["test"] and row.normal is None
    close(row.pval, e["rule"]["pval"])
    # R sorts the levels by the locale's collation, we by code point: compare by name
    assert sorted(row.levels) == sorted(e["levels"])
    for g, counts in zip(e["groups"], e["counts"]):
        assert {lv: row.groups[g]["counts"][lv] for lv in e["levels"]} == dict(zip(e["levels"], counts))


def test_table1_json_contract():
    t = table1(data("cohort_synthetic_baseline"), "group", groups=["A", "B"])
    d = json.loads(json.dumps(t.to_dict(), allow_nan=False))
    assert d["groups"] == ["A", "B"]
    assert {r["test"] for r in d["rows"]} <= set(TESTS)
    for r in d["rows"]:
        assert {"variable", "kind", "normal", "test", "pval", "groups"} <= set(r)
        for g in ("A", "B"):
            keys = {"n", "counts"} if r["kind"] == "categorical" else {"n", "mean", "sd", "median", "q1", "q3"}
            assert keys <= set(r["groups"][g])
    assert [r["variable"] for r in d["rows"]] == ["sex", "age", "alt", "ast", "tbil", "pta", "meld", "albumin",
                                                   "etiology", "child_pugh"]  # person_id is never described


def test_table1_frame_is_publication_style():
    f = table1(data("cohort_synthetic_baseline"), "group", groups=["A", "B"], smd=True).to_frame()
    assert list(f.columns) == ["variable", "A (n = 37)", "B (n = 27)", "p", "test", "SMD"]
    age = f[f["variable"] == "age, mean ± SD"].iloc[0]
    assert age["A (n = 37)"] == "41.2 ± 8.7" and age["test"] == "student_t"
    alt = f[f["variable"] == "alt, median (Q1–Q3)"].iloc[0]
    assert alt["A (n = 37)"] == "117 (57–305)" and alt["test"] == "mann_whitney"
    missing = f.index[f["variable"] == "alt, median (Q1–Q3)"][0] + 1
    assert f.loc[missing, "variable"] == "  missing, n" and f.loc[missing, "A (n = 37)"] == "2"
    assert f[f["variable"] == "  M"].iloc[0]["A (n = 37)"] == "35 (94.6)"
    no_missing = table1(data("cohort_synthetic_baseline"), "group", groups=["A", "B"], missing_row=False).to_frame()
    assert "  missing, n" not in set(no_missing["variable"])


def test_table1_options_welch_exact_and_quartiles():
    base = data("cohort_synthetic_baseline")
    entry = next(e for e in REF["continuous"] if e["variable"] == "age" and e["groups"] == ["A", "B"])
    row = table1(base, "group", groups=["A", "B"], variables=["age"], welch=True).rows[0]
    assert row.test == "welch_t"
    close(row.pval, entry["welch_t"]["pval"])
    entry4 = next(e for e in REF["continuous"] if e["variable"] == "age" and len(e["groups"]) == 4)
    row = table1(base, "group", variables=["age"], welch=True).rows[0]
    assert row.test == "welch_anova"
    close(row.pval, entry4["welch_anova"]["pval"])
    small = data("cohort_synthetic_small")
    row = table1(small, "group", groups=["X", "Y"], variables=["value"], exact=True, normality="nonparametric").rows[0]
    assert row.test == "mann_whitney" and row.method == "exact"
    close(row.pval, REF["mann_whitney_exact"][0]["pval"])
    r7 = table1(base, "group", groups=["A", "B"], variables=["alt"], quartiles="r").rows[0]
    x = base.loc[base["group"] == "A", "alt"].dropna().to_numpy(float)
    assert r7.groups["A"]["q1"] == np.quantile(x, 0.25)  # numpy's default is R's type 7
    forced = table1(base, "group", groups=["A", "B"], variables=["alt"], normality="assume_normal").rows[0]
    assert forced.test == "student_t" and forced.normal


# ---------------------------------------------------------------------------
# degenerate input: one documented behaviour each
# ---------------------------------------------------------------------------


def test_group_with_fewer_than_three_values_is_not_normal():
    small = data("cohort_synthetic_small")
    row = table1(small, "group", variables=["value"]).rows[0]
    entry = next(e for e in REF["continuous"] if e["groups"] == ["X", "Y", "Z"])
    assert row.test == "kruskal" == entry["rule"]["test"]
    assert "Z: 2 values: Shapiro-Wilk needs at least 3" in row.note and "treated as not normal" in row.note
    close(row.pval, entry["rule"]["pval"])


def test_all_values_equal():
    f = pd.DataFrame({"group": ["A"] * 4 + ["B"] * 4, "x": [5.0] * 8})
    row = table1(f, "group").rows[0]
    assert row.test == "mann_whitney" and not np.isfinite(row.pval)
    assert "all values are equal" in row.note
    assert row.to_dict()["pval"] is None
    # one constant group only: Shapiro-Wilk is undefined there, so not normal
    f = pd.DataFrame({"group": ["A"] * 5 + ["B"] * 5, "x": [5.0] * 5 + [1.0, 2.0, 3.0, 4.0, 5.5]})
    row = table1(f, "group").rows[0]
    assert row.test == "mann_whitney" and "A: all values are equal" in row.note and np.isfinite(row.pval)


def test_variable_missing_entirely_in_one_group():
    f = pd.DataFrame({"group": list("AAAABBBBCCCC"),
                      "x": [1.0, 2.0, 3.5, 4.0, np.nan, np.nan, np.nan, np.nan, 2.0, 3.0, 5.0, 7.0]})
    row = table1(f, "group", groups=["A", "B"]).rows[0]
    assert row.groups["B"]["n"] == 0 and row.groups["B"]["missing"] == 4
    assert not np.isfinite(row.pval) and "no values in group B" in row.note
    row3 = table1(f, "group").rows[0]  # A and C are still compared
    assert np.isfinite(row3.pval) and "no values in group B: left out of the test" in row3.note
    close(row3.pval, student_t(f.x[:4], f.x[8:]).pval)


def test_more_than_5000_values_are_not_tested_for_normality():
    rng = np.random.default_rng(1)
    f = pd.DataFrame({"group": ["A"] * 5001 + ["B"] * 50, "x": rng.normal(size=5051)})
    row = table1(f, "group").rows[0]
    assert row.test == "mann_whitney" and not row.normal
    assert "A: 5001 values: Shapiro-Wilk is defined for at most 5000" in row.note


def test_missing_group_rows_are_excluded_and_listed():
    f = pd.DataFrame({"group": ["A", "A", None, "B", "B", ""], "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    t = table1(f, "group")
    assert t.excluded == (4, 7) and t.n == {"A": 2, "B": 2}
    assert t.to_dict()["excluded"] == [{"row": 4, "reason": "missing group"}, {"row": 7, "reason": "missing group"}]


def test_numeric_group_labels_and_text_numbers():
    f = pd.DataFrame({"arm": [1, 1, 1, 2, 2, 2], "x": ["1.5", " 2", "3", "4", "5", "6.5"]})
    t = table1(f, "arm", groups=["1", "2"])
    assert t.groups == ("1", "2") and t.rows[0].kind == "continuous"


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------


def test_non_numeric_cell_names_row_column_and_value():
    f = pd.DataFrame({"group": ["A", "A", "B", "B"], "age": ["40", "abc", "50", "55"]})
    with pytest.raises(InputError) as exc:
        table1(f, "group", source="cohort.csv")
    e = exc.value
    assert (e.file, e.row, e.column, e.value) == ("cohort.csv", 3, "age", "abc")
    assert str(e).startswith("file cohort.csv, row 3, column 'age', value 'abc': is not a number, but other cells")
    assert "categorical=" in str(e)
    with pytest.raises(InputError, match=r"row 2, column 'age', value 'x': is not a number; the column is continuous"):
        table1(pd.DataFrame({"group": ["A", "B"], "age": ["x", "50"], "sex": ["M", "F"]}), "group", categorical=["sex"])
    with pytest.raises(InputError, match=r"row 3, column 'age', value inf: is not a finite number"):
        table1(pd.DataFrame({"group": ["A", "A", "B"], "age": [1.0, np.inf, 2.0]}), "group")


def test_text_column_is_categorical_unless_it_mixes_numbers():
    f = pd.DataFrame({"group": ["A", "A", "B", "B"], "sex": ["M", "F", "M", "M"]})
    assert table1(f, "group").rows[0].kind == "categorical"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"group": "arm"}, "column 'arm': group column not found; the table's columns are: group, x"),
        ({"group": "group", "groups": ["A", "Q"]}, "column 'group', value 'Q': group not found in column; its groups are: A, B"),
        ({"group": "group", "groups": ["A"]}, "at least two groups are needed to compare"),
        ({"group": "group", "groups": ["A", "A"]}, "groups must be distinct"),
        ({"group": "group", "variables": ["y"]}, "column 'y': variable column not found"),
        ({"group": "group", "variables": ["group"]}, "the group column cannot also be a variable"),
        ({"group": "group", "normality": "ks"}, "unknown normality rule 'ks'; allowed: shapiro, assume_normal, nonparametric"),
        ({"group": "group", "alpha": 1.5}, "alpha must lie between 0 and 1"),
        ({"group": "group", "quartiles": "excel2"}, "unknown quartile definition 'excel2'"),
    ],
)
def test_bad_arguments(kwargs, message):
    f = pd.DataFrame({"group": ["A", "A", "A", "B", "B", "B"], "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.5]})
    with pytest.raises(InputError) as exc:
        table1(f, **kwargs)
    assert message in str(exc.value)


def test_not_a_frame():
    with pytest.raises(InputError, match="expected a pandas DataFrame"):
        table1({"group": [1]}, "group")
    with pytest.raises(InputError, match="the table has no rows"):
        table1(pd.DataFrame({"group": []}), "group")


# ---------------------------------------------------------------------------
# Table 2
# ---------------------------------------------------------------------------


def test_table2_pairs_side_by_side_agree_with_r():
    base = data("cohort_synthetic_baseline")
    t2 = table2(base, "group", pairs=[("A", "C"), ("B", "D")])
    d = t2.to_dict()
    assert [p["pair"] for p in d["pairs"]] == [["A", "C"], ["B", "D"]]
    for pair, tab in zip((["A", "C"], ["B", "D"]), t2.tables):
        for e in REF["continuous"]:
            if e["groups"] == pair:
                row = tab.row(e["variable"])
                assert row.test == e["rule"]["test"]
                close(row.pval, e["rule"]["pval"])
    f = t2.to_frame()
    assert list(f.columns) == ["variable", "A (n = 37)", "C (n = 28)", "p (A vs C)", "test (A vs C)",
                               "B (n = 27)", "D (n = 31)", "p (B vs D)", "test (B vs D)"]
    # tbil: median (Q1–Q3) for A vs C, mean ± SD for B vs D -> labelled by name only
    tb = f[f["variable"] == "tbil"].iloc[0]
    assert "–" in tb["A (n = 37)"] and "±" in tb["B (n = 27)"]
    # a missing row needed by one pair only reads 0 in the other
    rows = f.index[f["variable"] == "  missing, n"].tolist()
    assert any(f.loc[i, "A (n = 37)"] == "0" for i in rows)
    assert "Pair A vs C" in t2.summary()


def test_table2_bad_pairs():
    base = data("cohort_synthetic_baseline")
    with pytest.raises(InputError, match="each pair names two different groups"):
        table2(base, "group", pairs=[("A", "A")])
    with pytest.raises(InputError, match="pairs is empty"):
        table2(base, "group", pairs=[])
    with pytest.raises(InputError, match="value 'Q': group not found"):
        table2(base, "group", pairs="A:Q")


# ---------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------


@pytest.fixture
def cli():
    @click.group()
    def cohort():
        """test harness"""

    cohort.add_command(table1_cmd)
    cohort.add_command(table2_cmd)
    return cohort


def test_cli_table1_json_contract(cli, tmp_path):
    path = str(reference_path("cohort_synthetic_baseline", "cohort_stats.json"))
    docx, xlsx = tmp_path / "t1.docx", tmp_path / "t1.xlsx"
    res = CliRunner().invoke(cli, ["table1", path, "--group", "group", "--groups", "A,B", "--format", "json",
                                   "--docx", str(docx), "--xlsx", str(xlsx)])
    assert res.exit_code == 0, res.output
    obj = json.loads(res.output)
    assert obj["groups"] == ["A", "B"] and obj["rows"][1]["variable"] == "age"
    assert obj["rows"][1]["test"] == "student_t"
    assert docx.stat().st_size > 0 and xlsx.stat().st_size > 0
    res = CliRunner().invoke(cli, ["table1", path, "--group", "group", "--welch", "--exact", "--format", "csv"])
    assert res.exit_code == 0 and res.output.startswith("variable,A (n = 37),B (n = 27),C (n = 28),D (n = 31),p,test")
    res = CliRunner().invoke(cli, ["table1", path, "--group", "group", "--groups", "A,Q"])
    assert isinstance(res.exception, InputError) and "value 'Q'" in str(res.exception)


def test_cli_table2(cli):
    path = str(reference_path("cohort_synthetic_baseline", "cohort_stats.json"))
    res = CliRunner().invoke(cli, ["table2", path, "--group", "group", "--pairs", "A:C,B:D", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert [p["pair"] for p in json.loads(res.output)["pairs"]] == [["A", "C"], ["B", "D"]]
    res = CliRunner().invoke(cli, ["table2", path, "--group", "group", "--pairs", "A-C"])
    assert res.exit_code == 2 and "pairs look like A:C,B:D" in res.output


@pytest.mark.parametrize("cmd", [table1_cmd, table2_cmd])
def test_cli_help_has_examples(cmd):
    res = CliRunner().invoke(cmd, ["--help"])
    assert res.exit_code == 0 and "Example" in res.output
