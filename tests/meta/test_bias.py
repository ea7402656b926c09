"""Egger, Begg and trim-and-fill against R metafor 3.8-1.

Reference: tests/reference/meta_advanced.json ``regtest`` (``regtest(model="lm")``
and the textbook ``lm(I(yi/sei) ~ I(1/sei))``), ``ranktest`` and ``trimfill``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hepatostat.errors import EstimationError, InputError
from hepatostat.meta import effects, pool
from hepatostat.meta.bias import begg_test, egger_test, publication_bias, trim_and_fill

from refdata import REFERENCE, reference, reference_data

RTOL, ATOL = 1e-6, 1e-9  # DESIGN.md: agreement with metafor to 1e-6
REF = reference("meta_advanced.json")


def _es(entry):
    return effects(pd.read_csv(REFERENCE / "data" / f"{entry['dataset']}.csv"), entry["measure"])


EGGER = [e for e in REF["regtest"] if e["model"] == "lm"]


@pytest.mark.parametrize("ref", EGGER, ids=lambda e: f"{e['dataset']}-{e['measure']}")
def test_egger_agrees_with_regtest_lm(ref):
    es = _es(ref)
    eg = egger_test(es.yi, es.vi)
    # classical Egger: the intercept of lm(yi/sei ~ 1/sei) is the slope on sei of the weighted fit
    assert eg.intercept == pytest.approx(ref["lm_textbook"]["intercept"]["estimate"], rel=RTOL, abs=ATOL)
    assert eg.se == pytest.approx(ref["lm_textbook"]["intercept"]["se"], rel=RTOL)
    assert eg.stat == pytest.approx(ref["zval"], rel=RTOL)
    assert eg.pval == pytest.approx(ref["pval"], rel=RTOL, abs=ATOL)
    assert eg.df == ref["dfs"]
    assert eg.limit_estimate == pytest.approx(ref["est"], rel=RTOL, abs=ATOL)
    assert (eg.limit_ci_low, eg.limit_ci_high) == pytest.approx((ref["ci_low"], ref["ci_high"]), rel=RTOL, abs=ATOL)


@pytest.mark.parametrize("ref", REF["ranktest"], ids=lambda e: f"{e['dataset']}-{e['measure']}")
def test_begg_agrees_with_ranktest(ref):
    es = _es(ref)
    b = begg_test(es.yi, es.vi)
    assert b.exact == ref["exact"]
    assert b.tau == pytest.approx(ref["tau"], rel=RTOL, abs=ATOL)
    assert b.pval == pytest.approx(ref["pval"], rel=RTOL, abs=ATOL)


TF = [e for e in REF["trimfill"] if e["error"] is None]


@pytest.mark.parametrize("ref", TF, ids=lambda e: f"{e['dataset']}-{e['method']}-{e['estimator']}-{e['side']}{'-forced' if e['side_forced'] else ''}")
def test_trimfill_agrees_with_metafor(ref):
    es = _es(ref)
    tf = trim_and_fill(es.yi, es.vi, method=ref["method"], estimator=ref["estimator"],
                       side=ref["side"] if ref["side_forced"] else None)
    assert tf.side == ref["side"] and tf.k0 == ref["k0"]
    assert tf.se_k0 == pytest.approx(ref["se_k0"], rel=RTOL)
    for key in ("estimate", "se", "ci_low", "ci_high", "pval", "tau2"):
        assert getattr(tf, key) == pytest.approx(ref[key], rel=RTOL, abs=ATOL), key
    fy = np.array(ref["fill_yi"] or [], dtype=float)
    np.testing.assert_allclose(np.sort(tf.filled_yi), np.sort(fy), rtol=RTOL, atol=ATOL)


def test_bias_warns_below_ten_studies():
    out = publication_bias(pool(effects(reference_data("normand1999"), "SMD"), "REML"))
    assert any("k = 9 < 10" in n for n in out.notes)
    assert set(out.to_dict()) >= {"egger", "begg", "trimfill"}


def test_bias_contract_keys():
    d = publication_bias(pool(effects(reference_data("bcg"), "RR"), "REML")).to_dict()
    assert {"intercept", "stat", "pval"} <= set(d["egger"])
    assert {"tau", "pval"} <= set(d["begg"])
    assert {"k0", "side", "estimate", "ci_low", "ci_high"} <= set(d["trimfill"])


def test_too_few_studies():
    with pytest.raises(EstimationError, match="at least 3 studies"):
        egger_test([0.1, 0.2], [0.1, 0.2])
    with pytest.raises(EstimationError, match="at least 3 studies"):
        begg_test([0.1, 0.2], [0.1, 0.2])
    with pytest.raises(InputError, match="unknown trim-and-fill estimator"):
        trim_and_fill([0.1, 0.2, 0.3], [0.1, 0.2, 0.3], estimator="Q9")
