"""Tail probabilities and quantiles of the normal, t, chi-square and F
distributions, without the import cost of ``scipy.stats``.

The normal and chi-square functions, which every pooled analysis needs, are
computed here with the standard library (``math.erfc``,
``statistics.NormalDist.inv_cdf``, ``math.lgamma``): importing
``scipy.special`` costs about 0.15 s, and a command line that a pipeline
calls thousands of times should not pay it for one small pool. They agree
with ``scipy.special`` to about 1e-12 or better (relative; tests/meta/test_dist.py).
Calls with more than :data:`SMALL` values (batches of analyses) stay
here when that is cheap: normal tails by ``math.erfc`` in a ufunc loop,
chi-square tails with whole df by their finite sums, chi-square quantiles
once per distinct (probability, df); otherwise they use ``scipy.special``.
The t and F functions (Knapp-Hartung, moderator tests) load
``scipy.special`` on first use.

Chi-square: the regularised incomplete gamma functions ``P(a, x)`` and
``Q(a, x)`` by their power series (``x < a + 1``) and Legendre's continued
fraction (otherwise), evaluated with the modified Lentz method (Press et
al., Numerical Recipes, 3rd ed., section 6.2); the quantiles by safeguarded
Newton steps on ``P`` or ``Q``, started from the Wilson-Hilferty
approximation.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

__all__ = ["norm_sf", "norm_isf", "norm_cdf", "t_sf", "t_isf", "chi2_sf", "chi2_isf", "chi2_ppf", "chi2_cdf", "f_sf"]

_STD = NormalDist()
#: up to this many values per call are computed with the standard library; more (a batch of
#: analyses) go to scipy.special, whose import then costs less than the Python loops
SMALL = 64
_EPS = 1e-16
_TINY = 1e-300


def _special():
    from scipy import special

    return special


def _map(f, *args):
    """Apply the scalar function ``f`` elementwise over broadcast arrays; a 0-d input gives a numpy scalar."""
    arrs = np.broadcast_arrays(*(np.asarray(a, float) for a in args))
    out = np.empty(arrs[0].shape, dtype=float)
    flat = [a.ravel() for a in arrs]
    res = out.reshape(-1)
    for i in range(res.size):
        res[i] = f(*(float(a[i]) for a in flat))
    return out[()] if out.ndim == 0 else out


# -- normal ---------------------------------------------------------------------------------------
def _norm_sf1(x):
    if math.isnan(x):
        return math.nan
    return 0.5 * math.erfc(x / math.sqrt(2.0))


def _norm_isf1(q):
    if math.isnan(q) or q < 0 or q > 1:
        return math.nan
    if q == 0:
        return math.inf
    if q == 1:
        return -math.inf
    return -_STD.inv_cdf(q)


def _small(*args) -> bool:
    """Few values: computed here; many (a batch of analyses): scipy.special is worth its import."""
    return max(np.size(a) for a in args) <= SMALL


#: up to this many values, normal tails are ``math.erfc`` in a ufunc loop (~0.3 µs each), cheaper
#: than importing scipy.special (~0.15 s)
_ERFC_MAX = 200_000
_erfc = np.frompyfunc(math.erfc, 1, 1)


def _norm_sf_many(x):
    x = np.asarray(x, float)
    with np.errstate(invalid="ignore"):
        return (0.5 * _erfc(x / math.sqrt(2.0))).astype(float)


def norm_sf(x):
    if not _small(x):
        if np.size(x) <= _ERFC_MAX:
            return _norm_sf_many(x)
        return _special().ndtr(-np.asarray(x, float))
    return _map(_norm_sf1, x)


def norm_cdf(x):
    if not _small(x):
        if np.size(x) <= _ERFC_MAX:
            return _norm_sf_many(-np.asarray(x, float))
        return _special().ndtr(np.asarray(x, float))
    return _map(lambda v: _norm_sf1(-v), x)


def norm_isf(q):
    if not _small(q):
        return -_special().ndtri(np.asarray(q, float))
    return _map(_norm_isf1, q)


# -- chi-square -----------------------------------------------------------------------------------
def _gamma_series(a, x):
    """P(a, x) by its power series (x < a + 1)."""
    ap, term = a, 1.0 / a
    total = term
    for _ in range(10000):
        ap += 1.0
        term *= x / ap
        total += term
        if abs(term) < abs(total) * _EPS:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _gamma_cf(a, x):
    """Q(a, x) by Legendre's continued fraction (x >= a + 1), modified Lentz."""
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, 10000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < _TINY:
            d = _TINY
        c = b + an / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def _gamma_pq(a, x):
    """(P(a, x), Q(a, x)), the regularised lower and upper incomplete gamma functions."""
    if x <= 0:
        return 0.0, 1.0
    if math.isinf(x):
        return 1.0, 0.0
    if x < a + 1.0:
        p = _gamma_series(a, x)
        return p, 1.0 - p
    q = _gamma_cf(a, x)
    return 1.0 - q, q


def _chi2_sf1(x, df):
    if math.isnan(x) or math.isnan(df) or df <= 0:
        return math.nan
    return _gamma_pq(df / 2.0, x / 2.0)[1]


def _chi2_cdf1(x, df):
    if math.isnan(x) or math.isnan(df) or df <= 0:
        return math.nan
    return _gamma_pq(df / 2.0, x / 2.0)[0]


def _chi2_quantile(p, df, upper):
    """x with P(chi2_df <= x) = p (upper=False) or P(chi2_df > x) = p (upper=True)."""
    if math.isnan(p) or math.isnan(df) or df <= 0 or p < 0 or p > 1:
        return math.nan
    lower_p = 1.0 - p if upper else p
    if (p == 0 and not upper) or (p == 1 and upper):
        return 0.0
    if (p == 1 and not upper) or (p == 0 and upper):
        return math.inf
    a = df / 2.0
    # Wilson-Hilferty start, kept positive
    z = -_STD.inv_cdf(p) if upper else _STD.inv_cdf(p)
    h = 2.0 / (9.0 * df)
    x = df * (1.0 - h + z * math.sqrt(h)) ** 3
    if not (x > 0 and math.isfinite(x)):
        x = df * lower_p ** (2.0 / df) if lower_p > 0 else 1e-300
        x = max(x, 1e-300)
    lo, hi = 0.0, math.inf
    log_norm = -math.lgamma(a) - a * math.log(2.0)
    for _ in range(200):
        pp, qq = _gamma_pq(a, x / 2.0)
        diff = (qq - p) if upper else (pp - p)  # decreasing in x when upper, increasing otherwise
        if diff == 0:
            return x
        # keep a bracket: the root is above x when the cdf is too small
        if (pp < p) if not upper else (qq > p):
            lo = max(lo, x)
        else:
            hi = min(hi, x)
        dens = math.exp(log_norm + (a - 1.0) * math.log(x) - x / 2.0)
        step = diff / dens if dens > 0 else math.nan
        new = x + step if upper else x - step
        if not (lo < new < hi) or not math.isfinite(new):
            new = (lo + hi) / 2.0 if math.isfinite(hi) else max(2.0 * x, lo * 2.0 + 1.0)
        if abs(new - x) <= 4 * _EPS * abs(x):
            return new
        x = new
    return x


#: whole degrees of freedom up to this are summed in closed form by :func:`_chi2_sf_whole`
_WHOLE_DF_MAX = 100


def _chi2_sf_whole(x, df):
    """Q(df/2, x/2) for whole df in [1, _WHOLE_DF_MAX], vectorised, by the finite sums
    (Abramowitz & Stegun 26.4.4 and 26.4.5): with y = x/2, even df = 2n:
    ``exp(-y) sum_{j<n} y^j / j!``; odd df = 2n + 1:
    ``erfc(sqrt(y)) + exp(-y) sum_{j<n} y^(j+1/2) / Gamma(j+3/2)``. Every term is
    positive, so the sum keeps full relative precision. Cells with y > 700 (where
    exp(-y) underflows) or x <= 0 or not finite go through the scalar function."""
    x, df = np.broadcast_arrays(np.asarray(x, float), np.asarray(df, float))
    out = np.empty(x.shape)
    xs, ds, res = x.ravel(), df.ravel(), out.reshape(-1)
    y = xs / 2.0
    easy = np.isfinite(y) & (y > 0) & (y <= 700.0)
    yy = np.where(easy, y, 1.0)
    odd = (ds % 2) == 1
    n = np.floor(ds / 2.0).astype(int)
    ey = np.exp(-yy)
    term = np.where(odd, ey * np.sqrt(yy) / math.gamma(1.5), ey)
    total = np.where(odd, 0.0, 0.0)
    for j in range(int(n.max()) if n.size else 0):
        live = j < n
        total = total + np.where(live, term, 0.0)
        term = term * yy / np.where(odd, j + 1.5, j + 1.0)
    if odd.any():
        total = total + np.where(odd, _erfc(np.sqrt(yy)).astype(float), 0.0)
    res[:] = total
    for i in np.flatnonzero(~easy):
        res[i] = _chi2_sf1(float(xs[i]), float(ds[i]))
    return out[()] if out.ndim == 0 else out


def chi2_sf(x, df):
    if not _small(x, df):
        d = np.asarray(df, float)
        if (np.size(x) <= _ERFC_MAX and np.all(np.isfinite(d)) and np.all(d == np.round(d))
                and np.all((d >= 1) & (d <= _WHOLE_DF_MAX))):
            return _chi2_sf_whole(x, d)
        return _special().chdtrc(df, np.asarray(x, float))
    return _map(_chi2_sf1, x, df)


def chi2_cdf(x, df):
    if not _small(x, df):
        return _special().chdtr(df, np.asarray(x, float))
    return _map(_chi2_cdf1, x, df)


def _few_distinct(f, *args):
    """``f`` over broadcast arrays computed once per distinct argument tuple, when there are at
    most :data:`SMALL` of them (a batch of analyses has few distinct df); else None."""
    arrs = np.broadcast_arrays(*(np.asarray(a, float) for a in args))
    stacked = np.stack([a.ravel() for a in arrs], axis=1)
    if not np.all(np.isfinite(stacked)):
        return None
    uniq, inv = np.unique(stacked, axis=0, return_inverse=True)
    if len(uniq) > SMALL:
        return None
    vals = np.array([f(*row) for row in uniq.tolist()], dtype=float)
    return vals[inv.ravel()].reshape(arrs[0].shape)


def chi2_isf(q, df):
    if not _small(q, df):
        out = _few_distinct(lambda qq, d: _chi2_quantile(qq, d, True), q, df)
        return out if out is not None else _special().chdtri(df, np.asarray(q, float))
    return _map(lambda qq, d: _chi2_quantile(qq, d, True), q, df)


def chi2_ppf(q, df):
    if not _small(q, df):
        out = _few_distinct(lambda pp, d: _chi2_quantile(pp, d, False), q, df)
        return out if out is not None else _special().chdtri(df, 1 - np.asarray(q, float))
    return _map(lambda pp, d: _chi2_quantile(pp, d, False), q, df)


# -- t and F (scipy.special on first use) ---------------------------------------------------------
def _empty(*args):
    return any(np.size(a) == 0 for a in args)


def t_sf(x, df):
    if _empty(x, df):
        return np.empty(np.broadcast_shapes(np.shape(x), np.shape(df)))
    return _special().stdtr(df, -np.asarray(x, float))


def t_isf(q, df):
    if _empty(q, df):
        return np.empty(np.broadcast_shapes(np.shape(q), np.shape(df)))
    return -_special().stdtrit(df, np.asarray(q, float))


def f_sf(x, dfn, dfd):
    if _empty(x, dfn, dfd):
        return np.empty(np.broadcast_shapes(np.shape(x), np.shape(dfn), np.shape(dfd)))
    return _special().fdtrc(dfn, dfd, np.asarray(x, float))
