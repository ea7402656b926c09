"""Many independent meta-analyses at once.

``fit_batch()`` fits m intercept-only models in one vectorised pass over a
padded ``(m, kmax)`` array: the same estimators, starting values,
convergence rules and formulas as :func:`hepatostat.meta.estimators.fit_rma`
(and so as metafor), with convergence tracked per analysis. It is what
``--per`` (outcomes × time points × subgroups), leave-one-out and other
repeated analyses use when there are many of them.

Notes
-----
For the intercept-only model with weights ``w`` (``s = sum(w)``) the
projection is ``P = W - w w'/s``, so that ``P y = w (y - mu)`` with
``mu = sum(w y)/s``; ``y'Py``, ``y'PPy``, ``tr(P)`` and ``tr(PP)`` are sums
over the studies, and every estimator reduces to sums along one axis.
Root-finding (PM, EB and the Q-profile interval) uses bisection to machine
precision, vectorised over analyses.
"""

from __future__ import annotations

import numpy as np

from . import _dist
from ..errors import EstimationError, InputError
from .estimators import METHODS

__all__ = ["pad", "fit_batch"]

_THRESHOLD = 1e-10  # as estimators._THRESHOLD
_MAXITER = 1000
_EPS = np.finfo(float).eps


def pad(groups_y, groups_v):
    """Pad lists of per-analysis arrays into ``(y, v, mask)`` of shape (m, kmax)."""
    m = len(groups_y)
    kmax = max((len(g) for g in groups_y), default=0)
    y = np.zeros((m, kmax))
    v = np.ones((m, kmax))
    mask = np.zeros((m, kmax), dtype=bool)
    for i, (gy, gv) in enumerate(zip(groups_y, groups_v)):
        n = len(gy)
        y[i, :n] = gy
        v[i, :n] = gv
        mask[i, :n] = True
    return y, v, mask


def _wsums(y, v, mask, tau2):
    """Weights and the sums every estimator needs, at tau2 (shape (m,))."""
    w = np.where(mask, 1.0 / (v + tau2[:, None]), 0.0)
    s = w.sum(axis=1)
    mu = (w * y).sum(axis=1) / s
    r = np.where(mask, y - mu[:, None], 0.0)
    return w, s, mu, r


def _q(y, v, mask, tau2):
    w, s, mu, r = _wsums(y, v, mask, tau2)
    return (w * r * r).sum(axis=1)


def _sum_p2(w, s, x, z):
    """sum_ij P_ij^2 x_i z_j for P = diag(w) - w w'/s (x, z per study)."""
    a2 = w * w / s[:, None]
    return (w * w * x * z).sum(1) - 2 * (w * a2 * x * z).sum(1) + (a2 * x).sum(1) * (a2 * z).sum(1)


def _root(q, target, todo, m, q_and_slope=None):
    """Per analysis, the tau2 >= 0 where the decreasing function ``q`` meets ``target``.

    ``todo`` marks the analyses with ``q(0) > target`` (the others have root 0).
    With ``q_and_slope`` (returning q and dq/dtau2) the search takes Newton
    steps kept inside a bracket that shrinks every step, falling back to
    bisection when a step would leave it; without it, bisection. Either way
    it stops at machine precision.
    """
    out = np.zeros(m)
    if not todo.any():
        return out
    lo, hi = np.zeros(m), np.full(m, 100.0)
    for _ in range(40):
        over = todo & (q(hi) > target)
        if not over.any():
            break
        lo = np.where(over, hi, lo)
        hi = np.where(over, hi * 10, hi)
    else:
        raise EstimationError("no tau^2 found that solves the Q equation")
    x = lo.copy()
    run = todo.copy()
    for _ in range(300):
        if q_and_slope is None:
            xn = 0.5 * (lo + hi)
            above = q(xn) > target
            lo = np.where(run & above, xn, lo)
            hi = np.where(run & ~above, xn, hi)
            x = np.where(run, 0.5 * (lo + hi), x)
            done = (hi - lo) <= np.maximum(1e-15, 4 * _EPS * hi)
        else:
            qx, slope = q_and_slope(x)
            f = qx - target
            lo = np.where(run & (f > 0), x, lo)
            hi = np.where(run & (f <= 0), x, hi)
            with np.errstate(divide="ignore", invalid="ignore"):
                xn = np.where(f == 0, x, x - f / slope)
            bad = ~np.isfinite(xn) | (xn < lo) | (xn > hi)
            xn = np.where(bad, 0.5 * (lo + hi), xn)
            tol = np.maximum(1e-15, 4 * _EPS * np.abs(xn))
            done = (np.abs(xn - x) <= tol) | (f == 0) | (hi - lo <= tol)
            x = np.where(run, xn, x)
        run = run & ~done
        if not run.any():
            break
    out[todo] = x[todo]
    return out


def _solve_q(y, v, mask, k, target, active):
    """Smallest tau2 >= 0 with Q(tau2) = target, per analysis.

    Q decreases in tau2 with ``dQ/dtau2 = -sum(w^2 (y - mu)^2)`` (the term in
    ``dmu`` vanishes because ``sum(w (y - mu)) = 0``), so Newton steps are cheap.
    """
    m = y.shape[0]
    target = np.broadcast_to(np.asarray(target, float), (m,))

    def q_and_slope(t):
        w, s, mu, r = _wsums(y, v, mask, t)
        wr2 = w * r * r
        return wr2.sum(1), -(w * wr2).sum(1)

    todo = active & (_q(y, v, mask, np.zeros(m)) > target)
    return _root(lambda t: _q(y, v, mask, t), target, todo, m, q_and_slope)


def _loglik(y, v, mask, tau2, method, k):
    w, s, mu, r = _wsums(y, v, mask, tau2)
    rss = (w * r * r).sum(1)
    logv = np.where(mask, np.log(v + tau2[:, None]), 0.0).sum(1)
    if method == "ML":
        return -0.5 * k * np.log(2 * np.pi) - 0.5 * logv - 0.5 * rss
    return -0.5 * (k - 1) * np.log(2 * np.pi) - 0.5 * logv - 0.5 * np.log(s) - 0.5 * rss


def _tau2(y, v, mask, k, method, active):
    """tau2 and its SE per analysis for one estimator (k = 1 rows give 0 and NaN)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return _tau2_inner(y, v, mask, k, method, active)


def _tau2_inner(y, v, mask, k, method, active):
    m = y.shape[0]
    zero = np.zeros(m)
    kk = np.maximum(k, 1).astype(float)
    if method == "FE":
        return zero, np.full(m, np.nan)
    # fixed-effect quantities
    w0, s0, mu0, r0 = _wsums(y, v, mask, zero)
    Q0 = (w0 * r0 * r0).sum(1)
    trP0 = s0 - (w0 * w0).sum(1) / s0
    ybar = np.where(mask, y, 0).sum(1) / kk
    rols = np.where(mask, y - ybar[:, None], 0.0)
    rss_ols = (rols * rols).sum(1)
    sumv = np.where(mask, v, 0).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        he = (rss_ols - sumv * (1 - 1 / kk)) / (kk - 1)
    if method == "DL":
        tau2 = np.maximum(0, (Q0 - (kk - 1)) / trP0)
        trPP0 = _sum_p2(w0, s0, np.ones_like(w0) * mask, np.ones_like(w0) * mask)
        se = np.sqrt(1 / trP0**2 * (2 * (kk - 1) + 4 * tau2 * trP0 + 2 * tau2**2 * trPP0))
    elif method == "HE":
        tau2 = np.maximum(0, he)
        ones = mask.astype(float)
        vv = np.where(mask, v, 0.0)
        s_ols = kk
        spvpv = _sum_p2(ones, s_ols, vv, vv)
        trPV = sumv * (1 - 1 / kk)
        se = np.sqrt(1 / (kk - 1) ** 2 * (2 * spvpv + 4 * tau2 * trPV + 2 * tau2**2 * (kk - 1)))
    elif method == "SJ":
        tau0 = rss_ols / kk
        pos = tau0 > 0
        t0 = np.where(pos, tau0, 1.0)
        w, s, mu, r = _wsums(y, v, mask, t0)
        rss = (w * r * r).sum(1)
        tau2 = np.where(pos, t0 * rss / (kk - 1), 0.0)
        vv = np.where(mask, v, 0.0)
        ones = mask.astype(float)
        se = np.sqrt(t0**2 / (kk - 1) ** 2 * (2 * _sum_p2(w, s, vv, vv) + 4 * tau2 * _sum_p2(w, s, ones, vv)
                                               + 2 * tau2**2 * _sum_p2(w, s, ones, ones)))
        se = np.where(pos, se, np.nan)
    elif method in ("PM", "EB"):
        tau2 = _solve_q(y, v, mask, k, kk - 1, active)
        w = np.where(mask, 1 / (v + tau2[:, None]), 0.0)
        se = np.sqrt(2 * kk**2 / (kk - 1) / w.sum(1) ** 2)
    elif method in ("ML", "REML"):
        tau2 = np.maximum(0, np.where(np.isfinite(he), he, 0.0))
        idx = np.flatnonzero(active)  # analyses still iterating; the others are left alone
        it = 0
        while idx.size:
            it += 1
            if it > _MAXITER:
                raise EstimationError(f"{method}: Fisher scoring did not converge in {_MAXITER} iterations")
            ys, vs, ms, ts = y[idx], v[idx], mask[idx], tau2[idx]
            w, s, mu, r = _wsums(ys, vs, ms, ts)
            ypp = (w * w * r * r).sum(1)
            if method == "ML":
                adj = (ypp - s) / (w * w).sum(1)
            else:
                ones = ms.astype(float)
                trP = s - (w * w).sum(1) / s
                trPP = _sum_p2(w, s, ones, ones)
                adj = (ypp - trP) / trPP
            for _ in range(1100):
                neg = ts + adj < 0
                if not neg.any():
                    break
                adj = np.where(neg, adj / 2, adj)
            new = ts + adj
            tau2[idx] = new
            idx = idx[np.abs(new - ts) > _THRESHOLD]
        tau2 = np.maximum(0, tau2)
        better0 = (tau2 > 0) & (_loglik(y, v, mask, zero, method, kk) > _loglik(y, v, mask, tau2, method, kk) + 1e-12)
        tau2 = np.where(better0, 0.0, tau2)
        w, s, mu, r = _wsums(y, v, mask, tau2)
        if method == "ML":
            se = np.sqrt(2 / (w * w).sum(1))
        else:
            ones = mask.astype(float)
            se = np.sqrt(2 / _sum_p2(w, s, ones, ones))
    else:
        raise InputError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    small = k < 2
    return np.where(small, 0.0, tau2), np.where(small, np.nan, se)


def fit_batch(y, v, mask, method: str = "REML", *, knha: bool = False, level: float = 0.95,
              qprofile: bool = True) -> dict:
    """Fit intercept-only models to every row of padded arrays.

    Parameters
    ----------
    y, v, mask : ndarray, shape (m, kmax)
        Effect sizes, sampling variances, and which cells hold a study (see
        :func:`pad`).
    method : str
        ``FE`` or a tau^2 estimator (``DL, REML, ML, PM, SJ, HE, EB``).
    knha : bool
        Knapp-Hartung (t with k - 1 df); analyses with k = 1 use z.
    qprofile : bool
        Compute Q-profile intervals for tau^2, I^2, H^2 (random effects).

    Returns
    -------
    dict of arrays, shape (m,) unless noted: ``k, estimate, se, stat, pval,
    ci_low, ci_high, df, tau2, se_tau2, tau2_ci_low, tau2_ci_high, I2,
    I2_ci_low, I2_ci_high, H2, H2_ci_low, H2_ci_high, Q, Q_df, Q_pval, pi_low,
    pi_high, knha`` and ``weights`` (m, kmax, percent).
    """
    method = str(method).upper()
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    y = np.where(mask, np.asarray(y, float), 0.0)
    v = np.where(mask, np.asarray(v, float), 1.0)
    mask = np.asarray(mask, bool)
    k = mask.sum(1)
    if np.any(k == 0):
        raise EstimationError("an analysis has no studies")
    m = y.shape[0]
    active = k >= 2
    tau2, se_tau2 = _tau2(y, v, mask, k, method, active)
    random = method != "FE"

    # heterogeneity from the fixed-effect weights
    zero = np.zeros(m)
    w0, s0, mu0, r0 = _wsums(y, v, mask, zero)
    Q = np.maximum(0, (w0 * r0 * r0).sum(1))
    dfq = k - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        Qp = np.where(active, _dist.chi2_sf(Q, np.maximum(dfq, 1)), np.nan)
        vt = np.where(active, dfq / (s0 - (w0 * w0).sum(1) / s0), np.nan)
        if random:
            I2 = 100 * tau2 / (vt + tau2)
            H2 = tau2 / vt + 1
        else:
            I2 = np.where(Q > 0, np.maximum(0, 100 * (Q - dfq) / np.where(Q > 0, Q, 1)), 0.0)
            H2 = Q / dfq
    I2 = np.where(active, I2, np.nan)
    H2 = np.where(active, H2, np.nan)

    w, s, mu, r = _wsums(y, v, mask, tau2)
    est = mu
    var = 1 / s
    use_t = knha & active
    if knha:
        rss = (w * r * r).sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            s2w = np.where(rss <= _EPS, 0.0, rss / np.maximum(dfq, 1))
        var = np.where(use_t, s2w * var, var)
    se = np.sqrt(var)
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = np.where(se > 0, est / se, np.nan)
    alpha = 1 - level
    df_t = np.maximum(dfq, 1).astype(float)
    crit = np.where(use_t, _dist.t_isf(alpha / 2, df_t), _dist.norm_isf(alpha / 2))
    pval = np.where(use_t, 2 * _dist.t_sf(np.abs(stat), df_t), 2 * _dist.norm_sf(np.abs(stat)))
    ci_low, ci_high = est - crit * se, est + crit * se
    if random:
        pise = np.sqrt(se**2 + tau2)
        pi_low, pi_high = est - crit * pise, est + crit * pise
    else:
        pi_low, pi_high = ci_low, ci_high
    nan = np.full(m, np.nan)
    t_lo = t_hi = nan
    if random and qprofile:
        crit_u = _dist.chi2_isf(alpha / 2, df_t)
        crit_l = _dist.chi2_ppf(alpha / 2, df_t)
        t_lo = np.where(active, _solve_q(y, v, mask, k, crit_u, active), np.nan)
        t_hi = np.where(active, _solve_q(y, v, mask, k, crit_l, active), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {
            "k": k, "estimate": est, "se": se, "stat": stat, "pval": pval, "ci_low": ci_low, "ci_high": ci_high,
            "df": np.where(use_t, dfq.astype(float), np.nan), "knha": use_t,
            "tau2": tau2, "se_tau2": se_tau2 if random else nan,
            "tau2_ci_low": t_lo, "tau2_ci_high": t_hi,
            "I2": I2, "I2_ci_low": 100 * t_lo / (vt + t_lo), "I2_ci_high": 100 * t_hi / (vt + t_hi),
            "H2": H2, "H2_ci_low": t_lo / vt + 1, "H2_ci_high": t_hi / vt + 1,
            "Q": np.where(active, Q, 0.0), "Q_df": np.where(active, dfq, 0), "Q_pval": Qp,
            "pi_low": pi_low, "pi_high": pi_high,
            "weights": 100 * w / s[:, None],
        }
    return out


# ---------------------------------------------------------------------------
# meta-regression models with a common number of studies, batched over models


def _proj_batch(w, X):
    """P = W - W X (X'WX)^-1 X'W for each model: w (m, k), X (m, k, p)."""
    XtW = np.swapaxes(X, 1, 2) * w[:, None, :]  # (m, p, k)
    A = XtW @ X  # (m, p, p)
    Ainv = np.linalg.inv(A)
    P = -np.swapaxes(XtW, 1, 2) @ Ainv @ XtW
    idx = np.arange(w.shape[1])
    P[:, idx, idx] += w
    return P, Ainv, XtW


def _quad(P, y):
    """y' P y for each model (y (m, k))."""
    return np.einsum("mi,mij,mj->m", y, P, y)


def _q_reg(y, v, X, tau2):
    P, _, _ = _proj_batch(1 / (v + tau2[:, None]), X)
    return _quad(P, y)


def _solve_q_reg(y, v, X, target, active):
    m = y.shape[0]
    todo = active & (_q_reg(y, v, X, np.zeros(m)) > target)
    return _root(lambda t: _q_reg(y, v, X, t), target, todo, m)


def _loglik_reg(y, v, X, tau2, method):
    m, k, p = X.shape
    w = 1 / (v + tau2[:, None])
    P, Ainv, XtW = _proj_batch(w, X)
    rss = _quad(P, y)
    logv = np.log(v + tau2[:, None]).sum(1)
    if method == "ML":
        return -0.5 * k * np.log(2 * np.pi) - 0.5 * logv - 0.5 * rss
    logdet = -np.linalg.slogdet(Ainv)[1]
    return -0.5 * (k - p) * np.log(2 * np.pi) - 0.5 * logv - 0.5 * logdet - 0.5 * rss


def _tau2_reg(y, v, X, method):
    m, k, p = X.shape
    zero = np.zeros(m)
    active = np.full(m, k - p >= 1)
    if method == "FE" or k - p < 1:
        return zero
    if method == "DL":
        P, _, _ = _proj_batch(1 / v, X)
        trP = np.trace(P, axis1=1, axis2=2)
        return np.maximum(0, (_quad(P, y) - (k - p)) / trP)
    # HE (also the start of ML/REML)
    Xt = np.swapaxes(X, 1, 2)
    Pols = -X @ np.linalg.inv(Xt @ X) @ Xt
    idx = np.arange(k)
    Pols[:, idx, idx] += 1
    he = (_quad(Pols, y) - np.einsum("mii,mi->m", Pols, v)) / (k - p)
    if method == "HE":
        return np.maximum(0, he)
    if method == "SJ":
        tau0 = y.var(axis=1, ddof=1) * (k - 1) / k
        pos = tau0 > 0
        t0 = np.where(pos, tau0, 1.0)
        P, _, _ = _proj_batch(1 / (v + t0[:, None]), X)
        return np.where(pos, t0 * _quad(P, y) / (k - p), 0.0)
    if method in ("PM", "EB"):
        return _solve_q_reg(y, v, X, float(k - p), active)
    tau2 = np.maximum(0, he)
    run = active.copy()
    it = 0
    while run.any():
        it += 1
        if it > _MAXITER:
            raise EstimationError(f"{method}: Fisher scoring did not converge in {_MAXITER} iterations")
        w = 1 / (v + tau2[:, None])
        P, _, _ = _proj_batch(w, X)
        Py = np.einsum("mij,mj->mi", P, y)
        ypp = (Py * Py).sum(1)
        if method == "ML":
            adj = (ypp - w.sum(1)) / (w * w).sum(1)
        else:
            adj = (ypp - np.trace(P, axis1=1, axis2=2)) / (P * P).sum(axis=(1, 2))
        adj = np.where(run, adj, 0.0)
        for _ in range(1100):
            neg = tau2 + adj < 0
            if not neg.any():
                break
            adj = np.where(neg, adj / 2, adj)
        new = tau2 + adj
        run = run & (np.abs(new - tau2) > _THRESHOLD)
        tau2 = new
    tau2 = np.maximum(0, tau2)
    better0 = (tau2 > 0) & (_loglik_reg(y, v, X, zero, method) > _loglik_reg(y, v, X, tau2, method) + 1e-12)
    return np.where(better0, 0.0, tau2)


def fit_batch_reg(y, v, X, method: str = "REML", *, knha: bool = False, btt=None) -> dict:
    """Fit m meta-regressions with the same k and p at once.

    Parameters
    ----------
    y, v : ndarray, shape (m, k) (or (k,), broadcast)
    X : ndarray, shape (m, k, p)
    method : str
        ``FE`` or a tau^2 estimator.
    knha : bool
        Knapp-Hartung scaling and t / F tests.
    btt : sequence of int, optional
        Coefficients in the omnibus test (default: all but the first).

    Returns
    -------
    dict with ``beta, se, stat`` (m, p), ``QM, tau2`` (m,).

    Notes
    -----
    The same estimators and rules as :func:`hepatostat.meta.estimators.fit_rma`,
    vectorised over models; used by the permutation test.
    """
    method = str(method).upper()
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    X = np.asarray(X, float)
    m, k, p = X.shape
    y = np.broadcast_to(np.asarray(y, float), (m, k)).copy()
    v = np.broadcast_to(np.asarray(v, float), (m, k)).copy()
    btt = list(range(1, p)) if btt is None else list(btt)
    with np.errstate(invalid="ignore", divide="ignore"):
        tau2 = _tau2_reg(y, v, X, method)
        w = 1 / (v + tau2[:, None])
        P, Ainv, XtW = _proj_batch(w, X)
        beta = np.einsum("mpq,mqk,mk->mp", Ainv, XtW, y)
        vb = Ainv
        if knha:
            resid = y - np.einsum("mkp,mp->mk", X, beta)
            rss = (w * resid * resid).sum(1)
            s2w = np.where(rss <= _EPS, 0.0, rss / (k - p))
            vb = vb * s2w[:, None, None]
        se = np.sqrt(np.diagonal(vb, axis1=1, axis2=2))
        stat = beta / se
        if btt:
            b = beta[:, btt]
            sub = vb[:, btt][:, :, btt]
            QM = np.einsum("mi,mi->m", b, np.linalg.solve(sub, b[:, :, None])[:, :, 0])
            if knha:
                QM = QM / len(btt)
        else:
            QM = np.full(m, np.nan)
    return {"beta": beta, "se": se, "stat": stat, "QM": QM, "tau2": tau2}
