"""The result of an elementary test and the small helpers every test uses.

:class:`TestResult` is what every function of :mod:`hepatostat.stats`
returns: the test's name (the code printed in Table 1), its statistic,
degrees of freedom, P value, how the P value was obtained (``method``) and,
where a P value is missing or the requested method could not be used, why
(``note``). A degenerate but legal sample (all values equal, one value per
group) gives a NaN P value with a note, never an exception.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError

__all__ = ["TestResult", "float_or_none", "format_p", "p_text", "finite_array", "tie_term"]


def float_or_none(x):
    """``float(x)``, or None for None, NaN, infinities and non-numbers (JSON cells)."""
    if x is None:
        return None
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _p_style(digits: int):
    from ..io.format import DEFAULT

    return DEFAULT.with_(p_decimals=digits, p_floor=10.0 ** (-digits))


def format_p(p, digits: int = 3) -> str:
    """A P value as journals print it: ``<0.001`` or three decimals; ``NA`` if missing."""
    from ..io.format import fmt_p

    if p is None or not np.isfinite(p):
        return "NA"
    return fmt_p(p, _p_style(digits))


def p_text(p, digits: int = 3) -> str:
    """``P = 0.012`` or ``P < 0.001`` (``P = NA`` if missing) for running text, as the reports write it."""
    from ..io.format import fmt_p_eq

    if p is None or not np.isfinite(p):
        return "P = NA"
    return fmt_p_eq(p, _p_style(digits))


def finite_array(x, name: str = "x") -> np.ndarray:
    """``x`` as a 1-D float array; InputError if it holds NaN or infinities."""
    a = np.asarray(x, dtype=float).ravel()
    if a.size and not np.all(np.isfinite(a)):
        raise InputError(f"{name} must hold finite numbers (remove missing values first)")
    return a


def tie_term(ranks: np.ndarray) -> float:
    """``sum(t^3 - t)`` over the groups of tied ranks (the rank tests' tie correction)."""
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

    __test__ = False  # not a pytest test class

    test: str
    statistic: float
    pval: float
    df: tuple = ()
    method: str = ""
    note: str = ""

    @classmethod
    def undefined(cls, test: str, note: str, df=()) -> "TestResult":
        """A test that cannot be computed on these data: NaN statistic and P value, ``note`` says why."""
        return cls(test, np.nan, np.nan, tuple(df), "", note)

    def to_dict(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "statistic": float_or_none(self.statistic),
            "df": [float_or_none(d) for d in self.df],
            "pval": float_or_none(self.pval),
            "method": self.method,
            "note": self.note,
        }

    def __repr__(self) -> str:
        from ..io.format import fmt_sig

        df = f", df={', '.join(fmt_sig(d) for d in self.df)}" if self.df else ""
        return f"TestResult({self.test}: statistic={fmt_sig(self.statistic, 6)}{df}, {p_text(self.pval)})"
