"""t tests and one-way ANOVA: thin wrappers of ``scipy.stats``.

Each function checks the degenerate cases first (too few values, no
variation within the groups) and returns a NaN P value with a note saying
why, where scipy would return NaN with a runtime warning.

References
----------
.. [1] Welch BL (1951). On the comparison of several mean values: an
   alternative approach. Biometrika 38(3/4):330-336. doi:10.1093/biomet/38.3-4.330
.. [2] Welch BL (1947). The generalization of "Student's" problem when
   several different population variances are involved. Biometrika
   34(1/2):28-35. doi:10.1093/biomet/34.1-2.28
"""

from __future__ import annotations

import numpy as np

from .base import TestResult, finite_array

__all__ = ["student_t", "welch_t", "anova", "welch_anova"]


def student_t(x, y) -> TestResult:
    """Two-sample Student's t test with pooled variance.

    ``scipy.stats.ttest_ind(x, y, equal_var=True)``, as R's
    ``t.test(x, y, var.equal = TRUE)`` and SPSS's "Equal variances assumed".
    """
    from scipy import stats

    x, y = finite_array(x, "x"), finite_array(y, "y")
    n1, n2 = x.size, y.size
    df = n1 + n2 - 2
    if n1 < 1 or n2 < 1 or df < 1:
        return TestResult.undefined("student_t", "Student's t test needs at least one value per group and three in all", (df,))
    if np.ptp(x) == 0 and np.ptp(y) == 0:
        return TestResult.undefined("student_t", "no variation within the groups: t is undefined", (df,))
    res = stats.ttest_ind(x, y, equal_var=True)
    return TestResult("student_t", float(res.statistic), float(res.pvalue), (float(df),), "pooled variance")


def welch_t(x, y) -> TestResult:
    """Welch's unequal-variance t test [2]_.

    ``scipy.stats.ttest_ind(x, y, equal_var=False)``, as R's
    ``t.test(x, y)`` and SPSS's "Equal variances not assumed"; df by
    Welch-Satterthwaite.
    """
    from scipy import stats

    x, y = finite_array(x, "x"), finite_array(y, "y")
    if x.size < 2 or y.size < 2:
        return TestResult.undefined("welch_t", "Welch's t test needs at least two values per group")
    if np.ptp(x) == 0 and np.ptp(y) == 0:
        return TestResult.undefined("welch_t", "no variation within the groups: t is undefined")
    res = stats.ttest_ind(x, y, equal_var=False)
    return TestResult("welch_t", float(res.statistic), float(res.pvalue), (float(res.df),), "Welch-Satterthwaite df")


def anova(*samples) -> TestResult:
    """One-way ANOVA F test: ``scipy.stats.f_oneway`` (R ``oneway.test(var.equal = TRUE)``, ``aov``)."""
    from scipy import stats

    xs = [finite_array(s) for s in samples]
    k = len(xs)
    n = sum(s.size for s in xs)
    if k < 2 or any(s.size == 0 for s in xs) or n - k < 1:
        return TestResult.undefined("anova", "one-way ANOVA needs two or more groups with values and more values than groups")
    df1, df2 = k - 1, n - k
    if all(np.ptp(s) == 0 for s in xs):
        return TestResult.undefined("anova", "no variation within the groups: F is undefined", (df1, df2))
    res = stats.f_oneway(*xs)
    return TestResult("anova", float(res.statistic), float(res.pvalue), (float(df1), float(df2)), "equal variances")


def welch_anova(*samples) -> TestResult:
    """Welch's heteroscedastic one-way ANOVA [1]_ (R ``oneway.test(var.equal = FALSE)``).

    Notes
    -----
    ``scipy.stats.f_oneway(*samples, equal_var=False)``. With weights
    ``w_i = n_i / s_i^2``, ``m = sum(w m_i) / sum(w)`` and
    ``A = sum((1 - w_i / sum(w))^2 / (n_i - 1)) / (k^2 - 1)``:
    ``F = sum(w_i (m_i - m)^2) / ((k - 1)(1 + 2 (k - 2) A))`` on ``k - 1`` and
    ``1 / (3 A)`` degrees of freedom (the denominator df is computed here
    from that formula, as scipy does not return it).
    """
    from scipy import stats

    xs = [finite_array(s) for s in samples]
    k = len(xs)
    if k < 2 or any(s.size < 2 for s in xs):
        return TestResult.undefined("welch_anova", "Welch's ANOVA needs two or more groups with at least two values each")
    if any(np.ptp(s) == 0 for s in xs):
        return TestResult.undefined("welch_anova", "a group without variation: Welch's ANOVA is undefined")
    n = np.array([s.size for s in xs], float)
    w = n / np.array([s.var(ddof=1) for s in xs])
    a = np.sum((1 - w / w.sum()) ** 2 / (n - 1)) / (k**2 - 1)
    res = stats.f_oneway(*xs, equal_var=False)
    return TestResult("welch_anova", float(res.statistic), float(res.pvalue), (float(k - 1), float(1 / (3 * a))), "Welch (1951)")
