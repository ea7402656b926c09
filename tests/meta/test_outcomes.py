"""Outcomes × time points from one long table, with the baseline check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hepatostat.errors import InputError
from hepatostat.meta import effects, pool
from hepatostat.meta.outcomes import outcome_table

from refdata import reference_data


def _long():
    """Two outcomes: LOS (continuous, 3 time points) and TB (binary, 1 time point)."""
    norm = reference_data("normand1999")
    base = norm.copy()
    base["m1"] = base["m2"] + 0.01  # no difference at baseline
    parts = [base.assign(outcome="LOS", timepoint="baseline", measure="SMD"),
             norm.assign(outcome="LOS", timepoint="W4", measure="SMD"),
             norm.iloc[:5].assign(outcome="LOS", timepoint="W12", measure="SMD"),
             reference_data("bcg").drop(columns=["ablat", "year", "alloc"]).assign(outcome="TB", timepoint="W4", measure="OR")]
    return pd.concat(parts, ignore_index=True)


def test_each_analysis_equals_its_own_pool():
    tab = outcome_table(_long(), method="REML")
    assert tab.keys == (("LOS", "baseline"), ("LOS", "W4"), ("LOS", "W12"), ("TB", "W4"))
    direct = pool(effects(reference_data("normand1999").iloc[:5], "SMD"), "REML")
    assert tab.results[2].estimate == pytest.approx(direct.estimate, rel=1e-12)
    tb = pool(effects(reference_data("bcg"), "OR"), "REML")
    frame = tab.to_frame()
    assert frame.loc[3, "estimate"] == pytest.approx(np.exp(tb.estimate), rel=1e-12)  # ratios reported exponentiated
    assert list(frame["k"]) == [9, 9, 5, 13]


def test_auto_method_reports_model_per_analysis():
    frame = outcome_table(_long()).to_frame()
    assert frame["model"].str.contains("random effects|fixed effect").all()


def test_baseline_difference_flags_later_time_points():
    data = _long()
    base = data["timepoint"] == "baseline"
    data.loc[base, "m1"] = data.loc[base, "m2"] + 30  # groups differ at baseline
    tab = outcome_table(data, method="FE")
    assert tab.flags[0] is None
    assert tab.flags[1].startswith("not comparable at baseline") and tab.flags[2].startswith("not comparable")
    assert tab.flags[3] is None  # other outcome untouched
    assert any("not comparable at baseline" in s for s in tab.sentences())


def test_named_baseline_label():
    data = _long().replace({"timepoint": {"baseline": "Pre-treatment"}})
    data.loc[data["timepoint"] == "Pre-treatment", "m1"] += 30
    tab = outcome_table(data, method="FE", baseline="pre-treatment")
    assert tab.flags[1] is not None


def test_inestimable_analysis_is_reported_not_fatal():
    data = _long()
    data.loc[data["timepoint"] == "W12", "sd1"] = np.nan
    tab = outcome_table(data, method="REML")
    assert tab.results[2] is None and "no studies left" in tab.errors[2]


def test_bad_input():
    with pytest.raises(InputError, match="column 'outcome' not found"):
        outcome_table(reference_data("bcg"), "OR")
    data = _long().drop(columns="measure")
    with pytest.raises(InputError, match="give a measure"):
        outcome_table(data)
    data = _long()
    data.loc[0, "measure"] = "OR"
    with pytest.raises(InputError, match="more than one measure"):
        outcome_table(data)
