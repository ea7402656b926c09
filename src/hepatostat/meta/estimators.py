"""One model at a time: thin views of :mod:`hepatostat.meta.kernel` with m = 1.

``fit_rma()`` returns the fit of one (mixed-effects) meta-analytic model as
a :class:`Fit`; it raises :class:`~hepatostat.errors.EstimationError` where
the kernel reports the analysis as not estimable. The estimators themselves
(and their references) live in :mod:`hepatostat.meta.kernel` only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import EstimationError, InputError
from .kernel import METHODS, RE_METHODS, fit

__all__ = ["RE_METHODS", "METHODS", "Fit", "fit_rma", "qprofile_tau2_ci"]


@dataclass(frozen=True, eq=False)
class Fit:
    """One weighted least squares fit (see :func:`fit_rma`)."""

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
    tau2_ci: tuple = (np.nan, np.nan)
    QM: float = np.nan
    QM_pval: float = np.nan


def fit_rma(y, v, X=None, *, method="REML", knha=False, qprofile=False, level=0.95, btt=None) -> Fit:
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
        Knapp-Hartung (``s2w`` below 1 is not truncated, as in metafor).

    Notes
    -----
    See :func:`hepatostat.meta.kernel.fit` for every formula.
    """
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    k = y.size
    method = str(method).upper()
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}, MH, PETO")
    if k == 0:
        raise EstimationError("no studies to analyse")
    Xa = None if X is None else np.asarray(X, dtype=float)
    p = 1 if Xa is None else Xa.shape[1]
    if k < p:
        raise EstimationError(f"{k} studies cannot estimate {p} coefficients")
    if knha and k - p < 1:
        raise EstimationError("the Knapp-Hartung method needs more studies than coefficients (k > p)")
    f = fit(y[None, :], v[None, :], None, None if Xa is None else Xa[None], method=method, knha=knha,
            qprofile=qprofile, level=level, btt=btt)
    if f.status[0] != "ok":
        raise EstimationError(str(f.reason[0]))
    return Fit(
        beta=f.beta[0], vb=f.vb[0], tau2=float(f.tau2[0]), se_tau2=float(f.se_tau2[0]), wi=1 / (v + float(f.tau2[0])),
        QE=float(f.QE[0]), QE_df=k - p, QEp=float(f.QE_pval[0]), I2=float(f.I2[0]), H2=float(f.H2[0]),
        vt=float(f.vt[0]), s2w=float(f.s2w[0]), df=float(k - p) if knha else np.inf,
        iterations=int(f.iterations[0]), k=k, p=p, method=method, knha=bool(knha),
        tau2_ci=(float(f.tau2_ci_low[0]), float(f.tau2_ci_high[0])), QM=float(f.QM[0]), QM_pval=float(f.QM_pval[0]),
    )


def qprofile_tau2_ci(y, v, X=None, *, level=0.95):
    """Q-profile confidence interval for tau^2 (Viechtbauer 2007) as ``(lower, upper)``."""
    y = np.asarray(y, dtype=float)
    p = 1 if X is None else np.asarray(X).shape[1]
    if y.size - p < 1:
        return (np.nan, np.nan)
    return fit_rma(y, v, X, method="DL", qprofile=True, level=level).tau2_ci
