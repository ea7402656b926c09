"""Standardized differences between two groups (balance of baseline covariates).

References
----------
.. [9] Austin PC (2009). Balance diagnostics for comparing the distribution
   of baseline covariates between treatment groups in propensity-score
   matched samples. Stat Med 28(25):3083-3107. doi:10.1002/sim.3697
.. [10] Yang D, Dalton JE (2012). A unified approach to measuring the effect
   size between two groups using SAS. SAS Global Forum 2012, paper 335-2012.
.. [11] Austin PC, Stuart EA (2015). Moving towards best practice when using
   inverse probability of treatment weighting (IPTW) using the propensity
   score to estimate causal treatment effects in observational studies.
   Stat Med 34(28):3661-3679. doi:10.1002/sim.6607
"""

from __future__ import annotations

import math

import numpy as np

from .base import finite_array

__all__ = ["standardized_difference", "standardized_difference_categorical"]


def _wmean_var(x, w):
    x = finite_array(x)
    w = np.ones_like(x) if w is None else finite_array(w, "weights")
    sw = w.sum()
    m = np.sum(w * x) / sw
    den = sw**2 - np.sum(w**2)
    v = sw / den * np.sum(w * (x - m) ** 2) if den > 0 else np.nan
    return m, v


def standardized_difference(x1, x2, w1=None, w2=None) -> float:
    """Standardized mean difference ``(m1 - m2) / sqrt((s1^2 + s2^2) / 2)`` (signed).

    With weights, weighted means and the weighted variance of Austin & Stuart
    (2015) [11]_: ``s^2 = sum(w) / (sum(w)^2 - sum(w^2)) * sum(w (x - m)^2)``
    (equal to the usual n - 1 variance for unit weights) [9]_.
    """
    m1, v1 = _wmean_var(x1, w1)
    m2, v2 = _wmean_var(x2, w2)
    den = math.sqrt((v1 + v2) / 2) if np.isfinite(v1 + v2) else np.nan
    if not den > 0:
        return 0.0 if m1 == m2 else np.nan
    return float((m1 - m2) / den)


def standardized_difference_categorical(p1, p2) -> float:
    """Standardized difference of two categorical distributions (Yang & Dalton 2012) [10]_.

    ``p1`` and ``p2`` are the level proportions (or counts, normalised here)
    of the two groups. ``sqrt(d' S^-1 d)`` over the levels but the first, with
    ``S = (S1 + S2) / 2`` and ``S_g = diag(p) - p p'``; for two levels this is
    ``|p1 - p2| / sqrt((p1 (1 - p1) + p2 (1 - p2)) / 2)`` (Austin 2009).
    Always >= 0.
    """
    a = np.asarray(p1, float)
    b = np.asarray(p2, float)
    a, b = a / a.sum(), b / b.sum()
    d = (a - b)[1:]
    S = ((np.diag(a) - np.outer(a, a)) + (np.diag(b) - np.outer(b, b)))[1:, 1:] / 2
    if np.allclose(d, 0):
        return 0.0
    val = float(d @ np.linalg.pinv(S) @ d)
    return math.sqrt(max(val, 0.0)) if np.any(np.diag(S) > 0) else np.nan
