"""Degenerate but legal input, each test named after what broke (issues 13 and 14).

References: tests/reference/meta_robust.R (metafor 3.8-1).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hepatostat.errors import EstimationError
from hepatostat.meta import effects, pool
from hepatostat.meta.bias import trim_and_fill
from hepatostat.meta.sensitivity import leave_one_out

from refdata import REFERENCE, reference

RTOL, ATOL = 1e-6, 1e-9  # DESIGN.md: agreement with metafor to 1e-6
REF = reference("meta_robust.json")


def _eq(ours, theirs):
    if theirs is None:
        return ours is None or not np.isfinite(ours)
    return ours == pytest.approx(theirs, rel=RTOL, abs=ATOL)


@pytest.mark.parametrize("ref", [r for r in REF["mh_zero"] if r["estimate"] is not None],
                         ids=lambda r: f"{r['dataset']}-{r['measure']}")
def test_mh_with_no_events_in_every_table_gives_zero_not_zerodivisionerror(ref):
    es = effects(pd.read_csv(REFERENCE / ref["csv"]), ref["measure"])
    r = pool(es, "MH")
    for key in ("estimate", "se", "ci_low", "ci_high", "Q"):
        assert _eq(getattr(r, key), ref[key]), key
    assert _eq(r.stat, ref["zval"]) and _eq(r.pval, ref["pval"])
    assert any("every table" in n for n in r.notes)


@pytest.mark.parametrize("ref", [r for r in REF["mh_zero"] if r["estimate"] is None],
                         ids=lambda r: f"{r['dataset']}-{r['measure']}")
def test_mh_not_estimable_where_metafor_gives_na_is_a_clear_error(ref):
    es = effects(pd.read_csv(REFERENCE / ref["csv"]), ref["measure"])
    with pytest.raises(EstimationError, match="not estimable"):
        pool(es, "MH")


@pytest.mark.parametrize("method", ["REML", "DL", "FE"])
def test_loo_with_k2_and_high_i2_gives_metafors_result_not_a_crash(method):
    ref = REF["loo_k2"][method]
    es = effects(pd.read_csv(REFERENCE / "data" / "meta_robust_loo_k2.csv"), "GEN")
    res = pool(es, method)
    assert res.I2 == pytest.approx(ref["I2_full"], rel=RTOL)
    loo = leave_one_out(res)
    f = loo.frame
    for ours, key in (("estimate", "estimate"), ("se", "se"), ("pval", "pval"), ("ci_low", "ci_low"),
                      ("ci_high", "ci_high"), ("Q", "Q"), ("Q_pval", "Qp"), ("tau2", "tau2"), ("I2", "I2"), ("H2", "H2")):
        if ref[key] is None:  # metafor's fixed-effect leave1out() has no tau² column; ours is 0 by definition
            assert (f[ours] == 0).all()
            continue
        np.testing.assert_allclose(f[ours].to_numpy(float), ref[key], rtol=RTOL, atol=ATOL, err_msg=key)
    assert loo.sentences  # the plain-language findings no longer crash on k = 1 refits


def test_trimfill_no_sqrt_of_negative_variance_on_extreme_data():
    ref = REF["trimfill_extreme"]
    d = pd.read_csv(REFERENCE / "data" / "meta_robust_trimfill.csv")
    tf = trim_and_fill(d["yi"].to_numpy(), d["vi"].to_numpy(), method="FE")
    assert tf.k0 == ref["k0"] and tf.side == ref["side"]
    assert ref["se_k0"] is None and math.isnan(tf.se_k0)
    assert tf.estimate == pytest.approx(ref["estimate"], rel=RTOL)
    assert tf.se == pytest.approx(ref["se"], rel=RTOL)


def test_per_does_not_pool_a_blank_group_as_none():
    from hepatostat.meta import pool_per

    data = pd.DataFrame({"study": list("abcde"), "grp": ["x", "x", None, "y", "y"],
                         "yi": [0.1, 0.5, 0.3, 0.2, 0.4], "vi": [0.01, 0.02, 0.02, 0.03, 0.01]})
    res = pool_per(data, "grp", "GEN", "REML")
    assert res.values == ("x", "y")
    assert [e.study for e in res.excluded] == ["c"] and res.excluded[0].row == 4
    frame = res.to_frame()
    assert frame["status"].tolist() == ["ok", "ok", "excluded"]
    assert "c (row 4)" in frame["excluded"].iloc[-1]
    assert res.to_dict()["excluded"][0]["study"] == "c"
