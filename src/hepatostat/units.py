"""Laboratory tests, their units, unit conversion and plausibility checks.

hepatostat computes liver scores (MELD, MELD-Na, MELD 3.0, Child-Pugh, ALBI)
from routine laboratory values. The commonest silent error in that work is a
unit mix-up: bilirubin and creatinine reported in µmol/L but entered into a
formula that expects mg/dL give a MELD of 70 or more for a patient whose true
score is about 20. This module makes units explicit:

* a small registry (:data:`TESTS`) of the lab tests hepatostat uses, each with
  its LOINC code, its canonical unit, the other units it accepts with exact
  conversion factors, and a wide physiological plausibility range;
* :func:`convert` converts (vectorised) between units of one test;
* :func:`check_plausible` flags values that cannot be real in the stated unit
  and says which other unit would make them plausible;
* :func:`parse_censored` reads censored laboratory strings such as ``"<5"``.

Unit spellings are normalised before lookup: case is ignored, spaces are
removed, the micro sign ``µ`` (U+00B5), the Greek small letter mu ``μ``
(U+03BC), ``u``, ``mc`` and ``micro`` are all read as micro, and
``/100 mL`` is read as ``/dL``. So ``"umol/L"``, ``"µmol/L"``, ``"μmol/l"``
and ``"micromol/L"`` are the same unit, as are ``"mg/dl"`` and ``"mg/100mL"``.

Conversion factors
------------------
===============  ===========  ==================================================
test             canonical    other accepted units
===============  ===========  ==================================================
bilirubin        mg/dL        µmol/L (÷ 17.1), mmol/L (× 1000 ÷ 17.1), mg/L (÷ 10)
creatinine       mg/dL        µmol/L (÷ 88.4), mmol/L (× 1000 ÷ 88.4), mg/L (÷ 10)
albumin          g/dL         g/L (÷ 10)
inr              ratio        (dimensionless; "", "1", "INR" accepted)
sodium           mmol/L       mEq/L (× 1, monovalent ion)
alt, ast         U/L          IU/L (× 1), µkat/L (× 60; 1 U = 1 µmol/min)
pta              %            (prothrombin activity, Quick %)
===============  ===========  ==================================================

The bilirubin factor 17.1 follows from its molar mass (584.66 g/mol:
10 mg/L ÷ 584.66 g/mol = 17.10 µmol/L per mg/dL); the creatinine factor 88.4
from 113.12 g/mol (10 mg/L ÷ 113.12 g/mol = 88.40 µmol/L per mg/dL). These are
the factors used by the OPTN, MDCalc and the ALBI paper (Johnson et al. 2015).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping, NamedTuple

import numpy as np

from .errors import InputError

__all__ = [
    "LabTest",
    "TESTS",
    "EXTRA_TESTS",
    "get_test",
    "normalize_unit",
    "canonical_unit",
    "allowed_units",
    "convert",
    "to_canonical",
    "plausible_range",
    "Plausibility",
    "check_plausible",
    "Censored",
    "parse_censored",
    "custom_test",
    "pt_to_inr",
    "convert_test",
]


# --------------------------------------------------------------------------
# unit spelling
# --------------------------------------------------------------------------

#: normalised unit key -> how it is written in messages
_DISPLAY = {
    "mg/dl": "mg/dL",
    "mg/l": "mg/L",
    "umol/l": "µmol/L",
    "mmol/l": "mmol/L",
    "g/dl": "g/dL",
    "g/l": "g/L",
    "meq/l": "mEq/L",
    "u/l": "U/L",
    "iu/l": "IU/L",
    "ukat/l": "µkat/L",
    "ratio": "ratio",
    "%": "%",
    "s": "s",
}

#: alternative spellings (already lower-cased, spaces removed, micro -> "u")
_ALIASES = {
    "umol/litre": "umol/l",
    "umol/liter": "umol/l",
    "mmol/litre": "mmol/l",
    "mmol/liter": "mmol/l",
    "mg/100ml": "mg/dl",
    "mg%": "mg/dl",
    "g/100ml": "g/dl",
    "meq/litre": "meq/l",
    "meq/liter": "meq/l",
    "iu/litre": "iu/l",
    "iu/liter": "iu/l",
    "ui/l": "iu/l",
    "units/l": "u/l",
    "unit/l": "u/l",
    "u/litre": "u/l",
    "u/liter": "u/l",
    "percent": "%",
    "sec": "s",
    "secs": "s",
    "second": "s",
    "seconds": "s",
    "%activity": "%",
    "": "ratio",
    "1": "ratio",
    "{ratio}": "ratio",
    "inr": "ratio",
    "{inr}": "ratio",
    "unitless": "ratio",
    "none": "ratio",
}


def _norm_unit_key(unit) -> str:
    """Normalise a unit spelling to a lookup key (no validation)."""
    if unit is None:
        return "ratio"
    if not isinstance(unit, str):
        raise InputError(
            f"a unit must be a string such as 'mg/dL' or 'µmol/L', got {type(unit).__name__}",
            value=unit,
        )
    s = unit.strip().replace("\u00b5", "u").replace("\u03bc", "u").lower()
    s = re.sub(r"\s+", "", s)
    s = s.replace("micro", "u").replace("mcmol", "umol").replace("mckat", "ukat")
    return _ALIASES.get(s, s)


# --------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class LabTest:
    """One laboratory test hepatostat knows.

    Attributes
    ----------
    key : str
        Registry key (``"bilirubin"``, ``"creatinine"``, ...).
    name : str
        Human-readable name.
    loinc : str
        LOINC code of the test in its canonical unit.
    canonical : str
        Normalised key of the canonical unit (see :func:`canonical_unit` for
        its display form).
    factors : Mapping[str, tuple[float, float]]
        ``unit key -> (mul, div)``: a value in that unit times ``mul / div``
        is the value in the canonical unit.
    plausible : tuple[float, float]
        Inclusive physiologically possible range, canonical unit.
    plausible_note : str
        Why that range was chosen.
    aliases : tuple[str, ...]
        Other names accepted by :func:`get_test`.
    unit_display : Mapping[str, str]
        Display forms of units outside the built-in spellings (tests the user
        declares with :func:`custom_test`).
    allow_negative : bool
        Negative values are plausible (False for every built-in test).
    custom : bool
        Declared by the user, not in the registry: no LOINC code, no unit
        conversion, no plausibility range.
    """

    key: str
    name: str
    loinc: str
    canonical: str
    factors: Mapping[str, tuple[float, float]]
    plausible: tuple[float, float]
    plausible_note: str
    aliases: tuple[str, ...] = field(default=())
    unit_display: Mapping[str, str] = field(default_factory=dict)
    allow_negative: bool = False
    custom: bool = False

    def display(self, key: str) -> str:
        """Display form of a normalised unit key of this test."""
        return self.unit_display.get(key) or _DISPLAY.get(key, key)

    @property
    def canonical_display(self) -> str:
        return self.display(self.canonical)

    @property
    def units(self) -> tuple[str, ...]:
        """Accepted units, display form, canonical first."""
        return tuple(self.display(u) for u in self.factors)


def _make(*args, **kw) -> LabTest:
    t = LabTest(*args, **kw)
    assert t.canonical in t.factors and t.factors[t.canonical] == (1.0, 1.0)
    return t


_TEST_LIST = (
    _make(
        "bilirubin",
        "total bilirubin",
        "1975-2",
        "mg/dl",
        {"mg/dl": (1.0, 1.0), "umol/l": (1.0, 17.1), "mmol/l": (1000.0, 17.1), "mg/l": (1.0, 10.0)},
        (0.0, 50.0),
        "0-50 mg/dL (0-855 µmol/L). Normal is below about 1.2 mg/dL; deep "
        "jaundice in decompensated cirrhosis, alcoholic hepatitis or acute "
        "liver failure reaches 20-40 mg/dL. 50 mg/dL leaves headroom above the "
        "highest values seen in adult hepatology, so anything above it in mg/dL "
        "is almost surely a µmol/L value (which are 17.1 times larger).",
        ("total bilirubin", "total_bilirubin", "tbil", "tbili", "bili", "t-bil"),
    ),
    _make(
        "creatinine",
        "serum creatinine",
        "2160-0",
        "mg/dl",
        {"mg/dl": (1.0, 1.0), "umol/l": (1.0, 88.4), "mmol/l": (1000.0, 88.4), "mg/l": (1.0, 10.0)},
        (0.1, 25.0),
        "0.1-25 mg/dL (8.8-2210 µmol/L). Severe sarcopenia gives values near "
        "0.2-0.3 mg/dL; untreated end-stage renal failure rarely exceeds "
        "20 mg/dL. Values in µmol/L are 88.4 times larger, so a µmol/L value "
        "entered as mg/dL (typically 40-1000) falls above 25.",
        ("serum creatinine", "creat", "crea", "cr", "scr"),
    ),
    _make(
        "albumin",
        "serum albumin",
        "1751-7",
        "g/dl",
        {"g/dl": (1.0, 1.0), "g/l": (1.0, 10.0)},
        (0.5, 7.0),
        "0.5-7 g/dL (5-70 g/L). Normal is 3.5-5 g/dL; severe "
        "hypoalbuminaemia reaches about 1 g/dL and haemoconcentration about "
        "6 g/dL. g/L values are 10 times larger, so a g/L value entered as "
        "g/dL (typically 15-50) falls above 7.",
        ("serum albumin", "alb"),
    ),
    _make(
        "inr",
        "international normalised ratio",
        "6301-6",
        "ratio",
        {"ratio": (1.0, 1.0)},
        (0.5, 15.0),
        "0.5-15. Normal is 0.8-1.2; coagulometers report up to about 10-12 in "
        "over-anticoagulation or acute liver failure.",
        ("international normalized ratio", "international normalised ratio", "pt-inr", "pt_inr"),
    ),
    _make(
        "sodium",
        "serum sodium",
        "2951-2",
        "mmol/l",
        {"mmol/l": (1.0, 1.0), "meq/l": (1.0, 1.0)},
        (100.0, 180.0),
        "100-180 mmol/L. Survived extremes of hypo- and hypernatraemia lie "
        "just beyond 100 and near 180 mmol/L; values outside are data errors.",
        ("serum sodium", "na"),
    ),
    _make(
        "alt",
        "alanine aminotransferase",
        "1742-6",
        "u/l",
        {"u/l": (1.0, 1.0), "iu/l": (1.0, 1.0), "ukat/l": (60.0, 1.0)},
        (0.0, 30000.0),
        "0-30000 U/L. Ischaemic or paracetamol-induced acute liver failure "
        "gives values above 10000 U/L; 30000 leaves headroom.",
        ("alanine aminotransferase", "sgpt", "gpt", "alat"),
    ),
    _make(
        "ast",
        "aspartate aminotransferase",
        "1920-8",
        "u/l",
        {"u/l": (1.0, 1.0), "iu/l": (1.0, 1.0), "ukat/l": (60.0, 1.0)},
        (0.0, 30000.0),
        "0-30000 U/L, for the same reason as ALT.",
        ("aspartate aminotransferase", "sgot", "got", "asat"),
    ),
    _make(
        "pta",
        "prothrombin activity (Quick)",
        "5894-1",
        "%",
        {"%": (1.0, 1.0)},
        (0.0, 200.0),
        "0-200 %. Normal is 70-130 % of a normal plasma pool; acute liver "
        "failure goes below 10 %.",
        ("prothrombin activity", "prothrombin_activity", "quick"),
    ),
)

#: Registry of lab tests, keyed by :attr:`LabTest.key` (read-only): the tests the scores, the synthetic
#: data and the scale engines use.
TESTS: Mapping[str, LabTest] = MappingProxyType({t.key: t for t in _TEST_LIST})

#: Other tests hepatostat knows by name, LOINC code and unit (found by :func:`get_test`), outside the
#: score engines: prothrombin time in seconds, the input of :func:`pt_to_inr`.
EXTRA_TESTS: Mapping[str, LabTest] = MappingProxyType({t.key: t for t in (
    _make(
        "pt",
        "prothrombin time",
        "5902-2",
        "s",
        {"s": (1.0, 1.0)},
        (5.0, 200.0),
        "5-200 s. Normal is about 11-14 s; severe coagulopathy in acute liver "
        "failure exceeds 60 s. A value below 5 s is not a clotting time (often "
        "an INR or a % activity in the wrong column).",
        ("prothrombin time", "prothrombin_time", "protime", "pt sec", "pt_s", "quick time"),
    ),
)})

_TEST_LOOKUP = {}
for _t in _TEST_LIST + tuple(EXTRA_TESTS.values()):
    for _name in (_t.key, _t.loinc, *_t.aliases):
        _TEST_LOOKUP[re.sub(r"[\s_]+", " ", _name.lower()).strip()] = _t
del _t, _name


def get_test(test) -> LabTest:
    """Look up a lab test by key, alias or LOINC code.

    Parameters
    ----------
    test : str or LabTest
        ``"bilirubin"``, ``"TBIL"``, ``"1975-2"``, ... (case-insensitive).

    Returns
    -------
    LabTest

    Raises
    ------
    InputError
        If the test is unknown; the message lists the known tests.
    """
    if isinstance(test, LabTest):
        return test
    if isinstance(test, str):
        key = re.sub(r"[\s_]+", " ", test.lower()).strip()
        if key in _TEST_LOOKUP:
            return _TEST_LOOKUP[key]
    allowed = ", ".join(f"{t.key} (LOINC {t.loinc})" for t in _TEST_LIST)
    raise InputError(f"unknown lab test {test!r}; allowed: {allowed}", value=test)


def normalize_unit(unit, test) -> str:
    """Return the standard spelling of ``unit`` for ``test``.

    Parameters
    ----------
    unit : str
        Any accepted spelling (``"umol/l"``, ``"μmol/L"``, ``"mg/dl"``, ...).
    test : str or LabTest

    Returns
    -------
    str
        Display form, e.g. ``"µmol/L"``.

    Raises
    ------
    InputError
        If the unit is not accepted for this test; the message lists the
        accepted units.
    """
    t = get_test(test)
    key = _norm_unit_key(unit)
    if key not in t.factors:
        raise InputError(
            f"unit {unit!r} is not accepted for {t.key}; allowed: {', '.join(t.units)}",
            column=t.key,
            value=unit,
        )
    return t.display(key)


def _unit_key(unit, test: LabTest) -> str:
    key = _norm_unit_key(unit)
    if key not in test.factors:
        raise InputError(
            f"unit {unit!r} is not accepted for {test.key}; allowed: {', '.join(test.units)}",
            column=test.key,
            value=unit,
        )
    return key


def canonical_unit(test) -> str:
    """Display form of the canonical unit of ``test`` (e.g. ``"mg/dL"``)."""
    return get_test(test).canonical_display


def allowed_units(test) -> tuple[str, ...]:
    """Accepted units of ``test``, display form, canonical first."""
    return get_test(test).units


# --------------------------------------------------------------------------
# numbers
# --------------------------------------------------------------------------


def _as_float_array(value, name: str) -> np.ndarray:
    """``value`` as a float array, or an InputError naming the bad element."""
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        obj = np.asarray(value, dtype=object)
        for idx, v in np.ndenumerate(obj):
            try:
                float(v)
            except (TypeError, ValueError):
                where = f" at index {idx[0] if len(idx) == 1 else idx}" if idx else ""
                raise InputError(
                    f"{name} must be numeric; got {v!r}{where} "
                    "(use parse_censored() for strings such as '<5')",
                    column=name,
                    value=v,
                ) from None
        raise InputError(f"{name} must be numeric", column=name) from None


def _out(arr: np.ndarray):
    """Scalar (Python float) for 0-d arrays, else the array."""
    return float(arr) if arr.ndim == 0 else arr


def convert(value, test, from_unit, to_unit):
    """Convert lab values of one test from one unit to another.

    Parameters
    ----------
    value : float or array_like
        Values in ``from_unit``. NaN stays NaN.
    test : str or LabTest
        Test name, alias or LOINC code (see :data:`TESTS`).
    from_unit, to_unit : str
        Units accepted for that test (any spelling; see module notes).

    Returns
    -------
    float or numpy.ndarray
        A float for scalar input, otherwise an array of the input's shape.

    Raises
    ------
    InputError
        Unknown test or unit (the message lists the allowed ones), or
        non-numeric values.

    Notes
    -----
    ``value_to = value_from * mul_from / div_from * div_to / mul_to`` with the
    ``(mul, div)`` factors of :attr:`LabTest.factors`, e.g. bilirubin
    µmol/L -> mg/dL divides by 17.1 and creatinine µmol/L -> mg/dL divides by
    88.4.

    Examples
    --------
    >>> convert(171, "bilirubin", "umol/L", "mg/dL")
    10.0
    """
    t = get_test(test)
    k_from = _unit_key(from_unit, t)
    k_to = _unit_key(to_unit, t)
    arr = _as_float_array(value, t.key)
    if k_from == k_to:
        return _out(arr.copy())
    m1, d1 = t.factors[k_from]
    m2, d2 = t.factors[k_to]
    # multiply before dividing so that 171 µmol/L -> exactly 10 mg/dL
    res = arr * (m1 * d2) / (d1 * m2)
    return _out(res)


def to_canonical(value, test, unit):
    """Convert ``value`` from ``unit`` to the canonical unit of ``test``."""
    t = get_test(test)
    return convert(value, t, unit, t.canonical)


def plausible_range(test, unit=None) -> tuple[float, float]:
    """Inclusive plausible range of ``test`` in ``unit`` (default canonical).

    See :attr:`LabTest.plausible_note` for the reasoning behind each range.
    """
    t = get_test(test)
    unit = t.canonical if unit is None else unit
    lo, hi = t.plausible
    # 12 significant digits hide float noise such as 50 * 17.1 = 855.0000000000001
    return tuple(float(f"{convert(x, t, t.canonical, unit):.12g}") for x in (lo, hi))


class Plausibility(NamedTuple):
    """Result of :func:`check_plausible`.

    Attributes
    ----------
    mask : bool or numpy.ndarray of bool
        True where the value is plausible in the stated unit. NaN (missing)
        is False.
    reasons : str or numpy.ndarray of str (object dtype)
        ``""`` where plausible, otherwise why not and, where one exists, which
        other unit would make the value plausible.
    """

    mask: object
    reasons: object


def _fmt(x: float) -> str:
    from .io.format import fmt_sig

    return fmt_sig(x, 4)


def _reason(v: float, t: LabTest, ukey: str) -> str:
    if math.isnan(v):
        return "missing value (NaN)"
    if math.isinf(v):
        return f"{v} is not a finite number"
    disp = t.display(ukey)
    if v < 0:
        return f"{_fmt(v)} {disp} is negative; {t.name} cannot be negative"
    lo_c, hi_c = t.plausible
    m, d = t.factors[ukey]
    canon = v * m / d
    lo_u, hi_u = lo_c * d / m, hi_c * d / m
    side = "above" if canon > hi_c else "below"
    msg = (
        f"{_fmt(v)} {disp} is {side} the plausible range for {t.name} "
        f"({_fmt(lo_u)}-{_fmt(hi_u)} {disp}"
    )
    if ukey != t.canonical:
        msg += f" = {_fmt(lo_c)}-{_fmt(hi_c)} {t.canonical_display}; {_fmt(v)} {disp} = {_fmt(canon)} {t.canonical_display}"
    msg += ")"
    alternatives = []
    for other, (m2, d2) in t.factors.items():
        if other == ukey or t.factors[other] == (m, d):
            continue
        c2 = v * m2 / d2
        if lo_c <= c2 <= hi_c:
            alternatives.append(t.display(other))
    if alternatives:
        msg += f"; it would be plausible in {' or '.join(alternatives)} - check the unit"
    return msg


def check_plausible(values, test, unit) -> Plausibility:
    """Flag lab values that are physiologically impossible in their unit.

    Parameters
    ----------
    values : float or array_like
        Lab values as reported.
    test : str or LabTest
        Test name, alias or LOINC code.
    unit : str
        The unit the values claim to be in (any accepted spelling).

    Returns
    -------
    Plausibility
        ``(mask, reasons)``: ``mask`` is True where plausible; ``reasons``
        holds ``""`` there and an explanation elsewhere. Scalars in, scalars
        out.

    Raises
    ------
    InputError
        Unknown test or unit, or non-numeric values.

    Notes
    -----
    Ranges (:attr:`LabTest.plausible`, inclusive, canonical unit) are
    deliberately wide: they are meant to catch unit errors and typing errors,
    not to flag abnormal results. Negative, infinite and NaN values are never
    plausible (NaN gets the reason ``"missing value (NaN)"``).

    Examples
    --------
    Total bilirubin of 486 reported as "mmol/L" is 486,000 µmol/L:

    >>> ok, why = check_plausible(486, "TBIL", "mmol/L")
    >>> ok
    False
    """
    t = get_test(test)
    ukey = _unit_key(unit, t)
    arr = _as_float_array(values, t.key)
    m, d = t.factors[ukey]
    lo, hi = t.plausible
    with np.errstate(invalid="ignore"):
        canon = arr * m / d
        mask = (canon >= lo) & (canon <= hi) & np.isfinite(arr) & ((arr >= 0) | t.allow_negative)
    reasons = np.empty(arr.shape, dtype=object)
    reasons[...] = ""
    for idx in zip(*np.nonzero(~mask)) if arr.ndim else ([()] if not mask else []):
        reasons[idx] = _reason(float(arr[idx]), t, ukey)
    if arr.ndim == 0:
        return Plausibility(bool(mask), str(reasons[()]))
    return Plausibility(mask, reasons)


# --------------------------------------------------------------------------
# censored strings
# --------------------------------------------------------------------------


class Censored(NamedTuple):
    """Result of :func:`parse_censored`.

    Attributes
    ----------
    values : float or numpy.ndarray
        The number in each string; for censored strings the limit itself
        (``"<5"`` -> 5.0). Missing -> NaN.
    censored : bool or numpy.ndarray of bool
        True for strings with a comparison sign.
    side : str or numpy.ndarray of str
        ``"<"`` (left-censored: true value below/at the limit), ``">"``
        (right-censored: true value above/at the limit) or ``""``.
    inclusive : bool or numpy.ndarray of bool
        True for ``≤``/``≥``/``<=``/``>=`` (limit itself possible).
    """

    values: object
    censored: object
    side: object
    inclusive: object


_NUM = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_CENSOR_RE = re.compile(r"^(<=|>=|=<|=>|≤|≥|<|>)?(" + _NUM + r")$")
_SIGNS = {
    "<": ("<", False),
    ">": (">", False),
    "<=": ("<", True),
    "=<": ("<", True),
    "≤": ("<", True),
    ">=": (">", True),
    "=>": (">", True),
    "≥": (">", True),
}
_MISSING = frozenset({"", "na", "nan", "n/a", "null", "none"})


def _parse_one(item, idx):
    if item is None:
        return math.nan, False, "", False
    if isinstance(item, (bool, np.bool_)):
        raise InputError(f"expected a number or a string such as '<5', got {item!r}", value=item)
    if isinstance(item, (int, float, np.integer, np.floating)):
        return float(item), False, "", False
    if not isinstance(item, str):
        raise InputError(
            f"expected a number or a string such as '<5', got {type(item).__name__}{idx}",
            value=item,
        )
    s = re.sub(r"\s+", "", item.replace("\u2264", "≤").replace("\u2265", "≥"))
    if s.lower() in _MISSING:
        return math.nan, False, "", False
    mt = _CENSOR_RE.match(s)
    if not mt:
        raise InputError(
            f"cannot read {item!r}{idx} as a number or a censored value; allowed: a number "
            "('12.5', '1e3'), optionally preceded by <, >, <=, >=, ≤ or ≥ ('<5', '> 1000', "
            "'≤ 0.5'), or a missing marker ('', 'NA', 'NaN'). Use '.' as decimal separator.",
            value=item,
        )
    sign, num = mt.group(1), float(mt.group(2))
    if sign is None:
        return num, False, "", False
    side, inclusive = _SIGNS[sign]
    return num, True, side, inclusive


def parse_censored(strings) -> Censored:
    """Read laboratory results that may be censored (``"<5"``, ``">1000"``).

    Parameters
    ----------
    strings : str, number or array_like of those
        Each item is a number, a numeric string, a numeric string preceded by
        a comparison sign (``<``, ``>``, ``<=``, ``>=``, ``≤``, ``≥``; spaces
        allowed, e.g. ``"≤ 0.5"``), or a missing marker (``None``, ``""``,
        ``"NA"``, ``"NaN"``, ``"N/A"``, ``"null"``, ``"none"``; case-insensitive)
        which becomes NaN.

    Returns
    -------
    Censored
        ``(values, censored, side, inclusive)``; scalars for a single string,
        arrays (shape of the input) otherwise. Censored values are returned
        *at the limit*: ``"<5"`` gives ``5.0`` with ``side="<"``. What to
        substitute (limit, half the limit, ...) is the analyst's choice.

    Raises
    ------
    InputError
        For any other text (e.g. ``"positive"``, ``"1,5"``, ``"5 U/L"``); the
        message names the value and its index.

    Examples
    --------
    >>> r = parse_censored(["<5", "12", ">1000", "≤ 0.5"])
    >>> r.values.tolist(), r.side.tolist()
    ([5.0, 12.0, 1000.0, 0.5], ['<', '', '>', '<'])
    """
    if isinstance(strings, (str, bytes)) or np.ndim(strings) == 0:
        item = strings.decode() if isinstance(strings, bytes) else strings
        if isinstance(item, np.ndarray):
            item = item[()]
        return Censored(*_parse_one(item, ""))
    obj = np.asarray(strings, dtype=object)
    values = np.empty(obj.shape, dtype=float)
    censored = np.zeros(obj.shape, dtype=bool)
    side = np.empty(obj.shape, dtype=object)
    inclusive = np.zeros(obj.shape, dtype=bool)
    for idx, item in np.ndenumerate(obj):
        where = f" (index {idx[0] if len(idx) == 1 else idx})"
        values[idx], censored[idx], side[idx], inclusive[idx] = _parse_one(item, where)
    return Censored(values, censored, side, inclusive)


# --------------------------------------------------------------------------
# tests the registry does not know, and conversions between tests
# --------------------------------------------------------------------------


def custom_test(name, unit, *, label: str | None = None) -> LabTest:
    """A lab test hepatostat does not know, in the unit the user declares.

    Its values pass through unchanged: no conversion (only the declared unit
    is accepted, in any spelling that normalises to it), no LOINC code, and
    no plausibility range beyond "a finite number" (negative values allowed,
    e.g. base excess). Used for alkaline phosphatase, platelets, cholesterol
    and any other column a cohort brings.

    Raises
    ------
    InputError
        When ``name`` is a built-in test (use it, with its units) or no unit
        is given.
    """
    text = str(name).strip()
    if not text:
        raise InputError("a lab test needs a name")
    try:
        known = get_test(text)
    except InputError:
        known = None
    if known is not None:
        raise InputError(f"{text!r} is the built-in test {known.key}; its units are {', '.join(known.units)}",
                         column=text)
    if unit is None or not str(unit).strip():
        raise InputError(f"declare the unit of the lab test {text!r} (e.g. U/L, 10^9/L, mg/dL, s)", column=text)
    key = re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_") or text
    ukey = _norm_unit_key(unit)
    return LabTest(key, label or text, "", ukey, MappingProxyType({ukey: (1.0, 1.0)}), (-math.inf, math.inf),
                   "declared by the user: no plausibility range (finite numbers only)", (text,),
                   MappingProxyType({ukey: _DISPLAY.get(ukey, str(unit).strip())}), True, True)


def pt_to_inr(pt_seconds, isi, mnpt):
    """INR from a prothrombin time in seconds: ``INR = (PT / MNPT) ** ISI``.

    Parameters
    ----------
    pt_seconds : float or array_like
        Prothrombin times (s).
    isi : float
        International Sensitivity Index of the thromboplastin reagent and
        instrument (on the reagent's certificate; typically 0.9-2.0).
    mnpt : float
        Mean normal prothrombin time of the laboratory (s), the geometric
        mean of at least 20 healthy adults' PTs.

    Notes
    -----
    WHO Expert Committee on Biological Standardization (1983), 33rd report,
    WHO Technical Report Series 687; Kirkwood TBL (1983), Calibration of
    reference thromboplastins and standardisation of the prothrombin time
    ratio, Thromb Haemost 49(3):238-244. doi:10.1055/s-0038-1657371. The INR
    was designed for patients on vitamin K antagonists; in liver disease the
    ISI calibrated on such patients is not exact, which is why MELD's INR
    differs between laboratories (Trotter JF et al. 2004, Liver Transpl
    10(8):995-1000, doi:10.1002/lt.20195). A conversion is therefore never
    implicit: it is done only when ISI and MNPT are given.
    """
    for nm, v, lo, hi in (("ISI", isi, 0.5, 4.0), ("MNPT", mnpt, 5.0, 30.0)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or not math.isfinite(v) \
                or not lo <= float(v) <= hi:
            from .io.format import fmt_plain

            raise InputError(f"{nm} must be a number between {fmt_plain(lo)} and {fmt_plain(hi)}"
                             + (" (seconds)" if nm == "MNPT" else ""), column=nm, value=v)
    arr = _as_float_array(pt_seconds, "pt")
    with np.errstate(invalid="ignore", divide="ignore"):
        res = np.where(arr > 0, (arr / float(mnpt)) ** float(isi), np.nan)
    return _out(np.asarray(res, dtype=float))


#: pairs of tests no formula converts, and why
_NO_CONVERSION = {
    frozenset({"pta", "inr"}): (
        "prothrombin activity (Quick %) and INR cannot be converted into each other: the % comes from a "
        "dilution curve of the laboratory's own reagent, with no universal relation to the INR; report the "
        "INR (or the PT in seconds with the reagent's ISI and the laboratory's mean normal PT)"),
    frozenset({"pta", "pt"}): (
        "prothrombin activity (Quick %) and prothrombin time (s) are related only through the laboratory's "
        "own dilution curve; hepatostat has no general formula"),
}


def convert_test(values, from_test, to_test, *, from_unit=None, to_unit=None, isi=None, mnpt=None):
    """Convert lab values between units of one test, or between two tests where a formula exists.

    * same test: :func:`convert` (``from_unit`` -> ``to_unit``);
    * prothrombin time (s) -> INR: :func:`pt_to_inr`, only with ``isi`` and ``mnpt``;
    * PTA (%) <-> INR, PTA <-> PT: refused with the reason (no formula exists);
    * anything else: refused.
    """
    a, b = get_test(from_test), get_test(to_test)
    if a.key == b.key:
        return convert(values, a, from_unit or a.canonical, to_unit or b.canonical)
    pair = frozenset({a.key, b.key})
    if pair in _NO_CONVERSION:
        raise InputError(_NO_CONVERSION[pair], column=a.key, value=b.key)
    if (a.key, b.key) == ("pt", "inr"):
        if isi is None or mnpt is None:
            raise InputError("PT (s) to INR needs the reagent's ISI and the laboratory's mean normal PT (MNPT, s): "
                             "INR = (PT / MNPT) ^ ISI (WHO 1983); give both", column="pt")
        pt = convert(values, a, from_unit or a.canonical, a.canonical)
        return pt_to_inr(pt, isi, mnpt)
    raise InputError(f"no conversion from {a.key} to {b.key}; tests convert only between their own units "
                     "(and PT in seconds to INR with ISI and MNPT)", column=a.key, value=b.key)
