"""Tests of hepatostat.meta.pool against R metafor 3.8-1.

Reference values: tests/reference/meta_core.json, written by
tests/reference/meta_core.R; every entry has the R call that produced it
(``rma()``, ``rma.mh()``, ``rma.peto()``, ``confint()``, ``predict()``,
``weights()``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hepatostat.errors import EstimationError, InputError
from hepatostat.meta import effects, pool, pool_per

from refdata import reference, reference_data

# DESIGN.md promises agreement with metafor to 1e-6. The fixtures were fitted
# with tight convergence (threshold 1e-12, tol 1e-15), so the iterative
# estimators' own error is far below this tolerance.
RTOL = 1e-6
ATOL = 1e-9

REF = reference("meta_core.json")
FITS = [f for f in REF["fits"] if f["error"] is None]
FIELDS = ("k", "estimate", "se", "ci_low", "ci_high", "pval", "tau2", "I2", "H2", "Q", "Q_df", "Q_pval", "pi_low", "pi_high")


def _id(f):
    return f"{f['dataset']}-{f['measure']}-{f['method']}{'-knha' if f['knha'] else ''}"


def _close(actual, expected, what):
    if expected is None:
        assert actual is None, f"{what}: expected NA, got {actual}"
        return
    assert actual is not None, f"{what}: got None, expected {expected}"
    assert math.isclose(actual, expected, rel_tol=RTOL, abs_tol=ATOL), f"{what}: {actual!r} != {expected!r}"


def test_reference_covers_the_issue():
    # at least eight data sets: continuous, binary with zero cells, generic; every method, with and without knha
    kinds = {d["kind"] for d in REF["datasets"].values()}
    assert len(REF["datasets"]) >= 8 and kinds == {"binary", "continuous", "generic"}
    assert {f["method"] for f in FITS} == {"FE", "DL", "REML", "ML", "PM", "SJ", "HE", "EB"}
    assert {f["knha"] for f in FITS} == {True, False}
    assert len(FITS) == len(REF["fits"])  # no fit failed in R


@pytest.mark.parametrize("ref", FITS, ids=_id)
def test_pool_agrees_with_rma(ref):
    es = effects(reference_data(ref["dataset"]), ref["measure"])
    got = pool(es, ref["method"], knha=ref["knha"]).to_dict()
    for field in FIELDS:
        _close(got[field], ref[field], field)
    _close(got["stat"], ref["zval"], "zval")
    if ref["method"] != "FE":
        _close(got["se_tau2"], ref["se_tau2"], "se_tau2")
    np.testing.assert_allclose([s["weight"] for s in got["studies"]], ref["weights"], rtol=RTOL, atol=ATOL)
    if ref["knha"]:
        assert got["df"] == ref["ddf"]


QP = [f for f in FITS if f["tau2_ci_wide"] is not None and not f["knha"]]


@pytest.mark.parametrize("ref", QP, ids=_id)
def test_qprofile_intervals_agree_with_confint(ref):
    # Compared with confint(res, control=list(tau2.max=1e6)): metafor's default
    # search stops at max(100, 10 tau2) and reports that cap as the bound;
    # hepatostat always solves for the true bound.
    es = effects(reference_data(ref["dataset"]), ref["measure"])
    got = pool(es, ref["method"]).to_dict()
    for key in ("tau2_ci", "I2_ci", "H2_ci"):
        for a, b in zip(got[key], ref[f"{key}_wide"]):
            _close(a, b, key)
    cap = max(100.0, 10 * ref["tau2"])
    lo, hi = ref["tau2_ci"]
    if hi < cap * (1 - 1e-12):
        _close(got["tau2_ci"][1], hi, "tau2_ci upper (default confint)")
    else:  # metafor's capped bound: ours lies beyond it
        assert got["tau2_ci"][1] >= hi


MH = REF["mh"]


@pytest.mark.parametrize("ref", MH, ids=lambda f: f"{f['dataset']}-{f['measure']}")
def test_mantel_haenszel_agrees_with_rma_mh(ref):
    es = effects(reference_data(ref["dataset"]), ref["measure"])
    got = pool(es, "MH").to_dict()
    for field in ("k", "estimate", "se", "ci_low", "ci_high", "pval", "Q", "Q_df", "Q_pval", "I2", "H2"):
        _close(got[field], ref[field], field)
    np.testing.assert_allclose([s["weight"] for s in got["studies"]], ref["weights"], rtol=RTOL, atol=ATOL)
    if ref["measure"] == "OR":
        _close(got["cmh"]["stat"], ref["CMH"], "CMH")
        _close(got["cmh"]["pval"], ref["CMH_pval"], "CMH p")
        _close(got["exp"]["estimate"], ref["estimate_exp"], "exp(estimate)")


@pytest.mark.parametrize("ref", REF["peto"], ids=lambda f: f["dataset"])
def test_peto_agrees_with_rma_peto(ref):
    es = effects(reference_data(ref["dataset"]), "OR")
    got = pool(es, "PETO").to_dict()
    for field in ("k", "estimate", "se", "ci_low", "ci_high", "pval", "Q", "Q_df", "Q_pval", "I2", "H2"):
        _close(got[field], ref[field], field)
    np.testing.assert_allclose([s["weight"] for s in got["studies"]], ref["weights"], rtol=RTOL, atol=ATOL)


def test_metafor_documentation_bcg_example():
    # metafor's documentation (help(rma.uni) / Viechtbauer 2010, J Stat Softw 36(3), section 4):
    # dat.bcg, log risk ratio, REML: tau^2 = 0.3132 (SE 0.1664), estimate -0.7145 (SE 0.1798),
    # 95% CI -1.0669 to -0.3622, I^2 = 92.22%, Q(df = 12) = 152.2330.
    res = pool(effects(reference_data("bcg"), "RR"), "REML")
    assert round(res.tau2, 4) == 0.3132
    assert round(res.se_tau2, 4) == 0.1664
    assert round(res.estimate, 4) == -0.7145
    assert round(res.se, 4) == 0.1798
    assert (round(res.ci_low, 4), round(res.ci_high, 4)) == (-1.0669, -0.3622)
    assert round(res.I2, 2) == 92.22
    assert round(res.Q, 4) == 152.2330


# ---------------------------------------------------------------- degenerate input


def _gen(yi, vi):
    return effects(pd.DataFrame({"study": [f"s{i}" for i in range(len(yi))], "yi": yi, "vi": vi}), "GEN")


@pytest.mark.parametrize("method", ["FE", "DL", "REML", "ML", "PM", "SJ", "HE", "EB"])
def test_k1_returns_the_study_and_says_heterogeneity_is_not_estimable(method):
    res = pool(_gen([0.3], [0.04]), method)
    assert res.estimate == pytest.approx(0.3) and res.se == pytest.approx(0.2)
    assert res.tau2 == 0 and res.Q_df == 0
    assert math.isnan(res.I2) and math.isnan(res.Q_pval)
    assert any("k = 1" in n for n in res.notes)
    d = res.to_dict()
    assert d["I2"] is None and d["Q_pval"] is None


def test_k1_with_knha_falls_back_to_z_and_says_so():
    res = pool(_gen([0.3], [0.04]), "REML", knha=True)
    assert not res.knha and any("Knapp-Hartung needs k >= 2" in n for n in res.notes)


def test_k2_is_estimable():
    res = pool(_gen([0.1, 0.9], [0.04, 0.05]), "REML", knha=True)
    assert res.k == 2 and res.df == 1 and res.tau2 > 0


def test_identical_effects_give_zero_heterogeneity():
    res = pool(_gen([0.5, 0.5, 0.5], [0.1, 0.2, 0.3]), "REML")
    assert res.tau2 == 0 and res.Q == pytest.approx(0, abs=1e-12) and res.I2 == 0
    assert res.tau2_ci == (0.0, 0.0)
    assert any("lower bound 0" in n for n in res.notes)


def test_identical_effects_with_knha_have_zero_se():
    # metafor: s2w = 0 when the weighted RSS is <= machine epsilon
    res = pool(_gen([0.5, 0.5, 0.5], [0.1, 0.2, 0.3]), "DL", knha=True)
    assert res.se == 0


def test_tau2_on_boundary_equals_fixed_effect():
    es = _gen([0.1, 0.12, 0.11, 0.09], [0.05, 0.04, 0.06, 0.05])
    re, fe = pool(es, "REML"), pool(es, "FE")
    assert re.tau2 == 0 and re.estimate == pytest.approx(fe.estimate, rel=1e-12)


def test_double_zero_study_kept_in_inverse_variance_left_out_of_mh():
    data = reference_data("yusuf1985_t9")
    es = effects(data, "OR")
    iv = pool(es, "FE")
    mh = pool(es, "MH")
    assert iv.k == 26 and "Waagstein" in iv.study
    assert mh.k == 26 and mh.Q_df == 19  # 6 double-zero studies out of Q
    assert any("Waagstein" in n and "left out of Q" in n for n in mh.notes)


# ---------------------------------------------------------------- the review's rule


def test_auto_chooses_random_when_heterogeneous():
    res = pool(effects(reference_data("bcg"), "OR"), "auto")
    assert res.method == "DL" and res.random
    # Q p is printed by the formatter: "Q p < 0.001 < 0.1" here (issue 16)
    assert res.model_rule.startswith("auto: Q p < 0.001 < 0.1, I² = 92.6% > 50%")
    assert "random effects (DL)" in res.model_rule


def test_auto_chooses_fixed_when_homogeneous():
    res = pool(_gen([0.1, 0.12, 0.11, 0.09], [0.05, 0.04, 0.06, 0.05]), "auto")
    assert res.method == "FE" and not res.random and "fixed effect" in res.model_rule


def test_auto_random_estimator_can_be_chosen():
    res = pool(effects(reference_data("bcg"), "OR"), "auto", auto_random="REML")
    assert res.method == "REML"


def test_rule_thresholds_are_strict():
    # I^2 exactly 50% and p exactly 0.10 do not trigger random effects ("p < 0.10 or I^2 > 50%")
    from hepatostat.meta import review_rule

    assert review_rule(0.10, 50.0)[0] is False
    assert review_rule(0.0999, 10.0)[0] is True
    assert review_rule(0.5, 50.01)[0] is True


def test_requested_method_reports_what_the_rule_would_do():
    res = pool(effects(reference_data("bcg"), "OR"), "FE")
    assert "would choose random effects" in res.model_rule


# ---------------------------------------------------------------- results


def test_exp_block_for_ratio_measures():
    res = pool(effects(reference_data("bcg"), "RR"), "REML")
    e = res.to_dict()["exp"]
    assert e["estimate"] == pytest.approx(math.exp(res.estimate))
    assert e["pi_low"] == pytest.approx(math.exp(res.pi_low))
    assert "exp" not in pool(effects(reference_data("normand1999"), "SMD"), "REML").to_dict()


def test_result_is_frozen_and_frames():
    res = pool(effects(reference_data("normand1999"), "SMD"), "REML")
    with pytest.raises(Exception):
        res.estimate = 0  # type: ignore[misc]
    frame = res.to_frame()
    assert len(frame) == res.k + 1 and frame["weight"].iloc[:-1].sum() == pytest.approx(100)
    assert "Random-effects model" in res.summary()


def test_level_changes_intervals():
    es = effects(reference_data("normand1999"), "SMD")
    r90, r95 = pool(es, "REML", level=0.90), pool(es, "REML", level=0.95)
    assert r90.ci_high - r90.ci_low < r95.ci_high - r95.ci_low


# ---------------------------------------------------------------- --per


def test_pool_per_runs_independent_analyses():
    data = pd.concat(
        [reference_data("normand1999").assign(week=4), reference_data("normand1999").iloc[:3].assign(week=12)],
        ignore_index=True,
    )
    per = pool_per(data, "week", "SMD", "REML")
    assert per.values == (4, 12)
    single = pool(effects(reference_data("normand1999").iloc[:3], "SMD"), "REML")
    assert per.results[1].estimate == pytest.approx(single.estimate, rel=1e-12)
    frame = per.to_frame()
    assert list(frame["week"]) == [4, 12] and list(frame["k"]) == [9, 3]


def test_pool_per_reports_inestimable_analysis():
    data = pd.DataFrame({"study": ["a", "b", "c"], "yi": [0.1, 0.2, None], "vi": [0.1, 0.1, 0.1], "t": [1, 1, 2]})
    per = pool_per(data, "t", "GEN", "REML")
    assert per.results[1] is None and "no studies left" in per.errors[1]
    assert "missing value" in per.errors[1]


def test_pool_per_unknown_column():
    with pytest.raises(InputError, match="--per column 'week' not found"):
        pool_per(reference_data("bcg"), "week", "OR")


# ---------------------------------------------------------------- bad arguments


def test_bad_method_and_level():
    es = effects(reference_data("bcg"), "OR")
    with pytest.raises(InputError, match="unknown method 'XX'"):
        pool(es, "XX")
    with pytest.raises(InputError, match="level must be between 0 and 1"):
        pool(es, "REML", level=95)


def test_mh_needs_counts_and_right_measure():
    with pytest.raises(InputError, match="needs event counts"):
        pool(effects(reference_data("normand1999"), "SMD"), "MH")
    with pytest.raises(InputError, match="Peto's method pools odds ratios"):
        pool(effects(reference_data("bcg"), "RR"), "PETO")


def test_no_studies_left_is_an_estimation_error():
    es = effects(pd.DataFrame({"study": ["a"], "yi": [None], "vi": [0.1]}), "GEN")
    with pytest.raises(EstimationError, match="no studies left to pool"):
        pool(es)


def test_pool_per_equals_one_at_a_time_for_every_method():
    # the batched engine behind --per gives the numbers of separate pool() calls
    parts = [reference_data("bcg").assign(g="a"), reference_data("bcg").iloc[3:9].assign(g="b"),
             reference_data("bcg").iloc[:1].assign(g="c")]
    data = pd.concat(parts, ignore_index=True)
    for method in ("FE", "DL", "REML", "ML", "PM", "SJ", "HE", "EB", "AUTO", "MH", "PETO"):
        for knha in (False, True):
            per = pool_per(data, "g", "OR", method, knha=knha)
            for part, res in zip(parts, per.results):
                single = pool(effects(part.drop(columns="g"), "OR"), method, knha=knha)
                a, b = res.to_dict(), single.to_dict()
                for key in ("k", "estimate", "se", "pval", "tau2", "I2", "Q", "pi_low", "model_rule", "notes"):
                    assert a[key] == b[key] or (isinstance(a[key], float) and math.isclose(a[key], b[key], rel_tol=1e-12)), (method, key)


def test_pool_per_same_labels_in_different_analyses_and_exclusions_land_in_their_group():
    data = pd.concat([reference_data("normand1999").assign(t="W4"), reference_data("normand1999").assign(t="W12")],
                     ignore_index=True)
    data.loc[10, "sd1"] = np.nan  # row 12 of the file, in W12
    per = pool_per(data, "t", "SMD", "REML")
    assert per.results[0].k == 9 and per.results[1].k == 8
    assert per.results[1].excluded[0].study == "Orpington-Mild" and per.results[1].excluded[0].row == 12
    assert per.results[0].excluded == ()


def test_pool_per_duplicate_within_an_analysis_is_an_error():
    data = pd.concat([reference_data("normand1999").assign(t="W4"), reference_data("normand1999").iloc[:1].assign(t="W4")],
                     ignore_index=True)
    with pytest.raises(InputError, match="row 11, column 'study', value 'Edinburgh': duplicate study label"):
        pool_per(data, "t", "SMD")


def test_confidence_level_is_scipys_name_for_level():
    from hepatostat import meta

    a = meta.pool(yi=[0.1, 0.3, 0.2], vi=[0.01, 0.02, 0.015], method="DL", level=0.9)
    b = meta.pool(yi=[0.1, 0.3, 0.2], vi=[0.01, 0.02, 0.015], method="DL", confidence_level=0.9)
    assert a.ci_low == b.ci_low and a.ci_high == b.ci_high and b.level == 0.9
    with pytest.raises(ValueError, match="not both"):
        meta.pool(yi=[0.1, 0.3], vi=[0.01, 0.02], method="DL", level=0.8, confidence_level=0.9)
