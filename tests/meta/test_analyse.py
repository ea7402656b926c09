"""meta.analyse(): one bundle of pool, subgroups, leave-one-out, bias, regression, cumulative.

Each step must equal the result of calling it alone (those are checked against metafor elsewhere).
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from hepatostat.cli import main
from hepatostat.meta import AnalysisSpec, analyse, effects, pool
from hepatostat.meta.regression import meta_regression
from hepatostat.meta.sensitivity import leave_one_out

from refdata import reference_data, reference_path


def test_bundle_equals_the_steps_alone():
    data = reference_data("bcg")
    spec = AnalysisSpec("RR", subgroups=("alloc",), regression="~ ablat", cumulative="year", influence=True)
    out = analyse(data, spec)
    es = effects(data, "RR")
    alone = pool(es, "REML")
    assert out.pooled.estimate == alone.estimate and out.pooled.tau2 == alone.tau2
    assert out.leave_one_out.frame["estimate"].tolist() == leave_one_out(alone).frame["estimate"].tolist()
    assert list(out.regression.estimate) == list(meta_regression(es, "~ ablat").estimate)
    assert out.subgroups[0].by == "alloc" and out.cumulative.frame["k"].iloc[-1] == 13
    assert out.bias is not None and out.influence is not None and out.skipped == ()
    d = out.to_dict()
    assert d["pool"]["k"] == 13 and d["convention"] == "metafor"
    with pytest.raises(dataclasses.FrozenInstanceError):
        out.pooled = None


def test_a_step_that_cannot_be_estimated_is_skipped_not_fatal():
    data = reference_data("bcg").iloc[:2]
    out = analyse(data, AnalysisSpec("RR"))
    assert out.bias is None and out.leave_one_out is not None
    assert [s for s, _ in out.skipped] == ["publication bias"]


def test_cli_analyse(capsys):
    status = main(["meta", "analyse", str(reference_path("bcg")), "--measure", "RR", "--by", "alloc", "--mods",
                   "~ ablat", "--cumul", "year", "--format", "json"])
    d = json.loads(capsys.readouterr().out)
    assert status == 0 and d["pool"]["k"] == 13 and d["regression"]["coefficients"][1]["term"] == "ablat"
    assert d["subgroups"][0]["by"] == "alloc" and len(d["cumulative"]["rows"]) == 13
