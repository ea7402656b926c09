"""Sample quantiles of the nine Hyndman-Fan types, computed by numpy.

SPSS's quartiles (``EXAMINE`` ``HAVERAGE``) are type 6; R's default is type 7
(Excel's ``QUARTILE.INC``); SAS's default is type 2.

References
----------
.. [1] Hyndman RJ, Fan Y (1996). Sample quantiles in statistical packages.
   Am Stat 50(4):361-365. doi:10.1080/00031305.1996.10473566
.. [2] IBM Corp. IBM SPSS Statistics 22 Algorithms, EXAMINE: percentiles,
   method HAVERAGE (weighted average at x_{(n+1)p}).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .base import finite_array

__all__ = ["quantile", "quartile_type", "QUARTILE_NAMES", "NUMPY_METHODS"]

#: names users know -> Hyndman-Fan type
QUARTILE_NAMES = {"spss": 6, "haverage": 6, "r": 7, "default": 7, "excel": 7, "minitab": 6, "sas": 2}
#: Hyndman-Fan type -> numpy's ``method`` name (numpy >= 1.22 implements all nine)
NUMPY_METHODS = {
    1: "inverted_cdf",
    2: "averaged_inverted_cdf",
    3: "closest_observation",
    4: "interpolated_inverted_cdf",
    5: "hazen",
    6: "weibull",
    7: "linear",
    8: "median_unbiased",
    9: "normal_unbiased",
}


def quartile_type(quartiles) -> int:
    """The Hyndman-Fan type (1-9) for ``"spss"`` (6), ``"r"`` (7), ``"sas"`` (2) or an int."""
    if isinstance(quartiles, str):
        key = quartiles.strip().lower()
        if key in QUARTILE_NAMES:
            return QUARTILE_NAMES[key]
        if key.isdigit():
            quartiles = int(key)
        else:
            raise InputError(
                f"unknown quartile definition {quartiles!r}; allowed: {', '.join(sorted(QUARTILE_NAMES))} or a type 1-9"
            )
    if isinstance(quartiles, (bool, np.bool_)) or not isinstance(quartiles, (int, np.integer)) or not 1 <= quartiles <= 9:
        raise InputError(f"quartile type must be 1 to 9 (Hyndman & Fan 1996), got {quartiles!r}")
    return int(quartiles)


def quantile(x, probs, type=6):  # noqa: A002 - R's argument name
    """Sample quantiles as R's ``quantile(x, probs, type = type)``.

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
    Computed by ``numpy.quantile(x, probs, method=NUMPY_METHODS[type])``;
    numpy's methods are the Hyndman-Fan definitions [1]_. Type 6 is SPSS's
    ``HAVERAGE`` [2]_: with ``h = (n + 1) p``, ``Q(p) = x_(floor h) + (h -
    floor h)(x_(floor h + 1) - x_(floor h))``, clamped to the smallest and
    largest value. R adds a fuzz of 4 machine epsilons when ``h`` is nearly
    an integer; numpy does not, which matters only when ``(n + 1) p`` falls
    within ~1e-15 of an integer, and then by rounding error alone.
    """
    t = quartile_type(type)
    xs = finite_array(x)
    if xs.size == 0:
        raise InputError("quantile() needs at least one value")
    scalar = np.ndim(probs) == 0
    p = np.atleast_1d(np.asarray(probs, dtype=float))
    if not np.all(np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise InputError(f"probabilities must lie in [0, 1], got {probs!r}")
    out = np.quantile(xs, p, method=NUMPY_METHODS[t])
    return float(out[0]) if scalar else out
