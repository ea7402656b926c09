"""Tests of hepatostat.cohort.models against R 4.2 (stats, nlme 3.1-162).

Reference values: tests/reference/cohort_stats.json, written by
tests/reference/cohort_stats.R: ``wilcox.test(x, y, conf.int = TRUE)``
(Hodges-Lehmann), ``p.adjust``, ``nlme::lme(outcome ~ group * week, random =
~1 | person_id, method = "REML")``, ``lm(decline ~ group + baseline)`` and
the IPW steps (``glm(binomial)``, stabilised weights, weighted SMDs, weighted
``lm`` with the HC0 sandwich computed by hand).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from hepatostat.cohort.models import adjust_pvalues, ancova, hodges_lehmann, ipw, mixed_model
from hepatostat.errors import EstimationError, InputError

from refdata import reference, reference_data

REF = reference("cohort_stats.json")
# Closed forms and exactly reproduced algorithms (OLS, logistic IRLS to 1e-15,
# weighted means, sandwich, p.adjust, the rank-based Hodges-Lehmann interval
# with R's own root finder): double-precision rounding only, ~1e-12.
RTOL = 1e-9
# Mixed model: the REML surface is flat near its optimum. R (msTol 1e-14) and
# our profile search (statsmodels MixedLM, then a 1-D search to 1e-11 on the
# log variance ratio) stop within ~2e-7 relative of each other in the variance
# components, which moves estimates and SEs by < 1e-7. 1e-5 bounds both.
RTOL_LME = 1e-5
# P values of the mixed model are as far out as 1e-72; a relative error e in t
# changes them by about t^2 e (t ~ 20 here), so they get 1e-3.
RTOL_LME_P = 1e-3


def close(actual, expected, rtol=RTOL, what="", atol=0.0):
    assert math.isclose(actual, expected, rel_tol=rtol, abs_tol=atol), f"{what}: {actual!r} != {expected!r}"


def data(name):
    return reference_data(name, "cohort_stats.json")


@pytest.mark.parametrize("h", REF["hodges_lehmann"],
                         ids=[f"{h['variable']}-{''.join(h['groups'])}-{'exact' if h['exact'] else 'approx'}"
                              for h in REF["hodges_lehmann"]])
def test_hodges_lehmann_agrees_with_r(h):
    df = data(h["dataset"])
    x = df.loc[df["group"] == h["groups"][0], h["variable"]]
    y = df.loc[df["group"] == h["groups"][1], h["variable"]]
    r = hodges_lehmann(x, y, exact=h["exact"])
    assert r.method == ("exact" if h["exact"] else "normal approximation")
    for k in ("estimate", "ci_low", "ci_high", "statistic", "pval"):
        close(getattr(r, k), h[k], what=k, atol=1e-12)


def test_hodges_lehmann_defaults_and_errors():
    df = data("cohort_synthetic_small")
    x, y = df.loc[df.group == "X", "value"], df.loc[df.group == "Y", "value"]
    r = hodges_lehmann(x, y)  # no ties, n < 50: exact, as R's default
    assert r.method == "exact" and 0.95 <= r.achieved_level < 1
    assert r.estimate == float(np.median(np.subtract.outer(x.to_numpy(), y.to_numpy())))
    tied = hodges_lehmann([1, 2, 2, 3, 4], [2, 3, 3, 5, 6])
    assert tied.method == "normal approximation" and "ties" in tied.note
    with pytest.raises(InputError, match="at least one value in each sample"):
        hodges_lehmann([], [1.0])
    with pytest.raises(InputError, match="level must lie between 0 and 1"):
        hodges_lehmann([1.0, 2.0], [3.0], level=95)
    assert "Hodges-Lehmann shift" in str(r)


@pytest.mark.parametrize("e", REF["p_adjust"], ids=[e["method"] for e in REF["p_adjust"]])
def test_adjust_pvalues_agrees_with_r(e):
    got = adjust_pvalues(e["p"], e["method"])
    for a, b, p in zip(got, e["adjusted"], e["p"]):
        if p is None:
            assert np.isnan(a)
        else:
            close(a, b, what=e["method"])


def test_adjust_pvalues_bad_input():
    with pytest.raises(InputError, match="unknown multiplicity correction 'sidak'; allowed: holm, BH"):
        adjust_pvalues([0.1], "sidak")
    with pytest.raises(InputError, match="P values must lie between 0 and 1"):
        adjust_pvalues([0.1, 1.2])
    assert list(adjust_pvalues([0.01, 0.04], "none")) == [0.01, 0.04]
    assert list(adjust_pvalues([0.01, 0.04], "fdr")) == list(adjust_pvalues([0.01, 0.04], "BH"))


@pytest.mark.parametrize("e", REF["lme"], ids=[f"{e['outcome']}-{''.join(e['groups'])}" for e in REF["lme"]])
def test_mixed_model_agrees_with_nlme(e):
    m = mixed_model(data("cohort_synthetic_long"), e["outcome"], groups=e["groups"])
    assert (m.n_obs, m.n_ids) == (e["n_obs"], e["n_ids"]) and m.converged
    assert list(m.terms) == [f["term"] for f in e["fixed"]]
    f = m.to_frame()
    for i, ref in enumerate(e["fixed"]):
        assert f.loc[i, "df"] == ref["df"]  # nlme's containment degrees of freedom
        for k in ("estimate", "se", "t", "ci_low", "ci_high"):
            close(f.loc[i, k], ref[k], RTOL_LME, f"{ref['term']} {k}")
        close(f.loc[i, "pval"], ref["pval"], RTOL_LME_P, f"{ref['term']} p")
    close(m.var_intercept, e["var_intercept"], RTOL_LME, "random-intercept variance")
    close(m.var_residual, e["var_residual"], RTOL_LME, "residual variance")
    close(m.loglik, e["logLik"], RTOL_LME, "REML log-likelihood")
    d = json.loads(json.dumps(m.to_dict(), allow_nan=False))
    assert d["method"] == "REML" and any("compound symmetry" in n for n in d["notes"])
    assert "random intercept" in m.summary()


def test_mixed_model_categorical_week_and_errors():
    long = data("cohort_synthetic_long")
    m = mixed_model(long, "meld", groups=["A", "B"], week_as="categorical")
    assert m.terms[:4] == ("(Intercept)", "groupB", "week1", "week4") and "groupB:week24" in m.terms
    with pytest.raises(InputError, match="at least two groups"):
        mixed_model(long, "meld", groups=["A"])
    with pytest.raises(InputError, match="week_as must be 'numeric' or 'categorical'"):
        mixed_model(long, "meld", week_as="spline")
    with pytest.raises(InputError, match="column 'ldh': outcome column not found"):
        mixed_model(long, "ldh")


def _ancova_frame():
    long = data("cohort_synthetic_long")
    w = long.pivot(index="person_id", columns="week", values="tbil")
    g = long.drop_duplicates("person_id").set_index("person_id")["group"]
    return pd.DataFrame({"group": g.reindex(w.index), "baseline": w[0], "followup": w[24]}).reset_index()


def test_ancova_agrees_with_lm():
    ref = REF["ancova"]
    a = ancova(_ancova_frame(), "followup", "baseline", "group")
    assert a.n == ref["n"] and a.df == ref["df"]
    close(a.sigma, ref["sigma"])
    f = a.to_frame()
    assert list(f["term"]) == [c["term"] for c in ref["coefficients"]]
    for i, c in enumerate(ref["coefficients"]):
        for k in ("estimate", "se", "t", "pval", "ci_low", "ci_high"):
            close(f.loc[i, k], c[k], what=f"{c['term']} {k}")
    assert any("left out" in n for n in a.notes)  # patients without both visits are counted


def test_ancova_response_scales():
    fr = _ancova_frame()
    dec = ancova(fr, "followup", "baseline", "group")
    chg = ancova(fr, "followup", "baseline", "group", response="change")
    fol = ancova(fr, "followup", "baseline", "group", response="followup")
    close(dec.estimate[1], -chg.estimate[1])
    close(chg.estimate[1], fol.estimate[1])
    # adjusted means differ by the group coefficients
    close(dec.adjusted_means[1] - dec.adjusted_means[0], dec.estimate[1])
    with pytest.raises(InputError, match="response must be 'decline', 'change' or 'followup'"):
        ancova(fr, "followup", "baseline", "group", response="ratio")


def test_ipw_agrees_with_r():
    ref = REF["ipw"]
    r = ipw(data("cohort_synthetic_ipw"), "treatment", "meld_decline", ["age", "meld", "sex", "tbil"], treated="prolonged")
    assert list(r.propensity_terms) == [p["term"] for p in ref["propensity"]]
    for b, s, p in zip(r.propensity_coef, r.propensity_se, ref["propensity"]):
        close(b, p["estimate"], what=f"{p['term']} coefficient")
        close(s, p["se"], 1e-7, f"{p['term']} SE")  # Hessian at the optimum: ~1e-9 apart
    for a, b in zip(r.weights[:10], ref["weights_first"]):
        close(a, b, what="weight")
    close(r.weights.sum(), ref["weights_sum"])
    close(r.mean_treated, ref["mean_treated_w"])
    close(r.mean_control, ref["mean_control_w"])
    close(r.difference, ref["difference"])
    close(r.se, ref["se_hc0"])
    bal = r.balance.set_index("covariate")
    for b in ref["balance"]:
        for k in ("mean_treated", "mean_control", "smd", "mean_treated_w", "mean_control_w", "smd_w"):
            close(bal.loc[b["covariate"], k], b[k], what=f"{b['covariate']} {k}")
    assert (np.abs(r.balance["smd_w"]) < 0.1).all() and (np.abs(r.balance["smd"]) > 0.2).all()
    assert json.loads(json.dumps(r.to_dict(), allow_nan=False))["treated"] == "prolonged"


def test_ipw_bad_input():
    d = data("cohort_synthetic_ipw")
    with pytest.raises(InputError, match="say which group is treated: treated= one of prolonged, standard"):
        ipw(d, "treatment", "meld_decline", ["age"])
    with pytest.raises(InputError, match="value 'long': treated group not found"):
        ipw(d, "treatment", "meld_decline", ["age"], treated="long")
    three = d.assign(treatment=np.where(d.index % 3 == 0, "other", d["treatment"]))
    with pytest.raises(InputError, match="exactly two groups, found 3"):
        ipw(three, "treatment", "meld_decline", ["age"], treated="prolonged")
    with pytest.raises(InputError, match="name at least one covariate"):
        ipw(d, "treatment", "meld_decline", [], treated="prolonged")
    sep = d.assign(x=(d["treatment"] == "prolonged").astype(float))
    with pytest.raises(EstimationError, match="separated"):
        ipw(sep, "treatment", "meld_decline", ["x"], treated="prolonged")
    r = ipw(d.assign(t01=(d["treatment"] == "prolonged").astype(int)), "t01", "meld_decline", ["meld"])
    assert r.treated == "1"  # 0/1 coding needs no treated=


def test_mixed_model_accepts_the_tidy_visit_table():
    long = data("cohort_synthetic_long")
    tidy = long.melt(id_vars=["person_id", "group", "week"], value_vars=["meld"], var_name="outcome", value_name="value")
    a = mixed_model(tidy, "meld", groups=["A", "B"])
    b = mixed_model(long, "meld", groups=["A", "B"])
    np.testing.assert_allclose(a.estimate, b.estimate, rtol=1e-12)
