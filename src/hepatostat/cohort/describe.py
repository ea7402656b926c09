"""Table 1 and Table 2: baseline characteristics compared between groups.

``table1()`` describes every variable of a one-row-per-patient table by
group and tests the difference with the test that the seed cohort paper's
SPSS practice picks (DESIGN.md, "Cohort Table 1 defaults"):

* continuous: Shapiro-Wilk in every group; when every group has p >= 0.05 the
  variable is *normal* and is shown as mean ± SD and tested with Student's t
  test (2 groups) or one-way ANOVA (> 2 groups); otherwise it is shown as
  median (Q1-Q3) and tested with the Mann-Whitney U test (normal
  approximation with tie and continuity correction, as R's
  ``wilcox.test(exact = FALSE, correct = TRUE)``) or the Kruskal-Wallis test;
* categorical: counts (percent); Pearson's chi-square test without continuity
  correction, or Fisher's exact test when any expected count is < 5;
* quartiles by SPSS's definition (``HAVERAGE``, R ``quantile(type = 6)``).

The test used is named in every row (``student_t, welch_t, anova,
welch_anova, mann_whitney, kruskal, chi2, fisher``). ``table2()`` runs the
same for a list of group pairs (the seed's Table 2: A vs C and B vs D).

The elementary tests are public too (:func:`student_t`, :func:`welch_t`,
:func:`anova`, :func:`welch_anova`, :func:`mann_whitney`,
:func:`kruskal_wallis`, :func:`signed_rank`, :func:`chi_square`,
:func:`fisher_exact`, :func:`shapiro_wilk`, :func:`quantile`,
:func:`standardized_difference`); the longitudinal and model modules use
them.

References
----------
.. [1] Shapiro SS, Wilk MB (1965). An analysis of variance test for
   normality (complete samples). Biometrika 52(3/4):591-611.
   doi:10.1093/biomet/52.3-4.591; Royston P (1995). Remark AS R94: A remark
   on algorithm AS 181. Appl Stat 44(4):547-551. doi:10.2307/2986146
.. [2] Welch BL (1951). On the comparison of several mean values: an
   alternative approach. Biometrika 38(3/4):330-336. doi:10.1093/biomet/38.3-4.330
.. [3] Mann HB, Whitney DR (1947). On a test of whether one of two random
   variables is stochastically larger than the other. Ann Math Stat
   18(1):50-60. doi:10.1214/aoms/1177730491
.. [4] Hollander M, Wolfe DA, Chicken E (2014). Nonparametric Statistical
   Methods, 3rd ed. Wiley. (tie corrections of the rank tests; Hodges-Lehmann)
.. [5] Kruskal WH, Wallis WA (1952). Use of ranks in one-criterion variance
   analysis. J Am Stat Assoc 47(260):583-621. doi:10.1080/01621459.1952.10483441
.. [6] Mehta CR, Patel NR (1983). A network algorithm for performing
   Fisher's exact test in r x c contingency tables. J Am Stat Assoc
   78(382):427-434. doi:10.1080/01621459.1983.10477989
.. [7] Hyndman RJ, Fan Y (1996). Sample quantiles in statistical packages.
   Am Stat 50(4):361-365. doi:10.1080/00031305.1996.10473566
.. [8] IBM Corp. IBM SPSS Statistics 22 Algorithms, EXAMINE: percentiles,
   method HAVERAGE (weighted average at x_{(n+1)p}).
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

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

from ..errors import InputError

__all__ = [
    "TESTS",
    "NORMALITY",
    "ID_COLUMNS",
    "EXACT_MAX_PAIRS",
    "FISHER_MAX_NODES",
    "TestResult",
    "Table1Row",
    "Table1Result",
    "Table2Result",
    "table1",
    "table2",
    "quantile",
    "quartile_type",
    "shapiro_wilk",
    "student_t",
    "welch_t",
    "anova",
    "welch_anova",
    "mann_whitney",
    "kruskal_wallis",
    "signed_rank",
    "chi_square",
    "fisher_exact",
    "standardized_difference",
    "standardized_difference_categorical",
    "format_p",
    "p_text",
]

#: names of the tests a Table 1 row may carry (DESIGN.md contract)
TESTS = ("student_t", "welch_t", "anova", "welch_anova", "mann_whitney", "kruskal", "chi2", "fisher")
#: ways of deciding normality
NORMALITY = ("shapiro", "assume_normal", "nonparametric")
#: columns never described when ``variables`` is not given (OMOP's patient key)
ID_COLUMNS = ("person_id",)
#: the exact rank-sum distribution is computed for n_x * n_y up to this
EXACT_MAX_PAIRS = 40_000
#: Fisher's exact test enumerates at most this many partial tables, then
#: falls back to a Monte Carlo p-value
FISHER_MAX_NODES = 2_000_000
#: Monte Carlo tables drawn past that limit (fixed seed: reproducible)
FISHER_MC_TABLES = 100_000
FISHER_MC_SEED = 20240517
#: Shapiro-Wilk is defined for 3 to 5000 values (R's shapiro.test, SPSS)
SW_MIN, SW_MAX = 3, 5000

_QUARTILE_NAMES = {"spss": 6, "haverage": 6, "r": 7, "default": 7, "excel": 7, "minitab": 6, "sas": 2}
_SMALL = 4 * np.finfo(float).eps  # R's fuzz in quantile()


# ---------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------


def _f(x):
    """float or None (JSON); NaN and inf become None."""
    if x is None:
        return None
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def format_p(p, digits: int = 3) -> str:
    """A P value as journals print it: ``<0.001`` or three decimals; ``NA`` if missing."""
    if p is None or not np.isfinite(p):
        return "NA"
    lim = 10.0 ** (-digits)
    return f"<{lim:.{digits}f}" if p < lim else f"{p:.{digits}f}"


def p_text(p, digits: int = 3) -> str:
    """``p = 0.012`` or ``p < 0.001`` (``p = NA`` if missing) for running text."""
    t = format_p(p, digits)
    return f"p < {t[1:]}" if t.startswith("<") else f"p = {t}"


def _arr(x, name="x") -> np.ndarray:
    a = np.asarray(x, dtype=float).ravel()
    if a.size and not np.all(np.isfinite(a)):
        raise InputError(f"{name} must hold finite numbers (remove missing values first)")
    return a


def _tie_term(ranks: np.ndarray) -> float:
    """sum(t^3 - t) over groups of tied ranks."""
    _, counts = np.unique(ranks, return_counts=True)
    counts = counts.astype(float)
    return float(np.sum(counts**3 - counts))


@dataclass(frozen=True)
class TestResult:
    """One hypothesis test: its name, statistic, degrees of freedom, P value.

    ``method`` says how the P value was obtained (e.g. ``"exact"`` or
    ``"normal approximation, tie and continuity corrected"``); ``note`` says
    why a P value is missing or why the requested method was not used.
    """

    test: str
    statistic: float
    pval: float
    df: tuple = ()
    method: str = ""
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "statistic": _f(self.statistic),
            "df": [_f(d) for d in self.df],
            "pval": _f(self.pval),
            "method": self.method,
            "note": self.note,
        }


def _nan_test(name, note, df=()):
    return TestResult(name, np.nan, np.nan, tuple(df), "", note)


# ---------------------------------------------------------------------------
# quantiles
# ---------------------------------------------------------------------------


def quartile_type(quartiles) -> int:
    """The Hyndman-Fan type (1-9) for ``"spss"`` (6), ``"r"`` (7), ``"sas"`` (2) or an int."""
    if isinstance(quartiles, str):
        key = quartiles.strip().lower()
        if key in _QUARTILE_NAMES:
            return _QUARTILE_NAMES[key]
        if key.isdigit():
            quartiles = int(key)
        else:
            raise InputError(
                f"unknown quartile definition {quartiles!r}; allowed: {', '.join(sorted(_QUARTILE_NAMES))} or a type 1-9"
            )
    if isinstance(quartiles, (bool, np.bool_)) or not isinstance(quartiles, (int, np.integer)) or not 1 <= quartiles <= 9:
        raise InputError(f"quartile type must be 1 to 9 (Hyndman & Fan 1996), got {quartiles!r}")
    return int(quartiles)


def quantile(x, probs, type=6) -> np.ndarray:  # noqa: A002 - R's argument name
    """Sample quantiles of the nine Hyndman-Fan types, as R's ``quantile()``.

    Parameters
    ----------
    x : array_like
        Finite numbers (at least one).
    probs : float or array_like
        Probabilities in [0, 1].
    type : int or str
        1-9, or ``"spss"`` (= 6, the default), ``"r"`` (= 7), ``"sas"`` (= 2).

    Returns
    -------
    numpy.ndarray (or float for a scalar ``probs``)

    Notes
    -----
    Type 6 is SPSS's ``HAVERAGE`` definition [8]_: with ``h = (n + 1) p``,
    ``Q(p) = x_(floor h) + (h - floor h) (x_(floor h + 1) - x_(floor h))``,
    clamped to the smallest and largest value. The implementation follows
    Hyndman & Fan (1996) [7]_ and R's ``quantile.default``, including its
    fuzz of 4 machine epsilons when ``h`` is (nearly) an integer.
    """
    t = quartile_type(type)
    xs = np.sort(_arr(x))
    n = xs.size
    if n == 0:
        raise InputError("quantile() needs at least one value")
    scalar = np.ndim(probs) == 0
    p = np.atleast_1d(np.asarray(probs, dtype=float))
    if np.any((p < 0) | (p > 1)) or not np.all(np.isfinite(p)):
        raise InputError(f"probabilities must lie in [0, 1], got {probs!r}")
    if t <= 3:
        nppm = n * p - 0.5 if t == 3 else n * p
        j = np.floor(nppm + _SMALL)
        if t == 1:
            h = (nppm > j).astype(float)
        elif t == 2:
            h = ((nppm > j).astype(float) + 1) / 2
        else:
            h = ((nppm != j) | (j % 2 == 1)).astype(float)
    else:
        a, b = {4: (0, 1), 5: (0.5, 0.5), 6: (0, 0), 7: (1, 1), 8: (1 / 3, 1 / 3), 9: (3 / 8, 3 / 8)}[t]
        nppm = a + p * (n + 1 - a - b)
        j = np.floor(nppm + _SMALL)
        h = nppm - j
        h[np.abs(h) < _SMALL] = 0.0
    padded = np.concatenate([[xs[0], xs[0]], xs, [xs[-1], xs[-1]]])
    j = j.astype(int)
    lo = padded[j + 1]
    hi = padded[j + 2]
    out = lo.copy()
    out[h == 1] = hi[h == 1]
    mid = (h > 0) & (h < 1) & (lo != hi)
    out[mid] = ((1 - h) * lo + h * hi)[mid]
    return float(out[0]) if scalar else out


# ---------------------------------------------------------------------------
# normality
# ---------------------------------------------------------------------------


def shapiro_wilk(x) -> TestResult:
    """Shapiro-Wilk test of normality (scipy's AS R94, as R's ``shapiro.test``).

    Returns a :class:`TestResult` named ``"shapiro_wilk"`` with ``statistic``
    W. Where the test is undefined the P value is NaN and ``note`` says why:
    fewer than 3 values, more than 5000 values (R's and SPSS's limit; scipy
    would run but warns that the P value may be inaccurate), or all values
    equal.
    """
    a = _arr(x)
    n = a.size
    if n < SW_MIN:
        return _nan_test("shapiro_wilk", f"{n} value{'s' if n != 1 else ''}: Shapiro-Wilk needs at least {SW_MIN}")
    if n > SW_MAX:
        return _nan_test("shapiro_wilk", f"{n} values: Shapiro-Wilk is defined for at most {SW_MAX} (R, SPSS)")
    if np.ptp(a) == 0:
        return _nan_test("shapiro_wilk", "all values are equal: Shapiro-Wilk is undefined")
    w, p = stats.shapiro(a)
    return TestResult("shapiro_wilk", float(w), float(p), (), "Royston (1995) AS R94")


# ---------------------------------------------------------------------------
# parametric tests
# ---------------------------------------------------------------------------


def student_t(x, y) -> TestResult:
    """Two-sample Student's t test with pooled variance (R ``t.test(var.equal = TRUE)``)."""
    x, y = _arr(x, "x"), _arr(y, "y")
    n1, n2 = x.size, y.size
    df = n1 + n2 - 2
    if n1 < 1 or n2 < 1 or df < 1:
        return _nan_test("student_t", "Student's t test needs at least one value per group and three in all", (df,))
    ss = np.sum((x - x.mean()) ** 2) + np.sum((y - y.mean()) ** 2)
    sp2 = ss / df
    if sp2 == 0:
        return _nan_test("student_t", "no variation within the groups: t is undefined", (df,))
    t = (x.mean() - y.mean()) / math.sqrt(sp2 * (1 / n1 + 1 / n2))
    return TestResult("student_t", float(t), float(2 * stats.t.sf(abs(t), df)), (float(df),), "pooled variance")


def welch_t(x, y) -> TestResult:
    """Welch's unequal-variance t test (R ``t.test(var.equal = FALSE)``) [2]_."""
    x, y = _arr(x, "x"), _arr(y, "y")
    n1, n2 = x.size, y.size
    if n1 < 2 or n2 < 2:
        return _nan_test("welch_t", "Welch's t test needs at least two values per group")
    v1, v2 = x.var(ddof=1) / n1, y.var(ddof=1) / n2
    se2 = v1 + v2
    if se2 == 0:
        return _nan_test("welch_t", "no variation within the groups: t is undefined")
    df = se2**2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))
    t = (x.mean() - y.mean()) / math.sqrt(se2)
    return TestResult("welch_t", float(t), float(2 * stats.t.sf(abs(t), df)), (float(df),), "Welch-Satterthwaite df")


def anova(*samples) -> TestResult:
    """One-way ANOVA F test (R ``oneway.test(var.equal = TRUE)``, ``aov``)."""
    xs = [_arr(s) for s in samples]
    k = len(xs)
    n = sum(s.size for s in xs)
    if k < 2 or any(s.size == 0 for s in xs) or n - k < 1:
        return _nan_test("anova", "one-way ANOVA needs two or more groups with values and more values than groups")
    grand = np.concatenate(xs).mean()
    ssb = sum(s.size * (s.mean() - grand) ** 2 for s in xs)
    ssw = sum(np.sum((s - s.mean()) ** 2) for s in xs)
    df1, df2 = k - 1, n - k
    if ssw == 0:
        return _nan_test("anova", "no variation within the groups: F is undefined", (df1, df2))
    F = (ssb / df1) / (ssw / df2)
    return TestResult("anova", float(F), float(stats.f.sf(F, df1, df2)), (float(df1), float(df2)), "equal variances")


def welch_anova(*samples) -> TestResult:
    """Welch's heteroscedastic one-way ANOVA (R ``oneway.test(var.equal = FALSE)``) [2]_.

    Notes
    -----
    With weights ``w_i = n_i / s_i^2``, ``m = sum(w m_i) / sum(w)`` and
    ``A = sum((1 - w_i / sum(w))^2 / (n_i - 1)) / (k^2 - 1)``:
    ``F = sum(w_i (m_i - m)^2) / ((k - 1)(1 + 2 (k - 2) A))`` on ``k - 1`` and
    ``1 / (3 A)`` degrees of freedom.
    """
    xs = [_arr(s) for s in samples]
    k = len(xs)
    if k < 2 or any(s.size < 2 for s in xs):
        return _nan_test("welch_anova", "Welch's ANOVA needs two or more groups with at least two values each")
    n = np.array([s.size for s in xs], float)
    m = np.array([s.mean() for s in xs])
    v = np.array([s.var(ddof=1) for s in xs])
    if np.any(v == 0):
        return _nan_test("welch_anova", "a group without variation: Welch's ANOVA is undefined")
    w = n / v
    sw = w.sum()
    mw = np.sum(w * m) / sw
    tmp = np.sum((1 - w / sw) ** 2 / (n - 1)) / (k**2 - 1)
    F = np.sum(w * (m - mw) ** 2) / ((k - 1) * (1 + 2 * (k - 2) * tmp))
    df2 = 1 / (3 * tmp)
    return TestResult("welch_anova", float(F), float(stats.f.sf(F, k - 1, df2)), (float(k - 1), float(df2)), "Welch (1951)")


# ---------------------------------------------------------------------------
# rank tests
# ---------------------------------------------------------------------------


@lru_cache(maxsize=32)
def _ranksum_counts(m: int, n: int) -> np.ndarray:
    """Frequencies of the Mann-Whitney U statistic for sample sizes m and n.

    Recurrence on the largest observation (it is an x, adding n to U, or a
    y): ``f(u; m, n) = f(u - n; m - 1, n) + f(u; m, n - 1)`` — additions only,
    so the small tail counts stay exact in floating point.
    """
    if m > n:
        m, n = n, m
    F = [np.ones(1) for _ in range(m + 1)]
    for j in range(1, n + 1):
        for k in range(1, m + 1):
            new = np.zeros(k * j + 1)
            new[: F[k].size] += F[k]
            new[j : j + F[k - 1].size] += F[k - 1]
            F[k] = new
    return F[m]


@lru_cache(maxsize=32)
def _signrank_counts(n: int) -> np.ndarray:
    """Frequencies of the Wilcoxon signed-rank statistic V for n non-zero differences."""
    c = np.zeros(n * (n + 1) // 2 + 1)
    c[0] = 1.0
    for i in range(1, n + 1):
        c[i:] = c[i:] + c[:-i].copy()
    return c


def _two_sided_exact(counts: np.ndarray, stat: float, centre: float) -> float:
    """R's two-sided exact P value: twice the smaller tail, at most 1."""
    s = int(round(stat))
    tail = counts[s:] if stat > centre else counts[: s + 1]
    return min(2.0 * float(tail.sum() / counts.sum()), 1.0)


def _normal_two_sided(z_raw: float, sigma: float, correct: bool) -> float:
    if not sigma > 0:
        return np.nan
    corr = 0.5 * np.sign(z_raw) if correct else 0.0
    z = (z_raw - corr) / sigma
    return float(2 * min(stats.norm.cdf(z), stats.norm.sf(z)))


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
        ``statistic`` is R's W: the rank sum of ``x`` minus ``n_x (n_x + 1) / 2``.

    Notes
    -----
    Normal approximation [4]_: ``z = (W - n_x n_y / 2 - 0.5 sign(.)) / sigma`` with
    ``sigma^2 = n_x n_y / 12 * ((N + 1) - sum(t^3 - t) / (N (N - 1)))``
    (mid-ranks for ties). SPSS's "Asymp. Sig." leaves out the continuity
    correction; use ``correct=False`` to reproduce it. With all values equal
    the P value is undefined (NaN), as in R.
    """
    x, y = _arr(x, "x"), _arr(y, "y")
    nx, ny = x.size, y.size
    if nx == 0 or ny == 0:
        return _nan_test("mann_whitney", "each group needs at least one value")
    r = stats.rankdata(np.concatenate([x, y]))
    W = float(r[:nx].sum() - nx * (nx + 1) / 2)
    ties = _tie_term(r)
    note = ""
    if exact:
        if ties > 0:
            note = "ties: exact P value not available, normal approximation used (as R)"
        elif nx * ny > EXACT_MAX_PAIRS:
            note = f"n_x * n_y > {EXACT_MAX_PAIRS}: normal approximation used instead of the exact distribution"
        else:
            p = _two_sided_exact(_ranksum_counts(nx, ny), W, nx * ny / 2)
            return TestResult("mann_whitney", W, p, (), "exact")
    N = nx + ny
    sigma = math.sqrt(nx * ny / 12 * ((N + 1) - ties / (N * (N - 1)))) if N > 1 else 0.0
    p = _normal_two_sided(W - nx * ny / 2, sigma, correct)
    if not np.isfinite(p):
        note = "all values are equal: the rank-sum test is undefined"
    method = "normal approximation, tie" + (" and continuity" if correct else "") + " corrected"
    return TestResult("mann_whitney", W, p, (), method, note)


def kruskal_wallis(*samples) -> TestResult:
    """Kruskal-Wallis rank-sum test with tie correction (R ``kruskal.test``) [5]_."""
    xs = [_arr(s) for s in samples]
    k = len(xs)
    if k < 2 or any(s.size == 0 for s in xs):
        return _nan_test("kruskal", "the Kruskal-Wallis test needs two or more groups with values")
    allv = np.concatenate(xs)
    n = allv.size
    r = stats.rankdata(allv)
    sizes = np.array([s.size for s in xs])
    sums = np.add.reduceat(r, np.r_[0, np.cumsum(sizes)[:-1]])
    denom = 1 - _tie_term(r) / (n**3 - n) if n > 1 else 0.0
    if denom <= 0:
        return _nan_test("kruskal", "all values are equal: the Kruskal-Wallis test is undefined", (k - 1,))
    H = (12 / (n * (n + 1)) * np.sum(sums**2 / sizes) - 3 * (n + 1)) / denom
    return TestResult("kruskal", float(H), float(stats.chi2.sf(H, k - 1)), (float(k - 1),), "chi-square approximation, tie corrected")


def signed_rank(x, y=None, *, exact: bool = False, correct: bool = True) -> TestResult:
    """Wilcoxon signed-rank test of paired samples, as R's ``wilcox.test(x, y, paired = TRUE)``.

    ``statistic`` is R's V: the sum of the ranks of the positive differences
    ``x - y``. Zero differences are dropped (Wilcoxon's convention, as R).
    ``exact=True`` gives the exact P value when no differences are zero or
    tied; otherwise the normal approximation with tie (and, by default,
    continuity) correction is used, with a ``note``.
    """
    x = _arr(x, "x")
    if y is not None:
        y = _arr(y, "y")
        if y.size != x.size:
            raise InputError(f"paired samples must have equal length, got {x.size} and {y.size}")
        d = x - y
    else:
        d = x
    zeros = int(np.sum(d == 0))
    d = d[d != 0]
    n = d.size
    if n == 0:
        return _nan_test("signed_rank", "all differences are zero: the signed-rank test is undefined")
    r = stats.rankdata(np.abs(d))
    V = float(r[d > 0].sum())
    ties = _tie_term(r)
    note = ""
    if exact:
        if ties > 0 or zeros:
            note = "ties or zero differences: exact P value not available, normal approximation used (as R)"
        else:
            return TestResult("signed_rank", V, _two_sided_exact(_signrank_counts(n), V, n * (n + 1) / 4), (), "exact")
    sigma = math.sqrt(n * (n + 1) * (2 * n + 1) / 24 - ties / 48)
    p = _normal_two_sided(V - n * (n + 1) / 4, sigma, correct)
    method = "normal approximation, tie" + (" and continuity" if correct else "") + " corrected"
    if zeros:
        note = (note + "; " if note else "") + f"{zeros} zero difference{'s' if zeros > 1 else ''} dropped"
    return TestResult("signed_rank", V, p, (), method, note)


# ---------------------------------------------------------------------------
# contingency tables
# ---------------------------------------------------------------------------


def _table(table) -> np.ndarray:
    t = np.asarray(table)
    if t.ndim != 2:
        raise InputError(f"a contingency table must be two-dimensional, got shape {t.shape}")
    if not np.all(np.isfinite(t.astype(float))) or np.any(t < 0) or np.any(t != np.round(t)):
        raise InputError("a contingency table holds non-negative whole counts")
    t = t.astype(np.int64)
    return t[t.sum(1) > 0][:, t.sum(0) > 0]


def chi_square(table) -> TestResult:
    """Pearson's chi-square test of independence without continuity correction
    (R ``chisq.test(correct = FALSE)``). Empty rows and columns are dropped.

    The smallest expected count is in ``method`` ("min expected = …").
    """
    t = _table(table)
    if t.shape[0] < 2 or t.shape[1] < 2:
        return _nan_test("chi2", "fewer than two levels or groups with counts: no test")
    n = t.sum()
    e = np.outer(t.sum(1), t.sum(0)) / n
    X2 = float(np.sum((t - e) ** 2 / e))
    df = (t.shape[0] - 1) * (t.shape[1] - 1)
    return TestResult("chi2", X2, float(stats.chi2.sf(X2, df)), (float(df),), f"min expected = {e.min():.4g}")


def min_expected(table) -> float:
    """The smallest expected count of a table under independence (empty rows/columns dropped)."""
    t = _table(table)
    if t.size == 0:
        return np.nan
    return float((np.outer(t.sum(1), t.sum(0)) / t.sum()).min())


def _compositions(total: int, bounds: np.ndarray) -> np.ndarray:
    """All integer vectors x with 0 <= x <= bounds and sum(x) == total (rows)."""
    r = bounds.size
    if r == 1:
        return np.array([[total]]) if total <= bounds[0] else np.zeros((0, 1), int)
    grids = np.indices(tuple(int(min(b, total)) + 1 for b in bounds[:-1])).reshape(r - 1, -1).T
    last = total - grids.sum(1)
    ok = (last >= 0) & (last <= bounds[-1])
    return np.column_stack([grids[ok], last[ok]])


def _spread(a: np.ndarray, m: int, lf: np.ndarray) -> np.ndarray:
    """sum of log(x!) when a is split as evenly as possible into m parts (the minimum)."""
    q, rem = np.divmod(a, m)
    return rem * lf[q + 1] + (m - rem) * lf[q]


def _fisher_enumerate(t: np.ndarray, tol: float, max_nodes: int):
    """Exact two-sided P value of an r x c table (network-style enumeration).

    Columns are filled one at a time; a node is (column, remaining row
    margins, sorted). Paths reaching the same node with the same sum of
    log-factorials are merged. Bounds on what the remaining columns can add
    (superadditivity of log n! above, even spreading below) either count a
    node's whole subtree at once (closed-form total probability
    ``M! / (prod r_i! prod c_k!)``) or drop it. The last two columns are
    settled per node at once: their completions are sorted by probability and
    every path into the node looks up its tail sum. Returns None past
    ``max_nodes`` partial tables.
    """
    if t.shape[0] > t.shape[1]:
        t = t.T
    rows = t.sum(1)
    cols = np.sort(t.sum(0))  # small columns first: fewer paths to carry
    n = int(t.sum())
    r, c = t.shape
    lf = special.gammaln(np.arange(n + 2) + 1.0)
    K = lf[rows].sum() + lf[cols].sum() - lf[n]
    thr = lf[t].sum() - tol  # count tables with sum log(x!) >= thr, i.e. P <= P_obs (1 + 1e-7)
    tail_lf = np.concatenate([np.cumsum(lf[cols][::-1])[::-1], [0.0]])
    tail_n = np.concatenate([np.cumsum(cols[::-1])[::-1], [0]])
    spread_cols = np.concatenate([np.cumsum(_spread(cols, r, lf)[::-1])[::-1], [0.0]])
    packable = r * math.log2(n + 1) < 62

    keys = np.sort(rows)[None, :].astype(np.int64)
    s = np.zeros(1)
    w = np.ones(1)
    p = 0.0
    nodes = 0
    for j in range(c - 2):
        rowlf = lf[keys].sum(1)
        hi = s + np.minimum(rowlf, tail_lf[j])
        lo = s + np.maximum(spread_cols[j], _spread(keys, c - j, lf).sum(1))
        every = lo >= thr
        if np.any(every):
            logmass = lf[tail_n[j]] - rowlf[every] - tail_lf[j]
            p += float(np.sum(w[every] * np.exp(K - s[every] + logmass)))
        keep = (~every) & (hi >= thr)
        keys, s, w = keys[keep], s[keep], w[keep]
        if keys.shape[0] == 0:
            return min(p, 1.0)
        uniq, inv = np.unique(keys, axis=0, return_inverse=True)
        inv = inv.ravel()
        child_k, child_s, child_w = [], [], []
        for u in range(uniq.shape[0]):
            comp = _compositions(int(cols[j]), uniq[u])
            ds = lf[comp].sum(1)
            nxt = np.sort(uniq[u][None, :] - comp, axis=1)
            members = np.flatnonzero(inv == u)
            nodes += comp.shape[0] * members.size
            if nodes > max_nodes:
                return None
            child_k.append(np.tile(nxt, (members.size, 1)))
            child_s.append((s[members][:, None] + ds[None, :]).ravel())
            child_w.append(np.repeat(w[members], comp.shape[0]))
        ck = np.concatenate(child_k)
        cs = np.concatenate(child_s)
        cw = np.concatenate(child_w)
        # merge paths that reach the same node with the same value
        tag = np.round(cs * 1e9).astype(np.int64)
        if packable:
            code = np.zeros(ck.shape[0], np.int64)
            for i in range(r):
                code = code * (n + 1) + ck[:, i]
            order = np.lexsort((tag, code))
            code, tag = code[order], tag[order]
            ck, cs, cw = ck[order], cs[order], cw[order]
            start = np.r_[True, (np.diff(code) != 0) | (np.diff(tag) != 0)]
            idx = np.flatnonzero(start)
            keys, s, w = ck[idx], cs[idx], np.add.reduceat(cw, idx)
        else:
            uq, inv2 = np.unique(np.column_stack([ck, tag]), axis=0, return_inverse=True)
            inv2 = inv2.ravel()
            keys = uq[:, :r]
            w = np.bincount(inv2, weights=cw)
            s = np.zeros(uq.shape[0])
            s[inv2] = cs
    # the last two columns: per node, all completions at once
    uniq, inv = np.unique(keys, axis=0, return_inverse=True)
    inv = inv.ravel()
    for u in range(uniq.shape[0]):
        comp = _compositions(int(cols[c - 2]), uniq[u])
        A = np.sort(lf[comp].sum(1) + lf[uniq[u][None, :] - comp].sum(1))[::-1]
        a0 = A[-1]
        pref = np.concatenate([[0.0], np.cumsum(np.exp(a0 - A))])
        members = np.flatnonzero(inv == u)
        nodes += comp.shape[0] + members.size
        if nodes > max_nodes:
            return None
        # number of completions with A >= thr - s (A sorted descending)
        cnt = np.searchsorted(-A, -(thr - s[members]), side="right")
        p += float(np.sum(w[members] * np.exp(K - s[members] - a0) * pref[cnt]))
    return min(p, 1.0)


def _fisher_monte_carlo(t: np.ndarray, tol: float, B: int, seed: int) -> float:
    rows = np.repeat(np.arange(t.shape[0]), t.sum(1))
    cols = np.repeat(np.arange(t.shape[1]), t.sum(0))
    n = rows.size
    lf = special.gammaln(np.arange(n + 2) + 1.0)
    thr = lf[t].sum() - tol
    rng = np.random.default_rng(seed)
    hits = 0
    r, c = t.shape
    for start in range(0, B, 1000):
        b = min(1000, B - start)
        perm = np.argsort(rng.random((b, n)), axis=1)
        cells = rows[None, :] * c + cols[perm]
        counts = np.zeros((b, r * c), np.int64)
        np.add.at(counts, (np.repeat(np.arange(b), n), cells.ravel()), 1)
        hits += int(np.sum(lf[counts].sum(1) >= thr))
    return (1 + hits) / (B + 1)


def fisher_exact(table, *, max_nodes: int = FISHER_MAX_NODES) -> TestResult:
    """Fisher's exact test for 2 x 2 and r x c tables, two-sided (R ``fisher.test``).

    The P value is the total probability (multivariate hypergeometric, margins
    fixed) of the tables no more probable than the observed one, with R's
    relative tolerance of 1e-7 for ties in probability.

    Notes
    -----
    Tables are enumerated exactly with a network algorithm in the spirit of
    Mehta & Patel (1983) [6]_: columns are filled one at a time, paths into
    the same node are merged, and whole subtrees are counted or dropped using
    bounds. This is exact for the tables baseline tables meet (a few levels,
    a few hundred patients). Past ``max_nodes`` partial tables it stops and
    reports a Monte Carlo P value from ``FISHER_MC_TABLES`` random tables with
    the same margins (fixed seed, as ``fisher.test(simulate.p.value = TRUE)``:
    ``(1 + hits) / (B + 1)``), saying so in ``method`` and ``note``.
    Empty rows and columns are dropped; fewer than two non-empty rows or
    columns give P = 1.
    """
    t = _table(table)
    if t.shape[0] < 2 or t.shape[1] < 2:
        return TestResult("fisher", np.nan, 1.0, (), "exact", "fewer than two levels or groups with counts")
    tol = math.log1p(1e-7)
    p = _fisher_enumerate(t, tol, max_nodes)
    if p is None:
        p = _fisher_monte_carlo(t, tol, FISHER_MC_TABLES, FISHER_MC_SEED)
        return TestResult("fisher", np.nan, float(p), (), f"Monte Carlo ({FISHER_MC_TABLES} tables, seed {FISHER_MC_SEED})",
                          f"table too large for exact enumeration (> {max_nodes} partial tables): Monte Carlo P value")
    return TestResult("fisher", np.nan, float(p), (), "exact")


# ---------------------------------------------------------------------------
# standardized differences
# ---------------------------------------------------------------------------


def _wmean_var(x, w):
    x = _arr(x)
    w = np.ones_like(x) if w is None else _arr(w, "weights")
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


# ---------------------------------------------------------------------------
# reading the frame
# ---------------------------------------------------------------------------


def _label(v) -> str:
    """A group label as text; whole-number floats (1.0 from a CSV with gaps) print as 1."""
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v).strip()


def _is_missing(series: pd.Series) -> np.ndarray:
    miss = series.isna().to_numpy()
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        blank = series.map(lambda v: isinstance(v, str) and v.strip() == "").to_numpy(bool)
        miss = miss | blank
    return miss


def _check_frame(frame, source):
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame (one row per patient), got {type(frame).__name__}", file=source)
    if frame.shape[0] == 0:
        raise InputError("the table has no rows", file=source)


def _check_column(frame, column, what, source):
    if column not in frame.columns:
        cols = ", ".join(map(str, frame.columns))
        raise InputError(f"{what} column not found; the table's columns are: {cols}", file=source, column=column)


def _group_labels(frame, group, groups, source, min_groups: int = 2):
    """(labels per row as str or None, chosen groups, excluded row numbers)."""
    _check_column(frame, group, "group", source)
    col = frame[group]
    miss = _is_missing(col)
    labels = np.array([None if m else _label(v) for v, m in zip(col.tolist(), miss)], dtype=object)
    present = [labels[i] for i in range(len(labels)) if labels[i] is not None]
    if not present:
        raise InputError("the group column is empty", file=source, column=group)
    if isinstance(col.dtype, pd.CategoricalDtype):
        order = [_label(c) for c in col.cat.categories if _label(c) in set(present)]
    else:
        nonmiss = col[~miss]
        if pd.api.types.is_numeric_dtype(nonmiss):
            order = [_label(v) for v in sorted(pd.unique(nonmiss))]
        else:
            order = sorted(set(present))
    if groups is None:
        chosen = order
    else:
        if isinstance(groups, str):
            groups = [g for g in groups.split(",")]
        chosen = [_label(g) for g in groups]
        if len(set(chosen)) != len(chosen):
            raise InputError(f"groups must be distinct, got {chosen}", file=source, column=group)
        for g in chosen:
            if g not in order:
                raise InputError(f"group not found in column; its groups are: {', '.join(order)}",
                                 file=source, column=group, value=g)
    if len(chosen) < min_groups:
        raise InputError(f"at least two groups are needed to compare, found {chosen}", file=source, column=group)
    excluded = [i + 2 for i in np.flatnonzero(miss)]
    return labels, chosen, excluded


def _py(v):
    """A cell as a plain Python value (for error messages)."""
    return v.item() if isinstance(v, np.generic) else v


def _parse_number(v):
    if isinstance(v, (bool, np.bool_)):
        raise ValueError
    if isinstance(v, str):
        v = v.strip()
    return float(v)


def _numeric(series: pd.Series, column, source, *, strict: bool):
    """Float values of a column (NaN for missing), or None when (auto mode) it is categorical.

    strict: the column is declared continuous; every non-missing cell must be
    a finite number. Auto: a column whose cells are all text is categorical;
    a mix of numbers and text is an error.
    """
    miss = _is_missing(series)
    if pd.api.types.is_bool_dtype(series.dtype):
        if strict:
            raise InputError("holds true/false values; list it in categorical=", file=source, column=column)
        return None
    if isinstance(series.dtype, pd.CategoricalDtype) and not strict:
        return None
    if pd.api.types.is_numeric_dtype(series.dtype):
        vals = series.to_numpy(dtype=float, na_value=np.nan)
        bad = np.flatnonzero(~np.isfinite(vals) & ~miss)
        if bad.size:
            i = bad[0]
            raise InputError("is not a finite number; allowed: numbers or an empty cell",
                             file=source, row=int(i) + 2, column=column, value=_py(series.iloc[i]))
        return vals
    out = np.full(len(series), np.nan)
    numbers, texts = 0, []
    for i, (v, m) in enumerate(zip(series.tolist(), miss)):
        if m:
            continue
        try:
            x = _parse_number(v)
        except (TypeError, ValueError):
            texts.append(i)
            continue
        if not math.isfinite(x):
            raise InputError("is not a finite number; allowed: numbers or an empty cell",
                             file=source, row=i + 2, column=column, value=_py(v))
        out[i] = x
        numbers += 1
    if texts:
        if not strict and numbers == 0:
            return None
        i = texts[0]
        why = ("is not a number; the column is continuous" if strict else
               "is not a number, but other cells of this column are; correct the cell, or list the column in "
               "categorical= to describe it as categorical")
        raise InputError(why, file=source, row=i + 2, column=column, value=_py(series.iloc[i]))
    return out


# ---------------------------------------------------------------------------
# Table 1
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Table1Row:
    """One variable of a Table 1: summaries per group and the test of difference.

    ``groups`` maps each group to its summary: ``n, missing, mean, sd,
    median, q1, q3, min, max, shapiro_w, shapiro_p`` (continuous) or ``n,
    missing, counts, percent`` (categorical; ``percent`` of the non-missing
    ``n``). ``normal`` is None for categorical variables.
    """

    variable: str
    kind: str
    normal: bool | None
    test: str | None
    pval: float
    statistic: float
    df: tuple
    groups: Mapping[str, Mapping[str, Any]]
    levels: tuple = ()
    smd: float = np.nan
    method: str = ""
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        g = {}
        for name, d in self.groups.items():
            if self.kind == "categorical":
                g[name] = {
                    "n": int(d["n"]),
                    "missing": int(d["missing"]),
                    "counts": {lv: int(d["counts"][lv]) for lv in self.levels},
                    "percent": {lv: _f(d["percent"][lv]) for lv in self.levels},
                }
            else:
                g[name] = {k: (int(v) if k in ("n", "missing") else _f(v)) for k, v in d.items()}
        return {
            "variable": self.variable,
            "kind": self.kind,
            "normal": self.normal,
            "test": self.test,
            "pval": _f(self.pval),
            "statistic": _f(self.statistic),
            "df": [_f(x) for x in self.df],
            "method": self.method,
            "smd": _f(self.smd),
            "levels": list(self.levels) if self.kind == "categorical" else None,
            "note": self.note,
            "groups": g,
        }


def _auto_digits(values) -> int:
    vals = [abs(v) for v in values if v is not None and np.isfinite(v) and v != 0]
    if not vals:
        return 1
    mag = math.floor(math.log10(max(vals)))
    return int(min(3, max(0, 2 - mag)))


def _num(x, d) -> str:
    return "NA" if x is None or not np.isfinite(x) else f"{x:.{d}f}"


@dataclass(frozen=True, eq=False)
class Table1Result:
    """A Table 1: one :class:`Table1Row` per variable, compared across ``groups``.

    ``n`` is the number of patients per group; ``excluded`` lists the
    spreadsheet row numbers left out because their group is missing.
    """

    group: str
    groups: tuple
    n: Mapping[str, int]
    rows: tuple
    normality: str
    alpha: float
    welch: bool
    exact: bool
    quartiles: int
    smd: bool
    missing_row: bool
    excluded: tuple = ()
    notes: tuple = ()

    def row(self, variable: str) -> Table1Row:
        for r in self.rows:
            if r.variable == variable:
                return r
        raise KeyError(variable)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``hepatostat cohort table1`` (DESIGN.md contract)."""
        return {
            "group": self.group,
            "groups": list(self.groups),
            "n": {g: int(self.n[g]) for g in self.groups},
            "rows": [r.to_dict() for r in self.rows],
            "options": {
                "normality": self.normality,
                "alpha": self.alpha,
                "welch": self.welch,
                "exact": self.exact,
                "quartiles": f"type {self.quartiles}" + (" (SPSS)" if self.quartiles == 6 else ""),
                "smd": self.smd,
            },
            "excluded": [{"row": r, "reason": f"missing {self.group}"} for r in self.excluded],
            "notes": list(self.notes),
        }

    def _layout(self, digits=None) -> list[dict]:
        """Rows of the publication table: ``key`` (variable, part, level), ``label``,
        ``plain`` (label without the summary format), per-group ``cells``, ``p``, ``test``, ``smd``."""
        out = []
        for r in self.rows:
            if r.kind == "continuous":
                d = digits.get(r.variable) if isinstance(digits, Mapping) else digits
                if d is None:
                    d = _auto_digits([r.groups[g]["mean" if r.normal else "median"] for g in self.groups])
                cells = {}
                for g in self.groups:
                    st = r.groups[g]
                    if st["n"] == 0:
                        cells[g] = "—"
                    elif r.normal:
                        cells[g] = f"{_num(st['mean'], d)} ± {_num(st['sd'], d)}"
                    else:
                        cells[g] = f"{_num(st['median'], d)} ({_num(st['q1'], d)}–{_num(st['q3'], d)})"
                fmt = "mean ± SD" if r.normal else "median (Q1–Q3)"
                out.append({"key": (r.variable, 0, ""), "label": f"{r.variable}, {fmt}", "plain": r.variable,
                            "cells": cells, "p": format_p(r.pval), "test": r.test or "", "smd": _num(r.smd, 3)})
            else:
                out.append({"key": (r.variable, 0, ""), "label": f"{r.variable}, n (%)", "plain": f"{r.variable}, n (%)",
                            "cells": {g: "" for g in self.groups}, "p": format_p(r.pval), "test": r.test or "",
                            "smd": _num(r.smd, 3)})
                for lv in r.levels:
                    cells = {}
                    for g in self.groups:
                        st = r.groups[g]
                        cells[g] = f"{st['counts'][lv]} ({_num(st['percent'][lv], 1)})" if st["n"] else "—"
                    out.append({"key": (r.variable, 1, lv), "label": f"  {lv}", "plain": f"  {lv}", "cells": cells,
                                "p": "", "test": "", "smd": ""})
            if self.missing_row and any(r.groups[g]["missing"] for g in self.groups):
                out.append({"key": (r.variable, 2, ""), "label": "  missing, n", "plain": "  missing, n",
                            "cells": {g: str(int(r.groups[g]["missing"])) for g in self.groups},
                            "p": "", "test": "", "smd": ""})
        return out

    def to_frame(self, digits: int | Mapping[str, int] | None = None) -> pd.DataFrame:
        """A publication-style table: one row per variable (plus level rows for
        categorical variables and, with ``missing_row``, a "missing, n" row where
        values are missing), cells "mean ± SD", "median (Q1–Q3)" or "n (%)",
        then ``p`` and ``test`` (and ``SMD``).

        ``digits``: decimals of the summaries; None chooses three significant
        digits of the largest centre per variable (0 to 3 decimals); a mapping
        gives them per variable.
        """
        heads = [f"{g} (n = {self.n[g]})" for g in self.groups]
        recs = []
        for row in self._layout(digits):
            rec = {"variable": row["label"]}
            rec.update({h: row["cells"][g] for g, h in zip(self.groups, heads)})
            rec.update({"p": row["p"], "test": row["test"]})
            if self.smd:
                rec["SMD"] = row["smd"]
            recs.append(rec)
        return pd.DataFrame(recs, columns=["variable", *heads, "p", "test"] + (["SMD"] if self.smd else []))

    def summary(self) -> str:
        """The table as text, with the rule, the tests used and every note."""
        frame = self.to_frame()
        lines = [f"Table 1 by {self.group}: " + ", ".join(f"{g} (n = {self.n[g]})" for g in self.groups)]
        lines.append(frame.to_string(index=False))
        rule = {
            "shapiro": f"normal when Shapiro-Wilk p >= {self.alpha:g} in every group",
            "assume_normal": "all continuous variables treated as normal",
            "nonparametric": "all continuous variables treated as non-normal",
        }[self.normality]
        lines.append(
            f"Rule: {rule}; quartiles: type {self.quartiles}"
            + (" (SPSS)" if self.quartiles == 6 else "")
            + f"; {'Welch' if self.welch else 'Student'} t / {'Welch ANOVA' if self.welch else 'ANOVA'} for normal variables,"
            + f" Mann-Whitney U ({'exact when no ties' if self.exact else 'normal approximation'}) / Kruskal-Wallis otherwise;"
            + " chi-square (no continuity correction), Fisher's exact test when an expected count < 5."
        )
        for r in self.rows:
            if r.note:
                lines.append(f"Note ({r.variable}): {r.note}")
        if self.excluded:
            lines.append(f"Excluded: {len(self.excluded)} row(s) with missing {self.group}")
        for n in self.notes:
            lines.append(f"Note: {n}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _continuous_row(var, values, labels, groups, *, normality, alpha, welch, exact, qtype, smd) -> Table1Row:
    summ: dict[str, dict] = {}
    xs: dict[str, np.ndarray] = {}
    notes = []
    untestable = []
    for g in groups:
        sel = labels == g
        v = values[sel]
        x = v[np.isfinite(v)]
        xs[g] = x
        sw = shapiro_wilk(x) if normality == "shapiro" and x.size else _nan_test("shapiro_wilk", "")
        q = quantile(x, [0.25, 0.5, 0.75], qtype) if x.size else np.full(3, np.nan)
        summ[g] = {
            "n": int(x.size),
            "missing": int(sel.sum() - x.size),
            "mean": float(x.mean()) if x.size else np.nan,
            "sd": float(x.std(ddof=1)) if x.size > 1 else np.nan,
            "median": float(np.median(x)) if x.size else np.nan,
            "q1": float(q[0]),
            "q3": float(q[2]),
            "min": float(x.min()) if x.size else np.nan,
            "max": float(x.max()) if x.size else np.nan,
            "shapiro_w": sw.statistic,
            "shapiro_p": sw.pval,
        }
        if normality == "shapiro" and x.size and not np.isfinite(sw.pval):
            untestable.append(f"{g}: {sw.note}")
    tested = [g for g in groups if xs[g].size > 0]
    empty = [g for g in groups if xs[g].size == 0]
    if empty:
        notes.append(f"no values in group{'s' if len(empty) > 1 else ''} {', '.join(empty)}: left out of the test")
    if normality == "shapiro":
        normal = bool(tested) and all(np.isfinite(summ[g]["shapiro_p"]) and summ[g]["shapiro_p"] >= alpha for g in tested)
        if untestable:
            notes.append("Shapiro-Wilk not possible (" + "; ".join(untestable) + "): treated as not normal")
    else:
        normal = normality == "assume_normal"
    smd_val = np.nan
    if smd and len(tested) >= 2:
        vals = [abs(standardized_difference(xs[a], xs[b])) for a, b in itertools.combinations(tested, 2)]
        smd_val = float(np.nanmax(vals)) if np.any(np.isfinite(vals)) else np.nan
    samples = [xs[g] for g in tested]
    if len(tested) < 2:
        test = ("welch_t" if welch else "student_t") if normal else "mann_whitney"
        if len(groups) > 2:
            test = ("welch_anova" if welch else "anova") if normal else "kruskal"
        tr = _nan_test(test, "fewer than two groups with values: no test")
    elif len(tested) == 2:
        if normal:
            tr = welch_t(*samples) if welch else student_t(*samples)
        else:
            tr = mann_whitney(*samples, exact=exact)
    else:
        if normal:
            tr = welch_anova(*samples) if welch else anova(*samples)
        else:
            tr = kruskal_wallis(*samples)
    allv = np.concatenate(samples) if samples else np.array([])
    if allv.size and np.ptp(allv) == 0:
        notes.append("all values are equal: the test is undefined")
    elif tr.note:
        notes.append(tr.note)
    return Table1Row(var, "continuous", bool(normal), tr.test, tr.pval, tr.statistic, tr.df, summ, (), smd_val,
                     tr.method, "; ".join(notes))


def _level_order(series: pd.Series, miss: np.ndarray) -> list[str]:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return [_label(c) for c in series.cat.categories]
    vals = series[~miss]
    if pd.api.types.is_numeric_dtype(vals.dtype) and not pd.api.types.is_bool_dtype(vals.dtype):
        return [_label(v) for v in sorted(pd.unique(vals))]
    return sorted({_label(v) for v in vals.tolist()})


def _categorical_row(var, series, labels, groups, *, smd) -> Table1Row:
    miss = _is_missing(series)
    vals = np.array([None if m else _label(v) for v, m in zip(series.tolist(), miss)], dtype=object)
    levels = [lv for lv in _level_order(series, miss) if any(vals[labels == g].tolist().count(lv) for g in groups)]
    summ = {}
    for g in groups:
        sel = labels == g
        v = [x for x in vals[sel] if x is not None]
        counts = {lv: v.count(lv) for lv in levels}
        n = len(v)
        summ[g] = {
            "n": n,
            "missing": int(sel.sum() - n),
            "counts": counts,
            "percent": {lv: (100 * counts[lv] / n if n else np.nan) for lv in levels},
        }
    table = np.array([[summ[g]["counts"][lv] for g in groups] for lv in levels], dtype=np.int64).reshape(len(levels), len(groups))
    notes = []
    empty = [g for g in groups if summ[g]["n"] == 0]
    if empty:
        notes.append(f"no values in group{'s' if len(empty) > 1 else ''} {', '.join(empty)}: left out of the test")
    smd_val = np.nan
    tested = [g for g in groups if summ[g]["n"] > 0]
    if smd and len(tested) >= 2 and len(levels) >= 2:
        vals_smd = [standardized_difference_categorical(table[:, groups.index(a)], table[:, groups.index(b)])
                    for a, b in itertools.combinations(tested, 2)]
        smd_val = float(np.nanmax(vals_smd)) if np.any(np.isfinite(vals_smd)) else np.nan
    t = table[:, [groups.index(g) for g in tested]] if tested else np.zeros((len(levels), 0), np.int64)
    if len(levels) < 2 or len(tested) < 2:
        why = "only one level observed" if len(levels) < 2 else "fewer than two groups with values"
        notes.append(f"{why}: no test")
        tr = _nan_test("chi2", "")
    else:
        me = min_expected(t)
        if me < 5:
            tr = fisher_exact(t)
            notes.append(f"smallest expected count {me:.3g} < 5: Fisher's exact test")
            if tr.note:
                notes.append(tr.note)
        else:
            tr = chi_square(t)
    return Table1Row(var, "categorical", None, tr.test, tr.pval, tr.statistic, tr.df, summ, tuple(levels), smd_val,
                     tr.method, "; ".join(notes))


def table1(
    frame: pd.DataFrame,
    group: str,
    *,
    groups: Sequence[str] | None = None,
    variables: Sequence[str] | None = None,
    categorical: Iterable[str] | None = None,
    normality: str = "shapiro",
    alpha: float = 0.05,
    welch: bool = False,
    exact: bool = False,
    quartiles: str | int = "spss",
    smd: bool = False,
    missing_row: bool = True,
    source=None,
) -> Table1Result:
    """Describe and compare baseline characteristics by group (Table 1).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per patient.
    group : str
        The column holding the group. Rows with a missing group are left out
        and listed in ``excluded``.
    groups : sequence of str, optional
        The groups to compare, in this order (default: all, sorted). Rows of
        other groups are ignored.
    variables : sequence of str, optional
        The variables to describe, in this order (default: every column but
        ``group`` and ``person_id``).
    categorical : iterable of str, optional
        Columns to describe as categorical. When not given, text, boolean and
        pandas categorical columns are categorical and numeric columns are
        continuous (a 0/1 column is continuous unless listed here). When given,
        every other variable must be numeric.
    normality : {"shapiro", "assume_normal", "nonparametric"}
        ``"shapiro"`` (default): the rule of DESIGN.md; the others force the
        parametric or the rank-based summary and test for every continuous
        variable.
    alpha : float
        Shapiro-Wilk level (0.05): normal when p >= alpha in every group.
    welch : bool
        Welch's t test / Welch's ANOVA instead of Student's t / ANOVA for
        normal variables.
    exact : bool
        Exact Mann-Whitney P value when there are no ties (as
        ``wilcox.test(exact = TRUE)``).
    quartiles : str or int
        ``"spss"`` (type 6, default), ``"r"`` (type 7), ``"sas"`` (type 2) or
        a Hyndman-Fan type 1-9.
    smd : bool
        Add the standardized difference: absolute SMD of means for continuous
        variables (Austin 2009), Yang & Dalton's SMD for categorical ones; with
        more than two groups the largest pairwise value.
    missing_row : bool
        Add a "missing, n" row under variables with missing values in
        :meth:`Table1Result.to_frame`.
    source : str, optional
        File name used in error messages.

    Returns
    -------
    Table1Result

    Raises
    ------
    hepatostat.errors.InputError
        Missing columns, unknown groups, fewer than two groups, a non-numeric
        cell in a continuous variable (the message names the column, the
        spreadsheet row and the value), bad options.

    Notes
    -----
    Degenerate input has one behaviour each, stated in the row's ``note``:

    * a group with fewer than 3 values, more than 5000 values, or all values
      equal cannot be tested by Shapiro-Wilk; the variable is then treated as
      not normal (median (Q1–Q3), rank test), a conservative choice that is
      valid whatever the distribution;
    * all values equal across the groups: the rank tests are undefined and
      ``pval`` is None (NaN), as in R;
    * a variable with no values in a group: that group is left out of the test
      (with two groups, no test);
    * categorical variables with one observed level: no test. Levels never
      observed in the compared groups are not shown; percentages are of the
      non-missing values.
    """
    _check_frame(frame, source)
    if normality not in NORMALITY:
        raise InputError(f"unknown normality rule {normality!r}; allowed: {', '.join(NORMALITY)}")
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise InputError(f"alpha must lie between 0 and 1, got {alpha!r}")
    qtype = quartile_type(quartiles)
    labels, chosen, excluded = _group_labels(frame, group, groups, source)
    if variables is None:
        variables = [c for c in frame.columns if c != group and c not in ID_COLUMNS]
        if not variables:
            raise InputError("the table has no columns to describe besides the group", file=source)
    else:
        if isinstance(variables, str):
            variables = [v.strip() for v in variables.split(",")]
        variables = list(variables)
        if not variables:
            raise InputError("variables is empty; name at least one column", file=source)
        for v in variables:
            _check_column(frame, v, "variable", source)
            if v == group:
                raise InputError("the group column cannot also be a variable", file=source, column=v)
    if categorical is None:
        cat_set, strict = set(), False
    else:
        if isinstance(categorical, str):
            categorical = [c.strip() for c in categorical.split(",") if c.strip()]
        cat_set, strict = set(categorical), True
        for c in cat_set:
            _check_column(frame, c, "categorical", source)
    in_groups = np.array([lab in set(chosen) for lab in labels])
    rows = []
    for var in variables:
        series = frame[var]
        values = None if var in cat_set else _numeric(series, var, source, strict=strict)
        if values is None:
            rows.append(_categorical_row(var, series[in_groups].reset_index(drop=True), labels[in_groups], chosen, smd=smd))
        else:
            rows.append(_continuous_row(var, values[in_groups], labels[in_groups], chosen, normality=normality,
                                        alpha=alpha, welch=welch, exact=exact, qtype=qtype, smd=smd))
    n = {g: int(np.sum(labels == g)) for g in chosen}
    notes = []
    if excluded:
        notes.append(f"{len(excluded)} row(s) with a missing {group} left out (rows {', '.join(map(str, excluded[:10]))}"
                     + (", …" if len(excluded) > 10 else "") + ")")
    return Table1Result(group=str(group), groups=tuple(chosen), n=n, rows=tuple(rows), normality=normality,
                        alpha=float(alpha), welch=bool(welch), exact=bool(exact), quartiles=qtype, smd=bool(smd),
                        missing_row=bool(missing_row), excluded=tuple(excluded), notes=tuple(notes))


# ---------------------------------------------------------------------------
# Table 2
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Table2Result:
    """Table 1 for several group pairs side by side (the seed's Table 2)."""

    group: str
    pairs: tuple
    tables: tuple

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "pairs": [{"pair": list(p), **t.to_dict()} for p, t in zip(self.pairs, self.tables)],
        }

    def to_frame(self, digits=None) -> pd.DataFrame:
        """Variables as rows; for each pair its two group columns, ``p (A vs C)``
        and ``test (A vs C)``. A continuous variable summarised differently in
        two pairs (mean ± SD in one, median (Q1–Q3) in the other) is labelled
        by its name only; the cells show which summary is which."""
        layouts = [t._layout(digits) for t in self.tables]
        order: list = []
        labels: dict = {}
        for lay in layouts:
            for row in lay:
                k = row["key"]
                if k not in labels:
                    order.append(k)
                    labels[k] = row["label"]
                elif labels[k] != row["label"]:
                    labels[k] = row["plain"]
        var_rank = {}
        for k in order:
            var_rank.setdefault(k[0], len(var_rank))
        order.sort(key=lambda k: (var_rank[k[0]], k[1]))
        recs = {k: {"variable": labels[k]} for k in order}
        columns = ["variable"]
        for (a, b), t, lay in zip(self.pairs, self.tables, layouts):
            heads = [f"{g} (n = {t.n[g]})" for g in (a, b)]
            extra = [f"p ({a} vs {b})", f"test ({a} vs {b})"] + ([f"SMD ({a} vs {b})"] if t.smd else [])
            columns += heads + extra
            by_key = {row["key"]: row for row in lay}
            for k in order:
                row = by_key.get(k)
                for g, h in zip((a, b), heads):
                    # a "missing, n" row that only another pair needs reads 0 here
                    recs[k][h] = row["cells"][g] if row else ("0" if k[1] == 2 else "")
                recs[k][extra[0]] = row["p"] if row else ""
                recs[k][extra[1]] = row["test"] if row else ""
                if t.smd:
                    recs[k][extra[2]] = row["smd"] if row else ""
        return pd.DataFrame([recs[k] for k in order], columns=columns)

    def summary(self) -> str:
        return "\n\n".join(f"Pair {a} vs {b}\n" + t.summary() for (a, b), t in zip(self.pairs, self.tables))

    def __str__(self) -> str:
        return self.summary()


def table2(frame: pd.DataFrame, group: str, pairs: Sequence[Sequence[str]] = (("A", "C"), ("B", "D")), **options) -> Table2Result:
    """Table 1 for each pair of groups (default A vs C and B vs D, the seed's Table 2).

    ``pairs`` is a sequence of two-group tuples (or ``"A:C,B:D"``); every
    other keyword is passed to :func:`table1`.
    """
    if isinstance(pairs, str):
        pairs = [tuple(p.split(":")) for p in pairs.split(",") if p.strip()]
    pairs = [tuple(_label(x) for x in p) for p in pairs]
    if not pairs:
        raise InputError("pairs is empty; give at least one pair of groups, e.g. [('A', 'C')]")
    for p in pairs:
        if len(p) != 2 or p[0] == p[1]:
            raise InputError(f"each pair names two different groups, got {p!r}")
    if "groups" in options:
        raise InputError("table2() takes pairs=, not groups=")
    tables = tuple(table1(frame, group, groups=list(p), **options) for p in pairs)
    return Table2Result(group=str(group), pairs=tuple(pairs), tables=tables)
