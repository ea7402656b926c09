"""Subgroup analyses against R metafor 3.8-1.

Reference: tests/reference/meta_advanced.json ``subgroups``: per-level ``rma(subset=...)``,
the test for differences ``rma(estimate, sei=se, mods=~factor(level), method="FE")``
and the common-tau² model ``rma(yi, vi, mods=~factor(g))``.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from hepatostat.errors import InputError
from hepatostat.meta import effects
from hepatostat.meta.subgroup import subgroup_analysis

from refdata import REFERENCE, reference, reference_data

RTOL, ATOL = 1e-6, 1e-9  # DESIGN.md: agreement with metafor to 1e-6
REF = reference("meta_advanced.json")


def _close(a, b, what):
    if b is None:
        assert a is None, what
        return
    assert math.isclose(a, b, rel_tol=RTOL, abs_tol=ATOL), f"{what}: {a} != {b}"


@pytest.mark.parametrize("ref", REF["subgroups"], ids=lambda e: f"{e['dataset']}-{e['group']}-{e['method']}")
def test_subgroups_agree_with_metafor(ref):
    es = effects(pd.read_csv(REFERENCE / "data" / f"{ref['dataset']}.csv"), ref["measure"])
    sg = subgroup_analysis(es, ref["group"], ref["method"]).to_dict()
    ours = {s["level"]: s for s in sg["subgroups"]}
    for lv in ref["levels_fit"]:
        s = ours[lv["level"]]
        assert s["k"] == lv["k"]
        for key in ("estimate", "se", "ci_low", "ci_high", "pval", "tau2", "I2", "Q", "Q_pval"):
            _close(s[key], lv[key], f"{lv['level']} {key}")
    for key in ("Q_between", "Q_between_pval"):
        _close(sg[key], ref[key], key)
    assert sg["Q_between_df"] == ref["Q_between_df"]
    for key in ("tau2", "QM", "QMp"):
        _close(sg["common_tau2"][key], ref["common_tau2"][key], f"common {key}")


def test_subgroup_with_one_study_is_reported():
    data = reference_data("bcg")
    data.loc[0, "alloc"] = "quasi"
    sg = subgroup_analysis(effects(data, "RR"), "alloc", "REML")
    assert any("alloc = quasi has k = 1" in n for n in sg.notes)
    one = sg.results[sg.levels.index("quasi")]
    assert one.k == 1


def test_subgroup_column_problems():
    es = effects(reference_data("bcg"), "RR")
    with pytest.raises(InputError, match="subgroup column 'region' not found"):
        subgroup_analysis(es, "region")
    es1 = effects(reference_data("bcg").assign(alloc="random"), "RR")
    with pytest.raises(InputError, match="needs at least two"):
        subgroup_analysis(es1, "alloc")


def test_missing_subgroup_values_are_listed():
    data = reference_data("bcg")
    data.loc[1, "alloc"] = None
    sg = subgroup_analysis(effects(data, "RR"), "alloc", "DL")
    assert any("Ferguson & Simes, 1949" in n for n in sg.notes)
    assert sum(r.k for r in sg.results) == 12
