"""Conversions used when extracting trial data for meta-analysis.

Trials of cell therapy in liver disease often report a median with a range
or an interquartile range, a standard error, a confidence interval, a P value
or a t statistic instead of the mean and standard deviation (SD) that a
meta-analysis of continuous outcomes needs. The functions here turn those
statistics back into means, SDs and standard errors (SE).

Every function is vectorised: arguments may be scalars or array-likes that
broadcast against each other. The result is a ``float`` (or a tuple of
floats) when every argument is a scalar and ``numpy`` float arrays otherwise.
Bad input raises :class:`hepatostat.errors.InputError` naming the argument,
the offending value and what is allowed.

References
----------
.. [1] Hozo SP, Djulbegovic B, Hozo I (2005). Estimating the mean and
   variance from the median, range, and the size of a sample. BMC Med Res
   Methodol 5:13. doi:10.1186/1471-2288-5-13
.. [2] Wan X, Wang W, Liu J, Tong T (2014). Estimating the sample mean and
   standard deviation from the sample size, median, range and/or
   interquartile range. BMC Med Res Methodol 14:135.
   doi:10.1186/1471-2288-14-135
.. [3] Luo D, Wan X, Liu J, Tong T (2018). Optimally estimating the sample
   mean from the sample size, median, mid-range, and/or mid-quartile range.
   Stat Methods Med Res 27(6):1785-1805. doi:10.1177/0962280216669183
.. [4] Shi J, Luo D, Weng H, Zeng X-T, Lin L, Chu H, Tong T (2020).
   Optimally estimating the sample standard deviation from the five-number
   summary. Res Synth Methods 11(5):641-654. doi:10.1002/jrsm.1429
.. [5] Bland M (2015). Estimating mean and standard deviation from the
   sample size, three quartiles, minimum, and maximum. Int J Stat Med Res
   4(1):57-64. doi:10.6000/1929-6029.2015.04.01.6
.. [6] McGrath S, Zhao X, Steele R, Thombs BD, Benedetti A; DEPRESSD
   Collaboration (2020). Estimating the sample mean and standard deviation
   from commonly reported quantiles in meta-analysis. Stat Methods Med Res
   29(9):2520-2537. doi:10.1177/0962280219889080
.. [7] Higgins JPT, Li T, Deeks JJ (eds) (2023). Chapter 6: Choosing effect
   measures and computing estimates of effect. In: Higgins JPT et al. (eds),
   Cochrane Handbook for Systematic Reviews of Interventions, version 6.4.
   Cochrane. www.training.cochrane.org/handbook
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.optimize import brentq, least_squares
from scipy.special import gamma as gamma_fn

from ..errors import InputError

__all__ = [
    "MEDIAN_METHODS",
    "mean_sd_from_median",
    "QE_FAMILIES",
    "mcgrath_qe",
    "sd_from_se",
    "sd_from_ci",
    "se_from_ci",
    "se_from_p",
    "sd_from_t",
    "combine_groups",
]

#: Accepted ``method`` values of :func:`mean_sd_from_median`, with the mean
#: and SD estimators each one uses (S1 = {min, median, max},
#: S2 = {min, q1, median, q3, max}, S3 = {q1, median, q3}).
MEDIAN_METHODS: dict[str, str] = {
    "hozo": "Hozo 2005 mean and SD with the paper's sample-size rules (S1 only)",
    "wan": "Wan 2014 SD; mean by Hozo 2005 (S1), Bland 2015 (S2), Wan 2014 (S3)",
    "luo": "Luo 2018 mean; Wan 2014 SD in S1, S2 and S3",
    "luo_shi": "Luo 2018 mean; Wan 2014 SD in S1 and S3, Shi 2020 SD in S2",
    "shi": "same as 'luo_shi' (Shi 2020 SD in S2 with the Luo 2018 mean)",
}

_SCENARIOS = "S1 {min, median, max}, S2 {min, q1, median, q3, max} or S3 {q1, median, q3}"
_DISTRIBUTIONS_CI = ("t", "normal")
_DISTRIBUTIONS_P = ("normal", "t")


# --------------------------------------------------------------------------
# input helpers
# --------------------------------------------------------------------------

def _py(value):
    """A plain Python scalar for error messages."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def _where(arr: np.ndarray, mask: np.ndarray) -> tuple[object, str]:
    """First offending value of ``arr`` under ``mask`` and its position text."""
    idx = np.argwhere(mask)[0]
    value = _py(arr[tuple(idx)]) if arr.ndim else _py(arr[()])
    if arr.ndim == 0:
        return value, ""
    pos = ", ".join(str(int(i)) for i in idx)
    return value, f" (at index {pos})"


def _array(x, name: str, *, allow_none: bool = False) -> np.ndarray | None:
    """``x`` as a float array; finite values only."""
    if x is None:
        if allow_none:
            return None
        raise InputError(f"{name} is required", column=name, value=None)
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be numeric", column=name, value=x) from None
    bad = ~np.isfinite(arr)
    if np.any(bad):
        value, pos = _where(arr, bad)
        raise InputError(
            f"{name} must be a finite number (missing values are not allowed){pos}",
            column=name,
            value=value,
        )
    return arr


def _check(mask, arr: np.ndarray, name: str, message: str) -> None:
    """Raise an :class:`InputError` for the first element where ``mask`` holds."""
    mask = np.asarray(mask)
    if np.any(mask):
        value, pos = _where(np.broadcast_to(arr, mask.shape), mask)
        raise InputError(f"{message}{pos}", column=name, value=value)


def _sample_size(n, name: str = "n") -> np.ndarray:
    if n is None:
        raise InputError(f"{name} (the sample size) is required; it must be at least 2",
                         column=name, value=None)
    try:
        arr = np.asarray(n, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number of at least 2", column=name, value=n) from None
    _check(np.isnan(arr), arr, name, f"{name} (the sample size) is missing; it must be at least 2")
    _check(~np.isfinite(arr) | (arr < 2), arr, name,
           f"{name} (the sample size) must be a finite number of at least 2")
    return arr


def _level(confidence_level) -> float:
    try:
        level = float(confidence_level)
    except (TypeError, ValueError):
        raise InputError("confidence_level must be a number strictly between 0 and 1 (e.g. 0.95)",
                         column="confidence_level", value=confidence_level) from None
    if not (0.0 < level < 1.0):
        raise InputError(
            "confidence_level must be strictly between 0 and 1 (e.g. 0.95 for a 95% interval)",
            column="confidence_level", value=confidence_level)
    return level


def _choice(value, name: str, allowed) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise InputError(f"{name} must be one of {', '.join(repr(a) for a in allowed)}",
                         column=name, value=value)
    return value


def _out(scalar: bool, *arrays):
    """Floats for all-scalar input, float arrays otherwise."""
    res = tuple(float(a) if scalar else np.asarray(a, dtype=float) for a in arrays)
    return res[0] if len(res) == 1 else res


def _all_scalar(*args) -> bool:
    return all(a is None or np.ndim(a) == 0 for a in args)


# --------------------------------------------------------------------------
# median / range / IQR -> mean, SD
# --------------------------------------------------------------------------

def _xi(n: np.ndarray) -> np.ndarray:
    """Wan et al. (2014) xi(n) = 2 * Phi^-1((n - 0.375) / (n + 0.25))."""
    return 2.0 * stats.norm.ppf((n - 0.375) / (n + 0.25))


def _eta(n: np.ndarray) -> np.ndarray:
    """Wan et al. (2014) eta(n) = 2 * Phi^-1((0.75 n - 0.125) / (n + 0.25))."""
    return 2.0 * stats.norm.ppf((0.75 * n - 0.125) / (n + 0.25))


def _scenario(min, q1, q3, max) -> str:
    """S1/S2/S3 from the arguments that are given (``None`` = not given)."""
    given = {k for k, v in (("min", min), ("q1", q1), ("q3", q3), ("max", max)) if v is not None}
    for one, other in (("min", "max"), ("max", "min"), ("q1", "q3"), ("q3", "q1")):
        if one in given and other not in given:
            raise InputError(
                f"{one} was given without {other}; give {one} and {other} together. "
                f"Allowed combinations: {_SCENARIOS}",
                column=other, value=None)
    if not given:
        raise InputError(
            "median and n alone are not enough: give min and max and/or q1 and q3. "
            f"Allowed combinations: {_SCENARIOS}",
            column="min/max or q1/q3", value=None)
    return "S2" if len(given) == 4 else ("S1" if "min" in given else "S3")


def _summary_arrays(*, median, n, q1, q3, min, max):
    """Validated, broadcast (n, min, q1, median, q3, max); absent ones are ``None``."""
    nn = _sample_size(n)
    m = _array(median, "median")
    a = _array(min, "min", allow_none=True)
    lo = _array(q1, "q1", allow_none=True)
    hi = _array(q3, "q3", allow_none=True)
    b = _array(max, "max", allow_none=True)

    present = [(k, v) for k, v in (("n", nn), ("min", a), ("q1", lo), ("median", m),
                                    ("q3", hi), ("max", b)) if v is not None]
    try:
        arrays = np.broadcast_arrays(*(v for _, v in present))
    except ValueError:
        shapes = ", ".join(f"{k} {np.shape(v)}" for k, v in present)
        raise InputError(f"arguments have shapes that do not broadcast together: {shapes}",
                         column="median", value=None) from None
    vals = dict(zip((k for k, _ in present), arrays))
    nn, m = vals["n"], vals["median"]
    a, lo, hi, b = (vals.get(k) for k in ("min", "q1", "q3", "max"))

    # ordering min <= q1 <= median <= q3 <= max
    if a is not None:
        _check(a > b, a, "min", "min must not exceed max")
        _check(a > m, a, "min", "min must not exceed the median")
        _check(m > b, m, "median", "the median must not exceed max")
    if lo is not None:
        _check(lo > hi, lo, "q1", "q1 must not exceed q3")
        _check(lo > m, lo, "q1", "q1 must not exceed the median")
        _check(m > hi, m, "median", "the median must not exceed q3")
    if a is not None and lo is not None:
        _check(a > lo, a, "min", "min must not exceed q1")
        _check(hi > b, hi, "q3", "q3 must not exceed max")
    return nn, a, lo, m, hi, b


def mean_sd_from_median(*, median, n, q1=None, q3=None, min=None, max=None, method="wan"):
    r"""Estimate the sample mean and SD from the median and range and/or IQR.

    The scenario is chosen from the arguments that are given:

    * **S1** -- ``min``, ``median``, ``max`` (and ``n``);
    * **S2** -- ``min``, ``q1``, ``median``, ``q3``, ``max`` (and ``n``);
    * **S3** -- ``q1``, ``median``, ``q3`` (and ``n``).

    Parameters
    ----------
    median : float or array_like
        Sample median.
    n : float or array_like
        Sample size (at least 2).
    q1, q3 : float or array_like, optional
        First and third quartiles.
    min, max : float or array_like, optional
        Sample minimum and maximum.
    method : {"wan", "luo", "luo_shi", "shi", "hozo"}, default "wan"
        Which estimators to use (see Notes and :data:`MEDIAN_METHODS`).

    Returns
    -------
    mean, sd : float or numpy.ndarray
        Estimated sample mean and SD (floats when every argument is a scalar).

    Raises
    ------
    hepatostat.errors.InputError
        If ``n`` is missing or below 2, a value is not finite, the values are
        not ordered ``min <= q1 <= median <= q3 <= max``, the given arguments
        are not one of S1/S2/S3, ``method`` is unknown, or ``method="hozo"``
        is combined with quartiles.

    Notes
    -----
    Write :math:`a` = min, :math:`b` = max, :math:`m` = median,
    :math:`q_1`, :math:`q_3` for the quartiles and

    .. math::

        \xi(n) = 2\,\Phi^{-1}\!\left(\frac{n - 0.375}{n + 0.25}\right), \qquad
        \eta(n) = 2\,\Phi^{-1}\!\left(\frac{0.75n - 0.125}{n + 0.25}\right),

    computed with the normal quantile function :math:`\Phi^{-1}` (not taken
    from a table). The estimators are:

    *Means.*

    - Hozo [1]_ / Wan [2]_, S1: :math:`(a + 2m + b)/4`.
    - Bland [5]_ / Wan [2]_, S2: :math:`(a + 2q_1 + 2m + 2q_3 + b)/8`.
    - Wan [2]_, S3: :math:`(q_1 + m + q_3)/3`.
    - Luo [3]_ eq. (7), S1: :math:`w(a + b)/2 + (1 - w)m`,
      :math:`w = 4/(4 + n^{0.75})`.
    - Luo [3]_ eq. (15), S2: :math:`w_1(a + b)/2 + w_2(q_1 + q_3)/2 +
      (1 - w_1 - w_2)m`, :math:`w_1 = 2.2/(2.2 + n^{0.75})`,
      :math:`w_2 = 0.7 - 0.72/n^{0.55}`.
    - Luo [3]_ eq. (11), S3: :math:`w(q_1 + q_3)/2 + (1 - w)m`,
      :math:`w = 0.7 + 0.39/n`.

    *SDs.*

    - Wan [2]_ eq. (9), S1: :math:`(b - a)/\xi(n)`.
    - Wan [2]_, S2: :math:`\tfrac12\{(b - a)/\xi(n) + (q_3 - q_1)/\eta(n)\}`.
    - Wan [2]_ eq. (16), S3: :math:`(q_3 - q_1)/\eta(n)`.
    - Shi [4]_ eq. (10), S2: :math:`w(b - a)/\xi(n) + (1 - w)(q_3 - q_1)/\eta(n)`,
      :math:`w = 1/(1 + 0.07\,n^{0.6})`.

    *Methods.*

    ==============  ============================  ===================================
    method          mean                          SD
    ==============  ============================  ===================================
    ``"wan"``       Hozo/Wan (S1), Bland/Wan      Wan (S1, S2, S3)
                    (S2), Wan (S3)
    ``"luo"``       Luo (S1, S2, S3)              Wan (S1, S2, S3)
    ``"luo_shi"``   Luo (S1, S2, S3)              Wan (S1, S3), Shi (S2)
    ``"shi"``       alias of ``"luo_shi"``        alias of ``"luo_shi"``
    ``"hozo"``      Hozo, S1 only (see below)     Hozo, S1 only (see below)
    ==============  ============================  ===================================

    ``"luo_shi"`` is the combination usually meant by "Luo/Wan/Shi" (the
    default of metafor's ``conv.fivenum()``); the Wan S1 mean is the
    large-sample form of Hozo's estimator that Wan et al. recommend.

    ``"hozo"`` applies the sample-size rules that Hozo et al. [1]_ recommend
    from their simulations: mean :math:`(a + 2m + b)/4` for :math:`n \le 25`
    and :math:`m` otherwise; SD
    :math:`\sqrt{\{(a - 2m + b)^2/4 + (b - a)^2\}/12}` for :math:`n \le 15`,
    :math:`(b - a)/4` for :math:`15 < n \le 70` and :math:`(b - a)/6` for
    :math:`n > 70`. All other estimators assume approximately normal data.

    References
    ----------
    .. [1] Hozo SP, Djulbegovic B, Hozo I (2005). Estimating the mean and
       variance from the median, range, and the size of a sample. BMC Med
       Res Methodol 5:13. doi:10.1186/1471-2288-5-13
    .. [2] Wan X, Wang W, Liu J, Tong T (2014). Estimating the sample mean
       and standard deviation from the sample size, median, range and/or
       interquartile range. BMC Med Res Methodol 14:135.
       doi:10.1186/1471-2288-14-135
    .. [3] Luo D, Wan X, Liu J, Tong T (2018). Optimally estimating the
       sample mean from the sample size, median, mid-range, and/or
       mid-quartile range. Stat Methods Med Res 27(6):1785-1805.
       doi:10.1177/0962280216669183
    .. [4] Shi J, Luo D, Weng H, Zeng X-T, Lin L, Chu H, Tong T (2020).
       Optimally estimating the sample standard deviation from the
       five-number summary. Res Synth Methods 11(5):641-654.
       doi:10.1002/jrsm.1429
    .. [5] Bland M (2015). Estimating mean and standard deviation from the
       sample size, three quartiles, minimum, and maximum. Int J Stat Med
       Res 4(1):57-64. doi:10.6000/1929-6029.2015.04.01.6
    """
    method = _choice(method, "method", tuple(MEDIAN_METHODS))

    scenario = _scenario(min, q1, q3, max)
    if method == "hozo" and scenario != "S1":
        raise InputError(
            "method='hozo' needs min, median and max only (scenario S1); Hozo et al. (2005) do not "
            "use quartiles. Use method 'wan', 'luo' or 'luo_shi' with q1 and q3",
            column="method", value=method)
    scalar = _all_scalar(median, n, q1, q3, min, max)
    nn, a, lo, m, hi, b = _summary_arrays(median=median, n=n, q1=q1, q3=q3, min=min, max=max)

    if method == "hozo":
        rng = b - a
        mean = np.where(nn <= 25, (a + 2 * m + b) / 4, m)
        sd_small = np.sqrt(((a - 2 * m + b) ** 2 / 4 + rng ** 2) / 12)
        sd = np.where(nn <= 15, sd_small, np.where(nn <= 70, rng / 4, rng / 6))
        return _out(scalar, mean, sd)

    luo = method in ("luo", "luo_shi", "shi")
    if scenario == "S1":
        if luo:
            w = 4 / (4 + nn ** 0.75)
            mean = w * (a + b) / 2 + (1 - w) * m
        else:
            mean = (a + 2 * m + b) / 4
        sd = (b - a) / _xi(nn)
    elif scenario == "S3":
        if luo:
            w = 0.7 + 0.39 / nn
            mean = w * (lo + hi) / 2 + (1 - w) * m
        else:
            mean = (lo + m + hi) / 3
        sd = (hi - lo) / _eta(nn)
    else:  # S2
        if luo:
            w1 = 2.2 / (2.2 + nn ** 0.75)
            w2 = 0.7 - 0.72 / nn ** 0.55
            mean = w1 * (a + b) / 2 + w2 * (lo + hi) / 2 + (1 - w1 - w2) * m
        else:
            mean = (a + 2 * lo + 2 * m + 2 * hi + b) / 8
        if method in ("luo_shi", "shi"):
            w = 1 / (1 + 0.07 * nn ** 0.6)
            sd = w * (b - a) / _xi(nn) + (1 - w) * (hi - lo) / _eta(nn)
        else:
            sd = 0.5 * ((b - a) / _xi(nn) + (hi - lo) / _eta(nn))
    return _out(scalar, mean, sd)


# --------------------------------------------------------------------------
# McGrath et al. (2020) quantile estimation (QE)
# --------------------------------------------------------------------------

#: Candidate families of :func:`mcgrath_qe`, in the order used to break ties.
QE_FAMILIES = ("normal", "log-normal", "gamma", "weibull", "beta")

_SHAPE_BOUNDS = (np.log(1e-3), np.log(1e4))


def _qe_ppf(family: str, par: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Quantiles of ``family`` with natural parameters ``par``."""
    if family == "normal":
        return par[0] + par[1] * stats.norm.ppf(p)
    if family == "log-normal":
        return np.exp(par[0] + par[1] * stats.norm.ppf(p))
    if family == "gamma":
        return stats.gamma.ppf(p, par[0], scale=1 / par[1])
    if family == "weibull":
        return stats.weibull_min.ppf(p, par[0], scale=par[1])
    return stats.beta.ppf(p, par[0], par[1])


def _qe_moments(family: str, par: np.ndarray) -> tuple[float, float]:
    """Mean and SD of ``family`` with natural parameters ``par``."""
    if family == "normal":
        return float(par[0]), float(par[1])
    if family == "log-normal":
        mu, s = par
        return float(np.exp(mu + s * s / 2)), float(np.sqrt(np.expm1(s * s) * np.exp(2 * mu + s * s)))
    if family == "gamma":
        shape, rate = par
        return float(shape / rate), float(np.sqrt(shape) / rate)
    if family == "weibull":
        k, lam = par
        g1, g2 = gamma_fn(1 + 1 / k), gamma_fn(1 + 2 / k)
        return float(lam * g1), float(lam * np.sqrt(max(g2 - g1 * g1, 0.0)))
    a, b = par
    return float(a / (a + b)), float(np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1))))


def _qe_fit(family: str, q: np.ndarray, p: np.ndarray, mean0: float, sd0: float):
    """Least-squares fit of one family; returns (objective, natural parameters)."""
    if family == "normal":
        # quantiles are linear in (mu, sigma): ordinary least squares
        design = np.column_stack([np.ones_like(p), stats.norm.ppf(p)])
        coef = np.linalg.lstsq(design, q, rcond=None)[0]
        coef[1] = np.maximum(coef[1], 0.0)
        return float(np.sum((design @ coef - q) ** 2)), coef

    cv2 = (sd0 / mean0) ** 2
    starts = []
    if family == "log-normal":
        s0 = np.sqrt(np.log1p(cv2))
        starts.append([np.log(mean0) - s0 ** 2 / 2, np.log(s0)])
        starts.append([np.log(q[len(q) // 2]), np.log(max(np.std(np.log(q)), 1e-3))])
        to_nat = lambda th: np.array([th[0], np.exp(th[1])])  # noqa: E731
        bounds = ([-np.inf, -20.0], [np.inf, 5.0])
    elif family == "gamma":
        shape0 = 1 / cv2
        starts.append([np.log(shape0), np.log(shape0 / mean0)])
        starts.append([0.0, np.log(1 / mean0)])
        to_nat = np.exp
        bounds = ([_SHAPE_BOUNDS[0], -np.inf], [_SHAPE_BOUNDS[1], np.inf])
    elif family == "weibull":
        cv = np.sqrt(cv2)

        def cv_gap(logk):
            k = np.exp(logk)
            g1, g2 = gamma_fn(1 + 1 / k), gamma_fn(1 + 2 / k)
            return np.sqrt(g2 / g1 ** 2 - 1) - cv

        try:
            k0 = np.exp(brentq(cv_gap, np.log(0.05), np.log(500.0)))
        except ValueError:
            k0 = (1 / cv) ** 1.086
        starts.append([np.log(k0), np.log(mean0 / gamma_fn(1 + 1 / k0))])
        starts.append([0.0, np.log(mean0)])
        to_nat = np.exp
        bounds = ([_SHAPE_BOUNDS[0], -np.inf], [_SHAPE_BOUNDS[1], np.inf])
    else:  # beta, values in (0, 1)
        common = mean0 * (1 - mean0) / sd0 ** 2 - 1
        if common > 0:
            starts.append([np.log(mean0 * common), np.log((1 - mean0) * common)])
        starts.append([0.0, 0.0])
        to_nat = np.exp
        bounds = ([_SHAPE_BOUNDS[0]] * 2, [_SHAPE_BOUNDS[1]] * 2)

    def resid(th):
        r = _qe_ppf(family, to_nat(th), p) - q
        return np.where(np.isfinite(r), r, 1e100)

    best = None
    for x0 in starts:
        x0 = np.clip(np.asarray(x0, dtype=float), bounds[0], bounds[1])
        if not np.all(np.isfinite(x0)):
            continue
        try:
            res = least_squares(resid, x0, bounds=bounds, xtol=1e-15, ftol=1e-15, gtol=1e-15,
                                max_nfev=2000)
            res = least_squares(resid, res.x, bounds=bounds, xtol=1e-15, ftol=1e-15, gtol=1e-15,
                                max_nfev=2000)
        except (ValueError, FloatingPointError):
            continue
        value = float(np.sum(resid(res.x) ** 2))
        if np.isfinite(value) and (best is None or value < best[0]):
            best = (value, to_nat(res.x))
    return best


def mcgrath_qe(*, median, n, q1=None, q3=None, min=None, max=None, return_distribution=False):
    r"""Estimate the mean and SD by the quantile estimation (QE) method.

    Fits several parametric families to the reported quantiles and returns
    the mean and SD of the best-fitting one (McGrath et al. 2020 [1]_). Unlike
    :func:`mean_sd_from_median` it does not assume normal data. The scenario
    (S1, S2 or S3) is chosen from the arguments given, as in
    :func:`mean_sd_from_median`.

    Parameters
    ----------
    median : float or array_like
        Sample median.
    n : float or array_like
        Sample size: at least 3 in S1 (min, median, max), at least 5 in S2
        (min, q1, median, q3, max) and at least 2 in S3 (q1, median, q3).
    q1, q3 : float or array_like, optional
        First and third quartiles.
    min, max : float or array_like, optional
        Sample minimum and maximum.
    return_distribution : bool, default False
        Also return the name of the selected family.

    Returns
    -------
    mean, sd : float or numpy.ndarray
        Mean and SD of the selected distribution.
    distribution : str or numpy.ndarray of str
        Only with ``return_distribution=True``: one of :data:`QE_FAMILIES`.

    Raises
    ------
    hepatostat.errors.InputError
        For the bad input listed in :func:`mean_sd_from_median`, and for a
        sample size below the minimum of the scenario.

    Notes
    -----
    The reported quantiles :math:`q_j` are taken as the :math:`p_j`-quantiles
    of the data, with :math:`p = (1/n,\ 0.5,\ 1 - 1/n)` in S1,
    :math:`(1/n,\ 0.25,\ 0.5,\ 0.75,\ 1 - 1/n)` in S2 and
    :math:`(0.25,\ 0.5,\ 0.75)` in S3. For each candidate family
    :math:`F_\theta` the parameters minimise

    .. math:: S(\theta) = \sum_j \{F_\theta^{-1}(p_j) - q_j\}^2 ,

    and the family with the smallest :math:`S` is selected (ties broken in
    the order normal, log-normal, gamma, Weibull, beta). The estimates are
    the mean and SD of the fitted distribution: :math:`\mu,\ \sigma`
    (normal); :math:`e^{\mu + \sigma^2/2}`,
    :math:`\sqrt{(e^{\sigma^2} - 1)e^{2\mu + \sigma^2}}` (log-normal);
    :math:`\alpha/\beta,\ \sqrt{\alpha}/\beta` (gamma, shape/rate);
    :math:`\lambda\Gamma(1 + 1/k)`,
    :math:`\lambda\sqrt{\Gamma(1 + 2/k) - \Gamma(1 + 1/k)^2}` (Weibull);
    :math:`a/(a + b)`, :math:`\sqrt{ab/\{(a + b)^2(a + b + 1)\}}` (beta).

    The candidates are the normal; the log-normal, gamma and Weibull when all
    values are positive; and the beta when all values lie in (0, 1). With a
    zero or negative value only the normal is fitted (as McGrath et al. do for
    negative values). Starting values come from the Luo mean and Wan SD; the
    normal fit is an ordinary least-squares fit; the others use
    ``scipy.optimize.least_squares`` on log-scale parameters, with shape
    parameters kept within [1e-3, 1e4]. The R package estmeansd
    (``qe.mean.sd``) also bounds gamma rates and Weibull scales to
    [1e-3, 100], so for data on a scale of hundreds or more its results can
    differ; where no bound binds the two agree to the precision of R's
    ``optim`` (about 1e-4 relative). If all values are equal the result is
    that value with SD 0.

    References
    ----------
    .. [1] McGrath S, Zhao X, Steele R, Thombs BD, Benedetti A; DEPRESSD
       Collaboration (2020). Estimating the sample mean and standard
       deviation from commonly reported quantiles in meta-analysis. Stat
       Methods Med Res 29(9):2520-2537. doi:10.1177/0962280219889080
    """
    if not isinstance(return_distribution, (bool, np.bool_)):
        raise InputError("return_distribution must be True or False",
                         column="return_distribution", value=return_distribution)
    scenario = _scenario(min, q1, q3, max)
    scalar = _all_scalar(median, n, q1, q3, min, max)
    nn, a, lo, m, hi, b = _summary_arrays(median=median, n=n, q1=q1, q3=q3, min=min, max=max)
    need = {"S1": 3, "S2": 5, "S3": 2}[scenario]
    _check(nn < need, nn, "n",
           f"n must be at least {need} for the quantile estimation method in scenario {scenario}")

    # starting values: Luo mean, Wan SD
    mean0, sd0 = mean_sd_from_median(median=m, n=nn, q1=lo, q3=hi, min=a, max=b, method="luo")
    mean0, sd0 = np.asarray(mean0, dtype=float), np.asarray(sd0, dtype=float)

    if scenario == "S1":
        cols = (a, m, b)
    elif scenario == "S2":
        cols = (a, lo, m, hi, b)
    else:
        cols = (lo, m, hi)
    shape = nn.shape
    est_mean = np.empty(shape)
    est_sd = np.empty(shape)
    dist = np.empty(shape, dtype=object)
    for idx in np.ndindex(shape):
        q = np.array([c[idx] for c in cols], dtype=float)
        size = float(nn[idx])
        if scenario == "S1":
            p = np.array([1 / size, 0.5, 1 - 1 / size])
        elif scenario == "S2":
            p = np.array([1 / size, 0.25, 0.5, 0.75, 1 - 1 / size])
        else:
            p = np.array([0.25, 0.5, 0.75])
        if np.all(q == q[0]):
            est_mean[idx], est_sd[idx], dist[idx] = q[0], 0.0, "normal"
            continue
        families = ["normal"]
        if np.all(q > 0):
            families += ["log-normal", "gamma", "weibull"]
            if np.all(q < 1):
                families.append("beta")
        m0 = float(mean0[idx])
        s0 = float(sd0[idx]) if sd0[idx] > 0 else float(np.ptp(q)) / 4 or 1.0
        best = None
        for fam in families:
            fit = _qe_fit(fam, q, p, m0, s0)
            if fit is not None and (best is None or fit[0] < best[0]):
                best = (fit[0], fam, fit[1])
        est_mean[idx], est_sd[idx] = _qe_moments(best[1], best[2])
        dist[idx] = best[1]
    if scalar:
        out = (float(est_mean[()]), float(est_sd[()]))
        return out + (str(dist[()]),) if return_distribution else out
    if return_distribution:
        return est_mean, est_sd, dist.astype(str)
    return est_mean, est_sd


# --------------------------------------------------------------------------
# SE, CI, P, t -> SD / SE
# --------------------------------------------------------------------------

def _broadcast(names, arrays):
    try:
        return np.broadcast_arrays(*arrays)
    except ValueError:
        shapes = ", ".join(f"{k} {np.shape(v)}" for k, v in zip(names, arrays))
        raise InputError(f"arguments have shapes that do not broadcast together: {shapes}",
                         column=names[0], value=None) from None


def sd_from_se(se, n):
    r"""SD of a group from the standard error of its mean.

    Parameters
    ----------
    se : float or array_like
        Standard error of the group mean (positive).
    n : float or array_like
        Group sample size (at least 2).

    Returns
    -------
    float or numpy.ndarray
        The SD.

    Raises
    ------
    hepatostat.errors.InputError
        If ``se`` is not positive or ``n`` is missing or below 2.

    Notes
    -----
    .. math:: \mathrm{SD} = \mathrm{SE}\,\sqrt{n}

    (Cochrane Handbook v6.4, section 6.5.2.2 [1]_).

    References
    ----------
    .. [1] Higgins JPT, Li T, Deeks JJ (eds) (2023). Chapter 6: Choosing
       effect measures and computing estimates of effect. Cochrane Handbook
       for Systematic Reviews of Interventions, version 6.4, section 6.5.2.2.
       Cochrane. www.training.cochrane.org/handbook
    """
    scalar = _all_scalar(se, n)
    s = _array(se, "se")
    nn = _sample_size(n)
    s, nn = _broadcast(("se", "n"), (s, nn))
    _check(s <= 0, s, "se", "se must be positive")
    return _out(scalar, s * np.sqrt(nn))


def sd_from_ci(low, high, n, *, confidence_level=0.95, distribution="t"):
    r"""SD of a group from the confidence interval of its mean.

    Parameters
    ----------
    low, high : float or array_like
        Lower and upper confidence limits for the group mean.
    n : float or array_like
        Group sample size (at least 2).
    confidence_level : float, default 0.95
        Level of the interval, strictly between 0 and 1.
    distribution : {"t", "normal"}, default "t"
        ``"t"`` when the interval used the t distribution with ``n - 1``
        degrees of freedom (small samples, the Handbook's advice for fewer
        than about 60 per group); ``"normal"`` for large samples.

    Returns
    -------
    float or numpy.ndarray
        The SD.

    Raises
    ------
    hepatostat.errors.InputError
        If ``high - low`` is not positive, ``n`` is missing or below 2,
        ``confidence_level`` is outside (0, 1) or ``distribution`` is unknown.

    Notes
    -----
    .. math::

        \mathrm{SD} = \sqrt{n}\,\frac{\mathrm{high} - \mathrm{low}}{2\,c}, \qquad
        c = t_{1-\alpha/2,\,n-1} \text{ or } z_{1-\alpha/2},

    with :math:`\alpha = 1 -` ``confidence_level``. For a 95% interval from a
    large sample :math:`2c = 3.92`; for :math:`n = 25` and the t distribution
    :math:`2c = 2 \times 2.0639 = 4.128` (Cochrane Handbook v6.4, section
    6.5.2.2 [1]_). The interval is assumed symmetric about the mean.

    References
    ----------
    .. [1] Higgins JPT, Li T, Deeks JJ (eds) (2023). Chapter 6: Choosing
       effect measures and computing estimates of effect. Cochrane Handbook
       for Systematic Reviews of Interventions, version 6.4, section 6.5.2.2.
       Cochrane. www.training.cochrane.org/handbook
    """
    level = _level(confidence_level)
    distribution = _choice(distribution, "distribution", _DISTRIBUTIONS_CI)
    scalar = _all_scalar(low, high, n)
    lo = _array(low, "low")
    hi = _array(high, "high")
    nn = _sample_size(n)
    lo, hi, nn = _broadcast(("low", "high", "n"), (lo, hi, nn))
    width = hi - lo
    _check(width <= 0, hi, "high", "high must be greater than low (the CI width must be positive)")
    p = 1 - (1 - level) / 2
    crit = stats.t.ppf(p, nn - 1) if distribution == "t" else stats.norm.ppf(p)
    return _out(scalar, np.sqrt(nn) * width / (2 * crit))


def se_from_ci(low, high, *, confidence_level=0.95, log=False):
    r"""Standard error of an estimate from its (normal-theory) confidence interval.

    Parameters
    ----------
    low, high : float or array_like
        Lower and upper confidence limits.
    confidence_level : float, default 0.95
        Level of the interval, strictly between 0 and 1.
    log : bool, default False
        ``True`` for ratio measures (odds, risk or hazard ratios): the limits
        are given on the ratio scale, must be positive, and the SE returned
        is that of the log ratio.

    Returns
    -------
    float or numpy.ndarray
        The SE (of the log estimate when ``log=True``).

    Raises
    ------
    hepatostat.errors.InputError
        If the width is not positive, ``log=True`` with a non-positive limit,
        or ``confidence_level`` outside (0, 1).

    Notes
    -----
    .. math::

        \mathrm{SE} = \frac{\mathrm{high} - \mathrm{low}}{2\,z_{1-\alpha/2}}
        \quad\text{or, with } \texttt{log=True},\quad
        \mathrm{SE} = \frac{\ln \mathrm{high} - \ln \mathrm{low}}{2\,z_{1-\alpha/2}}

    (for a 95% interval :math:`2 z = 3.92`; Cochrane Handbook v6.4, section
    6.3.1 [1]_). The interval is assumed to be a Wald interval, symmetric on
    the analysis scale.

    References
    ----------
    .. [1] Higgins JPT, Li T, Deeks JJ (eds) (2023). Chapter 6: Choosing
       effect measures and computing estimates of effect. Cochrane Handbook
       for Systematic Reviews of Interventions, version 6.4, section 6.3.1.
       Cochrane. www.training.cochrane.org/handbook
    """
    level = _level(confidence_level)
    if not isinstance(log, (bool, np.bool_)):
        raise InputError("log must be True or False", column="log", value=log)
    scalar = _all_scalar(low, high)
    lo = _array(low, "low")
    hi = _array(high, "high")
    lo, hi = _broadcast(("low", "high"), (lo, hi))
    if log:
        _check(lo <= 0, lo, "low", "low must be positive when log=True (a ratio measure)")
        _check(hi <= 0, hi, "high", "high must be positive when log=True (a ratio measure)")
        lo, hi = np.log(lo), np.log(hi)
    _check(hi - lo <= 0, hi, "high", "high must be greater than low (the CI width must be positive)")
    z = stats.norm.ppf(1 - (1 - level) / 2)
    return _out(scalar, (hi - lo) / (2 * z))


def se_from_p(estimate, p, *, distribution="normal", df=None):
    r"""Standard error of an estimate from its two-sided P value.

    Parameters
    ----------
    estimate : float or array_like
        The estimate (a mean difference, or a log ratio for ratio measures).
    p : float or array_like
        Two-sided P value, in (0, 1].
    distribution : {"normal", "t"}, default "normal"
        Distribution of the test statistic.
    df : float or array_like, optional
        Degrees of freedom; required (and only allowed) with
        ``distribution="t"`` (e.g. :math:`n_1 + n_2 - 2` for a two-sample t
        test).

    Returns
    -------
    float or numpy.ndarray
        The SE. ``p = 1`` gives an infinite SE (``nan`` if the estimate is 0).

    Raises
    ------
    hepatostat.errors.InputError
        If ``p`` is outside (0, 1], ``distribution`` is unknown, or ``df`` is
        missing, not positive, or given with the normal distribution.

    Notes
    -----
    .. math::

        \mathrm{SE} = \frac{|\mathrm{estimate}|}{Z}, \qquad
        Z = \Phi^{-1}(1 - p/2) \ \text{or}\ t_{1 - p/2,\,\mathrm{df}}

    (Cochrane Handbook v6.4, sections 6.3.2 and 6.5.2.3 [1]_). Exact P values
    should be used; a bound such as "P < 0.05" gives a conservative SE.

    References
    ----------
    .. [1] Higgins JPT, Li T, Deeks JJ (eds) (2023). Chapter 6: Choosing
       effect measures and computing estimates of effect. Cochrane Handbook
       for Systematic Reviews of Interventions, version 6.4, sections 6.3.2
       and 6.5.2.3. Cochrane. www.training.cochrane.org/handbook
    """
    distribution = _choice(distribution, "distribution", _DISTRIBUTIONS_P)
    if distribution == "normal" and df is not None:
        raise InputError("df is only used with distribution='t'; leave it out for 'normal'",
                         column="df", value=df)
    if distribution == "t" and df is None:
        raise InputError("df (degrees of freedom, > 0) is required with distribution='t'",
                         column="df", value=None)
    scalar = _all_scalar(estimate, p, df)
    est = _array(estimate, "estimate")
    pp = _array(p, "p")
    names, arrays = ["estimate", "p"], [est, pp]
    if df is not None:
        d = _array(df, "df")
        _check(d <= 0, d, "df", "df must be positive")
        names.append("df")
        arrays.append(d)
    arrays = _broadcast(tuple(names), arrays)
    est, pp = arrays[0], arrays[1]
    _check((pp <= 0) | (pp > 1), pp, "p", "p must be in (0, 1] (a two-sided P value)")
    q = 1 - pp / 2
    z = stats.norm.ppf(q) if distribution == "normal" else stats.t.ppf(q, arrays[2])
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.abs(est) / z
    return _out(scalar, se)


def sd_from_t(t, n1, n2, mean_difference):
    r"""Within-group SD from the t statistic of a two-sample comparison.

    Parameters
    ----------
    t : float or array_like
        Two-sample t statistic (non-zero; its sign is ignored).
    n1, n2 : float or array_like
        Sample sizes of the two groups (each at least 2).
    mean_difference : float or array_like
        Difference in means that was tested (sign ignored).

    Returns
    -------
    float or numpy.ndarray
        The SD, to be used for both groups (equal SDs assumed).

    Raises
    ------
    hepatostat.errors.InputError
        If ``t`` is zero, or ``n1``/``n2`` are missing or below 2.

    Notes
    -----
    .. math::

        \mathrm{SE} = \frac{|\mathrm{MD}|}{|t|}, \qquad
        \mathrm{SD} = \frac{\mathrm{SE}}{\sqrt{1/n_1 + 1/n_2}}

    (Cochrane Handbook v6.4, section 6.5.2.3 [1]_). A t statistic obtained
    from a P value (``scipy.stats.t.isf(p / 2, n1 + n2 - 2)``) may be used.

    References
    ----------
    .. [1] Higgins JPT, Li T, Deeks JJ (eds) (2023). Chapter 6: Choosing
       effect measures and computing estimates of effect. Cochrane Handbook
       for Systematic Reviews of Interventions, version 6.4, section 6.5.2.3.
       Cochrane. www.training.cochrane.org/handbook
    """
    scalar = _all_scalar(t, n1, n2, mean_difference)
    tt = _array(t, "t")
    a = _sample_size(n1, "n1")
    b = _sample_size(n2, "n2")
    md = _array(mean_difference, "mean_difference")
    tt, a, b, md = _broadcast(("t", "n1", "n2", "mean_difference"), (tt, a, b, md))
    _check(tt == 0, tt, "t", "t must be non-zero (a zero t statistic carries no information on the SD)")
    se = np.abs(md) / np.abs(tt)
    return _out(scalar, se / np.sqrt(1 / a + 1 / b))


# --------------------------------------------------------------------------
# combining groups
# --------------------------------------------------------------------------

def combine_groups(n1, m1, sd1, n2, m2, sd2):
    r"""Combine two groups into one: sample size, mean and SD.

    Parameters
    ----------
    n1, n2 : float or array_like
        Group sample sizes (each at least 2).
    m1, m2 : float or array_like
        Group means.
    sd1, sd2 : float or array_like
        Group SDs (non-negative).

    Returns
    -------
    n, mean, sd : float or numpy.ndarray
        Size, mean and SD of the combined group.

    Raises
    ------
    hepatostat.errors.InputError
        If a sample size is missing or below 2, or an SD is negative.

    Notes
    -----
    Cochrane Handbook v6.4, Table 6.5.a [1]_:

    .. math::

        N = n_1 + n_2, \qquad M = \frac{n_1 m_1 + n_2 m_2}{N},

        \mathrm{SD} = \sqrt{\frac{(n_1 - 1)\,s_1^2 + (n_2 - 1)\,s_2^2
        + \frac{n_1 n_2}{N}\,(m_1^2 + m_2^2 - 2 m_1 m_2)}{N - 1}}.

    This is exactly the SD (``ddof=1``) of the pooled individual data. To
    combine more than two groups, apply it repeatedly.

    References
    ----------
    .. [1] Higgins JPT, Li T, Deeks JJ (eds) (2023). Chapter 6: Choosing
       effect measures and computing estimates of effect. Cochrane Handbook
       for Systematic Reviews of Interventions, version 6.4, section 6.5.2.10
       and Table 6.5.a. Cochrane. www.training.cochrane.org/handbook
    """
    scalar = _all_scalar(n1, m1, sd1, n2, m2, sd2)
    a = _sample_size(n1, "n1")
    b = _sample_size(n2, "n2")
    x1 = _array(m1, "m1")
    x2 = _array(m2, "m2")
    s1 = _array(sd1, "sd1")
    s2 = _array(sd2, "sd2")
    a, x1, s1, b, x2, s2 = _broadcast(("n1", "m1", "sd1", "n2", "m2", "sd2"),
                                      (a, x1, s1, b, x2, s2))
    _check(s1 < 0, s1, "sd1", "sd1 must be non-negative")
    _check(s2 < 0, s2, "sd2", "sd2 must be non-negative")
    n = a + b
    mean = (a * x1 + b * x2) / n
    ss = (a - 1) * s1 ** 2 + (b - 1) * s2 ** 2 + a * b / n * (x1 ** 2 + x2 ** 2 - 2 * x1 * x2)
    return _out(scalar, n, mean, np.sqrt(ss / (n - 1)))
