"""The one meta-analysis kernel: metafor on hard cases, vectorised = one at a time, never stops.

References: tests/reference/meta_robust.R (metafor 3.8-1, control threshold 1e-12, stepadj 0.5).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hepatostat.errors import EstimationError
from hepatostat.meta import effects, pool, pool_many
from hepatostat.meta.fit import NotEstimable
from hepatostat.meta.kernel import METHODS, fit

from refdata import REFERENCE, reference

RTOL, ATOL = 1e-6, 1e-9  # DESIGN.md: agreement with metafor to 1e-6
REF = reference("meta_robust.json")
HARD = pd.read_csv(REFERENCE / REF["hard"]["csv"])


def _hard_arrays():
    groups = [g for _, g in HARD.groupby("analysis", sort=True)]
    kmax = max(len(g) for g in groups)
    y, v, mask = np.zeros((len(groups), kmax)), np.ones((len(groups), kmax)), np.zeros((len(groups), kmax), bool)
    for i, g in enumerate(groups):
        n = len(g)
        y[i, :n], v[i, :n], mask[i, :n] = g["yi"], g["vi"], True
    return y, v, mask, [int(g["analysis"].iloc[0]) for g in groups]


@pytest.mark.parametrize("method", ["REML", "ML", "EB", "PM", "SJ", "DL", "HE"])
def test_hard_analyses_agree_with_metafor_tight_control(method):
    y, v, mask, ids = _hard_arrays()
    f = fit(y, v, mask, method=method)
    assert (f.status == "ok").all()
    refs = {e["analysis"]: e for e in REF["hard"]["fits"] if e["method"] == method}
    for i, a in enumerate(ids):
        r = refs[a]
        assert r["error"] is None
        for ours, key in ((f.tau2[i], "tau2"), (f.beta[i, 0], "estimate"), (f.se[i, 0], "se")):
            assert ours == pytest.approx(r[key], rel=RTOL, abs=1e-8), (a, r["kind"], key)


@pytest.mark.parametrize("method", METHODS)
def test_vectorised_fit_equals_one_at_a_time(method):
    y, v, mask, _ = _hard_arrays()
    X = np.stack([np.ones(y.shape[1]), np.linspace(-1, 1, y.shape[1])], axis=1)
    keep = mask.sum(1) >= 4  # enough studies for the moderator
    many = fit(y[keep], v[keep], mask[keep], X, method=method, knha=True)
    for j, i in enumerate(np.flatnonzero(keep)):
        one = fit(y[i][mask[i]], v[i][mask[i]], None, X[mask[i]], method=method, knha=True)
        np.testing.assert_allclose(many.beta[j], one.beta[0], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(many.tau2[j], one.tau2[0], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(many.tau2_ci_high[j], one.tau2_ci_high[0], rtol=1e-9, atol=1e-12)


def test_reml_did_not_converge_no_longer_stops_the_batch():
    # issue 13: 21 of 5,000 REML analyses stopped a whole --per run ("did not converge in 1000 iterations")
    y, v, mask, _ = _hard_arrays()
    for method in ("REML", "ML"):
        f = fit(y, v, mask, method=method)
        assert (f.status == "ok").all()
        assert np.isfinite(f.tau2).all() and (f.tau2 >= 0).all()


def test_an_analysis_that_cannot_be_estimated_does_not_stop_the_others():
    y = np.array([[0.1, 0.5, 0.3], [0.2, 0.4, 0.0], [0.1, np.nan, 0.2]])
    v = np.array([[0.01, 0.02, 0.03], [0.02, 0.02, 1.0], [0.01, 0.02, 0.03]])
    mask = np.array([[True, True, True], [False, False, False], [True, True, True]])
    f = fit(y, v, mask, method="REML")
    assert list(f.status) == ["ok", "not estimable", "not estimable"]
    assert f.reason[1] == "no studies"
    assert "not finite" in f.reason[2]
    assert np.isfinite(f.beta[0, 0]) and np.isnan(f.beta[1, 0])
    X = np.array([[1, 1.0], [1, 1.0], [1, 1.0]])  # collinear
    g = fit(y[:1], v[:1], None, X, method="REML")
    assert g.status[0] == "not estimable" and "full rank" in g.reason[0]


def test_pool_many_returns_not_estimable_per_analysis():
    es = effects(pd.DataFrame({"study": ["a", "b"], "yi": [0.1, 0.4], "vi": [0.01, 0.02]}), "GEN")
    empty = es.subset(np.array([False, False]))
    out = pool_many([es, empty, es], "REML")
    assert isinstance(out[1], NotEstimable) and out[1].reason.startswith("no studies")
    assert out[0].estimate == out[2].estimate
    with pytest.raises(EstimationError, match="no studies"):
        pool(empty)


def test_pool_takes_yi_vi_without_effectsizes():
    y = HARD.loc[HARD["analysis"] == 1, "yi"].to_numpy()
    v = HARD.loc[HARD["analysis"] == 1, "vi"].to_numpy()
    r = pool(yi=y, vi=v, method="REML")
    ref = next(e for e in REF["hard"]["fits"] if e["analysis"] == 1 and e["method"] == "REML")
    assert r.estimate == pytest.approx(ref["estimate"], rel=RTOL)
    assert r.study == tuple(str(i + 1) for i in range(len(y)))


def test_leave_one_out_memory_is_linear_in_k():
    # issue 14: leave-one-out at k = 4,000 used 3.5 GiB (k x k arrays and k copies of the data)
    import tracemalloc

    from hepatostat.meta.sensitivity import leave_one_out

    rng = np.random.default_rng(1)
    k = 1500
    res = pool(yi=rng.normal(0, 0.3, k), vi=rng.uniform(0.01, 0.1, k), method="DL")
    tracemalloc.start()
    loo = leave_one_out(res)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(loo.frame) == k and (loo.frame["status"] == "ok").all()
    assert peak < 120 * 2**20  # a k x k float array alone would be 18 MB, the old way > 500 MB


def test_import_hepatostat_meta_loads_no_heavy_modules():
    # issue 13 item 5: start-up matters; pandas/scipy load only when an analysis runs
    import subprocess
    import sys

    code = ("import sys, hepatostat.meta, hepatostat.cli; "
            "print([m for m in ('pandas', 'scipy', 'scipy.stats', 'statsmodels', 'matplotlib') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


@pytest.mark.parametrize("method", ["REML", "DL", "PM"])
def test_many_analyses_of_unequal_size_fitted_in_pieces_agree_with_one_at_a_time(method):
    # m >= _SORT_MIN analyses of unequal k go through the sorted, trimmed pieces; each analysis must
    # come out as when fitted alone (padded to the full width), in the caller's order
    from hepatostat.meta import kernel

    rng = np.random.default_rng(11)
    m, kmax = kernel._SORT_MIN + 44, 25
    kk = rng.integers(1, kmax + 1, m)
    kk[0] = kmax
    mask = np.arange(kmax)[None, :] < kk[:, None]
    v = rng.uniform(0.01, 0.5, (m, kmax))
    y = rng.normal(0.3, np.sqrt(v + 0.05))
    y[5, 0] = np.nan  # not estimable: keeps its row, NaN weights
    X = np.stack([np.ones((m, kmax)), rng.normal(size=(m, kmax))], axis=2)
    for Xa in (None, X):
        both = fit(y, v, mask, Xa, method=method, qprofile=Xa is None)
        assert both.weights.shape == (m, kmax)
        for i in range(m):
            one = fit(y[i:i + 1], v[i:i + 1], mask[i:i + 1], None if Xa is None else Xa[i:i + 1],
                      method=method, qprofile=Xa is None)
            assert both.status[i] == one.status[0] and both.reason[i] == one.reason[0]
            for name in ("beta", "se", "tau2", "QE", "I2", "tau2_ci_low", "tau2_ci_high", "weights"):
                np.testing.assert_allclose(getattr(both, name)[i], getattr(one, name)[0], rtol=1e-10, atol=1e-13,
                                           err_msg=f"{name} of analysis {i}")


# --- the accelerated end of Fisher scoring (secant steps in a bracket, the scan towards 0) -----------------


def _one(analysis):
    from hepatostat.meta.kernel import _Chunk

    g = HARD[HARD["analysis"] == analysis]
    y, v = g["yi"].to_numpy()[None], g["vi"].to_numpy()[None]
    return _Chunk(y, v, np.ones_like(y, dtype=bool), None, 1)


def test_scan_to_zero_finds_the_positive_root_metafor_finds():
    # hard analysis 24 (variance ratio 1e6), ML: the estimating equation is negative at 0, positive on
    # (about 1e-6, 7e-4) and negative above; metafor's halving from above stops in the positive region and
    # reaches tau2 = 0.000719. Jumping straight to 0 would have returned 0, with a smaller likelihood.
    from hepatostat.meta.kernel import _scan_to_zero

    ch = _one(24)
    ref = next(e for e in REF["hard"]["fits"] if e["analysis"] == 24 and e["method"] == "ML")
    ts = np.array([0.05])
    g0 = ch.score(np.zeros(1), "ML")[0]
    g, _ = ch.score(ts, "ML")
    assert g0[0] < 0 and g[0] < 0  # negative at both ends: only a scan finds the root between
    nxt, lo, hi, found, _, _, at0 = _scan_to_zero(ch, np.array([0]), ts, g, "ML")
    assert found[0] and not at0[0]
    assert lo[0] < ref["tau2"] < hi[0] and lo[0] <= nxt[0] <= hi[0]
    assert ch.score(lo, "ML")[0][0] > 0 > ch.score(hi, "ML")[0][0]


def test_scan_to_zero_ends_at_zero_where_the_equation_is_negative_all_the_way():
    from hepatostat.meta.kernel import _Chunk, _scan_to_zero

    y = np.array([[0.10, 0.11, 0.09, 0.10]])  # far less spread than the variances allow: tau2 = 0
    ch = _Chunk(y, np.full((1, 4), 0.04), np.ones((1, 4), dtype=bool), None, 1)
    ts = np.array([0.3])
    g, _ = ch.score(ts, "REML")
    nxt, lo, hi, found, _, _, at0 = _scan_to_zero(ch, np.array([0]), ts, g, "REML")
    assert at0[0] and not found[0] and nxt[0] == 0.0
    assert fit(y, np.full((1, 4), 0.04), method="REML").tau2[0] == 0.0


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_hard_analyses_converge_in_few_steps_without_the_fallback(method):
    # with Fisher scoring alone (metafor's steps) the slowest of these 40 took 25 (REML) and 74 (ML) steps;
    # with secant steps in a bracket and the scan towards 0 after the fourth step, 11 and 10
    y, v, mask, _ = _hard_arrays()
    f = fit(y, v, mask, method=method)
    assert not f.fallback.any()
    assert f.iterations.max() <= 20
    from hepatostat.meta.kernel import _Chunk

    ch = _Chunk(np.where(mask, y, 0.0), np.where(mask, v, 1.0), mask, None, 1)
    g, info = ch.score(f.tau2, method)
    pos = f.tau2 > 0
    assert np.all(np.abs(g[pos] / info[pos]) < 1e-9)  # every positive estimate is a root


def test_statistics_only_refits_equal_the_full_fit():
    # the permutation test's refits: inference=False and rank_checked=True change nothing they report
    from hepatostat.meta.batch import fit_batch_reg

    y, v, mask, _ = _hard_arrays()
    keep = mask.sum(1) >= 5
    rng = np.random.default_rng(3)
    for i in np.flatnonzero(keep)[:10]:
        yi, vi = y[i][mask[i]], v[i][mask[i]]
        X = np.column_stack([np.ones(yi.size), rng.normal(size=yi.size)])
        Xs = X[np.stack([rng.permutation(yi.size) for _ in range(20)])]
        full = fit(yi, vi, None, Xs, method="REML")
        lean = fit_batch_reg(yi, vi, Xs, "REML", rank_checked=True)
        for key in ("beta", "se", "stat", "QM", "tau2"):
            np.testing.assert_array_equal(lean[key], getattr(full, key))
