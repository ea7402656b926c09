"""Tests of independence in contingency tables: Pearson's chi-square, Fisher's exact.

References
----------
.. [1] Mehta CR, Patel NR (1983). A network algorithm for performing
   Fisher's exact test in r x c contingency tables. J Am Stat Assoc
   78(382):427-434. doi:10.1080/01621459.1983.10477989
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError
from .base import TestResult
from .exact import fisher_rxc_exact, fisher_rxc_monte_carlo

__all__ = ["chi_square", "min_expected", "fisher_exact", "contingency_table",
           "FISHER_MAX_NODES", "FISHER_MC_TABLES", "FISHER_MC_SEED"]

#: Fisher's exact test enumerates at most this many partial tables, then
#: falls back to a Monte Carlo P value
FISHER_MAX_NODES = 2_000_000
#: Monte Carlo tables drawn past that limit (fixed seed: reproducible)
FISHER_MC_TABLES = 100_000
FISHER_MC_SEED = 20240517


def contingency_table(table) -> np.ndarray:
    """``table`` as a 2-D array of whole counts with empty rows and columns dropped."""
    t = np.asarray(table)
    if t.ndim != 2:
        raise InputError(f"a contingency table must be two-dimensional, got shape {t.shape}")
    if not np.all(np.isfinite(t.astype(float))) or np.any(t < 0) or np.any(t != np.round(t)):
        raise InputError("a contingency table holds non-negative whole counts")
    t = t.astype(np.int64)
    return t[t.sum(1) > 0][:, t.sum(0) > 0]


def chi_square(table) -> TestResult:
    """Pearson's chi-square test of independence without continuity correction.

    ``scipy.stats.chi2_contingency(table, correction=False)``, as R's
    ``chisq.test(correct = FALSE)`` and SPSS's "Pearson Chi-Square". Empty
    rows and columns are dropped first; fewer than two left gives no test.
    The smallest expected count is in ``method`` ("min expected = …").
    """
    from scipy import stats

    from ..io.format import fmt_sig

    t = contingency_table(table)
    if t.shape[0] < 2 or t.shape[1] < 2:
        return TestResult.undefined("chi2", "fewer than two levels or groups with counts: no test")
    res = stats.chi2_contingency(t, correction=False)
    return TestResult("chi2", float(res.statistic), float(res.pvalue), (float(res.dof),),
                      f"min expected = {fmt_sig(res.expected_freq.min(), 4)}")


def min_expected(table) -> float:
    """The smallest expected count of a table under independence (empty rows/columns dropped)."""
    t = contingency_table(table)
    if t.size == 0:
        return np.nan
    return float((np.outer(t.sum(1), t.sum(0)) / t.sum()).min())


def fisher_exact(table, *, max_nodes: int = FISHER_MAX_NODES) -> TestResult:
    """Fisher's exact test for 2 x 2 and r x c tables, two-sided (R ``fisher.test``).

    The P value is the total probability (multivariate hypergeometric, margins
    fixed) of the tables no more probable than the observed one, with R's
    relative tolerance of 1e-7 for ties in probability.

    Notes
    -----
    2 x 2: ``scipy.stats.fisher_exact``. Larger tables:
    :func:`hepatostat.stats.exact.fisher_rxc_exact`, a network enumeration in
    the spirit of Mehta & Patel (1983) [1]_, exact for the tables baseline
    tables meet (a few levels, a few hundred patients). Past ``max_nodes``
    partial tables it reports a Monte Carlo P value from
    ``FISHER_MC_TABLES`` random tables with the same margins (fixed seed, as
    ``fisher.test(simulate.p.value = TRUE)``: ``(1 + hits) / (B + 1)``),
    saying so in ``method`` and ``note``. Empty rows and columns are
    dropped; fewer than two non-empty rows or columns give P = 1.
    """
    t = contingency_table(table)
    if t.shape[0] < 2 or t.shape[1] < 2:
        return TestResult("fisher", np.nan, 1.0, (), "exact", "fewer than two levels or groups with counts")
    if t.shape == (2, 2):
        from scipy import stats

        return TestResult("fisher", np.nan, float(stats.fisher_exact(t).pvalue), (), "exact")
    tol = math.log1p(1e-7)
    p = fisher_rxc_exact(t, tol, max_nodes)
    if p is None:
        p = fisher_rxc_monte_carlo(t, tol, FISHER_MC_TABLES, FISHER_MC_SEED)
        return TestResult("fisher", np.nan, float(p), (), f"Monte Carlo ({FISHER_MC_TABLES} tables, seed {FISHER_MC_SEED})",
                          f"table too large for exact enumeration (> {max_nodes} partial tables): Monte Carlo P value")
    return TestResult("fisher", np.nan, float(p), (), "exact")
