"""Shapiro-Wilk test of normality (the Table 1 normality rule).

References
----------
.. [1] Shapiro SS, Wilk MB (1965). An analysis of variance test for
   normality (complete samples). Biometrika 52(3/4):591-611.
   doi:10.1093/biomet/52.3-4.591
.. [2] Royston P (1995). Remark AS R94: A remark on algorithm AS 181.
   Appl Stat 44(4):547-551. doi:10.2307/2986146
"""

from __future__ import annotations

import numpy as np

from .base import TestResult, finite_array

__all__ = ["shapiro_wilk", "SW_MIN", "SW_MAX"]

#: Shapiro-Wilk is defined for 3 to 5000 values (R's shapiro.test, SPSS)
SW_MIN, SW_MAX = 3, 5000


def shapiro_wilk(x) -> TestResult:
    """Shapiro-Wilk test of normality: ``scipy.stats.shapiro`` (AS R94 [2]_, as R's ``shapiro.test``).

    Returns a :class:`TestResult` named ``"shapiro_wilk"`` with ``statistic``
    W. Where the test is undefined the P value is NaN and ``note`` says why:
    fewer than 3 values, more than 5000 values (R's and SPSS's limit; scipy
    would run but warns that the P value may be inaccurate), or all values
    equal.
    """
    from scipy import stats

    a = finite_array(x)
    n = a.size
    if n < SW_MIN:
        return TestResult.undefined("shapiro_wilk", f"{n} value{'s' if n != 1 else ''}: Shapiro-Wilk needs at least {SW_MIN}")
    if n > SW_MAX:
        return TestResult.undefined("shapiro_wilk", f"{n} values: Shapiro-Wilk is defined for at most {SW_MAX} (R, SPSS)")
    if np.ptp(a) == 0:
        return TestResult.undefined("shapiro_wilk", "all values are equal: Shapiro-Wilk is undefined")
    w, p = stats.shapiro(a)
    return TestResult("shapiro_wilk", float(w), float(p), (), "Royston (1995) AS R94")
