"""Real exports into the cohort tables (issue 15 items 1 and 3, issue 14 cohort items).

The messy file is tests/cohort/data/pbc_like_visits.csv: SYNTHETIC values shaped
like the Mayo PBC visit data (see tests/cohort/pbc_like.py): one row per visit,
person_id, semicolon separator, decimal commas, Windows-1252, a blank line.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hepatostat.cli import main
from hepatostat.cohort import describe
from hepatostat.errors import InputError
from hepatostat.io import read_table

DATA = Path(__file__).with_name("data")
PBC = DATA / "pbc_like_visits.csv"
PBC_DICT = DATA / "pbc_like_dictionary.toml"


@pytest.fixture
def run(capsys):
    def _run(*args):
        status = main([str(a) for a in args])
        out = capsys.readouterr()
        return status, out.out + out.err
    return _run


@pytest.fixture(scope="module")
def baseline_file(tmp_path_factory):
    """The day-0 rows of the PBC-like export, written back in the same messy form."""
    f = read_table(PBC)
    base = f[f["day"] == 0]
    p = tmp_path_factory.mktemp("pbc") / "baseline.csv"
    base.to_csv(p, sep=";", decimal=",", index=False, encoding="cp1252")
    return p


def test_table1_on_a_visit_file_stops_because_the_id_repeats(run):
    # regression (issue 15): 1,945 visits were described as patients
    code, out = run("cohort", "table1", PBC, "--group", "trt")
    assert code == 1
    assert out.startswith("Error:")
    assert "column 'person_id'" in out and "the id repeats" in out
    assert "rows for 40 patients" in out
    assert "hepatostat cohort build" in out and "day" in out


@pytest.mark.parametrize("name", ["id", "patient_id", "Patient ID", "subject_id"])
def test_id_columns_under_other_names_are_detected(name):
    frame = pd.DataFrame({name: [1, 1, 2, 3], "g": ["A", "A", "B", "B"], "x": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(InputError, match="the id repeats: 4 rows for 3 patients"):
        describe.table1(frame, "g")


def test_id_none_skips_the_check():
    frame = pd.DataFrame({"id": [1, 1, 2, 3], "g": ["A", "A", "B", "B"], "x": [1.0, 2.0, 3.0, 4.0]})
    res = describe.table1(frame, "g", id="none", variables=["x"])
    assert res.n == {"A": 2, "B": 2}


def test_table1_reads_the_semicolon_export_with_labels(baseline_file, run):
    code, out = run("cohort", "table1", baseline_file, "--group", "trt", "--dictionary", PBC_DICT, "--format", "json")
    assert code == 0, out
    obj = json.loads(out)
    assert obj["groups"] == ["D-penicillamine", "placebo"]  # groups shown by label
    assert sum(obj["n"].values()) == 40
    assert any("semicolon" in n for n in obj["read_notes"])
    assert any("decimal comma" in n for n in obj["read_notes"])
    rows = {r["variable"]: r for r in obj["rows"]}
    assert "person_id" not in rows and "comment" not in rows and "day" in rows
    assert rows["bili"]["kind"] == "continuous"
    assert rows["stage"]["kind"] == "categorical"  # few-level rule
    assert rows["edema"]["kind"] == "categorical"  # declared, with labels
    assert any("at most 5 distinct whole numbers" in n and "stage" in n for n in obj["notes"])


def test_table_output_prints_the_read_notes(baseline_file, run):
    code, out = run("cohort", "table1", baseline_file, "--group", "trt")
    assert code == 0, out
    assert "Read: separator: semicolon (sniffed)" in out
    assert "Read: encoding: not valid UTF-8" in out


def test_zero_one_rule_and_override():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"g": ["A", "B"] * 5, "ascites": [0, 1, 0, 0, 1, 0, 1, 1, 0, 0],
                          "x": rng.normal(size=10)})
    res = describe.table1(frame, "g")
    assert res.row("ascites").kind == "categorical"
    assert any("0/1" in n for n in res.notes)
    res2 = describe.table1(frame, "g", continuous=["ascites"])
    assert res2.row("ascites").kind == "continuous"
    res3 = describe.table1(frame, "g", auto_categorical=False)
    assert res3.row("ascites").kind == "continuous"


def test_rows_of_groups_not_compared_are_listed():
    frame = pd.DataFrame({"g": ["A", "B", "C", "C", None], "x": [1.0, 2.0, 3.0, 4.0, 5.0]})
    res = describe.table1(frame, "g", groups=["A", "B"])
    assert "2 row(s) of groups not compared left out: C (2)" in res.notes
    assert res.to_dict()["excluded"] == [{"row": 6, "reason": "missing g"}]


def test_table1_reads_spss(tmp_path, run):
    pyreadstat = pytest.importorskip("pyreadstat")
    df = pd.DataFrame({"trt": [1.0, 2.0] * 6, "bili": np.linspace(0.5, 6.0, 12)})
    p = tmp_path / "pbc.sav"
    pyreadstat.write_sav(df, str(p), variable_value_labels={"trt": {1.0: "D-penicillamine", 2.0: "placebo"}})
    code, out = run("cohort", "table1", p, "--group", "trt", "--format", "json")
    assert code == 0, out
    assert json.loads(out)["groups"] == ["D-penicillamine", "placebo"]


def test_overtime_on_study_days_given_as_weeks_stops_with_a_hint(run):
    # regression (issue 15): --week day made 1,024 "visits" of 0-1 patients without a word
    code, out = run("cohort", "overtime", PBC, "--outcomes", "bili", "--week", "day", "--group", "trt")
    assert code == 1
    assert "named in days but the visit times are read as weeks" in out and "--time-unit day" in out, out


def test_day_numbers_in_a_column_not_named_by_unit_stop_by_their_range(tmp_path, run):
    p = tmp_path / "v.csv"
    rows = [(i, d, "A", 10.0 - d / 1000 + i * 0.1) for i in range(1, 7) for d in (0, 180, 3650)]
    pd.DataFrame(rows, columns=["person_id", "visit", "group", "tbil"]).to_csv(p, index=False)
    code, out = run("cohort", "overtime", p, "--outcomes", "tbil", "--week", "visit")
    assert code == 1
    assert "more than 10 years after baseline" in out and "--time-unit day" in out, out


def test_days_zero_to_a_year_read_as_weeks_stop_by_the_column_name(tmp_path, run):
    # regression: days 0-365 in a column named "study_day" passed as seven years of weekly visits
    p = tmp_path / "v.csv"
    rows = [(i, d, "A", 10.0 - d / 100 + i * 0.1) for i in range(1, 7) for d in (0, 30, 90, 365)]
    pd.DataFrame(rows, columns=["person_id", "study_day", "group", "tbil"]).to_csv(p, index=False)
    code, out = run("cohort", "overtime", p, "--outcomes", "tbil", "--week", "study_day")
    assert code == 1 and "--time-unit day" in out, out
    code, out = run("cohort", "overtime", p, "--outcomes", "tbil", "--week", "study_day", "--time-unit", "day")
    assert code == 0 and "D30: n = 6" in out, out


@pytest.mark.parametrize("name,unit", [("day", "day"), ("Study Day", "day"), ("weeks_fu", "week"), ("wk", "week"),
                                       ("month", "month"), ("visit", None), ("day_or_week", None)])
def test_unit_in_name(name, unit):
    from hepatostat.cohort.timeunits import unit_in_name

    assert unit_in_name(name) == unit


def test_overtime_with_hundreds_of_distinct_days_stops_with_a_hint(run):
    code, out = run("cohort", "overtime", PBC, "--outcomes", "bili", "--week", "day", "--time-unit", "day",
                    "--group", "trt")
    assert code == 1
    assert "distinct visit times" in out and "visit windows" in out


def test_overtime_weeks_with_a_non_number_is_an_error(tmp_path, run):
    # regression (issue 14): --weeks 0,x crashed
    p = tmp_path / "v.csv"
    pd.DataFrame({"person_id": [1, 1, 2, 2], "week": [0, 4, 0, 4], "group": "A", "tbil": [5.0, 4.0, 6.0, 3.0]}).to_csv(p, index=False)
    for bad in ("0,x", "0,nan"):
        code, out = run("cohort", "overtime", p, "--outcomes", "tbil", "--weeks", bad)
        assert code == 1 and out.startswith("Error:") and "finite number" in out, out


def test_time_unit_month_labels(tmp_path, run):
    p = tmp_path / "v.csv"
    rows = [(i, m, "A", 10.0 - m * 0.5 + i * 0.1) for i in range(1, 7) for m in (0, 3, 6)]
    pd.DataFrame(rows, columns=["person_id", "month", "group", "tbil"]).to_csv(p, index=False)
    code, out = run("cohort", "overtime", p, "--outcomes", "tbil", "--week", "month", "--time-unit", "month")
    assert code == 0, out
    assert "M3: n = 6" in out and "baseline month 0" in out


def test_overtime_lists_rows_of_groups_not_analysed():
    from hepatostat.cohort import over_time

    rows = [(i, w, "A" if i <= 4 else "B", 10.0 - w + i * 0.1) for i in range(1, 7) for w in (0, 4)]
    frame = pd.DataFrame(rows, columns=["person_id", "week", "group", "tbil"])
    res = over_time(frame, "tbil", groups=["A"])
    assert "4 row(s) of groups not analysed left out: B (4)" in res.notes
