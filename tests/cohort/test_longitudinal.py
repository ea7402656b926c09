"""Tests of hepatostat.cohort.longitudinal (Figure 1, Table 3) against R 4.2.

Reference values: tests/reference/cohort_stats.json (entries ``friedman``,
``signed_rank``, ``signed_rank_paired`` and ``changes``), written by
tests/reference/cohort_stats.R with ``friedman.test(m[complete.cases(m), ])``,
``wilcox.test(x0, xt, paired = TRUE, exact = FALSE, correct = TRUE)``,
``p.adjust(p, "holm"/"BH")``, and for Table 3 ``t.test(var.equal = TRUE)``
or ``wilcox.test(exact = FALSE, correct = TRUE)`` on per-patient declines.
"""

from __future__ import annotations

import json
import math

import click
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from hepatostat.cli.cohort_stats import changes_cmd, overtime_cmd
from hepatostat.cohort.describe import signed_rank
from hepatostat.cohort.longitudinal import changes, friedman_test, over_time, patient_declines
from hepatostat.cohort.models import adjust_pvalues
from hepatostat.errors import InputError

from refdata import reference, reference_data, reference_path

REF = reference("cohort_stats.json")
# Closed forms (rank statistics, normal and chi-square tails, medians,
# quantiles): double-precision rounding only, ~1e-13; see test_describe.
RTOL = 1e-9
# Shapiro-Wilk P values: scipy's and R's AS R94 agree to ~1e-8 (see test_describe).
RTOL_SW = 1e-6


def close(actual, expected, rtol=RTOL, what=""):
    if expected is None:
        assert actual is None or not np.isfinite(actual), f"{what}: expected NA, got {actual}"
        return
    assert math.isclose(actual, expected, rel_tol=rtol), f"{what}: {actual!r} != {expected!r}"


@pytest.fixture(scope="module")
def long():
    return reference_data("cohort_synthetic_long", "cohort_stats.json")


@pytest.fixture(scope="module")
def over(long):
    return {by: over_time(long, ["tbil", "alt", "meld"], group=by) for by in ("disease", "group")}


@pytest.fixture(scope="module")
def table3(long):
    return changes(long, ["tbil", "alt", "meld"], pairs=[("A", "B"), ("C", "D"), ("A", "C"), ("B", "D")])


@pytest.mark.parametrize("i", range(len(REF["friedman"])),
                         ids=[f"{f['outcome']}-{f['group']}" for f in REF["friedman"]])
def test_over_time_agrees_with_r(over, i):
    f, s = REF["friedman"][i], REF["signed_rank"][i]
    ser = over[f["by"]].get(f["outcome"], f["group"])
    # complete cases counted and reported
    assert ser.n_complete == f["n_complete"] and ser.n_patients == f["n_any"]
    close(ser.friedman.statistic, f["statistic"], what="Friedman chi2")
    assert ser.friedman.df == (f["df"],)
    close(ser.friedman.pval, f["pval"], what="Friedman p")
    for v, rv in zip(ser.visits, s["visits"]):
        assert v.week == rv["week"] and v.n == rv["n"]
        close(v.statistic, rv["statistic"], what=f"V week {v.week}")
        close(v.pval, rv["pval"], what=f"p week {v.week}")
        close(v.pval_adj, rv["pval_holm"], what=f"Holm week {v.week}")
    bh = adjust_pvalues([v.pval for v in ser.visits], "BH")
    for a, rv in zip(bh, s["visits"]):
        close(a, rv["pval_BH"], what="BH")


def test_over_time_n_per_visit_and_frame(over, long):
    ser = over["group"].get("tbil", "A")
    a = long[long["group"] == "A"]
    assert ser.n == tuple(int(a.loc[a["week"] == w, "tbil"].notna().sum()) for w in (0, 1, 4, 12, 24))
    frame = over["group"].to_frame()
    assert len(frame) == 3 * 4 * 5
    row = frame[(frame.outcome == "tbil") & (frame.group == "A") & (frame.week == 0)].iloc[0]
    assert row["n"] == ser.n[0] and np.isnan(row["p_vs_baseline"])
    d = json.loads(json.dumps(over["group"].to_dict(), allow_nan=False))
    assert d["series"][0]["friedman"]["n_complete"] + d["series"][0]["friedman"]["n_incomplete"] == ser.n_patients
    assert "Friedman" in over["group"].summary()


def test_signed_rank_exact_and_approximate_agree_with_r():
    e = REF["signed_rank_paired"]
    d = reference_data("cohort_synthetic_paired", "cohort_stats.json")
    r = signed_rank(d["before"], d["after"], exact=True)
    assert r.method == "exact"
    close(r.statistic, e["exact"]["statistic"])
    close(r.pval, e["exact"]["pval"])
    r = signed_rank(d["before"], d["after"])
    close(r.statistic, e["approx"]["statistic"])
    close(r.pval, e["approx"]["pval"])


def test_friedman_with_two_visits_and_degenerate_matrix():
    m = np.array([[1.0, 2.0], [3.0, 5.0], [2.0, 1.0], [4.0, 6.0]])
    r = friedman_test(m)
    # two visits: chi2 = 12 sum (R_j - n(k+1)/2)^2 / (n k (k+1)) with R = (5, 7), n = 4, k = 2
    close(r.statistic, 12 * ((5 - 6) ** 2 + (7 - 6) ** 2) / (4 * 2 * 3))
    flat = friedman_test(np.ones((3, 3)))
    assert not np.isfinite(flat.pval) and "same value" in flat.note
    with pytest.raises(InputError, match="complete cases"):
        friedman_test([[1.0, np.nan], [2.0, 3.0]])


def test_over_time_without_groups_and_options(long):
    res = over_time(long, "tbil", group=None, weeks=[0, 4, 24], adjust="BH", exact=True)
    ser = res.get("tbil", "all")
    assert res.groups == ("all",) and ser.weeks == (0.0, 4.0, 24.0) and len(ser.visits) == 2
    raw = [v.pval for v in ser.visits]
    assert list(adjust_pvalues(raw, "BH")) == [v.pval_adj for v in ser.visits]


# ---------------------------------------------------------------------------
# Table 3
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("e", REF["changes"],
                         ids=[f"{e['outcome']}-{e['start']:g}-{e['end']:g}{'c' if e['cumulative'] else ''}"
                              for e in REF["changes"]])
def test_changes_agree_with_r(table3, e):
    c = table3.cell(e["outcome"], e["start"], e["end"], e["cumulative"])
    assert c.normal == e["normal"]
    for g, st in e["stats"].items():
        assert c.groups[g]["n"] == st["n"]
        for k in ("mean", "sd", "median", "q1", "q3"):
            close(c.groups[g][k], st[k], what=f"{g} {k}")
        close(c.groups[g]["shapiro_p"], st["shapiro_p"], RTOL_SW, f"{g} Shapiro-Wilk p")
    for p, rp in zip(c.pairs, e["pairs"]):
        assert (p.a, p.b, p.test) == (rp["a"], rp["b"], rp["test"])
        close(p.statistic, rp["statistic"], what=f"{p.label} statistic")
        close(p.pval, rp["pval"], what=f"{p.label} p")


def test_declines_are_earlier_minus_later(long):
    d = patient_declines(long, "tbil", 0, 24)
    one = d.iloc[0]
    pid = one["person_id"]
    v0 = long.loc[(long.person_id == pid) & (long.week == 0), "tbil"].item()
    v24 = long.loc[(long.person_id == pid) & (long.week == 24), "tbil"].item()
    assert one["decline"] == v0 - v24 and one["group"] == long.loc[long.person_id == pid, "group"].iloc[0]


def test_table3_frame_layout(table3):
    f = table3.to_frame(cumulative=False)
    assert list(f.columns) == ["outcome", "group", "W0–W1", "W1–W4", "W4–W12", "W12–W24"]
    assert list(f["group"][:8]) == ["A", "B", "C", "D", "P (A vs B)", "P (C vs D)", "P (A vs C)", "P (B vs D)"]
    c = table3.cell("alt", 0, 1)
    st = c.groups["A"]
    assert f.iloc[8]["W0–W1"] == f"{st['median']:g} ({st['q1']:g} to {st['q3']:g})"  # median (Q1 to Q3), zeros trimmed
    normal = table3.cell("tbil", 1, 4)
    assert normal.normal and "±" in f.iloc[0]["W1–W4"]
    assert f.iloc[4]["W4–W12"] == "0.002"
    cum = table3.to_frame(cumulative=True)
    assert list(cum.columns)[2:] == ["cumulative W0–W1", "cumulative W0–W4", "cumulative W0–W12", "cumulative W0–W24"]
    assert json.loads(json.dumps(table3.to_dict(), allow_nan=False))["definition"].startswith("decline = value at the earlier")


def test_table3_adjustment_and_intervals(long, table3):
    adj = changes(long, "tbil", pairs="A:B", intervals="0-4,4-24", cumulative=False, adjust="holm")
    assert [(c.start, c.end) for c in adj.cells] == [(0.0, 4.0), (4.0, 24.0)]
    raw = [c.pairs[0].pval for c in adj.cells]
    assert [c.pairs[0].pval_adj for c in adj.cells] == list(adjust_pvalues(raw, "holm"))
    assert adj.to_frame().iloc[4]["W0–W4"] == f"{adj.cells[0].pairs[0].pval_adj:.3f}"
    assert all(len(c.pairs) == 6 for c in changes(long, "meld", intervals=[(0, 24)]).cells)  # default: every pair


def test_changes_welch_and_forced_normality(long):
    c = changes(long, "meld", pairs=[("A", "B")], normality="assume_normal", welch=True, cumulative=False).cells[0]
    assert c.normal and c.pairs[0].test == "welch_t"


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------


def _toy():
    return pd.DataFrame({"person_id": ["p1", "p1", "p2", "p2", "p3", "p3"], "group": ["A", "A", "B", "B", "B", "B"],
                         "week": [0, 4, 0, 4, 0, 4], "tbil": [10.0, 8.0, 12.0, 11.0, 9.0, 7.5]})


def test_duplicate_visit_is_an_error():
    f = pd.concat([_toy(), _toy().iloc[[1]]], ignore_index=True)
    with pytest.raises(InputError) as exc:
        over_time(f, "tbil", source="visits.csv")
    assert "patient 'p1' has more than one row for week 4 (rows 3, 8)" in str(exc.value)
    assert exc.value.file == "visits.csv" and exc.value.row == 8


def test_missing_week_and_id_are_errors():
    f = _toy()
    f.loc[2, "week"] = np.nan
    with pytest.raises(InputError, match=r"row 4, column 'week': the visit week is missing"):
        changes(f, "tbil")
    f = _toy()
    f.loc[3, "person_id"] = None
    with pytest.raises(InputError, match=r"row 5, column 'person_id': the patient id is missing"):
        changes(f, "tbil")


def test_patient_in_two_groups_is_an_error():
    f = _toy()
    f.loc[1, "group"] = "B"
    with pytest.raises(InputError, match="patient 'p1' is in more than one group"):
        changes(f, "tbil")


def test_non_numeric_outcome_names_the_cell():
    f = _toy().astype({"tbil": object})
    f.loc[4, "tbil"] = "<5"
    with pytest.raises(InputError) as exc:
        over_time(f, "tbil")
    assert (exc.value.row, exc.value.column, exc.value.value) == (6, "tbil", "<5")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"outcomes": "ast"}, "column 'ast': outcome column not found"),
        ({"outcomes": []}, "name at least one outcome column"),
        ({"outcomes": "tbil", "intervals": "0-4,4-x"}, "intervals look like '0-1,1-4,4-12'; cannot read '4-x'"),
        ({"outcomes": "tbil", "intervals": [(4, 0)]}, "an interval must start before it ends"),
        ({"outcomes": "tbil", "intervals": [(0, 12)]}, "value 12.0: no visits at this week; weeks present: 0, 4"),
        ({"outcomes": "tbil", "pairs": [("A", "C")]}, "value 'C': group of a pair not among the groups (A, B)"),
        ({"outcomes": "tbil", "adjust": "sidak"}, "unknown multiplicity correction 'sidak'"),
        ({"outcomes": "tbil", "groups": ["A"]}, "at least two groups are needed"),
    ],
)
def test_changes_bad_arguments(kwargs, message):
    outcomes = kwargs.pop("outcomes")
    with pytest.raises(InputError) as exc:
        changes(_toy(), outcomes, **kwargs)
    assert message in str(exc.value)


def test_over_time_bad_weeks():
    with pytest.raises(InputError, match="value 2.0: no visits at this week"):
        over_time(_toy(), "tbil", weeks=[0, 2])
    with pytest.raises(InputError, match="baseline week is not among the weeks"):
        over_time(_toy(), "tbil", baseline=1)


# ---------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------


@pytest.fixture
def cli():
    @click.group()
    def cohort():
        """test harness"""

    cohort.add_command(changes_cmd)
    cohort.add_command(overtime_cmd)
    return cohort


def test_cli_changes_and_overtime(cli, tmp_path):
    path = str(reference_path("cohort_synthetic_long", "cohort_stats.json"))
    res = CliRunner().invoke(cli, ["changes", path, "--outcomes", "tbil", "--pairs", "A:B,C:D", "--no-cumulative",
                                   "--format", "json", "--plot", str(tmp_path / "fig"), "--xlsx", str(tmp_path / "t3.xlsx")])
    assert res.exit_code == 0, res.output
    obj = json.loads(res.output)
    assert [c["column"] for c in obj["cells"]] == ["W0–W1", "W1–W4", "W4–W12", "W12–W24"]
    assert (tmp_path / "fig_tbil_interval.png").exists() and (tmp_path / "fig_tbil_interval.svg").exists()
    assert not (tmp_path / "fig_tbil_cumulative.png").exists() and (tmp_path / "t3.xlsx").exists()
    res = CliRunner().invoke(cli, ["overtime", path, "--outcomes", "tbil", "--group", "disease", "--format", "csv"])
    assert res.exit_code == 0 and res.output.startswith("outcome,group,week,n,median")
    res = CliRunner().invoke(cli, ["overtime", path, "--outcomes", "tbil", "--group", "none", "--weeks", "0,4"])
    assert res.exit_code == 0 and "tbil — all" in res.output
    res = CliRunner().invoke(cli, ["changes", path, "--outcomes", "nope"])
    assert isinstance(res.exception, InputError) and "column 'nope'" in str(res.exception)


@pytest.mark.parametrize("cmd", [changes_cmd, overtime_cmd])
def test_cli_help_has_examples(cmd):
    res = CliRunner().invoke(cmd, ["--help"])
    assert res.exit_code == 0 and "Example" in res.output


def test_tidy_visit_table_is_accepted(long):
    # the layout of VisitTable.to_frame("long"): one row per patient, visit and outcome
    tidy = long.melt(id_vars=["person_id", "group", "disease", "week"], value_vars=["tbil", "meld"],
                     var_name="outcome", value_name="value")
    a = changes(tidy, ["tbil", "meld"], pairs="A:B")
    b = changes(long, ["tbil", "meld"], pairs="A:B")
    assert [c.pairs[0].pval for c in a.cells] == [c.pairs[0].pval for c in b.cells]
    assert over_time(tidy, "tbil").get("tbil", "A").n == over_time(long, "tbil").get("tbil", "A").n
    with pytest.raises(InputError, match="value 'alt': outcome not found; the outcomes are: meld, tbil"):
        changes(tidy, "alt")
    bad = pd.concat([tidy, tidy.iloc[[0]]], ignore_index=True)
    with pytest.raises(InputError, match="has more than one tbil value for week 0"):
        changes(bad, "tbil")
