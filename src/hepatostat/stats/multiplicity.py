"""Multiplicity corrections of P values (R's ``p.adjust`` codes), via statsmodels.

References
----------
.. [1] Holm S (1979). A simple sequentially rejective multiple test
   procedure. Scand J Stat 6(2):65-70.
.. [7] Benjamini Y, Hochberg Y (1995). Controlling the false discovery rate:
   a practical and powerful approach to multiple testing. J R Stat Soc B
   57(1):289-300. doi:10.1111/j.2517-6161.1995.tb02031.x
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError

__all__ = ["ADJUST_METHODS", "adjust_pvalues"]

#: multiplicity corrections: our name -> statsmodels' multipletests name
ADJUST_METHODS = {
    "holm": "holm",
    "BH": "fdr_bh",
    "bonferroni": "bonferroni",
    "hochberg": "simes-hochberg",
    "BY": "fdr_by",
    "none": None,
}
_ADJUST_CODES = {k.lower(): k for k in ADJUST_METHODS}
_ADJUST_CODES.update({"fdr": "BH", "fdr_bh": "BH", "fdr_by": "BY", "simes-hochberg": "hochberg"})


def adjust_pvalues(pvals, method: str = "holm") -> np.ndarray:
    """Adjust P values for multiple testing.

    Parameters
    ----------
    pvals : array_like
        P values; NaN marks a test that was not done.
    method : str
        ``"holm"`` (Holm 1979), ``"BH"`` (Benjamini-Hochberg 1995 [7]_),
        ``"bonferroni"``, ``"hochberg"``, ``"BY"`` (Benjamini-Yekutieli) or
        ``"none"``, as R's ``p.adjust`` codes.

    Returns
    -------
    numpy.ndarray
        Adjusted P values, NaN where the input is NaN.

    Notes
    -----
    Computed by statsmodels' ``multipletests`` on the non-missing P values,
    which equals R's ``p.adjust(p[!is.na(p)], method)``. R's own default with
    missing values (``n = length(p)``) counts a missing P value as a test;
    we do not, as a missing P value is a comparison that could not be made.
    """
    key = _ADJUST_CODES.get(str(method).lower())
    if key is None:
        raise InputError(f"unknown multiplicity correction {method!r}; allowed: {', '.join(ADJUST_METHODS)}")
    p = np.asarray(pvals, dtype=float).ravel()
    ok = np.isfinite(p)
    if np.any((p[ok] < 0) | (p[ok] > 1)):
        raise InputError("P values must lie between 0 and 1")
    out = np.full(p.shape, np.nan)
    if ADJUST_METHODS[key] is None or not ok.any():
        out[ok] = p[ok]
        return out
    from statsmodels.stats.multitest import multipletests

    out[ok] = multipletests(p[ok], method=ADJUST_METHODS[key])[1]
    return out
