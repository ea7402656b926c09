"""Mantel-Haenszel and Peto pooling of 2x2 tables.

Computed from the raw counts (nothing added to zero cells), as R metafor 3.8
``rma.mh()`` and ``rma.peto()`` do by default; Cochran's Q and I^2 come from
the inverse-variance effect sizes of the studies whose effect is estimable
(0.5 added to tables with a zero cell, tables with no events or only events
in both arms left out of Q: metafor's ``add = 1/2, to = "only0",
drop00 = TRUE``).

References
----------
.. [1] Mantel N, Haenszel W (1959). Statistical aspects of the analysis of
   data from retrospective studies of disease. J Natl Cancer Inst
   22(4):719-748. doi:10.1093/jnci/22.4.719
.. [2] Robins J, Breslow N, Greenland S (1986). Estimators of the
   Mantel-Haenszel variance consistent in both sparse data and large-strata
   limiting models. Biometrics 42(2):311-323. doi:10.2307/2531052
.. [3] Greenland S, Robins JM (1985). Estimation of a common effect parameter
   from sparse follow-up data. Biometrics 41(1):55-68. doi:10.2307/2530643
.. [4] Sato T, Greenland S, Robins JM (1989). On the variance estimator for
   the Mantel-Haenszel risk difference. Biometrics 45(4):1323-1324.
.. [5] Yusuf S, Peto R, Lewis J, Collins R, Sleight P (1985). Beta blockade
   during and after myocardial infarction: an overview of the randomized
   trials. Prog Cardiovasc Dis 27(5):335-371.
   doi:10.1016/S0033-0620(85)80003-7
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _dist
from ..errors import EstimationError

__all__ = ["CountsFit", "mantel_haenszel", "peto"]


@dataclass(frozen=True, eq=False)
class CountsFit:
    """Pooled estimate from 2x2 tables (internal; see :func:`hepatostat.meta.pool`)."""

    estimate: float
    se: float
    weights: np.ndarray  # unnormalised, per table
    cmh: float = np.nan  # Cochran-Mantel-Haenszel statistic (OR only)
    cmh_pval: float = np.nan


def _cells(e1, n1, e2, n2):
    a = np.asarray(e1, float)
    c = np.asarray(e2, float)
    return a, np.asarray(n1, float) - a, c, np.asarray(n2, float) - c


def mantel_haenszel(e1, n1, e2, n2, measure: str, *, correct: bool = True) -> CountsFit:
    """Mantel-Haenszel pooled log OR, log RR or RD.

    Notes
    -----
    With ``a, b, c, d`` the cells and ``N`` the table total:
    OR = ``sum(a d / N) / sum(b c / N)`` with the Robins-Breslow-Greenland
    variance of its log; RR = ``sum(a n2 / N) / sum(c n1 / N)`` with the
    Greenland-Robins variance; RD = ``sum((a n2 - c n1)/N) / sum(n1 n2 / N)``
    with the Sato-Greenland-Robins variance. The Cochran-Mantel-Haenszel
    test (OR) uses a continuity correction of 0.5 when ``correct``.
    Study weights are ``b c/N`` (OR), ``c n1/N`` (RR), ``n1 n2/N`` (RD).
    """
    a, b, c, d = _cells(e1, n1, e2, n2)
    n1 = a + b
    n2 = c + d
    N = n1 + n2
    cmh = cmh_p = np.nan
    if measure == "OR":
        P, Q = (a + d) / N, (b + c) / N
        R_i, S_i = a / N * d, b / N * c
        R, S = R_i.sum(), S_i.sum()
        if R == 0 or S == 0:
            raise EstimationError("Mantel-Haenszel odds ratio not estimable: no events (or no non-events) in one arm across all studies")
        est = np.log(R / S)
        se = np.sqrt(0.5 * (np.sum(P * R_i) / R**2 + np.sum(P * S_i + Q * R_i) / (R * S) + np.sum(Q * S_i) / S**2))
        weights = S_i
        xt, yt = a + c, b + d
        if xt.sum() > 0 and yt.sum() > 0:
            num = (abs(np.sum(a - n1 / N * xt)) - (0.5 if correct else 0.0)) ** 2
            den = np.sum(n1 / N * (n2 / N) * (xt * (yt / (N - 1))))
            cmh = num / den
            cmh_p = float(_dist.chi2_sf(cmh, 1))
    elif measure == "RR":
        R, S = np.sum(a * n2 / N), np.sum(c * n1 / N)
        if a.sum() == 0 or c.sum() == 0:
            raise EstimationError("Mantel-Haenszel risk ratio not estimable: no events in one arm across all studies")
        est = np.log(R / S)
        se = np.sqrt(np.sum(n1 / N * (n2 / N) * (a + c) - a / N * c) / (R * S))
        weights = c / N * n1
    elif measure == "RD":
        W = np.sum(n1 * (n2 / N))
        est = np.sum(a * (n2 / N) - c * (n1 / N)) / W
        se = np.sqrt(
            (est * np.sum(c * (n1 / N) ** 2 - a * (n2 / N) ** 2 + n1 / N * (n2 / N) * (n2 - n1) / 2)
             + np.sum(a * (n2 - c) / N + c * (n1 - a) / N) / 2) / W**2
        )
        weights = n1 / N * n2
    else:
        raise EstimationError(f"Mantel-Haenszel pooling is for OR, RR or RD, not {measure}")
    return CountsFit(float(est), float(se), weights, float(cmh), float(cmh_p) if np.isfinite(cmh_p) else np.nan)


def _peto_terms(e1, n1, e2, n2):
    """Observed minus expected events in arm 1 and its hypergeometric variance, per table."""
    a, b, c, d = _cells(e1, n1, e2, n2)
    n1 = a + b
    n2 = c + d
    N = n1 + n2
    xt, yt = a + c, b + d
    E = xt * n1 / N
    V = xt * yt * (n1 / N) * (n2 / N) / (N - 1)
    return a - E, V


def peto(e1, n1, e2, n2) -> CountsFit:
    """Peto's one-step pooled log odds ratio.

    Notes
    -----
    ``log OR = sum(O - E) / sum(V)``, ``se = 1/sqrt(sum(V))`` with
    ``O = a``, ``E = n1 (a + c)/N`` and
    ``V = (a + c)(b + d) n1 n2 / (N^2 (N - 1))``; weights are ``V``.
    """
    oe, V = _peto_terms(e1, n1, e2, n2)
    sv = V.sum()
    if sv == 0:
        raise EstimationError("Peto odds ratio not estimable: no events (or only events) in every study")
    return CountsFit(float(np.sum(oe) / sv), float(1 / np.sqrt(sv)), V)


def peto_q(e1, n1, e2, n2) -> tuple[float, int]:
    """Peto's heterogeneity statistic and its number of informative tables."""
    oe, V = _peto_terms(e1, n1, e2, n2)
    pos = V > 0
    q = np.sum(oe[pos] ** 2 / V[pos]) - np.sum(oe) ** 2 / np.sum(V[pos])
    return max(0.0, float(q)), int(pos.sum())
