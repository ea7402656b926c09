"""Severity scores for chronic liver disease: MELD, MELD-Na, MELD 3.0,
Child-Pugh and ALBI.

Every function is vectorised: arguments may be scalars or array-likes that
broadcast together; scalars in give a scalar out.

Units are explicit. ``units="mg/dL"`` (the default, "conventional" units)
means bilirubin and creatinine in mg/dL and albumin in g/dL; ``units="SI"``
means bilirubin and creatinine in µmol/L and albumin in g/L. INR is a ratio
and sodium is in mmol/L (= mEq/L) in both. Any other ``units`` is an error.

Before computing, every lab value is checked against the wide plausibility
ranges of :mod:`hepatostat.units` *in the stated units*. A bilirubin of 100 or
a creatinine of 80 "mg/dL" cannot be real; such input raises
:class:`~hepatostat.errors.InputError` saying that the values look like SI
units and to pass ``units="SI"`` (and vice versa). This is what stops the
"MELD = 78" error: the scores refuse to compute from values in the wrong unit
instead of silently capping them.

Missing and bad values
----------------------
* NaN in any lab value (or in a Child-Pugh clinical grade given as ``None`` /
  NaN) gives NaN out for that element; other elements are unaffected.
* Negative or infinite values, and values outside the plausibility range,
  raise :class:`~hepatostat.errors.InputError` naming the argument, the value
  and its index.
* Zero is accepted where the score floors the value (bilirubin in the MELD
  family, where values below 1 mg/dL count as 1) and rejected where it is
  implausible (creatinine, INR, albumin) or undefined (bilirubin in ALBI,
  which takes its logarithm).

Return types
------------
With ``rounded=True`` (default) the MELD family returns integers: a Python
``int`` for scalar input, an ``int64`` array otherwise. Because NaN has no
integer representation, an array containing NaN is returned as ``float64``
(with integral values elsewhere) and a scalar NaN result as ``float('nan')``.
``rounded=False`` returns the unrounded float score.

Rounding is "half up" (12.5 -> 13), as in the OPTN calculator, not numpy's
round-half-to-even. To absorb floating-point noise (e.g. 12.4999999999999996
for a true 12.5) values are first rounded to 9 decimal places.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .errors import InputError
from .io.format import fmt_plain, fmt_sig
from .units import _as_float_array, check_plausible, convert, get_test

__all__ = [
    "meld",
    "meld_na",
    "meld3",
    "child_pugh",
    "ChildPugh",
    "albi",
    "Albi",
]

#: units of each lab in each unit system accepted by the scores
_UNIT_SYSTEMS = {
    "mg/dL": {
        "bilirubin": "mg/dL",
        "creatinine": "mg/dL",
        "albumin": "g/dL",
        "inr": "ratio",
        "sodium": "mmol/L",
    },
    "SI": {
        "bilirubin": "µmol/L",
        "creatinine": "µmol/L",
        "albumin": "g/L",
        "inr": "ratio",
        "sodium": "mmol/L",
    },
}


# --------------------------------------------------------------------------
# shared input handling
# --------------------------------------------------------------------------


def _units_system(units) -> str:
    if isinstance(units, str):
        u = units.strip()
        if u.lower() == "mg/dl":
            return "mg/dL"
        if u.upper() == "SI":
            return "SI"
    raise InputError(
        f"units must be 'mg/dL' (bilirubin and creatinine in mg/dL, albumin in g/dL) "
        f"or 'SI' (bilirubin and creatinine in µmol/L, albumin in g/L); got {units!r}",
        column="units",
        value=units,
    )


def _where(arr: np.ndarray, idx) -> str:
    if arr.ndim == 0:
        return ""
    i = idx[0] if len(idx) == 1 else tuple(int(j) for j in idx)
    return f" at index {int(i) if len(idx) == 1 else i}"


_TRUE_WORDS = {"true", "yes", "y", "1"}
_FALSE_WORDS = {"false", "no", "n", "0"}


def _as_flag(x, name: str, words: dict | None = None) -> np.ndarray:
    """Boolean array from bools, 0/1 or (optionally) words."""
    arr = np.asarray(x)
    if arr.dtype == bool:
        return arr
    if arr.dtype.kind in "iuf":
        ok = np.isin(arr, (0, 1))
        if ok.all():
            return arr.astype(bool)
        idx = tuple(np.argwhere(~ok)[0]) if arr.ndim else ()
        bad = arr[idx] if arr.ndim else arr[()]
        raise InputError(
            f"{name} must be True/False (or 1/0); got {bad!r}{_where(arr, idx)}",
            column=name,
            value=bad.item() if hasattr(bad, "item") else bad,
        )
    mapping = {**{w: True for w in _TRUE_WORDS}, **{w: False for w in _FALSE_WORDS}}
    mapping.update(words or {})
    obj = np.asarray(x, dtype=object)
    out = np.zeros(obj.shape, dtype=bool)
    for idx, v in np.ndenumerate(obj):
        if isinstance(v, (bool, np.bool_)) or (
            isinstance(v, (int, float, np.integer, np.floating)) and v in (0, 1)
        ):
            out[idx] = bool(v)
            continue
        key = v.strip().lower() if isinstance(v, str) else None
        if key not in mapping:
            allowed = "True/False, 1/0" + (
                ", " + ", ".join(repr(w) for w in words) if words else ""
            )
            raise InputError(
                f"{name} must be one of {allowed}; got {v!r}{_where(obj, idx)}",
                column=name,
                value=v,
            )
        out[idx] = mapping[key]
    return out


def _broadcast(func: str, arrays: dict) -> dict:
    try:
        shaped = np.broadcast_arrays(*arrays.values())
    except ValueError:
        shapes = ", ".join(f"{k} {np.shape(v)}" for k, v in arrays.items())
        raise InputError(
            f"{func}(): arguments must be scalars or arrays of the same (broadcastable) "
            f"shape; got {shapes}"
        ) from None
    return dict(zip(arrays, shaped))


def _check_labs(func: str, system: str, labs: dict, positive: tuple = ()) -> None:
    """Raise InputError for negative, infinite or implausible lab values.

    ``labs`` maps argument name -> (array, registry test key). NaN is
    skipped (it propagates to the result).
    """
    problems = []
    first = None
    for name, (arr, test) in labs.items():
        unit = _UNIT_SYSTEMS[system][test]
        with np.errstate(invalid="ignore"):
            bad_num = np.isinf(arr) | (arr < 0)
            if name in positive:
                bad_num |= arr == 0
        if bad_num.any():
            idx = tuple(np.argwhere(bad_num)[0]) if arr.ndim else ()
            v = float(arr[idx])
            need = "> 0" if name in positive else ">= 0 and finite"
            raise InputError(
                f"{func}(): {name} must be {need}; got {fmt_plain(v)}{_where(arr, idx)}",
                column=name,
                value=v,
            )
        mask, _ = check_plausible(arr, test, unit)
        implausible = ~np.asarray(mask) & ~np.isnan(arr)
        if not implausible.any():
            continue
        idx = tuple(np.argwhere(implausible)[0]) if arr.ndim else ()
        v = float(arr[idx])
        t = get_test(test)
        lo, hi = (convert(x, test, t.canonical, unit) for x in t.plausible)
        other = "SI" if system == "mg/dL" else "mg/dL"
        other_unit = _UNIT_SYSTEMS[other][test]
        if other_unit != unit and check_plausible(v, test, other_unit).mask:
            kind = "SI units" if other == "SI" else "conventional units"
            hint = f"it looks like {kind} ({other_unit}): pass units=\"{other}\""
        else:
            hint = "check the value and its unit"
        problems.append(
            f"{name} = {fmt_plain(v)}{_where(arr, idx)} is implausible in {unit} "
            f"(plausible range {fmt_sig(lo, 4)}-{fmt_sig(hi, 4)} {unit}); {hint}"
        )
        if first is None:
            first = (name, v)
    if problems:
        raise InputError(f"{func}(): " + "; ".join(problems), column=first[0], value=first[1])


def _prepare(func: str, units, labs: dict, flags: dict | None = None, positive: tuple = ()):
    """Validate, broadcast and convert labs to conventional units.

    ``labs``: argument name -> (value, registry test key).
    ``flags``: argument name -> already-converted boolean array.
    Returns (system, dict of conventional-unit arrays incl. flags, raw SI/
    conventional arrays as given, scalar?).
    """
    system = _units_system(units)
    arrays = {name: _as_float_array(v, name) for name, (v, _) in labs.items()}
    scalar = all(a.ndim == 0 for a in arrays.values()) and all(
        np.ndim(f) == 0 for f in (flags or {}).values()
    )
    shaped = _broadcast(func, {**arrays, **(flags or {})})
    raw = {name: shaped[name] for name in labs}
    _check_labs(func, system, {n: (raw[n], labs[n][1]) for n in labs}, positive)
    conv = {}
    for name, (_, test) in labs.items():
        t = get_test(test)
        conv[name] = np.asarray(
            convert(raw[name], test, _UNIT_SYSTEMS[system][test], t.canonical), dtype=float
        )
    for name in flags or {}:
        conv[name] = shaped[name]
    return system, conv, raw, scalar


def _round_half_up(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.floor(np.round(x, 9) + 0.5)


def _finish(score: np.ndarray, nan: np.ndarray, rounded: bool, scalar: bool):
    score = np.where(nan, np.nan, score)
    if rounded:
        score = _round_half_up(score)
    if scalar:
        v = float(score)
        return int(v) if rounded and not math.isnan(v) else v
    if rounded and not np.isnan(score).any():
        return score.astype(np.int64)
    return score.astype(float)


def _any_nan(*arrays) -> np.ndarray:
    out = np.zeros(np.broadcast(*arrays).shape, dtype=bool)
    for a in arrays:
        out = out | np.isnan(a)
    return out


# --------------------------------------------------------------------------
# MELD family
# --------------------------------------------------------------------------


def _meld_inner(bili, inr, cr, dialysis) -> np.ndarray:
    """OPTN MELD(i) before rounding: 0.957 ln Cr + 0.378 ln bili + 1.120 ln INR + 0.643."""
    with np.errstate(invalid="ignore"):
        b = np.maximum(bili, 1.0)
        i = np.maximum(inr, 1.0)
        c = np.where(dialysis, 4.0, np.clip(cr, 1.0, 4.0))
        return 0.957 * np.log(c) + 0.378 * np.log(b) + 1.120 * np.log(i) + 0.643


def meld(bilirubin, inr, creatinine, *, dialysis=False, units="mg/dL", rounded=True):
    """MELD score (OPTN/UNOS definition used before January 2016).

    Parameters
    ----------
    bilirubin : float or array_like
        Total bilirubin, mg/dL (µmol/L with ``units="SI"``).
    inr : float or array_like
        International normalised ratio.
    creatinine : float or array_like
        Serum creatinine, mg/dL (µmol/L with ``units="SI"``).
    dialysis : bool or array_like of bool, default False
        At least two dialysis treatments, or 24 hours of continuous
        veno-venous haemodialysis (CVVHD), within the 7 days before the
        creatinine test. Creatinine is then set to 4.0 mg/dL.
    units : {"mg/dL", "SI"}, default "mg/dL"
        Unit system of bilirubin and creatinine (case-insensitive).
    rounded : bool, default True
        Return the integer score (OPTN rounding); False returns the unrounded
        float ``10 * MELD(i)``.

    Returns
    -------
    int, float or numpy.ndarray
        Score bounded to 6-40. See the module notes for types with NaN.

    Raises
    ------
    InputError
        Unknown ``units``; negative, infinite or implausible values (the
        message says when values look like they are in the other unit
        system); non-numeric values; shapes that do not broadcast.

    Notes
    -----
    OPTN form (policy notice of November 2015, OPTN MELD calculator)::

        MELD(i) = 0.957 ln(Cr) + 0.378 ln(bilirubin) + 1.120 ln(INR) + 0.643

    "Then, round to the tenth decimal place and multiply by 10". This equals
    ``3.78 ln(bili) + 11.2 ln(INR) + 9.57 ln(Cr) + 6.43`` rounded to the
    nearest integer, which is what ``rounded=True`` returns (half up).

    Bounds (OPTN): bilirubin, INR and creatinine below 1.0 are set to 1.0;
    creatinine above 4.0 mg/dL, or any creatinine with ``dialysis=True``, is
    set to 4.0; the score is capped at 40 (maximum MELD = 40). The lower
    bound of 6 follows from the floors (``10 * 0.643 = 6.43``) and is also
    enforced. Both bounds apply to ``rounded=False`` too.

    References
    ----------
    Kamath PS, Wiesner RH, Malinchoc M, et al. A model to predict survival in
    patients with end-stage liver disease. Hepatology. 2001;33(2):464-470.
    doi:10.1053/jhep.2001.22172

    Wiesner R, Edwards E, Freeman R, et al. Model for end-stage liver disease
    (MELD) and allocation of donor livers. Gastroenterology.
    2003;124(1):91-96. doi:10.1053/gast.2003.50016

    OPTN/UNOS. Policy notice: OPTN Executive Committee actions (MELD-Na),
    November 2015. https://optn.transplant.hrsa.gov/media/1575/policynotice_20151101.pdf

    Examples
    --------
    >>> meld(1.9, 1.2, 1.3)
    13
    >>> meld(100, 1.8, 80, units="SI")
    20
    """
    _, v, _, scalar = _prepare(
        "meld",
        units,
        {"bilirubin": (bilirubin, "bilirubin"), "inr": (inr, "inr"), "creatinine": (creatinine, "creatinine")},
        {"dialysis": _as_flag(dialysis, "dialysis")},
    )
    nan = _any_nan(v["bilirubin"], v["inr"], v["creatinine"])
    score = 10.0 * _meld_inner(v["bilirubin"], v["inr"], v["creatinine"], v["dialysis"])
    if rounded:
        score = _round_half_up(score)
    return _finish(np.clip(score, 6.0, 40.0), nan, rounded, scalar)


def meld_na(bilirubin, inr, creatinine, sodium, *, dialysis=False, units="mg/dL", rounded=True):
    """MELD-Na score (OPTN/UNOS, January 2016 to July 2023).

    Parameters
    ----------
    bilirubin, inr, creatinine, dialysis, units
        As for :func:`meld`.
    sodium : float or array_like
        Serum sodium, mmol/L (= mEq/L) in both unit systems.
    rounded : bool, default True
        Integer score with OPTN rounding. False returns the unrounded float,
        computed from the unrounded ``10 * MELD(i)`` (so it can differ from the
        rounded score by slightly more than 0.5 near the MELD(i) > 11 switch).

    Returns
    -------
    int, float or numpy.ndarray
        Score bounded to 6-40.

    Raises
    ------
    InputError
        As for :func:`meld`; also for implausible sodium (outside 100-180).

    Notes
    -----
    OPTN policy (effective January 2016)::

        MELD(i) = round(0.957 ln(Cr) + 0.378 ln(bili) + 1.120 ln(INR) + 0.643, 1) * 10
        if MELD(i) > 11:
            MELD = MELD(i) + 1.32 (137 - Na) - 0.033 MELD(i) (137 - Na)

    with the bounds of :func:`meld` and sodium bounded to 125-137 mmol/L.
    The result is rounded to the nearest integer (half up) and capped at 40.
    At MELD(i) = 40 the sodium terms cancel (1.32 = 0.033 * 40), so capping
    MELD(i) before or after the sodium step gives the same result.

    References
    ----------
    Kim WR, Biggins SW, Kremers WK, et al. Hyponatremia and mortality among
    patients on the liver-transplant waiting list. N Engl J Med.
    2008;359(10):1018-1026. doi:10.1056/NEJMoa0801209

    OPTN/UNOS. Policy notice: OPTN Executive Committee actions (MELD-Na),
    November 2015. https://optn.transplant.hrsa.gov/media/1575/policynotice_20151101.pdf

    Examples
    --------
    >>> meld_na(1.5, 1.1, 2.7, 135)
    20
    """
    _, v, _, scalar = _prepare(
        "meld_na",
        units,
        {
            "bilirubin": (bilirubin, "bilirubin"),
            "inr": (inr, "inr"),
            "creatinine": (creatinine, "creatinine"),
            "sodium": (sodium, "sodium"),
        },
        {"dialysis": _as_flag(dialysis, "dialysis")},
    )
    nan = _any_nan(v["bilirubin"], v["inr"], v["creatinine"], v["sodium"])
    mi = 10.0 * _meld_inner(v["bilirubin"], v["inr"], v["creatinine"], v["dialysis"])
    if rounded:
        mi = _round_half_up(mi)
    with np.errstate(invalid="ignore"):
        d = 137.0 - np.clip(v["sodium"], 125.0, 137.0)
        score = np.where(mi > 11.0, mi + 1.32 * d - 0.033 * mi * d, mi)
    if rounded:
        score = _round_half_up(score)
    return _finish(np.clip(score, 6.0, 40.0), nan, rounded, scalar)


_FEMALE_WORDS = {"f": True, "female": True, "woman": True, "m": False, "male": False, "man": False}


def meld3(
    bilirubin,
    inr,
    creatinine,
    sodium,
    albumin,
    *,
    female,
    dialysis=False,
    units="mg/dL",
    rounded=True,
    cap_at_40=False,
):
    """MELD 3.0 score (Kim et al. 2021; OPTN allocation since July 2023).

    Parameters
    ----------
    bilirubin, inr, creatinine : float or array_like
        As for :func:`meld`.
    sodium : float or array_like
        Serum sodium, mmol/L.
    albumin : float or array_like
        Serum albumin, g/dL (g/L with ``units="SI"``).
    female : bool or array_like, keyword-only, required
        Female sex. Also accepts 1/0 and the strings "F"/"female"/"woman",
        "M"/"male"/"man" (case-insensitive).
    dialysis : bool or array_like of bool, default False
        At least two dialysis treatments, or 24 hours of CVVHD, within the
        prior 7 days; creatinine is then set to 3.0 mg/dL.
    units : {"mg/dL", "SI"}, default "mg/dL"
    rounded : bool, default True
        Integer score (nearest integer, half up); False returns the float.
    cap_at_40 : bool, default False
        Cap the score at 40 as the older MELD versions were. Off by default
        because the derivation paper did not presume a cap (see Notes).

    Returns
    -------
    int, float or numpy.ndarray
        Score, at least 6 (see Notes).

    Raises
    ------
    InputError
        As for :func:`meld_na`; also for implausible albumin (outside
        0.5-7 g/dL) or a bad ``female`` value.

    Notes
    -----
    Kim et al. (2021), Table 2::

        MELD 3.0 = 1.33 (if female)
                   + 4.56 ln(bilirubin)
                   + 0.82 (137 - Na)
                   - 0.24 (137 - Na) ln(bilirubin)
                   + 9.09 ln(INR)
                   + 11.14 ln(creatinine)
                   + 1.85 (3.5 - albumin)
                   - 1.83 (3.5 - albumin) ln(creatinine)
                   + 6

    Bounds: bilirubin, INR and creatinine below 1.0 are set to 1.0;
    creatinine above 3.0 mg/dL, or any creatinine with ``dialysis=True``, is
    set to 3.0 (the paper's new upper bound, lowered from 4.0); sodium is
    bounded to 125-137 mmol/L; albumin to 1.5-3.5 g/dL. With these bounds
    the formula cannot go below 6 (male, all values at their floors).

    Upper cap: the paper states that MELD 3.0 "was scaled in such a way that
    the distribution of the score is similar to prior scores without a
    presumption that the score would be capped at 40", so by default no cap
    is applied; ``cap_at_40=True`` reproduces allocation-style capping.

    References
    ----------
    Kim WR, Mannalithara A, Heimbach JK, et al. MELD 3.0: the Model for
    End-Stage Liver Disease updated for the modern era. Gastroenterology.
    2021;161(6):1887-1895.e4. doi:10.1053/j.gastro.2021.08.050

    Examples
    --------
    >>> meld3(1.9, 1.2, 1.3, 135, 3.0, female=True)
    17
    """
    _, v, _, scalar = _prepare(
        "meld3",
        units,
        {
            "bilirubin": (bilirubin, "bilirubin"),
            "inr": (inr, "inr"),
            "creatinine": (creatinine, "creatinine"),
            "sodium": (sodium, "sodium"),
            "albumin": (albumin, "albumin"),
        },
        {
            "female": _as_flag(female, "female", _FEMALE_WORDS),
            "dialysis": _as_flag(dialysis, "dialysis"),
        },
    )
    nan = _any_nan(v["bilirubin"], v["inr"], v["creatinine"], v["sodium"], v["albumin"])
    with np.errstate(invalid="ignore"):
        lb = np.log(np.maximum(v["bilirubin"], 1.0))
        li = np.log(np.maximum(v["inr"], 1.0))
        lc = np.log(np.where(v["dialysis"], 3.0, np.clip(v["creatinine"], 1.0, 3.0)))
        dna = 137.0 - np.clip(v["sodium"], 125.0, 137.0)
        dalb = 3.5 - np.clip(v["albumin"], 1.5, 3.5)
        score = (
            1.33 * v["female"]
            + 4.56 * lb
            + 0.82 * dna
            - 0.24 * dna * lb
            + 9.09 * li
            + 11.14 * lc
            + 1.85 * dalb
            - 1.83 * dalb * lc
            + 6.0
        )
    if rounded:
        score = _round_half_up(score)
    if cap_at_40:
        score = np.minimum(score, 40.0)
    return _finish(score, nan, rounded, scalar)


# --------------------------------------------------------------------------
# Child-Pugh
# --------------------------------------------------------------------------


class ChildPugh(NamedTuple):
    """Child-Pugh result.

    Attributes
    ----------
    points : int or numpy.ndarray
        Total points, 5-15 (float NaN where an input is missing).
    grade : str or numpy.ndarray of object
        Class ``"A"`` (5-6), ``"B"`` (7-9) or ``"C"`` (10-15); ``None``
        where an input is missing.
    """

    points: object
    grade: object


#: accepted clinical grade words -> points (after lower-casing, collapsing
#: spaces, "_" -> " ", en dash -> "-")
_CLINICAL_CODES = {
    "none": 1,
    "absent": 1,
    "no": 1,
    "mild": 2,
    "slight": 2,
    "grade 1-2": 2,
    "moderate-severe": 3,
    "moderate/severe": 3,
    "moderate to severe": 3,
    "moderate": 3,
    "severe": 3,
    "grade 3-4": 3,
}


def _clinical_points(x, name: str) -> np.ndarray:
    obj = np.asarray(x, dtype=object)
    out = np.empty(obj.shape, dtype=float)
    for idx, v in np.ndenumerate(obj):
        if v is None or (isinstance(v, (float, np.floating)) and math.isnan(v)):
            out[idx] = np.nan
            continue
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)):
            if v in (1, 2, 3):
                out[idx] = float(v)
                continue
        elif isinstance(v, str):
            key = " ".join(v.replace("_", " ").replace("\u2013", "-").lower().split())
            if key in _CLINICAL_CODES:
                out[idx] = _CLINICAL_CODES[key]
                continue
        allowed = ", ".join(repr(k) for k in _CLINICAL_CODES)
        raise InputError(
            f"child_pugh(): {name} must be 1, 2 or 3 (points) or one of {allowed}; "
            f"got {v!r}{_where(obj, idx)}",
            column=name,
            value=v,
        )
    return out


def child_pugh(bilirubin, albumin, inr, ascites, encephalopathy, *, units="mg/dL"):
    """Child-Pugh (Child-Turcotte-Pugh) score and class.

    Parameters
    ----------
    bilirubin : float or array_like
        Total bilirubin, mg/dL (µmol/L with ``units="SI"``).
    albumin : float or array_like
        Serum albumin, g/dL (g/L with ``units="SI"``).
    inr : float or array_like
        International normalised ratio.
    ascites, encephalopathy : int, str or array_like
        Points 1, 2 or 3, or a grade word (case-insensitive):

        * 1: ``"none"``, ``"absent"``, ``"no"``
        * 2: ``"mild"``, ``"slight"``, ``"grade 1-2"`` (encephalopathy)
        * 3: ``"moderate-severe"``, ``"moderate/severe"``,
          ``"moderate to severe"``, ``"moderate"``, ``"severe"``,
          ``"grade 3-4"`` (encephalopathy)

        0 is *not* accepted (it would be ambiguous between "none" on a 0-2
        scale and an error). ``None``/NaN means missing.
    units : {"mg/dL", "SI"}, default "mg/dL"

    Returns
    -------
    ChildPugh
        ``(points, grade)``.

    Raises
    ------
    InputError
        Bad ``units``, negative/implausible lab values (with a unit hint),
        unknown ascites/encephalopathy codes.

    Notes
    -----
    ==================  =========  ===========  =========
    points              1          2            3
    ==================  =========  ===========  =========
    bilirubin (mg/dL)   < 2        2-3          > 3
    albumin (g/dL)      > 3.5      2.8-3.5      < 2.8
    INR                 < 1.7      1.7-2.3      > 2.3
    ascites             none       mild         moderate-severe
    encephalopathy      none       grade 1-2    grade 3-4
    ==================  =========  ===========  =========

    Class A: 5-6 points, B: 7-9, C: 10-15. The interval ends are inclusive
    in the middle category (bilirubin 2.0 and 3.0 score 2). SI input is
    converted to mg/dL and g/dL (÷ 17.1, ÷ 10) before applying the cut-offs,
    so the bilirubin cut-offs are 34.2 and 51.3 µmol/L. Pugh et al. graded
    prothrombin time prolongation (1-4, 4-6, > 6 s); the INR cut-offs
    1.7/2.3 are the later, now standard substitution. The modified
    cut-offs for cholestatic disease (bilirubin 4 and 10 mg/dL) are not
    implemented.

    References
    ----------
    Pugh RN, Murray-Lyon IM, Dawson JL, Pietroni MC, Williams R. Transection
    of the oesophagus for bleeding oesophageal varices. Br J Surg.
    1973;60(8):646-649. doi:10.1002/bjs.1800600817

    Child CG, Turcotte JG. Surgery and portal hypertension. Major Probl Clin
    Surg. 1964;1:1-85.

    Examples
    --------
    >>> child_pugh(2.5, 3.0, 1.8, "mild", "none")
    ChildPugh(points=9, grade='B')
    """
    asc = _clinical_points(ascites, "ascites")
    enc = _clinical_points(encephalopathy, "encephalopathy")
    _, v, _, scalar = _prepare(
        "child_pugh",
        units,
        {"bilirubin": (bilirubin, "bilirubin"), "albumin": (albumin, "albumin"), "inr": (inr, "inr")},
        {"ascites": asc, "encephalopathy": enc},
    )
    scalar = scalar and asc.ndim == 0 and enc.ndim == 0
    with np.errstate(invalid="ignore"):
        b = np.round(v["bilirubin"], 9)
        a = np.round(v["albumin"], 9)
        i = np.round(v["inr"], 9)
        pts = (
            np.where(b < 2.0, 1, np.where(b <= 3.0, 2, 3))
            + np.where(a > 3.5, 1, np.where(a >= 2.8, 2, 3))
            + np.where(i < 1.7, 1, np.where(i <= 2.3, 2, 3))
            + v["ascites"]
            + v["encephalopathy"]
        ).astype(float)
    nan = _any_nan(b, a, i, v["ascites"], v["encephalopathy"])
    pts = np.where(nan, np.nan, pts)
    grade = np.empty(pts.shape, dtype=object)
    grade[...] = None
    grade[~nan & (pts <= 6)] = "A"
    grade[~nan & (pts >= 7) & (pts <= 9)] = "B"
    grade[~nan & (pts >= 10)] = "C"
    if scalar:
        p = float(pts)
        return ChildPugh(p if math.isnan(p) else int(p), grade[()])
    points = pts.astype(np.int64) if not nan.any() else pts
    return ChildPugh(points, grade)


# --------------------------------------------------------------------------
# ALBI
# --------------------------------------------------------------------------


class Albi(NamedTuple):
    """ALBI result.

    Attributes
    ----------
    score : float or numpy.ndarray
        Linear predictor (unrounded); NaN where an input is missing.
    grade : int or numpy.ndarray
        1 (score <= -2.60), 2 (-2.60 < score <= -1.39) or 3 (> -1.39); a
        float array with NaN where an input is missing.
    """

    score: object
    grade: object


def albi(bilirubin, albumin, *, units="mg/dL"):
    """Albumin-bilirubin (ALBI) score and grade.

    Parameters
    ----------
    bilirubin : float or array_like
        Total bilirubin, mg/dL (µmol/L with ``units="SI"``); must be > 0.
    albumin : float or array_like
        Serum albumin, g/dL (g/L with ``units="SI"``).
    units : {"mg/dL", "SI"}, default "mg/dL"

    Returns
    -------
    Albi
        ``(score, grade)``; scalars for scalar input.

    Raises
    ------
    InputError
        Bad ``units``, zero/negative bilirubin, implausible values (with a
        unit hint), non-numeric input.

    Notes
    -----
    Johnson et al. (2015)::

        ALBI = 0.66 log10(bilirubin [µmol/L]) - 0.085 albumin [g/L]

    Grade 1: ALBI <= -2.60; grade 2: -2.60 < ALBI <= -1.39; grade 3:
    ALBI > -1.39. Conventional-unit input is converted with the factors of
    :mod:`hepatostat.units` (bilirubin × 17.1, albumin × 10); SI input is
    used as given. The grade is assigned from the score rounded to 9
    decimals (to keep float noise off the cut-offs).

    References
    ----------
    Johnson PJ, Berhane S, Kagebayashi C, et al. Assessment of liver function
    in patients with hepatocellular carcinoma: a new evidence-based
    approach - the ALBI grade. J Clin Oncol. 2015;33(6):550-558.
    doi:10.1200/JCO.2014.57.9151

    Examples
    --------
    >>> r = albi(1.2, 3.5)
    >>> round(r.score, 2), r.grade
    (-2.11, 2)
    """
    system, v, raw, scalar = _prepare(
        "albi",
        units,
        {"bilirubin": (bilirubin, "bilirubin"), "albumin": (albumin, "albumin")},
        positive=("bilirubin",),
    )
    src = _UNIT_SYSTEMS[system]
    b_umol = np.asarray(convert(raw["bilirubin"], "bilirubin", src["bilirubin"], "µmol/L"), dtype=float)
    a_gl = np.asarray(convert(raw["albumin"], "albumin", src["albumin"], "g/L"), dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = 0.66 * np.log10(b_umol) - 0.085 * a_gl
        s9 = np.round(score, 9)
        grade = np.where(s9 <= -2.60, 1.0, np.where(s9 <= -1.39, 2.0, 3.0))
    nan = np.isnan(score)
    grade = np.where(nan, np.nan, grade)
    if scalar:
        g = float(grade)
        return Albi(float(score), g if math.isnan(g) else int(g))
    return Albi(score, grade.astype(np.int64) if not nan.any() else grade)
