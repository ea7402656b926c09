"""Check extracted trial numbers before they are pooled.

Given the long extraction table of ``hepatostat meta outcomes`` (one row per
study × outcome × time point with ``m1, sd1, n1, m2, sd2, n2`` and optionally
``med1, q1_1, q3_1, min1, max1`` (``…2`` for arm 2), ``p_reported`` and
``unit``; ``converted1``/``converted2`` = true marks a mean/SD derived (by a
conversion, or read off a figure) rather than printed, which GRIM, GRIMMER and ``p_recompute`` then
skip), :func:`check_extraction` raises a flag wherever the numbers cannot
all be right or look like a known extraction slip. Rows with no problem get
no flag; every flag says what was expected.

The checks (codes as in :data:`CHECKS`):

``grim``
    A mean of integer data (``integer_outcomes``) that no integer total
    divided by n rounds to (Brown & Heathers 2017 [1]_).
``grimmer``
    An SD of integer data that no integer sum of squares with the right
    parity can produce (Anaya 2016 [2]_, in the analytic form of Allard
    2018 [3]_).
``sd_range``
    An SD larger than a sample of n values inside [min, max] can have
    (Shiffler & Harsha 1980 [4]_; with the mean, Bhatia & Davis 2000 [5]_).
``order``
    ``min <= q1 <= median <= q3 <= max`` violated.
``mean_range``
    A mean outside [min, max].
``p_recompute``
    A reported between-arm p that neither Student's nor Welch's t test can
    give from the extracted means, SDs and ns, allowing for rounding
    (the idea of statcheck, Nuijten et al. 2016 [6]_).
``se_as_sd``
    An SD that is really a standard error: its coefficient of variation is
    far below the other studies of the same outcome and time point while
    SD·√n matches them (SE = SD/√n, Cochrane Handbook 6.5.2.2 [7]_; the most
    common extraction error found by Xu et al. 2022 [8]_).
``unit_scale``
    Values that differ from the other studies of the outcome and time point
    by a known unit factor (×10 g/dL↔g/L, ×17.1 bilirubin mg/dL↔µmol/L,
    ×88.4 creatinine mg/dL↔µmol/L, ×1000).
``n_change``
    An arm's n that grows at a later time point (CONSORT 2010 item 13b:
    the number analysed cannot exceed those randomised and followed [9]_).
``skew``
    A median with quartiles and/or range that Shi et al.'s (2023) test [10]_
    finds skewed at the 5% level, so that converting it to a mean and SD
    with normal-theory methods (Wan, Luo, Shi) is questionable.

Numbers are judged as printed: a value given as text (``"5.19"``) stands for
every value that rounds to it (5.185 to 5.195), and a flag is raised only
when no values in those intervals agree. Values given as floats are read
with their shortest decimal representation (trailing zeros are lost, so
the tests are then less strict, never stricter).

References
----------
.. [1] Brown NJL, Heathers JAJ (2017). The GRIM test: a simple technique
   detects numerous anomalies in the reporting of results in psychology.
   Soc Psychol Personal Sci 8(4):363-369. doi:10.1177/1948550616673876
.. [2] Anaya J (2016). The GRIMMER test: a method for testing the validity
   of reported measures of variability. PeerJ Preprints 4:e2400v1.
   doi:10.7287/peerj.preprints.2400v1
.. [3] Allard A (2018). Analytic-GRIMMER: a new way of testing the
   possibility of standard deviations. https://aurelienallard.netlify.app/post/anaytic-grimmer-possibility-standard-deviations/
.. [4] Shiffler RE, Harsha PD (1980). Upper and lower bounds for the sample
   standard deviation. Teaching Statistics 2(3):84-86.
   doi:10.1111/j.1467-9639.1980.tb00398.x
.. [5] Bhatia R, Davis C (2000). A better bound on the variance. Am Math
   Monthly 107(4):353-357. doi:10.1080/00029890.2000.12005203
.. [6] Nuijten MB, Hartgerink CHJ, van Assen MALM, Epskamp S, Wicherts JM
   (2016). The prevalence of statistical reporting errors in psychology
   (1985-2013). Behav Res Methods 48(4):1205-1226.
   doi:10.3758/s13428-015-0664-2
.. [7] Higgins JPT, Li T, Deeks JJ (eds) (2023). Chapter 6, section 6.5.2.2.
   Cochrane Handbook for Systematic Reviews of Interventions, version 6.4.
.. [8] Xu C, Yu T, Furuya-Kanamori L, et al. (2022). Validity of data
   extraction in evidence synthesis practice of adverse events: reproducibility
   study. BMJ 377:e069155. doi:10.1136/bmj-2021-069155
.. [9] Schulz KF, Altman DG, Moher D (2010). CONSORT 2010 Statement. BMJ
   340:c332. doi:10.1136/bmj.c332
.. [10] Shi J, Luo D, Wan X, Liu Y, Liu J, Bian Z, Tong T (2023). Detecting
   the skewness of data from the five-number summary and its application in
   meta-analysis. Stat Methods Med Res 32(7):1338-1360.
   doi:10.1177/09622802231172043
"""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, Iterable

from ..errors import InputError
from ..io.format import fmt_n, fmt_sig

__all__ = [
    "CHECKS",
    "UNIT_FACTORS",
    "Reported",
    "Flag",
    "ExtractionCheck",
    "check_extraction",
    "reported",
    "grim_sums",
    "grim_consistent",
    "grimmer_consistent",
    "max_sd",
    "skew_test",
    "p_range",
    "timepoint_days",
]

#: check codes, in the order they are reported
CHECKS = ("grim", "grimmer", "sd_range", "order", "mean_range", "p_recompute", "se_as_sd", "unit_scale",
          "n_change", "skew")

#: unit factors recognised by ``unit_scale`` and what each one usually means
UNIT_FACTORS = {
    10.0: "×10 (e.g. albumin g/dL vs g/L, haemoglobin g/dL vs g/L)",
    17.1: "×17.1 (bilirubin mg/dL vs µmol/L)",
    88.4: "×88.4 (creatinine mg/dL vs µmol/L)",
    1000.0: "×1000 (e.g. cells per µL vs ×10⁹/L, mg vs g)",
}

#: ``unit_scale`` accepts a ratio within this factor of a unit factor
UNIT_TOLERANCE = 1.3
#: with at least this many studies in an outcome × time point, the cross-study checks compare with the
#: median of all studies (one study moves it little) instead of recomputing it without each study
LARGE_GROUP = 20
#: ``se_as_sd``: CV below this fraction of the others' median ...
SE_CV_RATIO = 0.4
#: ... while CV·√n lies within this factor of it
SE_MATCH = 2.0

ARM_COLUMNS = {
    1: {"m": "m1", "sd": "sd1", "n": "n1", "med": "med1", "q1": "q1_1", "q3": "q3_1", "min": "min1", "max": "max1"},
    2: {"m": "m2", "sd": "sd2", "n": "n2", "med": "med2", "q1": "q1_2", "q3": "q3_2", "min": "min2", "max": "max2"},
}
NUMERIC_COLUMNS = tuple(c for arm in ARM_COLUMNS.values() for c in arm.values())

_MINUS = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2014": "-", "\u00a0": ""})


# --------------------------------------------------------------------------
# reported numbers
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Reported:
    """A number as printed: its value and the half-width of its last digit.

    ``Reported.parse("5.19")`` stands for every value in [5.185, 5.195].
    """

    text: str
    value: Fraction
    half: Fraction
    decimals: int

    @property
    def low(self) -> Fraction:
        return self.value - self.half

    @property
    def high(self) -> Fraction:
        return self.value + self.half

    def __float__(self) -> float:
        return float(self.value)

    @classmethod
    def parse(cls, value) -> "Reported | None":
        """``None`` for an empty cell; raises ``ValueError`` for text that is not a number."""
        if value is None:
            return None
        if isinstance(value, float):
            if math.isnan(value):
                return None
            if math.isinf(value):
                raise ValueError("not finite")
            text = repr(value)
        elif isinstance(value, (int,)) and not isinstance(value, bool):
            text = str(value)
        else:
            text = str(value).translate(_MINUS).strip().replace(" ", "")
            if text == "" or text.lower() in ("nan", "na", "n/a", "."):
                return None
        try:
            d = Decimal(text)
        except InvalidOperation:
            raise ValueError("not a number") from None
        if not d.is_finite():
            raise ValueError("not finite")
        exp = d.as_tuple().exponent
        decimals = max(0, -exp)
        half = Fraction(1, 2) * Fraction(10) ** exp
        if float(d) == int(d) and isinstance(value, float):  # 43.0 from a float column: an integer
            decimals, half = 0, Fraction(1, 2)
        return cls(text=text, value=Fraction(d), half=half, decimals=decimals)


def reported(value) -> Reported | None:
    """Shorthand for :meth:`Reported.parse`."""
    return Reported.parse(value)


def _fmt(x, digits: int = 4) -> str:
    return fmt_sig(float(x), digits)


# --------------------------------------------------------------------------
# GRIM and GRIMMER
# --------------------------------------------------------------------------

def grim_sums(mean, n: int) -> range:
    """Integer totals S whose mean S/n rounds to the reported ``mean``.

    ``mean`` is text (or a :class:`Reported`); an empty range means the mean
    is impossible for integer data (GRIM inconsistent).

    Notes
    -----
    The reported mean stands for the closed interval
    [mean - ½·10^-d, mean + ½·10^-d] (rounding half up or down both
    allowed); S runs over the integers in n times that interval
    (Brown & Heathers 2017, doi:10.1177/1948550616673876). Exact rational
    arithmetic, no floating point.
    """
    r = mean if isinstance(mean, Reported) else Reported.parse(mean)
    lo = math.ceil(r.low * n)
    hi = math.floor(r.high * n)
    return range(lo, hi + 1)


def grim_consistent(mean, n: int) -> bool:
    """Whether a reported mean of n integers is possible (the GRIM test).

    Brown NJL, Heathers JAJ (2017). Soc Psychol Personal Sci 8(4):363-369,
    doi:10.1177/1948550616673876.
    """
    return len(grim_sums(mean, int(n))) > 0


def _min_sum_squares(s: int, n: int) -> int:
    """Smallest sum of squares of n integers adding up to s (values as equal as possible)."""
    q, r = divmod(s, n)
    return (n - r) * q * q + r * (q + 1) * (q + 1)


def grimmer_consistent(mean, sd, n: int) -> bool:
    """Whether a reported mean and sample SD of n integers are possible (GRIMMER).

    Notes
    -----
    For integer data x_1..x_n with total S and sum of squares Q,
    ``sd² = (Q - S²/n)/(n - 1)``, so Q = (n - 1)·sd² + S²/n must be an
    integer, at least the sum of squares of n integers with total S as
    close together as possible, and of the same parity as S (x² ≡ x mod 2).
    For every S that passes GRIM, the SD's rounding interval gives an
    interval of Q; the pair is consistent when some Q qualifies (Anaya 2016,
    doi:10.7287/peerj.preprints.2400v1; Allard 2018's analytic form).
    Allard's further rules for n < 5 are not applied, so small samples are
    flagged less often, never wrongly.
    """
    n = int(n)
    m = mean if isinstance(mean, Reported) else Reported.parse(mean)
    s_ = sd if isinstance(sd, Reported) else Reported.parse(sd)
    if n < 2:
        return True
    sums = grim_sums(m, n)
    if len(sums) == 0:
        return False
    sd_lo = max(Fraction(0), s_.low)
    sd_hi = s_.high
    for s in sums:
        base = Fraction(s * s, n)
        q_lo = math.ceil((n - 1) * sd_lo * sd_lo + base)
        q_hi = math.floor((n - 1) * sd_hi * sd_hi + base)
        q_lo = max(q_lo, _min_sum_squares(s, n))
        if q_lo > q_hi:
            continue
        if q_lo % 2 != s % 2:
            q_lo += 1
        if q_lo <= q_hi:
            return True
    return False


# --------------------------------------------------------------------------
# bounds and tests
# --------------------------------------------------------------------------

def max_sd(n: int, lo: float, hi: float, mean: float | None = None) -> float:
    """Largest sample SD (divisor n - 1) of n values inside [lo, hi].

    Notes
    -----
    Without the mean: half the values at each end,
    ``(hi - lo)·sqrt(⌊n/2⌋⌈n/2⌉ / (n(n - 1)))`` (Shiffler & Harsha 1980,
    doi:10.1111/j.1467-9639.1980.tb00398.x). With the mean m:
    ``sqrt((hi - m)(m - lo)·n/(n - 1))`` (Bhatia & Davis 2000,
    doi:10.1080/00029890.2000.12005203). The smaller bound is returned.
    """
    width = hi - lo
    a, b = n // 2, n - n // 2
    bound = width * math.sqrt(a * b / (n * (n - 1)))
    if mean is not None:
        bd = max(0.0, (hi - mean) * (mean - lo)) * n / (n - 1)
        bound = min(bound, math.sqrt(bd))
    return bound


def skew_test(n: int, *, median: float, q1=None, q3=None, min=None, max=None) -> tuple[float, float, str] | None:
    """Shi et al. (2023) test of skewness from a median with quartiles and/or range.

    Returns ``(statistic, critical value, scenario)``; skewed at the 5% level
    when ``statistic > critical value``. ``None`` when neither the range nor
    the quartiles are given (or they have zero width).

    Notes
    -----
    With a = min, b = max, m = median, q1, q3 (Shi et al. 2023, Stat Methods
    Med Res 32(7):1338-1360, doi:10.1177/09622802231172043; the constants as
    in McGrath's R package metamedian, ``describe_studies``):

    * {a, m, b}: T = |a + b - 2m|/(b - a), critical value 1/ln(n + 9) + 2.5/(n + 1);
    * {q1, m, q3}: T = |q1 + q3 - 2m|/(q3 - q1), critical value 2.65/√n - 6/n²;
    * all five: T = max(2.65·ln(0.6n)/√n · |a + b - 2m|/(b - a), |q1 + q3 - 2m|/(q3 - q1)),
      critical value 3/√n - 40/n³.
    """
    has_range = min is not None and max is not None and max > min
    has_iqr = q1 is not None and q3 is not None and q3 > q1
    if has_range and has_iqr:
        t1 = abs(min + max - 2 * median) / (max - min)
        t2 = abs(q1 + q3 - 2 * median) / (q3 - q1)
        stat = max_(2.65 * math.log(0.6 * n) / math.sqrt(n) * t1, t2)
        return stat, 3 / math.sqrt(n) - 40 / n ** 3, "min, q1, median, q3, max"
    if has_range:
        return abs(min + max - 2 * median) / (max - min), 1 / math.log(n + 9) + 2.5 / (n + 1), "min, median, max"
    if has_iqr:
        return abs(q1 + q3 - 2 * median) / (q3 - q1), 2.65 / math.sqrt(n) - 6 / n ** 2, "q1, median, q3"
    return None


max_ = max  # the builtin, shadowed by skew_test's argument name


def _t_p(t: float, df: float) -> float:
    from . import _dist

    return float(2 * _dist.t_sf(abs(t), df))


def p_range(m1: Reported, sd1: Reported, n1: int, m2: Reported, sd2: Reported, n2: int) -> tuple[float, float]:
    """The two-sided p values that Student's or Welch's t test can give, allowing for rounding.

    Notes
    -----
    Each reported mean and SD stands for its rounding interval. |m1 - m2| is
    smallest/largest at the ends of those intervals and the standard error
    of the difference grows with each SD, so the extreme t statistics come
    from the corners. Student: SE = s_p·sqrt(1/n1 + 1/n2) with the pooled SD,
    df = n1 + n2 - 2. Welch: SE = sqrt(s1²/n1 + s2²/n2) with the
    Welch-Satterthwaite df (Welch 1947, doi:10.1093/biomet/34.1-2.28), whose
    smallest and largest values over the SDs' rounding box are used (the
    smallest df with the smallest |t| gives the largest p, and vice versa).
    """
    d_lo = float(max_(Fraction(0), m1.low - m2.high, m2.low - m1.high))
    d_hi = float(max_(m1.high - m2.low, m2.high - m1.low))
    s1 = (float(max_(Fraction(0), sd1.low)), float(sd1.high))
    s2 = (float(max_(Fraction(0), sd2.low)), float(sd2.high))
    df_s = n1 + n2 - 2

    def se_student(a, b):
        sp2 = ((n1 - 1) * a * a + (n2 - 1) * b * b) / df_s
        return math.sqrt(sp2 * (1 / n1 + 1 / n2))

    def se_welch(a, b):
        return math.sqrt(a * a / n1 + b * b / n2)

    def df_welch(a, b):  # Welch-Satterthwaite df from the SDs
        u, v = a * a / n1, b * b / n2
        return (u + v) ** 2 / (u * u / (n1 - 1) + v * v / (n2 - 1)) if u + v > 0 else df_s

    # the df depends on the ratio r = (s1²/n1)/(s2²/n2) only and peaks at r = (n1 - 1)/(n2 - 1): its extremes
    # over the rounding box are at the extreme ratios, or at the peak when the ratios span it
    corners = [df_welch(s1[0], s2[1]), df_welch(s1[1], s2[0])]
    if min(s1[0], s2[0]) > 0:
        r_lo = (s1[0] ** 2 / n1) / (s2[1] ** 2 / n2)
        r_hi = (s1[1] ** 2 / n1) / (s2[0] ** 2 / n2)
        if r_lo <= (n1 - 1) / (n2 - 1) <= r_hi:
            corners.append(float(n1 + n2 - 2))
        df_w = (min(corners), max(corners))
    else:
        df_w = (min(n1, n2) - 1, df_s)
    lows, highs = [], []
    for se_f, df_lo, df_hi in ((se_student, df_s, df_s), (se_welch, df_w[0], df_w[1])):
        se_min, se_max = se_f(s1[0], s2[0]), se_f(s1[1], s2[1])
        t_max = math.inf if se_min == 0 else d_hi / se_min
        t_min = 0.0 if se_max == 0 or d_lo == 0 else d_lo / se_max
        lows.append(0.0 if math.isinf(t_max) else _t_p(t_max, df_hi))
        highs.append(_t_p(t_min, max_(df_lo, 1)))
    return min(lows), max_(highs)


_TIME_UNITS = {"h": 1 / 24, "hour": 1 / 24, "d": 1, "day": 1, "w": 7, "wk": 7, "week": 7, "m": 30.4375,
               "mo": 30.4375, "mon": 30.4375, "month": 30.4375, "y": 365.25, "yr": 365.25, "year": 365.25}
_BASELINE = ("baseline", "w0", "week 0", "0", "pre", "before", "base", "bl", "d0", "day 0", "m0")


def timepoint_days(label) -> float | None:
    """A time-point label in days: "baseline" -> 0, "W4"/"4 weeks"/"week 4" -> 28, "M6" -> 182.6.

    ``None`` when the label is not understood.
    """
    if label is None:
        return None
    s = str(label).strip().lower()
    if s in _BASELINE:
        return 0.0
    s = s.replace("-", " ").replace("_", " ")
    m = re.fullmatch(r"([a-z]+)\s*(\d+(?:\.\d+)?)", s) or None
    if m:
        unit, num = m.group(1), m.group(2)
    else:
        m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([a-z]+)", s)
        if not m:
            return None
        num, unit = m.group(1), m.group(2)
    unit = unit.rstrip("s") if unit not in ("s",) else unit
    if unit not in _TIME_UNITS:
        return None
    return float(num) * _TIME_UNITS[unit]


# --------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Flag:
    """One problem found in one row (``arm`` is 1, 2 or ``None`` for the row)."""

    row: int
    study: str | None
    outcome: str | None
    timepoint: str | None
    arm: int | None
    check: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "study": self.study, "outcome": self.outcome, "timepoint": self.timepoint,
                "arm": self.arm, "check": self.check, "message": self.message}


@dataclass(frozen=True, eq=False)
class ExtractionCheck:
    """The flags raised on an extraction table."""

    flags: tuple[Flag, ...]
    n_rows: int
    integer_outcomes: tuple[str, ...] = ()
    source: str | None = None
    notes: tuple[str, ...] = field(default=())

    def counts(self) -> dict[str, Any]:
        by = {c: 0 for c in CHECKS}
        for f in self.flags:
            by[f.check] += 1
        return {"rows": self.n_rows, "rows_flagged": len({f.row for f in self.flags}), "flags": len(self.flags),
                "by_check": by}

    def to_dict(self) -> dict[str, Any]:
        return {"flags": [f.to_dict() for f in self.flags], "counts": self.counts(),
                "integer_outcomes": list(self.integer_outcomes), "notes": list(self.notes)}

    def to_frame(self):
        import pandas as pd

        cols = ["row", "study", "outcome", "timepoint", "arm", "check", "message"]
        return pd.DataFrame([f.to_dict() for f in self.flags], columns=cols).astype({"arm": "Int64"})

    def for_row(self, row: int) -> list[Flag]:
        return [f for f in self.flags if f.row == row]

    def summary(self) -> str:
        c = self.counts()
        lines = [f"Checked {fmt_n(c['rows'])} rows: {fmt_n(c['flags'])} flag(s) on {fmt_n(c['rows_flagged'])} row(s)."]
        if c["flags"]:
            lines.append("  by check: " + ", ".join(f"{k} {fmt_n(v)}" for k, v in c["by_check"].items() if v))
        for f in self.flags:
            arm = "" if f.arm is None else f" arm {f.arm}"
            lines.append(f"row {f.row} {f.study} / {f.outcome} / {f.timepoint}{arm} [{f.check}]: {f.message}")
        lines.extend(self.notes)
        return "\n".join(lines)


# --------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------

@dataclass
class _Row:
    row: int
    study: str | None
    outcome: str | None
    timepoint: str | None
    order: int
    p: Any
    p_text: Any
    unit: str | None
    arms: dict  # arm -> {key: Reported | None}


def _text(v) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    s = str(v).strip()
    return s or None


def _records(data) -> tuple[list[str], list[dict]]:
    if hasattr(data, "to_dict") and hasattr(data, "columns"):
        cols = [str(c).strip() for c in data.columns]
        recs = [dict(zip(cols, r)) for r in data.astype(object).itertuples(index=False, name=None)]
        return cols, recs
    recs = [dict(r) for r in data]
    cols = sorted({k for r in recs for k in r})
    return cols, recs


def _parse_rows(data, source) -> list[_Row]:
    from .check import parse_p

    cols, recs = _records(data)
    if "study" not in cols:
        raise InputError("missing column 'study'; the extraction table needs study, outcome, timepoint, "
                         "m1, sd1, n1, m2, sd2, n2 (optional: med1, q1_1, q3_1, min1, max1, …2, p_reported, unit)",
                         file=source)
    if not any(c in cols for c in NUMERIC_COLUMNS):
        raise InputError("no numeric columns found; expected some of " + ", ".join(NUMERIC_COLUMNS), file=source)
    rows = []
    for i, rec in enumerate(recs):
        rownum = i + 2
        arms = {}
        for arm, names in ARM_COLUMNS.items():
            vals = {}
            for key, col in names.items():
                raw = rec.get(col)
                try:
                    val = Reported.parse(raw)
                except ValueError:
                    raise InputError("is not a number; expected a number such as 12.5 (or an empty cell)",
                                     file=source, row=rownum, column=col, value=raw) from None
                if val is not None and key == "n":
                    if val.value != int(val.value) or val.value < 1:
                        raise InputError("a sample size must be a whole number of at least 1",
                                         file=source, row=rownum, column=col, value=raw)
                if val is not None and key == "sd" and val.value < 0:
                    raise InputError("an SD must not be negative", file=source, row=rownum, column=col, value=raw)
                vals[key] = val
            conv = _text(rec.get(f"converted{arm}"))
            vals["converted"] = conv is not None and conv.lower() in ("true", "1", "yes")
            arms[arm] = vals
        p_raw = rec.get("p_reported")
        p = None
        if _text(p_raw) is not None:
            txt = _text(p_raw)
            num = re.sub(r"^[pP]\s*=?\s*", "", txt)
            try:
                if re.fullmatch(r"0?\.0+|0", num):  # "0.000" as printed by SPSS: below half its last digit
                    p = (0.0, float(Reported.parse(num).half))
                else:
                    p = parse_p(txt, row=rownum, column="p_reported", source=source)
            except InputError:
                raise
            except ValueError:
                raise InputError("p-value not understood; write e.g. 0.023, <0.001 or >0.05", file=source,
                                 row=rownum, column="p_reported", value=p_raw) from None
        rows.append(_Row(row=rownum, study=_text(rec.get("study")), outcome=_text(rec.get("outcome")),
                         timepoint=_text(rec.get("timepoint")), order=i, p=p, p_text=_text(p_raw),
                         unit=_text(rec.get("unit")), arms=arms))
    return rows


def _arm_value(vals: dict) -> float | None:
    """The arm's location: the mean, else the median."""
    if vals.get("m") is not None:
        return float(vals["m"])
    if vals.get("med") is not None:
        return float(vals["med"])
    return None


def check_extraction(data, *, integer_outcomes: Iterable[str] = (), source=None,
                     checks: Iterable[str] | None = None) -> ExtractionCheck:
    """Check an extraction table; one :class:`Flag` per problem found.

    Parameters
    ----------
    data : DataFrame or iterable of dicts
        One row per study × outcome × time point: ``study, outcome,
        timepoint, m1, sd1, n1, m2, sd2, n2`` and optionally ``med1, q1_1,
        q3_1, min1, max1`` (``…2``), ``p_reported`` (text such as 0.03,
        <0.001, NS) and ``unit``. Give numbers as text to keep their
        printed decimals (``pd.read_csv(..., dtype=str)``).
    integer_outcomes : iterable of str
        Outcomes whose patient values are integers (e.g. MELD); GRIM and
        GRIMMER run on these only.
    source : str, optional
        File name for error messages.
    checks : iterable of str, optional
        Run only these checks (default: all of :data:`CHECKS`).

    Returns
    -------
    ExtractionCheck
        ``flags`` in row order, ``counts()``, ``to_dict()``, ``to_frame()``.

    Raises
    ------
    hepatostat.errors.InputError
        Missing ``study`` column, a cell that is not a number, a sample size
        that is not a whole number ≥ 1, a negative SD, a p value not
        understood, an integer outcome not in the table, or an unknown check.

    Notes
    -----
    Each check's source and rule is in the module docstring and in the
    function it calls (:func:`grim_consistent`, :func:`grimmer_consistent`,
    :func:`max_sd`, :func:`p_range`, :func:`skew_test`). The cross-study
    checks ``se_as_sd`` and ``unit_scale`` compare a row with the median of
    the *other* studies of the same outcome and time point and need at least
    two of them.
    """
    run = set(CHECKS if checks is None else checks)
    unknown = run - set(CHECKS)
    if unknown:
        raise InputError(f"unknown check(s) {', '.join(sorted(unknown))}; allowed: {', '.join(CHECKS)}",
                         column="checks", value=sorted(unknown)[0])
    rows = _parse_rows(data, source)
    integer = tuple(str(o).strip() for o in integer_outcomes if str(o).strip())
    present = {r.outcome for r in rows}
    for o in integer:
        if o not in present:
            raise InputError(f"integer outcome '{o}' is not in the table; outcomes present: "
                             f"{', '.join(sorted(str(p) for p in present if p is not None)) or '(none)'}",
                             file=source, column="outcome", value=o)
    flags: list[Flag] = []

    def add(r: _Row, arm, check, message):
        flags.append(Flag(r.row, r.study, r.outcome, r.timepoint, arm, check, message))

    for r in rows:
        for arm, v in r.arms.items():
            n = None if v["n"] is None else int(v["n"].value)
            m, sd = v["m"], v["sd"]
            # --- grim / grimmer
            if r.outcome in integer and n is not None and m is not None and not v["converted"]:
                if "grim" in run and not grim_consistent(m, n):
                    below = math.floor(m.value * n)
                    cands = " and ".join(f"{_round(Fraction(s, n), m.decimals)} ({s}/{n})" for s in (below, below + 1))
                    add(r, arm, "grim", f"mean {m.text} is impossible for integer data with n = {n}: "
                        f"no whole-number total divided by {n} rounds to it; the nearest possible means are {cands}")
                elif "grimmer" in run and sd is not None and n >= 2 and not grimmer_consistent(m, sd, n):
                    add(r, arm, "grimmer", f"SD {sd.text} is impossible for integer data with mean {m.text} and "
                        f"n = {n}: no whole-number sum of squares with the right parity gives an SD that rounds "
                        f"to {sd.text}; expected an SD such that (n - 1)·SD² + total²/n is a whole number of "
                        f"the total's parity")
            lo, q1, med, q3, hi = v["min"], v["q1"], v["med"], v["q3"], v["max"]
            # --- order
            if "order" in run:
                seq = [(k, x) for k, x in (("min", lo), ("q1", q1), ("median", med), ("q3", q3), ("max", hi))
                       if x is not None]
                bad = [(a, b) for (a, b) in zip(seq, seq[1:]) if a[1].value > b[1].value]
                if bad:
                    (ka, xa), (kb, xb) = bad[0]
                    add(r, arm, "order", f"expected min ≤ q1 ≤ median ≤ q3 ≤ max; here {ka} {xa.text} > {kb} {xb.text}")
            # --- mean_range
            if "mean_range" in run and m is not None and lo is not None and hi is not None and lo.value <= hi.value:
                if m.value < lo.value or m.value > hi.value:
                    add(r, arm, "mean_range", f"mean {m.text} lies outside the range {lo.text} to {hi.text}; "
                        f"expected a mean between the minimum and the maximum")
            # --- sd_range
            if ("sd_range" in run and sd is not None and n is not None and n >= 2 and lo is not None
                    and hi is not None and lo.value <= hi.value):
                a, b = float(lo.low), float(hi.high)
                mean_for_bound = None
                if m is not None and lo.value <= m.value <= hi.value:
                    mid = (a + b) / 2
                    mean_for_bound = min(max(mid, float(m.low)), float(m.high))
                bound = max_sd(n, a, b, mean_for_bound)
                if float(sd.low) > bound * (1 + 1e-12):
                    how = f"mean {m.text}, " if mean_for_bound is not None else ""
                    add(r, arm, "sd_range", f"SD {sd.text} is larger than any sample of n = {n} with {how}minimum "
                        f"{lo.text} and maximum {hi.text} can have; expected at most {_fmt(bound)}")
            # --- skew
            if "skew" in run and med is not None and n is not None and n >= 3:
                ordered = all(x is None or y is None or x.value <= y.value
                              for x, y in ((lo, q1), (q1, med), (med, q3), (q3, hi), (lo, med), (med, hi)))
                if ordered:
                    res = skew_test(n, median=float(med), q1=None if q1 is None else float(q1),
                                    q3=None if q3 is None else float(q3), min=None if lo is None else float(lo),
                                    max=None if hi is None else float(hi))
                    if res is not None and res[0] > res[1]:
                        add(r, arm, "skew", f"{res[2]} ({', '.join(x.text for x in (lo, q1, med, q3, hi) if x is not None)}) "
                            f"show skewness: test statistic {fmt_sig(res[0], 4)} > critical value {fmt_sig(res[1], 4)} "
                            f"(n = {n}, 5% level, Shi et al. 2023); a mean/SD converted from them assumes "
                            f"roughly normal data, expected a statistic ≤ {fmt_sig(res[1], 4)}")
        # --- p_recompute
        if "p_recompute" in run and r.p is not None:
            a1, a2 = r.arms[1], r.arms[2]
            need = [a1["m"], a1["sd"], a1["n"], a2["m"], a2["sd"], a2["n"]]
            derived = a1["converted"] or a2["converted"]
            if (all(x is not None for x in need) and not derived and int(a1["n"].value) >= 2
                    and int(a2["n"].value) >= 2):
                n1, n2 = int(a1["n"].value), int(a2["n"].value)
                plo, phi = p_range(a1["m"], a1["sd"], n1, a2["m"], a2["sd"], n2)
                rlo, rhi = r.p
                if phi < rlo or plo > rhi:
                    add(r, None, "p_recompute",
                        f"reported p {r.p_text} cannot come from means {a1['m'].text} vs {a2['m'].text}, SDs "
                        f"{a1['sd'].text} and {a2['sd'].text}, n {n1} and {n2}: Student's or Welch's t test gives "
                        f"p between {fmt_sig(plo, 3)} and {fmt_sig(phi, 3)} allowing for rounding (perhaps the p is of another test, "
                        f"of change scores, or a number was mis-extracted)")

    if "se_as_sd" in run:
        _check_se_as_sd(rows, add)
    if "unit_scale" in run:
        _check_unit_scale(rows, add)
    if "n_change" in run:
        _check_n_change(rows, add)

    order = {c: i for i, c in enumerate(CHECKS)}
    flags.sort(key=lambda f: (f.row, order[f.check], f.arm or 0))
    return ExtractionCheck(flags=tuple(flags), n_rows=len(rows), integer_outcomes=integer,
                           source=None if source is None else str(source))


def _round(x: Fraction, decimals: int) -> str:
    q = Decimal(x.numerator) / Decimal(x.denominator)
    return str(q.quantize(Decimal(1).scaleb(-decimals)))


def _groups(rows, key):
    out: dict = {}
    for r in rows:
        out.setdefault(key(r), []).append(r)
    return out


def _check_se_as_sd(rows, add):
    for _, grp in _groups(rows, lambda r: (r.outcome, r.timepoint)).items():
        cvs = []  # (row, arm, cv, n, sd)
        for r in grp:
            for arm, v in r.arms.items():
                if v["m"] is None or v["sd"] is None or v["n"] is None:
                    continue
                mean, sd, n = float(v["m"]), float(v["sd"]), int(v["n"].value)
                if mean <= 0 or sd <= 0 or n < 2:
                    continue
                cvs.append((r, arm, sd / mean, n, v["sd"]))
        studies = {r.study for r, *_ in cvs}
        if len(studies) < 3:
            continue
        overall = statistics.median(c for (_, _, c, _, _) in cvs) if len(studies) >= LARGE_GROUP else None
        for r, arm, cv, n, sd in cvs:
            if overall is not None:
                ref = overall
            else:
                others = [c for (o, _, c, _, _) in cvs if o.study != r.study]
                if len({o.study for (o, *_) in cvs if o.study != r.study}) < 2:
                    continue
                ref = statistics.median(others)
            if cv < SE_CV_RATIO * ref and ref / SE_MATCH <= cv * math.sqrt(n) <= ref * SE_MATCH:
                mean = float(r.arms[arm]["m"])
                add(r, arm, "se_as_sd",
                    f"SD {sd.text} gives a coefficient of variation of {fmt_sig(cv, 4)}, far below the other studies' median "
                    f"{fmt_sig(ref, 4)} for {r.outcome} at {r.timepoint}, while SD·√n = {fmt_sig(float(sd) * math.sqrt(n), 3)} "
                    f"(CV {fmt_sig(cv * math.sqrt(n), 4)}) matches them: this looks like a standard error; expected an SD "
                    f"near {fmt_sig(ref * mean, 3)}, i.e. SD = SE·√n = {fmt_sig(float(sd) * math.sqrt(n), 3)} if it is an SE")


def _check_unit_scale(rows, add):
    tol = math.log(UNIT_TOLERANCE)
    for _, grp in _groups(rows, lambda r: (r.outcome, r.timepoint)).items():
        levels = []  # (row, level)
        for r in grp:
            vals = [x for x in (_arm_value(r.arms[1]), _arm_value(r.arms[2])) if x is not None and x > 0]
            if vals:
                levels.append((r, statistics.mean(vals)))
        if len({r.study for r, _ in levels}) < 3:
            continue
        large = len({r.study for r, _ in levels}) >= LARGE_GROUP
        overall = statistics.median(x for _, x in levels) if large else None
        all_units = sorted({o.unit for o, _ in levels if o.unit})
        for r, lev in levels:
            if large:
                ref, other_rows = overall, None
            else:
                others = [x for (o, x) in levels if o.study != r.study]
                other_rows = [o for (o, _) in levels if o.study != r.study]
                if len({o.study for o in other_rows}) < 2:
                    continue
                ref = statistics.median(others)
            ratio = lev / ref
            for factor, what in UNIT_FACTORS.items():
                for direction, f in (("larger", factor), ("smaller", 1 / factor)):
                    if abs(math.log(ratio) - math.log(f)) <= tol:
                        units = set(all_units) if other_rows is None else {o.unit for o in other_rows if o.unit}
                        unit_note = ""
                        if r.unit or units:
                            unit_note = (f"; unit here {r.unit or '(not given)'}, "
                                         f"in the other studies {', '.join(sorted(units)) or '(not given)'}")
                        add(r, None, "unit_scale",
                            f"values (mean {fmt_sig(lev, 4)}) are {fmt_sig(ratio, 3)} times the other studies' median {fmt_sig(ref, 4)} "
                            f"for {r.outcome} at {r.timepoint}, {direction} by a unit factor {what}{unit_note}; "
                            f"expected values near {fmt_sig(ref, 4)} in the review's unit (convert, or check the unit)")


def _check_n_change(rows, add):
    for _, grp in _groups(rows, lambda r: (r.study, r.outcome)).items():
        days = [timepoint_days(r.timepoint) for r in grp]
        if all(d is not None for d in days):
            keyed = sorted(zip(days, (r.order for r in grp), grp), key=lambda t: (t[0], t[1]))
            how = "time"
        else:
            keyed = sorted(zip([0] * len(grp), (r.order for r in grp), grp), key=lambda t: t[1])
            how = "file order"
        for arm in (1, 2):
            prev = None  # (n, row, days) at the last earlier time point
            for d, _, r in keyed:
                v = r.arms[arm]["n"]
                if v is None:
                    continue
                n = int(v.value)
                if prev is not None and n > prev[0] and (how == "file order" or d > prev[2]):
                    add(r, arm, "n_change",
                        f"n = {n} at {r.timepoint} is larger than n = {prev[0]} at the earlier time point "
                        f"{prev[1].timepoint} (row {prev[1].row}); an arm's n cannot grow after "
                        f"randomisation, expected at most {prev[0]}")
                if prev is None or d > prev[2] or how == "file order":
                    prev = (n, r, d)
