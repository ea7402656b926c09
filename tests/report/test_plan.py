"""Plan files: validation names the key; files are checked before anything runs."""

from __future__ import annotations

import pytest

from hepatostat.errors import InputError
from hepatostat.report.plan import load_plan, parse_plan

GOOD = """
title = "t"
[meta]
data = "bundled:bcg"
[[meta.analysis]]
name = "BCG"
measure = "RR"
"""


def test_good_plan_parses():
    plan = parse_plan(GOOD)
    assert plan.title == "t" and plan.get("meta", "analysis")[0]["measure"] == "RR"


@pytest.mark.parametrize("text, message", [
    (GOOD.replace('measure = "RR"', 'measure = "RR"\nsubgrups = ["alloc"]'),
     "plan key 'meta.analysis[1].subgrups' is unknown"),
    (GOOD.replace('measure = "RR"', "measure = 3"), "plan key 'meta.analysis[1].measure' must be a string"),
    (GOOD.replace('title = "t"', ""), "plan key 'title' is missing"),
    (GOOD.replace('data = "bundled:bcg"', 'data = "bundled:nope"'), "plan key 'meta.data': no bundled data set 'nope'"),
    (GOOD.replace('data = "bundled:bcg"', 'data = "missing.csv"'), "plan key 'meta.data': file not found"),
    ('title = "t"\n', "the plan has nothing to run"),
    ('title = "t"\n[meta\n', "not valid TOML"),
    (GOOD.replace('name = "BCG"\n', ""), "plan key 'meta.analysis[1].name' is missing"),
    ('title = "t"\n[cohort]\nsource = "bundled:synthetic_cohort"\n', "plan key 'cohort.criteria' is missing"),
    ('title = "t"\n[meta]\n[[meta.analysis]]\nname = "x"\n', "plan key 'meta.analysis[1].data' is missing"),
])
def test_bad_plans_name_the_key(text, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        parse_plan(text, source="plan.toml")


def test_relative_paths_start_at_the_plan(tmp_path):
    (tmp_path / "data.csv").write_text("study,yi,vi\na,0.1,0.01\nb,0.2,0.02\n")
    (tmp_path / "plan.toml").write_text('title = "t"\n[meta]\ndata = "data.csv"\n[[meta.analysis]]\nname = "x"\nmeasure = "GEN"\n')
    plan = load_plan(tmp_path / "plan.toml")
    assert plan.resolve("data.csv", "meta.data") == tmp_path / "data.csv"


def test_missing_plan_file():
    with pytest.raises(InputError, match="plan file not found"):
        load_plan("nope.toml")


def test_typed_plan_objects_carry_their_defaults(tmp_path):
    # issue 12 item 5: typed plan objects with defaults, so the runner repeats no default
    from hepatostat.report.plan import AnalysisPlan, CohortPlan, MetaPlan, parse_plan

    text = ('title = "t"\n[cohort]\nsource = "bundled:synthetic_cohort"\ncriteria = "seed_jia2020"\n'
            'outcomes = ["alt"]\n[meta]\ndata = "bundled:bcg"\n[[meta.analysis]]\nname = "x"\nmeasure = "RR"\n')
    spec = parse_plan(text, base=tmp_path).spec
    assert isinstance(spec.cohort, CohortPlan) and spec.cohort.pairs == (("A", "B"), ("C", "D"), ("A", "C"), ("B", "D"))
    assert spec.cohort.variables == ("age", "sex", "alt_W0") and spec.cohort.ipw is None
    assert isinstance(spec.meta, MetaPlan) and spec.meta.method == "auto" and spec.review is None
    a = spec.meta.analysis[0]
    assert isinstance(a, AnalysisPlan) and a.forest and not a.bias and a.seed == 1 and a.heading == "x"
