"""Many independent meta-analyses at once, as plain dictionaries of arrays.

Thin views of :func:`hepatostat.meta.kernel.fit` (the only implementation of
the estimators) kept for callers that want padded arrays in and a dict out.
"""

from __future__ import annotations

import numpy as np

from ..errors import EstimationError
from .kernel import fit

__all__ = ["pad", "fit_batch", "fit_batch_reg"]


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


def fit_batch(y, v, mask, method: str = "REML", *, knha: bool = False, level: float = 0.95,
              qprofile: bool = True) -> dict:
    """Fit intercept-only models to every row of padded arrays.

    Returns a dict of arrays of shape (m,): ``k, estimate, se, stat, pval,
    ci_low, ci_high, df, tau2, se_tau2, tau2_ci_low, tau2_ci_high, I2,
    I2_ci_low, I2_ci_high, H2, H2_ci_low, H2_ci_high, Q, Q_df, Q_pval, pi_low,
    pi_high, knha, status, reason`` and ``weights`` (m, kmax, percent).
    """
    mask = np.asarray(mask, bool)
    if np.any(mask.sum(1) == 0):
        raise EstimationError("an analysis has no studies")
    f = fit(y, v, mask, method=method, knha=knha, level=level, qprofile=qprofile)
    out = {name: getattr(f, name) for name in (
        "k", "df", "knha", "tau2", "se_tau2", "tau2_ci_low", "tau2_ci_high", "I2", "I2_ci_low", "I2_ci_high",
        "H2", "H2_ci_low", "H2_ci_high", "pi_low", "pi_high", "weights", "status", "reason")}
    for name in ("estimate", "se", "stat", "pval", "ci_low", "ci_high"):
        src = "beta" if name == "estimate" else name
        out[name] = getattr(f, src)[:, 0]
    out["Q"], out["Q_df"], out["Q_pval"] = f.QE, f.QE_df, f.QE_pval
    return out


def fit_batch_reg(y, v, X, method: str = "REML", *, knha: bool = False, btt=None, rank_checked: bool = False) -> dict:
    """Fit m meta-regressions (X of shape (m, k, p)); dict with ``beta, se, stat`` (m, p), ``QM, tau2`` (m,).

    No p-values, intervals or heterogeneity statistics are computed
    (``inference=False``): the permutation test needs the statistics only.
    ``rank_checked``: every X is known to have full rank (row permutations
    of a checked one), so the kernel's rank check is skipped.
    """
    f = fit(y, v, None, X, method=method, knha=knha, qprofile=False, btt=btt, inference=False,
            rank_checked=rank_checked)
    return {"beta": f.beta, "se": f.se, "stat": f.stat, "QM": f.QM, "tau2": f.tau2, "status": f.status}
