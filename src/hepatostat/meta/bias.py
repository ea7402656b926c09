"""Small-study effects and publication bias: Egger's regression test,
Begg and Mazumdar's rank correlation test, and trim-and-fill.

Definitions follow R metafor 3.8 (``regtest(model="lm")``, ``ranktest()``,
``trimfill()``) so that the numbers agree with it.

References
----------
.. [1] Egger M, Davey Smith G, Schneider M, Minder C (1997). Bias in
   meta-analysis detected by a simple, graphical test. BMJ 315(7109):629-634.
   doi:10.1136/bmj.315.7109.629
.. [2] Begg CB, Mazumdar M (1994). Operating characteristics of a rank
   correlation test for publication bias. Biometrics 50(4):1088-1101.
   doi:10.2307/2533446
.. [3] Duval S, Tweedie R (2000). Trim and fill: a simple funnel-plot-based
   method of testing and adjusting for publication bias in meta-analysis.
   Biometrics 56(2):455-463. doi:10.1111/j.0006-341X.2000.00455.x
.. [4] Sterne JAC, Sutton AJ, Ioannidis JPA et al. (2011). Recommendations
   for examining and interpreting funnel plot asymmetry in meta-analyses of
   randomised controlled trials. BMJ 343:d4002. doi:10.1136/bmj.d4002
   (tests need at least 10 studies).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from . import _dist
from .._util import finite_or_none as _f
from ..errors import EstimationError, InputError
from ..io.format import fmt, fmt_ci, fmt_n, fmt_p_eq, fmt_stat
from .estimators import RE_METHODS, fit_rma
from .fit import PoolResult

__all__ = ["EggerTest", "egger_test", "EggerRmaTest", "egger_rma_test", "BeggTest", "begg_test", "TrimFill", "trim_and_fill", "BiasResult",
           "publication_bias", "MIN_K_BIAS"]

#: Sterne et al. 2011: tests for funnel asymmetry are not advised with fewer studies
MIN_K_BIAS = 10



@dataclass(frozen=True)
class EggerTest:
    """Egger's regression test for funnel-plot asymmetry."""

    intercept: float  # Egger's bias coefficient
    se: float
    stat: float  # t statistic
    df: int
    pval: float
    limit_estimate: float  # effect as the standard error tends to 0
    limit_ci_low: float
    limit_ci_high: float

    def to_dict(self) -> dict[str, Any]:
        return {"intercept": _f(self.intercept), "se": _f(self.se), "stat": _f(self.stat), "df": self.df,
                "pval": _f(self.pval), "limit_estimate": _f(self.limit_estimate),
                "limit_ci": [_f(self.limit_ci_low), _f(self.limit_ci_high)]}


def _egger_inputs(yi, vi):
    """``(yi, vi, sei)`` as float arrays; Egger's test needs at least 3 studies."""
    yi = np.asarray(yi, float)
    vi = np.asarray(vi, float)
    if yi.size < 3:
        raise EstimationError(f"Egger's test needs at least 3 studies, got k = {yi.size}")
    return yi, vi, np.sqrt(vi)


def egger_test(yi, vi, *, level: float = 0.95) -> EggerTest:
    """Classical Egger regression test (Egger et al. 1997).

    Notes
    -----
    The standard normal deviate ``yi/sei`` is regressed on precision
    ``1/sei`` by ordinary least squares; the intercept measures asymmetry
    and is tested with t on k - 2 df. This is the same fit as the weighted
    regression ``yi ~ sei`` with weights ``1/vi`` (metafor
    ``regtest(model="lm")``): Egger's intercept is the slope on ``sei``, and
    the regression's intercept is the limit estimate (the effect of a study
    with ``sei -> 0``).
    """
    yi, vi, sei = _egger_inputs(yi, vi)
    k = yi.size
    X = np.column_stack([np.ones(k), sei])
    w = 1 / vi
    XtW = X.T * w
    A = XtW @ X
    if np.linalg.matrix_rank(A) < 2:
        raise EstimationError("Egger's test is not defined when all studies have the same standard error")
    b = np.linalg.solve(A, XtW @ yi)
    resid = yi - X @ b
    df = k - 2
    sigma2 = float(np.sum(w * resid**2) / df)
    cov = sigma2 * np.linalg.inv(A)
    se = np.sqrt(np.diag(cov))
    t = b[1] / se[1] if se[1] > 0 else np.nan
    p = float(2 * _dist.t_sf(abs(t), df)) if np.isfinite(t) else np.nan
    crit = _dist.t_isf((1 - level) / 2, df)
    return EggerTest(intercept=float(b[1]), se=float(se[1]), stat=float(t), df=df, pval=p,
                     limit_estimate=float(b[0]), limit_ci_low=float(b[0] - crit * se[0]),
                     limit_ci_high=float(b[0] + crit * se[0]))


@dataclass(frozen=True)
class EggerRmaTest:
    """Egger's test in metafor's default form (``regtest(model = "rma")``)."""

    slope: float  # coefficient of the standard error in the meta-regression
    se: float
    stat: float  # z (or t under Knapp-Hartung)
    df: float | None
    pval: float
    method: str
    limit_estimate: float  # the intercept: the effect as the standard error tends to 0
    limit_ci_low: float
    limit_ci_high: float

    def to_dict(self) -> dict[str, Any]:
        return {"slope": _f(self.slope), "se": _f(self.se), "stat": _f(self.stat), "df": _f(self.df) if self.df else None,
                "pval": _f(self.pval), "method": self.method, "limit_estimate": _f(self.limit_estimate),
                "limit_ci": [_f(self.limit_ci_low), _f(self.limit_ci_high)]}


def egger_rma_test(yi, vi, *, method: str = "REML", knha: bool = False, level: float = 0.95) -> EggerRmaTest:
    """Egger's regression test as metafor's default ``regtest(model = "rma", predictor = "sei")``.

    Notes
    -----
    The meta-regression ``yi = b0 + b1 sei + u + e`` is fitted with the
    pooled model's estimator (``method``; FE for a fixed-effect model) and
    test; asymmetry is the Wald test of ``b1`` (z, or t with k - 2 df under
    Knapp-Hartung). ``b0`` is the limit estimate. With ``method="FE"`` and
    no Knapp-Hartung this differs from the classical test (:func:`egger_test`),
    which scales by the residual variance (Sterne & Egger 2005, in
    Rothstein et al. (eds), Publication Bias in Meta-Analysis, Wiley, ch. 6).
    """
    yi, vi, sei = _egger_inputs(yi, vi)
    k = yi.size
    if np.ptp(sei) == 0:
        raise EstimationError("Egger's test is not defined when all studies have the same standard error")
    X = np.column_stack([np.ones(k), sei])
    from .kernel import fit as kernel_fit

    f = kernel_fit(yi, vi, None, X, method=method, knha=knha, level=level, qprofile=False, btt=[1])
    if f.status[0] != "ok":
        raise EstimationError(f"Egger's test (model = rma): {f.reason[0]}")
    return EggerRmaTest(slope=float(f.beta[0, 1]), se=float(f.se[0, 1]), stat=float(f.stat[0, 1]),
                        df=float(f.df[0]) if f.knha[0] else None, pval=float(f.pval[0, 1]), method=method,
                        limit_estimate=float(f.beta[0, 0]), limit_ci_low=float(f.ci_low[0, 0]),
                        limit_ci_high=float(f.ci_high[0, 0]))


@dataclass(frozen=True)
class BeggTest:
    """Begg and Mazumdar's rank correlation test."""

    tau: float
    pval: float
    exact: bool

    def to_dict(self) -> dict[str, Any]:
        return {"tau": _f(self.tau), "pval": _f(self.pval), "exact": self.exact}


def begg_test(yi, vi) -> BeggTest:
    """Rank correlation test of Begg & Mazumdar (1994).

    Notes
    -----
    Kendall's tau (tau-b) between the standardised deviates
    ``(yi - b_FE)/sqrt(vi - 1/sum(1/vi))`` and the variances ``vi``. As in
    metafor's ``ranktest()`` the p-value is exact when there are no ties,
    otherwise from the normal approximation with the ties-corrected
    variance (R's ``cor.test(method="kendall")``).
    """
    yi = np.asarray(yi, float)
    vi = np.asarray(vi, float)
    k = yi.size
    if k < 3:
        raise EstimationError(f"Begg's test needs at least 3 studies, got k = {k}")
    w = 1 / vi
    theta = np.sum(w * yi) / np.sum(w)
    vstar = vi - 1 / np.sum(w)
    ystar = (yi - theta) / np.sqrt(vstar)
    ties = len(np.unique(ystar)) < k or len(np.unique(vi)) < k
    method = "asymptotic" if ties else "exact"
    res = stats.kendalltau(ystar, vi, method=method)
    return BeggTest(tau=float(res.statistic), pval=float(res.pvalue), exact=not ties)


@dataclass(frozen=True, eq=False)
class TrimFill:
    """Trim-and-fill result: the number of filled studies and the filled model."""

    k0: int
    se_k0: float
    side: str
    estimator: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    pval: float
    tau2: float
    filled_yi: np.ndarray
    filled_vi: np.ndarray
    method: str
    log_scale: bool

    def to_dict(self) -> dict[str, Any]:
        d = {"k0": self.k0, "se_k0": _f(self.se_k0), "side": self.side, "estimator": self.estimator,
             "method": self.method, "estimate": _f(self.estimate), "se": _f(self.se), "ci_low": _f(self.ci_low),
             "ci_high": _f(self.ci_high), "pval": _f(self.pval), "tau2": _f(self.tau2),
             "filled": [{"yi": _f(y), "vi": _f(v)} for y, v in zip(self.filled_yi, self.filled_vi)]}
        if self.log_scale:
            d["exp"] = {"estimate": math.exp(self.estimate), "ci_low": math.exp(self.ci_low), "ci_high": math.exp(self.ci_high)}
        return d


def trim_and_fill(yi, vi, *, method: str = "REML", estimator: str = "L0", side: str | None = None,
                  level: float = 0.95, maxiter: int = 100, log_scale: bool = False) -> TrimFill:
    """Duval and Tweedie's trim-and-fill method (metafor ``trimfill()``).

    Parameters
    ----------
    yi, vi : array_like
    method : str
        Model used in every step (``FE`` or a tau^2 estimator).
    estimator : {"L0", "R0"}
    side : {"left", "right"}, optional
        Side on which studies are missing; by default from the sign of the
        slope in a regression of ``yi`` on ``sqrt(vi)`` (negative slope ->
        "right"), as metafor.

    Notes
    -----
    The studies are sorted, and the model is refitted on the k - k0 least
    extreme ones until k0 stops changing: ``k0 = (4 S_r - k(k+1))/(2k - 1)``
    (L0, with ``S_r`` the sum of the positive signed ranks of the centred
    values) or ``k0 = k - r - 1`` (R0, with ``r`` the length of the
    rightmost run of positive ranks), rounded half to even. The k0 most
    extreme studies are mirrored about the trimmed estimate and the model is
    fitted to the filled data.
    """
    yi = np.asarray(yi, float)
    vi = np.asarray(vi, float)
    k = yi.size
    method = str(method).upper()
    if estimator not in ("L0", "R0"):
        raise InputError(f"unknown trim-and-fill estimator {estimator!r}; allowed: L0, R0")
    if k < 3:
        raise EstimationError(f"trim-and-fill needs at least 3 studies, got k = {k}")
    if side is None:
        X = np.column_stack([np.ones(k), np.sqrt(vi)])
        slope = fit_rma(yi, vi, X, method=method).beta[1]
        side = "right" if slope < 0 else "left"
    elif side not in ("left", "right"):
        raise InputError(f"side must be 'left' or 'right', got {side!r}")
    y = -yi if side == "right" else yi.copy()
    order = np.argsort(y, kind="stable")
    y, v = y[order], vi[order]
    k0, k0_prev, it = 0, -1, 0
    se_k0 = np.nan
    beta = np.nan
    while k0 != k0_prev:
        k0_prev = k0
        it += 1
        if it > maxiter:
            raise EstimationError("trim-and-fill did not converge")
        beta = float(fit_rma(y[: k - k0], v[: k - k0], method=method).beta[0])
        yc = y - beta
        ranks = stats.rankdata(np.abs(yc), method="ordinal")
        signed = np.sign(yc) * ranks
        if estimator == "R0":
            neg = signed[signed < 0]
            k0f = (k - np.max(-neg)) - 1 if neg.size else k - 1
            se_k0 = math.sqrt(2 * max(0, k0f) + 2)
        else:
            Sr = np.sum(signed[signed > 0])
            k0f = (4 * Sr - k * (k + 1)) / (2 * k - 1)
            var_sr = (k * (k + 1) * (2 * k + 1) + 10 * k0f**3 + 27 * k0f**2 + 17 * k0f
                      - 18 * k * k0f**2 - 18 * k * k0f + 6 * k**2 * k0f) / 24
            # on extreme data the variance formula can go negative: no SE then (metafor gives NaN)
            se_k0 = 4 * math.sqrt(var_sr) / (2 * k - 1) if var_sr >= 0 else np.nan
        k0 = int(max(0, round(k0f)))
        se_k0 = max(0.0, se_k0) if np.isfinite(se_k0) else np.nan
    if k0 > 0:
        # mirror the k0 most extreme studies about the trimmed estimate (on the original scale)
        b_orig = -beta if side == "right" else beta
        extreme = (-y[k - k0:]) if side == "right" else y[k - k0:]
        fill_y = 2 * b_orig - extreme
        fill_v = v[k - k0:]
    else:
        fill_y = np.empty(0)
        fill_v = np.empty(0)
    ally = np.concatenate([yi, fill_y])
    allv = np.concatenate([vi, fill_v])
    f = fit_rma(ally, allv, method=method)
    est = float(f.beta[0])
    se = float(math.sqrt(f.vb[0, 0]))
    crit = _dist.norm_isf((1 - level) / 2)
    return TrimFill(k0=k0, se_k0=float(se_k0), side=side, estimator=estimator, estimate=est, se=se,
                    ci_low=est - crit * se, ci_high=est + crit * se, pval=float(2 * _dist.norm_sf(abs(est / se))),
                    tau2=f.tau2, filled_yi=fill_y, filled_vi=fill_v, method=method, log_scale=log_scale)


@dataclass(frozen=True, eq=False)
class BiasResult:
    """Egger, Begg and trim-and-fill for one pooled analysis."""

    egger: EggerTest
    begg: BeggTest
    trimfill: TrimFill
    k: int
    notes: tuple
    pooled: PoolResult
    egger_rma: EggerRmaTest | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"k": self.k, "egger": self.egger.to_dict(),
                "egger_rma": self.egger_rma.to_dict() if self.egger_rma is not None else None,
                "begg": self.begg.to_dict(), "trimfill": self.trimfill.to_dict(), "notes": list(self.notes)}

    def to_frame(self) -> pd.DataFrame:
        t = self.trimfill
        return pd.DataFrame([
            {"test": "Egger regression", "statistic": self.egger.stat, "estimate": self.egger.intercept, "pval": self.egger.pval},
            {"test": "Begg rank correlation", "statistic": self.begg.tau, "estimate": np.nan, "pval": self.begg.pval},
            {"test": f"Trim-and-fill ({t.estimator}, {t.side}): k0 = {t.k0}", "statistic": np.nan,
             "estimate": t.estimate, "pval": t.pval},
        ])

    def summary(self) -> str:
        e, b, t = self.egger, self.begg, self.trimfill
        lines = [
            f"Publication bias (k = {fmt_n(self.k)})",
            f"Egger's regression test: intercept = {fmt(e.intercept, 'estimate')} (SE {fmt(e.se, 'se')}), "
            f"{fmt_stat('t', e.stat, e.df)}, {fmt_p_eq(e.pval)}",
            f"  limit estimate (SE -> 0) = {fmt(e.limit_estimate, 'estimate')} "
            f"({fmt_ci(e.limit_ci_low, e.limit_ci_high)})",
        ]
        if self.egger_rma is not None:
            r = self.egger_rma
            stat = fmt_stat("t", r.stat, r.df) if r.df else fmt_stat("z", r.stat)
            lines.append(f"Egger's test, metafor's default (meta-regression on SE, {r.method}): {stat}, "
                         f"{fmt_p_eq(r.pval)}; limit estimate {fmt(r.limit_estimate, 'estimate')} "
                         f"({fmt_ci(r.limit_ci_low, r.limit_ci_high)})")
        lines += [
            f"Begg's rank correlation: Kendall's tau = {fmt(b.tau, 'stat')}, {fmt_p_eq(b.pval)} "
            f"({'exact' if b.exact else 'normal approximation'})",
            f"Trim-and-fill ({t.estimator}): {fmt_n(t.k0)} {'study' if t.k0 == 1 else 'studies'} filled on the {t.side} side "
            f"(SE {fmt(t.se_k0, 'se')}); adjusted estimate {fmt(t.estimate, 'estimate')} ({fmt_ci(t.ci_low, t.ci_high)})",
        ]
        if t.log_scale:
            lines[-1] += (f" (exp: {fmt(math.exp(t.estimate), 'ratio')} "
                          f"({fmt_ci(math.exp(t.ci_low), math.exp(t.ci_high), 'ratio')}))")
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def plot(self, path=None, **kwargs):
        from .plots import funnel

        return funnel(self.pooled, path=path, trimfill=self.trimfill, **kwargs)


def publication_bias(res: PoolResult, *, estimator: str = "L0") -> BiasResult:
    """Egger's test, Begg's test and trim-and-fill for a pooled result.

    Trim-and-fill uses the model of ``res`` (FE for MH/Peto pooling, on the
    inverse-variance effect sizes). A warning note is added when k < 10
    (Sterne et al. 2011).
    """
    notes = []
    if res.k < MIN_K_BIAS:
        notes.append(f"k = {res.k} < {MIN_K_BIAS}: tests for funnel asymmetry have low power and are not advised "
                     "(Sterne et al. 2011)")
    method = res.method if res.method in RE_METHODS or res.method == "FE" else "FE"
    if method != res.method:
        notes.append(f"trim-and-fill uses the inverse-variance fixed-effect model in place of {res.method}")
    yi, vi = res.yi, res.vi
    return BiasResult(
        egger=egger_test(yi, vi, level=res.level), begg=begg_test(yi, vi),
        egger_rma=egger_rma_test(yi, vi, method=method, knha=res.knha, level=res.level),
        trimfill=trim_and_fill(yi, vi, method=method, estimator=estimator, level=res.level, log_scale=res.log_scale),
        k=res.k, notes=tuple(notes), pooled=res,
    )
