"""Rank tests: Mann-Whitney U, Kruskal-Wallis, Wilcoxon signed-rank.

Thin wrappers of ``scipy.stats.mannwhitneyu``, ``kruskal`` and ``wilcoxon``
with R's conventions: the statistic reported is R's (W = rank sum of x minus
``n_x (n_x + 1) / 2``; V = sum of the ranks of the positive differences), the
normal approximation has tie and, by default, continuity correction, and an
exact P value is given only for data without ties (:mod:`.exact`), falling
back to the normal approximation with a note as R does.

References
----------
.. [1] Mann HB, Whitney DR (1947). Ann Math Stat 18(1):50-60. doi:10.1214/aoms/1177730491
.. [2] Hollander M, Wolfe DA, Chicken E (2014). Nonparametric Statistical
   Methods, 3rd ed. Wiley. (tie corrections of the rank tests)
.. [3] Kruskal WH, Wallis WA (1952). Use of ranks in one-criterion variance
   analysis. J Am Stat Assoc 47(260):583-621. doi:10.1080/01621459.1952.10483441
"""

from __future__ import annotations

import warnings

import numpy as np

from ..errors import InputError
from .base import TestResult, finite_array, tie_term
from .exact import ranksum_counts, signrank_counts, two_sided_exact

__all__ = ["mann_whitney", "kruskal_wallis", "signed_rank", "EXACT_MAX_PAIRS"]

#: the exact rank-sum distribution is computed for n_x * n_y up to this
EXACT_MAX_PAIRS = 40_000


def _approx_method(correct: bool) -> str:
    return "normal approximation, tie" + (" and continuity" if correct else "") + " corrected"


def mann_whitney(x, y, *, exact: bool = False, correct: bool = True) -> TestResult:
    """Mann-Whitney U (Wilcoxon rank-sum) test, two-sided, as R's ``wilcox.test(x, y)``.

    Parameters
    ----------
    x, y : array_like
        The two samples (finite numbers).
    exact : bool
        Exact P value from the permutation distribution of W, as
        ``wilcox.test(exact = TRUE)``; it needs data without ties (R then
        falls back to the normal approximation, and so do we, saying so in
        ``note``) and ``len(x) * len(y) <= EXACT_MAX_PAIRS``.
    correct : bool
        Continuity correction of the normal approximation (R's default).

    Returns
    -------
    TestResult
        ``statistic`` is R's W (scipy's U of ``x``).

    Notes
    -----
    Normal approximation: ``scipy.stats.mannwhitneyu(x, y,
    use_continuity=correct, method="asymptotic")``, i.e. ``z = (W - n_x n_y /
    2 - 0.5 sign(.)) / sigma`` with ``sigma^2 = n_x n_y / 12 ((N + 1) - sum(t^3
    - t) / (N (N - 1)))`` [2]_. SPSS's "Asymp. Sig." leaves out the
    continuity correction; use ``correct=False`` to reproduce it. With all
    values equal the P value is undefined (NaN), as in R.
    """
    from scipy import stats

    x, y = finite_array(x, "x"), finite_array(y, "y")
    nx, ny = x.size, y.size
    if nx == 0 or ny == 0:
        return TestResult.undefined("mann_whitney", "each group needs at least one value")
    r = stats.rankdata(np.concatenate([x, y]))
    W = float(r[:nx].sum() - nx * (nx + 1) / 2)
    ties = tie_term(r)
    note = ""
    if exact:
        if ties > 0:
            note = "ties: exact P value not available, normal approximation used (as R)"
        elif nx * ny > EXACT_MAX_PAIRS:
            note = f"n_x * n_y > {EXACT_MAX_PAIRS}: normal approximation used instead of the exact distribution"
        else:
            return TestResult("mann_whitney", W, two_sided_exact(ranksum_counts(nx, ny), W, nx * ny / 2), (), "exact")
    if np.ptp(r) == 0:
        return TestResult("mann_whitney", W, np.nan, (), _approx_method(correct), "all values are equal: the rank-sum test is undefined")
    res = stats.mannwhitneyu(x, y, use_continuity=correct, alternative="two-sided", method="asymptotic")
    return TestResult("mann_whitney", W, float(res.pvalue), (), _approx_method(correct), note)


def kruskal_wallis(*samples) -> TestResult:
    """Kruskal-Wallis rank-sum test with tie correction [3]_: ``scipy.stats.kruskal`` (R ``kruskal.test``)."""
    from scipy import stats

    xs = [finite_array(s) for s in samples]
    k = len(xs)
    if k < 2 or any(s.size == 0 for s in xs):
        return TestResult.undefined("kruskal", "the Kruskal-Wallis test needs two or more groups with values")
    allv = np.concatenate(xs)
    if allv.size < 2 or np.ptp(allv) == 0:
        return TestResult.undefined("kruskal", "all values are equal: the Kruskal-Wallis test is undefined", (k - 1,))
    res = stats.kruskal(*xs)
    return TestResult("kruskal", float(res.statistic), float(res.pvalue), (float(k - 1),), "chi-square approximation, tie corrected")


def signed_rank(x, y=None, *, exact: bool = False, correct: bool = True) -> TestResult:
    """Wilcoxon signed-rank test of paired samples, as R's ``wilcox.test(x, y, paired = TRUE)``.

    ``statistic`` is R's V: the sum of the ranks of the positive differences
    ``x - y`` (scipy reports the smaller of the two rank sums instead). Zero
    differences are dropped (Wilcoxon's convention, as R;
    ``zero_method="wilcox"``). ``exact=True`` gives the exact P value when no
    differences are zero or tied; otherwise the normal approximation of
    ``scipy.stats.wilcoxon(method="approx")`` with tie (and, by default,
    continuity) correction is used, with a ``note``.
    """
    from scipy import stats

    x = finite_array(x, "x")
    if y is not None:
        y = finite_array(y, "y")
        if y.size != x.size:
            raise InputError(f"paired samples must have equal length, got {x.size} and {y.size}")
        d = x - y
    else:
        d = x
    zeros = int(np.sum(d == 0))
    d = d[d != 0]
    n = d.size
    if n == 0:
        return TestResult.undefined("signed_rank", "all differences are zero: the signed-rank test is undefined")
    r = stats.rankdata(np.abs(d))
    V = float(r[d > 0].sum())
    note = ""
    if exact:
        if tie_term(r) > 0 or zeros:
            note = "ties or zero differences: exact P value not available, normal approximation used (as R)"
        else:
            return TestResult("signed_rank", V, two_sided_exact(signrank_counts(n), V, n * (n + 1) / 4), (), "exact")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # scipy's "sample size too small for normal approximation"
        p = float(stats.wilcoxon(d, zero_method="wilcox", correction=correct, method="approx").pvalue)
    if zeros:
        note = (note + "; " if note else "") + f"{zeros} zero difference{'s' if zeros > 1 else ''} dropped"
    return TestResult("signed_rank", V, p, (), _approx_method(correct), note)
