"""Formula moderators, predictions, tau² CI in meta-regression, Egger (model = "rma"), cumulative
meta-analysis: against metafor 3.8-1 (tests/reference/meta_next.R -> meta_next.json)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hepatostat.meta import effects, pool
from hepatostat.meta.bias import egger_rma_test, publication_bias
from hepatostat.meta.regression import meta_regression
from hepatostat.meta.sensitivity import cumulative

from refdata import REFERENCE, reference

RTOL, ATOL = 1e-6, 1e-9  # DESIGN.md: agreement with metafor to 1e-6
REF = reference("meta_next.json")
ES = effects(pd.read_csv(REFERENCE / REF["data"]), "RR")


@pytest.mark.parametrize("ref", REF["regression"], ids=lambda r: f"{r['formula']}-{r['method']}{'-knha' if r['knha'] else ''}")
def test_formula_regression_prediction_and_tau2_ci(ref):
    m = meta_regression(ES, ref["formula"], method=ref["method"], knha=ref["knha"])
    assert m.terms == tuple(ref["terms"])
    for ours, key in (("estimate", "estimate"), ("se", "se"), ("pval", "pval"), ("ci_low", "ci_low"), ("ci_high", "ci_high")):
        np.testing.assert_allclose(getattr(m, ours), ref[key], rtol=RTOL, atol=ATOL, err_msg=key)
    for ours, key in (("tau2", "tau2"), ("QM", "QM"), ("QM_pval", "QMp"), ("QE", "QE"), ("QE_pval", "QEp")):
        assert getattr(m, ours) == pytest.approx(ref[key], rel=RTOL, abs=ATOL), key
    np.testing.assert_allclose(m.tau2_ci, ref["tau2_ci"], rtol=RTOL, atol=ATOL)
    p = m.predict(pd.DataFrame(ref["new"]))
    for ours, key in (("pred", "pred"), ("se", "pred_se"), ("ci_low", "pred_ci_low"), ("ci_high", "pred_ci_high"),
                      ("pi_low", "pi_low"), ("pi_high", "pi_high")):
        np.testing.assert_allclose(p[ours].to_numpy(float), ref[key], rtol=RTOL, atol=ATOL, err_msg=key)


def test_formula_with_unknown_column_is_an_input_error():
    from hepatostat.errors import InputError

    with pytest.raises(InputError, match="'nope' of ~ ablat \\+ nope not found"):
        meta_regression(ES, "~ ablat + nope")


@pytest.mark.parametrize("ref", REF["egger"], ids=lambda r: f"{r['method']}{'-knha' if r['knha'] else ''}")
def test_egger_rma_form_as_regtest_default(ref):
    t = egger_rma_test(ES.yi, ES.vi, method=ref["method"], knha=ref["knha"])
    assert t.stat == pytest.approx(ref["stat"], rel=RTOL, abs=ATOL)
    assert t.pval == pytest.approx(ref["pval"], rel=RTOL, abs=ATOL)
    assert t.slope == pytest.approx(ref["slope"], rel=RTOL, abs=ATOL)
    assert t.se == pytest.approx(ref["slope_se"], rel=RTOL, abs=ATOL)
    assert t.limit_estimate == pytest.approx(ref["limit_estimate"], rel=RTOL, abs=ATOL)
    assert t.limit_ci_low == pytest.approx(ref["limit_ci_low"], rel=RTOL, abs=ATOL)
    assert (t.df is None) == (ref["df"] is None)
    bias = publication_bias(pool(ES, ref["method"], knha=ref["knha"]))
    assert bias.egger_rma.stat == pytest.approx(ref["stat"], rel=RTOL, abs=ATOL)
    assert "egger" in bias.to_dict() and "egger_rma" in bias.to_dict()


@pytest.mark.parametrize("ref", REF["cumulative"], ids=lambda r: f"{r['method']}-{r['order']}")
def test_cumulative_as_metafor_cumul(ref, tmp_path):
    res = pool(ES, ref["method"])
    cum = cumulative(res, order=None if ref["order"] == "input" else "year")
    f = cum.frame
    assert f["added"].tolist() == ref["study"]
    for ours, key in (("estimate", "estimate"), ("se", "se"), ("pval", "pval"), ("ci_low", "ci_low"),
                      ("ci_high", "ci_high"), ("Q", "Q"), ("Q_pval", "Qp"), ("tau2", "tau2"), ("I2", "I2"), ("H2", "H2")):
        np.testing.assert_allclose(f[ours].to_numpy(float), np.asarray(ref[key], float), rtol=RTOL, atol=ATOL,
                                   err_msg=key)
    if ref["method"] == "REML" and ref["order"] == "year":
        cum.plot(tmp_path / "cumul.png")
        assert (tmp_path / "cumul.png").stat().st_size > 10_000
