"""meta/_dist.py (standard-library normal and chi-square) against scipy.special."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from hepatostat.meta import _dist


def _rel(ours, ref):
    ours, ref = np.asarray(ours, float), np.asarray(ref, float)
    assert np.array_equal(np.isnan(ours), np.isnan(ref))
    ok = np.isfinite(ref)
    assert np.array_equal(ours[~ok & ~np.isnan(ref)], ref[~ok & ~np.isnan(ref)])
    return float(np.max(np.abs(ours[ok] - ref[ok]) / np.maximum(np.abs(ref[ok]), 1e-300))) if ok.any() else 0.0


@pytest.mark.parametrize("seed", range(4))
def test_normal_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(0, 4, 60), [0.0, 37.5, -37.5, np.nan]])
    assert _rel(_dist.norm_sf(x), special.ndtr(-x)) < 1e-13
    assert _rel(_dist.norm_cdf(x), special.ndtr(x)) < 1e-13
    q = np.concatenate([rng.uniform(0, 1, 40), 10.0 ** rng.uniform(-300, -1, 20), [0.0, 1.0, 0.025]])
    assert _rel(_dist.norm_isf(q), -special.ndtri(q)) < 1e-14


@pytest.mark.parametrize("seed", range(4))
def test_chi2_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    df = np.concatenate([rng.integers(1, 60, 40), rng.uniform(0.5, 3000, 20)]).astype(float)
    x = df * rng.uniform(0.01, 5, df.size)
    x[:5] = rng.uniform(0, 1e-3, 5)
    assert _rel(_dist.chi2_sf(x, df), special.chdtrc(df, x)) < 1e-11
    assert _rel(_dist.chi2_cdf(x, df), special.chdtr(df, x)) < 1e-11
    for a in (0.005, 0.025, 0.05, 0.5, 0.95, 0.975):
        assert _rel(_dist.chi2_isf(a, df), special.chdtri(df, a)) < 1e-12, a
        assert _rel(_dist.chi2_ppf(a, df), special.chdtri(df, 1 - a)) < 1e-12, a


def test_edges_and_shapes():
    assert _dist.chi2_sf(0.0, 3) == 1.0 and _dist.chi2_sf(np.inf, 3) == 0.0
    assert _dist.chi2_isf(1.0, 4) == 0.0 and _dist.chi2_isf(0.0, 4) == np.inf
    assert np.isnan(_dist.chi2_sf(1.0, 0)) and np.isnan(_dist.chi2_isf(np.nan, 2))
    assert np.ndim(_dist.norm_isf(0.025)) == 0
    assert _dist.chi2_sf(np.ones((2, 3)), 2).shape == (2, 3)
    assert _dist.t_isf(0.025, np.array([])).shape == (0,)  # no scipy needed for no values


def test_batches_use_scipy_itself():
    # a batch with fractional df (no closed form here) goes to scipy.special itself
    x = np.linspace(0, 50, _dist.SMALL + 1)
    assert np.array_equal(_dist.chi2_sf(x, 7.5), special.chdtrc(7.5, x))


@pytest.mark.parametrize("seed", range(3))
def test_batches_of_analyses_without_scipy(seed):
    # a batch of analyses: whole df (closed-form sums), normal tails by erfc, quantiles per distinct df
    rng = np.random.default_rng(seed)
    n = 5 * _dist.SMALL
    df = rng.integers(1, _dist._WHOLE_DF_MAX + 1, n).astype(float)
    x = df * rng.uniform(0.01, 6, n)
    x[:6] = [0.0, 1e-12, np.inf, np.nan, 1500.0, 3000.0]  # edges and underflow go through the scalar path
    assert _rel(_dist.chi2_sf(x, df), special.chdtrc(df, x)) < 1e-12
    z = rng.normal(0, 6, n)  # far tails (1e-50) too: math.erfc there agrees to about 1e-13
    assert _rel(_dist.norm_sf(z), special.ndtr(-z)) < 1e-12
    assert _rel(_dist.norm_cdf(z), special.ndtr(z)) < 1e-12
    few = rng.integers(1, 30, n).astype(float)
    assert _rel(_dist.chi2_isf(0.025, few), special.chdtri(few, 0.025)) < 1e-12
    assert _rel(_dist.chi2_ppf(0.025, few), special.chdtri(few, 0.975)) < 1e-12
    many = rng.uniform(0.5, 300, n)  # more distinct df than SMALL: scipy.special
    assert np.array_equal(_dist.chi2_isf(0.025, many), special.chdtri(many, 0.025))
