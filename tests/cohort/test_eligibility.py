"""Criteria files, attrition, groups, and the flow diagram."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hepatostat.cohort import bundled_criteria, build_cohort, eligibility, load_criteria, parse_criteria, person_fields
from hepatostat.errors import InputError

from .tiny_cohort import TINY_CRITERIA, tiny_data, tiny_spec


def _adds_up(steps: pd.DataFrame):
    assert (steps["n_after"] == steps["n_before"] - steps["n_excluded"]).all()
    assert (steps["n_before"].iloc[1:].to_numpy() == steps["n_after"].iloc[:-1].to_numpy()).all()
    assert steps["n_excluded"].sum() == steps["n_before"].iloc[0] - steps["n_after"].iloc[-1]


def test_attrition_of_the_tiny_cohort():
    res = build_cohort(tiny_data(), tiny_spec())
    steps = res.attrition.steps
    _adds_up(steps)
    got = dict(zip(steps["criterion"], steps["n_excluded"]))
    assert got == {"screened": 0, "infusion_record": 1, "hbsag": 1, "dx": 0, "age": 1, "cancer": 0,
                   "no_group": 0, "baseline": 1}
    assert res.attrition.n_screened == 7 and res.attrition.n_included == 3
    per = res.attrition.persons.set_index("person_id")
    assert per.loc["P6", "criterion"] == "infusion_record"
    assert per.loc["P7", "reason"] == "not met: HBsAg > 6 months (missing: hbsag_months)"
    assert per.loc["P5", "criterion"] == "age"
    assert per.loc["P4", "stage"] == "baseline" and "bilirubin" in per.loc["P4", "reason"]
    assert steps.set_index("criterion").loc["hbsag", "n_missing"] == 1
    assert dict(zip(res.attrition.groups["group"], res.attrition.groups["n"])) == {"A": 1, "B": 0, "C": 0, "D": 2}


def test_every_excluded_person_is_in_the_exclusion_log():
    res = build_cohort(tiny_data(), tiny_spec())
    log = res.exclusions[res.exclusions["table"] == "person"]
    assert sorted(log["person_id"]) == ["P4", "P5", "P6", "P7"]
    p4 = log[log["person_id"] == "P4"].iloc[0]
    assert p4["stage"] == "baseline" and p4["reason"].startswith("no baseline value within 14 days")


def test_a_person_is_counted_at_the_first_failing_step_only():
    t = tiny_data()
    persons = t.persons.copy()
    persons.loc[persons["person_id"] == "P5", "liver_cancer"] = True  # P5 fails age and cancer
    data = type(t)(persons, t.treatments, t.labs, t.exclusions, t.time_axis)
    att = eligibility(data, tiny_spec())
    p5 = att.persons.set_index("person_id").loc["P5"]
    assert p5["criterion"] == "age" and p5["failed"] == "age;cancer"
    assert dict(zip(att.steps["criterion"], att.steps["n_excluded"]))["cancer"] == 0


def test_derived_fields():
    f = person_fields(tiny_data()).set_index("person_id")
    assert f.loc["P1", "n_infusions"] == 8 and f.loc["P1", "course_weeks"] == 8
    assert f.loc["P2", "course_weeks"] == 4
    assert f.loc["P5", "age"] == 65 and f.loc["P2", "age"] == 45  # birthday on the day of the first infusion
    assert f.loc["P6", "n_infusions"] == 0 and np.isnan(f.loc["P6", "course_weeks"])


def test_criteria_naming_unknown_fields_are_refused():
    spec = parse_criteria(dict(TINY_CRITERIA, exclusion=[{"id": "hcc", "when": "hcc_diagnosed"}]))
    with pytest.raises(InputError, match=r"exclusion criterion 'hcc' \(hcc_diagnosed\) names unknown field\(s\) 'hcc_diagnosed'"):
        eligibility(tiny_data(), spec)


def test_unsafe_condition_in_a_criteria_file_is_refused(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text('[[inclusion]]\nid = "x"\nwhen = "__import__(\'os\').system(\'echo hi\')"\n')
    with pytest.raises(InputError, match="inclusion criterion 'x'.*names starting with '_' are not allowed"):
        load_criteria(f)


def test_criteria_file_errors(tmp_path):
    f = tmp_path / "typo.toml"
    f.write_text('[[inclusions]]\nid = "x"\nwhen = "age > 1"\n')
    with pytest.raises(InputError, match="unknown key\\(s\\) inclusions"):
        load_criteria(f)
    f.write_text('[visits]\n[[visits.window]]\nweek = 1\ntolerance_days = 3\n[[visits.window]]\nweek = 2\ntolerance_days = 5\n')
    with pytest.raises(InputError, match="overlap"):
        load_criteria(f)
    # any lab test of the data may be an outcome (issue 15); a name that cannot be a test is still an error here,
    # and a test the data lack is an error when the visits are built (test_any_lab.py)
    f.write_text('[visits]\noutcomes = ["2+x"]\n')
    with pytest.raises(InputError, match="outcome '2\\+x' is not a test name"):
        load_criteria(f)
    with pytest.raises(InputError, match="bundled: .*seed_jia2020"):
        load_criteria("no_such_set")
    y = tmp_path / "c.yaml"
    y.write_text("inclusion: []\n")
    try:
        import yaml  # noqa: F401
    except ImportError:
        with pytest.raises(InputError, match="needs PyYAML"):
            load_criteria(y)


def test_overlapping_groups_are_refused():
    spec = parse_criteria(dict(TINY_CRITERIA, group=[{"id": "X", "when": "age > 1"}, {"id": "Y", "when": "age > 30"}]))
    with pytest.raises(InputError, match="groups 'X' and 'Y' overlap for person_id 'P1'"):
        eligibility(tiny_data(), spec)


def test_seed_criteria_are_bundled_and_follow_the_paper():
    assert "seed_jia2020" in bundled_criteria()
    spec = load_criteria("seed_jia2020")
    assert [c.id for c in spec.inclusion] == ["inc_A", "inc_B", "inc_C"]
    assert [c.id for c in spec.exclusion] == [f"exc_{x}" for x in "ABCDEFGH"]
    assert [g.id for g in spec.groups] == ["A", "B", "C", "D"]
    assert spec.inclusion[2].text == "age between 16 and 60"
    assert spec.visits.visits == ("W0", "W1", "W4", "W12", "W24")
    assert [(w.low, w.high) for w in spec.visits.windows[1:]] == [(4, 10), (21, 35), (70, 98), (140, 196)]
    assert spec.to_dict()["groups"][0]["when"] == "diagnosis == 'liver_failure' and course_weeks > 4"


def test_flow_diagram_writes_png_and_svg(tmp_path):
    import matplotlib.pyplot as plt

    res = build_cohort(tiny_data(), tiny_spec())
    fig = res.plot(tmp_path / "flow")
    plt.close(fig)
    for suffix in (".png", ".svg"):
        p = Path(tmp_path / f"flow{suffix}")
        assert p.exists() and p.stat().st_size > 5000


def test_attrition_summary_and_dict():
    att = eligibility(tiny_data(), tiny_spec())
    d = att.to_dict()
    assert d["n_screened"] == 7 and d["steps"][0]["criterion"] == "screened"
    assert "Screened 7, included 4" in att.summary()  # baseline is checked by build_cohort
