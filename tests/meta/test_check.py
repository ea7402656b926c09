"""Reported-statistics check, with the review's own printed results as the test case."""

from __future__ import annotations

import pandas as pd
import pytest

from hepatostat import datasets
from hepatostat.errors import InputError
from hepatostat.meta.check import check_reported, parse_p


def _one(**kw):
    row = {"label": "x", "measure": "SMD", "estimate": "0.5", "ci_low": "0.1", "ci_high": "0.9", "p": None}
    row.update(kw)
    return check_reported(pd.DataFrame([row])).frame.iloc[0]


def test_review_examples_named_in_the_issue_are_flagged():
    # Liu et al. 2022 text: "SMD 0.16, 95% CI −0.31 to −0.63", "SMD −0.091, 95% CI −1.20 to −0.61" and
    # "SMD 0.35, 95% CI −0.04 to 0.75; P < 0.001" cannot all be right.
    data = pd.read_csv(datasets.path("liu2022_reported"), dtype=str)
    out = check_reported(data).frame.set_index("label")
    assert not out.loc["TBIL baseline", "ok"] and "outside its CI" in out.loc["TBIL baseline", "problems"]
    assert not out.loc["MELD 24 weeks", "ok"] and "outside its CI" in out.loc["MELD 24 weeks", "problems"]
    assert not out.loc["PTA 12 weeks", "ok"] and "inconsistent with the CI" in out.loc["PTA 12 weeks", "problems"]
    # results that are consistent stay unflagged, e.g. survival OR 1.29 (1.03-1.60), P = 0.023
    assert out.loc["Survival (all time points)", "ok"]
    assert out.loc["MELD 4 weeks", "ok"]


def test_implied_se_and_p_follow_the_handbook():
    # Cochrane Handbook 6.3.1: SE = (upper - lower)/3.92 for a 95% CI; OR on the log scale
    r = _one(measure="OR", estimate="1.29", ci_low="1.03", ci_high="1.60", p="0.023")
    import math

    se = (math.log(1.60) - math.log(1.03)) / (2 * 1.959963984540054)
    assert r["se_implied"] == pytest.approx(se, rel=1e-12)
    assert r["ok"]


def test_rounding_is_allowed_for():
    # 0.42 (-0.82 to -0.02) gives p = 0.0396 from central values; reported 0.037 is within rounding
    assert _one(estimate="-0.42", ci_low="-0.82", ci_high="-0.02", p="0.037")["ok"]
    assert not _one(estimate="-0.42", ci_low="-0.82", ci_high="-0.02", p="0.30")["ok"]


def test_asymmetric_ci_is_flagged():
    r = _one(estimate="0.5", ci_low="0.1", ci_high="1.5")
    assert not r["ok"] and "not symmetric" in r["problems"]


def test_parse_p_forms():
    assert parse_p("<0.001") == (0.0, 0.001)
    assert parse_p("P = 0.023") == pytest.approx((0.0225, 0.0235))
    assert parse_p("NS") == (0.05, 1.0)
    assert parse_p("> 0.05") == (0.05, 1.0)


@pytest.mark.parametrize("kw, match", [
    ({"p": "abc"}, "p-value not understood"),
    ({"p": "1.5"}, r"p-value must be in \(0, 1\]"),
    ({"estimate": "x"}, "estimate is not a number"),
    ({"measure": "XYZ"}, "unknown measure"),
    ({"measure": "OR", "ci_low": "-0.1"}, "OR values must be > 0"),
    ({"level": "95"}, r"level must be in \(0, 1\)"),
])
def test_bad_input(kw, match):
    with pytest.raises(InputError, match=match):
        _one(**kw)


def test_zero_width_ci_is_flagged():
    r = _one(estimate="0.5", ci_low="0.5", ci_high="0.5")
    assert not r["ok"] and "zero width" in r["problems"]
