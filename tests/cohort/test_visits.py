"""Visit windows, baseline, closest value, missing visits, declines and MELD per visit.

Expected values are worked out by hand in tests/cohort/tiny_cohort.py.
"""

from __future__ import annotations

import math
import sqlite3

import numpy as np
import pandas as pd
import pytest

from hepatostat import scores
from hepatostat.cohort import VISIT_SQL, VisitSpec, build_cohort, extract_visits, parse_criteria, visit_tables
from hepatostat.cohort.visits import run_visit_sql
from hepatostat.errors import InputError

from .tiny_cohort import TINY_CRITERIA, tiny_data, tiny_spec


@pytest.fixture(scope="module")
def built():
    return build_cohort(tiny_data(), tiny_spec())


def _value(long, pid, outcome, visit, col="value"):
    row = long[(long["person_id"] == pid) & (long["outcome"] == outcome) & (long["visit"] == visit)]
    assert len(row) == 1
    return row[col].iloc[0]


def test_baseline_is_the_last_value_within_the_lookback(built):
    long = built.visits.long
    assert _value(long, "P1", "bilirubin", "W0") == 11.0
    assert _value(long, "P1", "bilirubin", "W0", "t") == -1.0


def test_closest_value_in_window_and_ties_go_to_the_earlier(built):
    long = built.visits.long
    assert _value(long, "P1", "bilirubin", "W1") == 9.0  # day 5 and day 9 both 2 days from day 7
    assert _value(long, "P1", "bilirubin", "W1", "t") == 5.0
    assert _value(long, "P1", "bilirubin", "W4") == 6.0  # day 27 beats day 30
    assert _value(long, "P1", "bilirubin", "W24") == 2.0


def test_same_day_tie_takes_the_first_row_of_the_file(built):
    long = built.visits.long
    assert _value(long, "P2", "bilirubin", "W1") == pytest.approx(342 / 17.1)
    assert _value(long, "P2", "bilirubin", "W1", "source_row") == 15  # spreadsheet row of the first


def test_missing_visits_are_kept_and_not_imputed(built):
    long = built.visits.long
    p1 = long[(long["person_id"] == "P1") & (long["outcome"] == "bilirubin")]
    assert p1["visit"].tolist() == ["W0", "W1", "W4", "W12", "W24"]
    assert math.isnan(_value(long, "P1", "bilirubin", "W12"))
    assert math.isnan(_value(long, "P3", "bilirubin", "W1"))


def test_interval_and_cumulative_declines(built):
    long = built.visits.long
    p1 = long[(long["person_id"] == "P1") & (long["outcome"] == "bilirubin")].set_index("visit")
    assert p1.loc["W1", "interval"] == "W0-W1" and p1.loc["W1", "decline_interval"] == 2.0
    assert p1.loc["W4", "decline_interval"] == 3.0
    assert np.isnan(p1.loc["W12", "decline_interval"]) and np.isnan(p1.loc["W24", "decline_interval"])
    assert p1.loc["W1", "decline_cumulative"] == 2.0
    assert p1.loc["W4", "decline_cumulative"] == 5.0
    assert np.isnan(p1.loc["W12", "decline_cumulative"])
    assert p1.loc["W24", "decline_cumulative"] == 9.0
    assert np.isnan(p1.loc["W0", "decline_interval"]) and np.isnan(p1.loc["W0", "decline_cumulative"])
    wide = built.visits.wide.set_index("person_id")
    assert wide.loc["P1", "bilirubin_decline_W0_W1"] == 2.0
    assert wide.loc["P1", "bilirubin_cumdecline_W24"] == 9.0
    assert np.isnan(wide.loc["P1", "bilirubin_W12"])


def test_censored_value_is_used_at_its_limit_and_flagged(built):
    long = built.visits.long
    assert _value(long, "P1", "alt", "W24") == 5.0
    assert _value(long, "P1", "alt", "W24", "censored") == "<"


def test_meld_from_si_and_conventional_units_is_the_same(built):
    long = built.visits.long
    # 3.78 ln 10 + 11.2 ln 1.5 + 9.57 ln 2 + 6.43 = 26.31 -> 26
    assert _value(long, "P2", "meld", "W0") == 26
    assert _value(long, "P3", "meld", "W0") == 26
    assert scores.meld(10, 1.5, 2) == 26 and scores.meld(171, 1.5, 176.8, units="SI") == 26
    assert _value(long, "P2", "meld_na", "W0") == _value(long, "P3", "meld_na", "W0") == scores.meld_na(10, 1.5, 2, 130)
    assert _value(long, "P2", "creatinine", "W0") == pytest.approx(2.0)
    assert math.isnan(_value(long, "P1", "meld", "W0"))  # no INR/creatinine: missing, not computed


def test_groups_are_on_both_tables(built):
    assert set(built.visits.long.groupby("person_id")["group"].first().items()) == {("P1", "A"), ("P2", "D"), ("P3", "D")}
    wide = built.visits.wide
    assert wide["person_id"].tolist() == ["P1", "P2", "P3"] and wide["group"].tolist() == ["A", "D", "D"]
    assert wide.loc[0, "age"] == 39 and wide.loc[1, "age"] == 45


def test_visit_sql_runs_unchanged_on_sqlite():
    data = tiny_data()
    tables = visit_tables(data, ["P1", "P2", "P3", "P4"], VisitSpec.default())
    duck = run_visit_sql(tables)
    con = sqlite3.connect(":memory:")
    for name, frame in tables.items():
        frame.to_sql(name, con, index=False)
    lite = pd.read_sql_query(VISIT_SQL, con)
    con.close()
    cols = ["person_id", "test", "visit", "value", "row_id", "t"]
    pd.testing.assert_frame_equal(duck[cols].reset_index(drop=True), lite[cols].reset_index(drop=True),
                                  check_dtype=False)


def test_anchor_last_infusion_counts_follow_up_from_the_last_infusion():
    spec = dict(TINY_CRITERIA, visits=dict(TINY_CRITERIA["visits"], anchor="last_infusion"))
    res = build_cohort(tiny_data(), parse_criteria(spec))
    long = res.visits.long
    # P1's last infusion is day 49; its day-170 value is 121 days later: in no window (W12 ends at 98)
    assert math.isnan(_value(long, "P1", "bilirubin", "W24"))
    assert _value(long, "P1", "bilirubin", "W0") == 11.0  # baseline stays relative to the first infusion


def test_persons_without_an_infusion_cannot_be_placed():
    with pytest.raises(InputError, match="without an infusion record.*P6"):
        extract_visits(tiny_data(), ["P1", "P6"])


def test_summary_and_dict(built):
    text = built.visits.summary()
    assert "decline = earlier - later" in text and "bilirubin" in text
    d = built.visits.to_dict()
    assert d["n_persons"] == 3 and {"outcome", "visit", "group", "n", "n_observed"} <= set(d["completeness"][0])
    with pytest.raises(InputError, match="layout"):
        built.visits.to_frame("tall")
