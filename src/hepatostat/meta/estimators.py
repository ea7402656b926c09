"""Estimators of the between-study variance tau^2 and the weighted fit.

Everything here works on arrays (``y``, ``v``, a design matrix ``X``) and
never on files or frames. The estimators reproduce R metafor 3.8
``rma.uni()`` (Viechtbauer 2010): the same starting values, the same Fisher
scoring with step halving for ML/REML/EB, the same truncation at zero. Where
metafor solves an equation with ``uniroot(tol = 1.2e-4)`` (PM, Q-profile
confidence intervals) we solve it to machine precision; the difference from
metafor is then metafor's own tolerance (see ``tests/meta/test_fit.py``).

References
----------
.. [1] DerSimonian R, Laird N (1986). Meta-analysis in clinical trials.
   Control Clin Trials 7(3):177-188. doi:10.1016/0197-2456(86)90046-2
.. [2] Hedges LV, Olkin I (1985). Statistical Methods for Meta-Analysis.
   Academic Press (the HE estimator).
.. [3] Sidik K, Jonkman JN (2005). Simple heterogeneity variance estimation
   for meta-analysis. J R Stat Soc C 54(2):367-384.
   doi:10.1111/j.1467-9876.2005.00489.x
.. [4] Paule RC, Mandel J (1982). Consensus values and weighting factors.
   J Res Natl Bur Stand 87(5):377-385. doi:10.6028/jres.087.022
.. [5] Morris CN (1983). Parametric empirical Bayes inference: theory and
   applications. J Am Stat Assoc 78(381):47-55 (the EB estimator).
.. [6] Viechtbauer W (2005). Bias and efficiency of meta-analytic variance
   estimators in the random-effects model. J Educ Behav Stat 30(3):261-293.
   doi:10.3102/10769986030003261 (ML, REML; Fisher scoring).
.. [7] Viechtbauer W (2007). Confidence intervals for the amount of
   heterogeneity in meta-analysis. Stat Med 26(1):37-52. doi:10.1002/sim.2514
   (Q-profile).
.. [8] Knapp G, Hartung J (2003). Improved tests for a random effects
   meta-regression with a single covariate. Stat Med 22(17):2693-2710.
   doi:10.1002/sim.1482
.. [9] Higgins JPT, Thompson SG (2002). Quantifying heterogeneity in a
   meta-analysis. Stat Med 21(11):1539-1558. doi:10.1002/sim.1186
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from . import _dist
from ..errors import EstimationError, InputError

__all__ = ["RE_METHODS", "METHODS", "Fit", "fit_rma", "qprofile_tau2_ci", "q_generalised"]

#: random-effects estimators of tau^2 (metafor codes)
RE_METHODS = ("DL", "REML", "ML", "PM", "SJ", "HE", "EB")
#: methods for inverse-variance models (FE plus the random-effects estimators)
METHODS = ("FE",) + RE_METHODS

_THRESHOLD = 1e-10  # convergence of Fisher scoring (metafor uses 1e-5; we go on)
_MAXITER = 1000


@dataclass(frozen=True, eq=False)
class Fit:
    """Internal result of one weighted least squares fit (see :func:`fit_rma`)."""

    beta: np.ndarray
    vb: np.ndarray
    tau2: float
    se_tau2: float
    wi: np.ndarray
    QE: float
    QE_df: int
    QEp: float
    I2: float
    H2: float
    vt: float
    s2w: float
    df: float  # residual df for t tests (k - p), or inf for z tests
    iterations: int
    k: int
    p: int
    method: str
    knha: bool


def _proj(w, X):
    """``P = W - W X (X'WX)^-1 X'W`` for weights ``w``."""
    W = np.diag(w)
    XtW = X.T * w
    A = XtW @ X
    try:
        Ainv = np.linalg.inv(A)
    except np.linalg.LinAlgError:
        raise EstimationError("the model matrix is not of full rank (collinear moderators?)") from None
    return W - XtW.T @ Ainv @ XtW, Ainv


def q_generalised(tau2, y, v, X):
    """Generalised Cochran's Q at ``tau2``: ``y' P(tau2) y``."""
    P, _ = _proj(1 / (v + tau2), X)
    return float(y @ P @ y)


def _tau2_he(y, v, X):
    k, p = X.shape
    Pols = np.eye(k) - X @ np.linalg.solve(X.T @ X, X.T)
    rss = float(y @ Pols @ y)
    trPV = float(np.trace(Pols * v))  # trace(P V), V diagonal
    return (rss - trPV) / (k - p), Pols, trPV


def _solve_q(y, v, X, target, lo=0.0):
    """Smallest tau2 >= lo with Q(tau2) = target (Q decreases in tau2)."""
    f = lambda t: q_generalised(t, y, v, X) - target  # noqa: E731
    if f(lo) <= 0:
        return lo
    hi = max(100.0, 10 * lo)
    n = 0
    while f(hi) > 0:
        hi *= 10
        n += 1
        if n > 30:
            raise EstimationError("no tau^2 found that solves the Q equation")
    return optimize.brentq(f, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)


def _estimate_tau2(y, v, X, method):
    """Return ``(tau2, se_tau2, iterations)`` for one estimator."""
    k, p = X.shape
    if method == "FE":
        return 0.0, np.nan, 0
    if k - p < 1:
        return 0.0, np.nan, 0
    if method == "DL":
        P, _ = _proj(1 / v, X)
        rss = float(y @ P @ y)
        trP = float(np.trace(P))
        tau2 = max(0.0, (rss - (k - p)) / trP)
        se = np.sqrt(1 / trP**2 * (2 * (k - p) + 4 * tau2 * trP + 2 * tau2**2 * np.sum(P * P)))
        return tau2, se, 0
    if method == "HE":
        raw, Pols, trPV = _tau2_he(y, v, X)
        tau2 = max(0.0, raw)
        PV = Pols * v  # P @ diag(v)
        se = np.sqrt(1 / (k - p) ** 2 * (2 * np.sum(PV * PV.T) + 4 * tau2 * trPV + 2 * tau2**2 * (k - p)))
        return tau2, se, 0
    if method == "SJ":
        tau0 = float(np.var(y, ddof=1) * (k - 1) / k)
        if tau0 <= 0:
            return 0.0, np.nan, 0
        P, _ = _proj(1 / (v + tau0), X)
        rss = float(y @ P @ y)
        tau2 = tau0 * rss / (k - p)
        PV = P * v
        se = np.sqrt(
            tau0**2 / (k - p) ** 2
            * (2 * np.sum(PV * PV.T) + 4 * tau2 * np.sum(PV * P) + 2 * tau2**2 * np.sum(P * P))
        )
        return tau2, se, 0
    if method in ("PM", "EB"):
        # PM solves Q(tau2) = k - p (Paule & Mandel 1982); the EB estimator of
        # Morris (1983) as metafor iterates it has the same fixed point.
        tau2 = _solve_q(y, v, X, k - p)
        w = 1 / (v + tau2)
        se = np.sqrt(2 * k**2 / (k - p) / np.sum(w) ** 2)
        return tau2, se, 0
    if method in ("ML", "REML"):
        return _fisher_scoring(y, v, X, method)
    raise InputError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}, MH, PETO")


def _fisher_scoring(y, v, X, method):
    k, p = X.shape
    tau2 = max(0.0, _tau2_he(y, v, X)[0])
    change, it = np.inf, 0
    while change > _THRESHOLD:
        it += 1
        if it > _MAXITER:
            raise EstimationError(f"{method}: Fisher scoring did not converge in {_MAXITER} iterations")
        old = tau2
        w = 1 / (v + tau2)
        P, _ = _proj(w, X)
        PP = P @ P
        if method == "ML":
            adj = (float(y @ PP @ y) - np.sum(w)) / np.sum(w**2)
        else:
            adj = (float(y @ PP @ y) - np.trace(P)) / np.trace(PP)
        while tau2 + adj < 0:
            adj /= 2
        tau2 = tau2 + adj
        change = abs(old - tau2)
    tau2 = max(0.0, tau2)
    # tau2 = 0 may have the larger likelihood (metafor's ll0check)
    if tau2 > 0 and _loglik(y, v, X, 0.0, method) > _loglik(y, v, X, tau2, method) + 1e-12:
        tau2 = 0.0
    w = 1 / (v + tau2)
    if method == "ML":
        se = np.sqrt(2 / np.sum(w**2))
    else:
        P, _ = _proj(w, X)
        se = np.sqrt(2 / np.sum(P * P))
    return tau2, se, it


def _loglik(y, v, X, tau2, method):
    k, p = X.shape
    w = 1 / (v + tau2)
    XtW = X.T * w
    A = XtW @ X
    beta = np.linalg.solve(A, XtW @ y)
    rss = float(np.sum(w * (y - X @ beta) ** 2))
    if method == "ML":
        return -0.5 * k * np.log(2 * np.pi) - 0.5 * np.sum(np.log(v + tau2)) - 0.5 * rss
    return (
        -0.5 * (k - p) * np.log(2 * np.pi)
        - 0.5 * np.sum(np.log(v + tau2))
        - 0.5 * np.linalg.slogdet(A)[1]
        - 0.5 * rss
    )


def fit_rma(y, v, X=None, *, method="REML", knha=False) -> Fit:
    """Fit the (mixed-effects) meta-analytic model ``y = X b + u + e``.

    Parameters
    ----------
    y, v : array_like
        Effect sizes and sampling variances (all ``v > 0``).
    X : array_like, optional
        Design matrix (``k x p``); the intercept-only model when omitted.
    method : str
        ``"FE"`` or a tau^2 estimator: ``DL, REML, ML, PM, SJ, HE, EB``.
    knha : bool
        Knapp-Hartung: scale the covariance by ``s2w = y'Py/(k-p)`` and use t
        tests with ``k - p`` degrees of freedom. As in metafor (and unlike the
        "ad hoc" variant) ``s2w`` below 1 is not truncated.

    Notes
    -----
    Cochran's ``Q = y'P y`` with ``P`` from the fixed-effect weights;
    I^2 and H^2 for random-effects models are ``100 tau2/(vt + tau2)`` and
    ``tau2/vt + 1`` with the "typical" within-study variance
    ``vt = (k - p)/tr(P)`` (Higgins & Thompson 2002); for the fixed-effect
    model ``I2 = max(0, 100 (Q - df)/Q)`` and ``H2 = Q/df``.
    """
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    k = y.size
    X = np.ones((k, 1)) if X is None else np.asarray(X, dtype=float)
    p = X.shape[1]
    method = str(method).upper()
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}, MH, PETO")
    if k == 0:
        raise EstimationError("no studies to analyse")
    if k < p:
        raise EstimationError(f"{k} studies cannot estimate {p} coefficients")

    tau2, se_tau2, iters = _estimate_tau2(y, v, X, method)

    # heterogeneity from the fixed-effect weights
    if k > p:
        Pfe, _ = _proj(1 / v, X)
        QE = max(0.0, float(y @ Pfe @ y))
        QEp = float(_dist.chi2_sf(QE, k - p))
        vt = (k - p) / float(np.trace(Pfe))
        if method == "FE":
            I2 = max(0.0, 100 * (QE - (k - p)) / QE) if QE > 0 else 0.0
            H2 = QE / (k - p)
        else:
            I2 = 100 * tau2 / (vt + tau2)
            H2 = tau2 / vt + 1
    else:
        QE, QEp, vt, I2, H2 = 0.0, np.nan, np.nan, np.nan, np.nan

    w = 1 / (v + tau2)
    XtW = X.T * w
    vb = np.linalg.inv(XtW @ X)
    beta = vb @ (XtW @ y)
    s2w = 1.0
    df = np.inf
    if knha:
        if k - p < 1:
            raise EstimationError("the Knapp-Hartung method needs more studies than coefficients (k > p)")
        rss = float(np.sum(w * (y - X @ beta) ** 2))
        s2w = 0.0 if rss <= np.finfo(float).eps else rss / (k - p)
        vb = s2w * vb
        df = float(k - p)
    return Fit(
        beta=beta, vb=vb, tau2=float(tau2), se_tau2=float(se_tau2), wi=w, QE=QE, QE_df=k - p,
        QEp=QEp, I2=float(I2), H2=float(H2), vt=float(vt), s2w=float(s2w), df=df,
        iterations=iters, k=k, p=p, method=method, knha=bool(knha),
    )


def qprofile_tau2_ci(y, v, X=None, *, level=0.95):
    """Q-profile confidence interval for tau^2 (Viechtbauer 2007).

    Returns ``(lower, upper)``: the values of tau^2 at which the generalised
    Q statistic equals the upper and the lower ``(1 - level)/2`` quantiles of
    the chi-square distribution with ``k - p`` degrees of freedom. A bound
    whose equation has no non-negative root is 0 (both bounds 0 when even
    ``Q(0)`` is below the lower quantile, as metafor reports it).
    """
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    X = np.ones((y.size, 1)) if X is None else np.asarray(X, dtype=float)
    k, p = X.shape
    if k - p < 1:
        return (np.nan, np.nan)
    alpha = 1 - level
    crit_u = _dist.chi2_isf(alpha / 2, k - p)
    crit_l = _dist.chi2_ppf(alpha / 2, k - p)
    lower = _solve_q(y, v, X, crit_u)
    upper = _solve_q(y, v, X, crit_l)
    return (float(lower), float(upper))
