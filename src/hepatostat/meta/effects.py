"""Per-study effect sizes (``yi``, ``vi``), kept apart from pooling.

The measures and their defaults follow R metafor 3.8 ``escalc()`` so that the
numbers agree with it; other conventions (RevMan's SMD variance, Cohen's d)
are options that say so in their name.

References
----------
.. [1] Viechtbauer W (2010). Conducting meta-analyses in R with the metafor
   package. J Stat Softw 36(3):1-48. doi:10.18637/jss.v036.i03
.. [2] Hedges LV (1981). Distribution theory for Glass's estimator of effect
   size and related estimators. J Educ Stat 6(2):107-128.
   doi:10.3102/10769986006002107
.. [3] Borenstein M, Hedges LV, Higgins JPT, Rothstein HR (2009).
   Introduction to Meta-Analysis. Wiley. Chapters 4-5.
.. [4] Higgins JPT et al. (eds) (2023). Cochrane Handbook for Systematic
   Reviews of Interventions, version 6.4, chapter 10 and RevMan 5 statistical
   methods (Deeks JJ, Higgins JPT 2010).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

import math

import numpy as np

from ..errors import InputError
from ..io.format import fmt_n, fmt_plain, table_text
from .codes import MEASURES
from .data import (
    BINARY_COLUMNS,
    CONTINUOUS_COLUMNS,
    Exclusion,
    validate_meta_frame,
)

__all__ = [
    "MEASURES",
    "EffectSizes",
    "effects",
    "smd_correction_factor",
    "split_by_code",
]


_SMD_CORRECTIONS = ("exact", "approx", "none")
_SMD_VTYPES = ("LS", "UB", "REVMAN")
_TO_CHOICES = ("only0", "all", "if0all", "none")


def _lgamma(x):
    """``log|Gamma(x)|`` elementwise with math.lgamma (scipy.special.gammaln without its import cost);
    inf at the poles (0, -1, -2, ...), NaN stays NaN."""
    def one(v):
        try:
            return math.lgamma(v)
        except ValueError:
            return math.inf
    x = np.asarray(x, dtype=float)
    return np.array([one(float(v)) for v in x.ravel()], dtype=float).reshape(x.shape)


def smd_correction_factor(m, exact: bool = True):
    """Small-sample bias correction ``c(m)`` for the SMD (Hedges 1981).

    Parameters
    ----------
    m : array_like
        Degrees of freedom, ``n1 + n2 - 2``.
    exact : bool
        ``True`` gives the exact gamma-function form used by metafor,
        ``c(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))``; ``False`` gives the
        usual approximation ``1 - 3/(4m - 1)``.

    Notes
    -----
    Hedges (1981), eq. 6e; the approximation is his eq. 6f.
    """
    m = np.asarray(m, dtype=float)
    if exact:
        with np.errstate(invalid="ignore"):
            return np.exp(_lgamma(m / 2) - 0.5 * np.log(m / 2) - _lgamma((m - 1) / 2))
    return 1 - 3 / (4 * m - 1)


@dataclass(frozen=True, eq=False)
class EffectSizes:
    """Per-study effect sizes on the analysis scale.

    Attributes
    ----------
    measure : str
        metafor measure code (``SMD``, ``MD``, ``OR``, ``RR``, ``RD``, ``PETO``,
        ``GEN``). ``OR``, ``RR`` and ``PETO`` are log ratios.
    study : tuple of str
        Study labels, in input order, of the studies kept.
    yi, vi : numpy.ndarray
        Effect sizes and their sampling variances.
    data : pandas.DataFrame
        The validated input rows of the kept studies (arm-level data and any
        moderator columns), in the order of ``study``. It may be given to the
        constructor as ``_data``, a frame or a function that returns it (many
        analyses split from one table build their frames only when asked).
    excluded : tuple of Exclusion
        Studies left out, each with its reason.
    notes : tuple of str
        Every automatic choice made (e.g. zero-cell corrections).
    options : dict
        The options used (``vtype``, ``correction``, ``add``, ``to``...).
    """

    measure: str
    study: tuple
    yi: np.ndarray
    vi: np.ndarray
    _data: Any
    excluded: tuple = ()
    notes: tuple = ()
    options: dict = field(default_factory=dict)
    source: str | None = None
    flags: dict = field(default_factory=dict, repr=False)  # per-study arrays: corrected, double (binary)

    @property
    def data(self) -> pd.DataFrame:
        d = self._data
        if callable(d):
            d = d()
            object.__setattr__(self, "_data", d)
        return d

    @property
    def k(self) -> int:
        return len(self.study)

    @property
    def sei(self) -> np.ndarray:
        return np.sqrt(self.vi)

    @property
    def log_scale(self) -> bool:
        """True when ``yi`` is a log ratio (OR, RR, PETO)."""
        return MEASURES[self.measure][2]

    @property
    def kind(self) -> str:
        return MEASURES[self.measure][0]

    @classmethod
    def from_arrays(cls, yi, vi, *, study=None, measure: str = "GEN") -> "EffectSizes":
        """Effect sizes given directly (metafor's ``rma(yi, vi)``), checked.

        ``study`` labels them (default ``"1"``, ``"2"``, ...); ``measure`` names
        their scale (``"GEN"`` by default; ``"OR"``, ``"RR"`` for log ratios).
        """
        import pandas as pd
        yi = np.atleast_1d(np.asarray(yi, dtype=float))
        vi = np.atleast_1d(np.asarray(vi, dtype=float))
        measure = str(measure).upper()
        if measure not in MEASURES:
            raise InputError(f"unknown measure {measure!r}; allowed: {', '.join(MEASURES)}")
        if yi.ndim != 1 or yi.shape != vi.shape:
            raise InputError(f"yi and vi must be 1-d and of the same length, got {yi.shape} and {vi.shape}")
        labels = [str(i + 1) for i in range(yi.size)] if study is None else [str(s) for s in study]
        if len(labels) != yi.size:
            raise InputError(f"study has {len(labels)} labels for {yi.size} effect sizes")
        for i, (y, v) in enumerate(zip(yi, vi)):
            if not np.isfinite(y):
                raise InputError(f"yi[{i}] = {y!r} is not a finite number", column="yi")
            if not (np.isfinite(v) and v > 0):
                raise InputError(f"vi[{i}] = {v!r}: a sampling variance must be a finite number > 0", column="vi")
        frame = pd.DataFrame({"study": labels, "yi": yi, "vi": vi})
        return cls(measure=measure, study=tuple(labels), yi=yi, vi=vi, _data=frame)

    def subset(self, mask) -> "EffectSizes":
        """The studies where ``mask`` is true (a boolean array over studies)."""
        mask = np.asarray(mask, dtype=bool)
        study = tuple(s for s, m in zip(self.study, mask) if m)
        flags = {key: val[mask] for key, val in self.flags.items()}
        return EffectSizes(
            measure=self.measure,
            study=study,
            yi=self.yi[mask],
            vi=self.vi[mask],
            _data=self.data.loc[mask].copy(),
            excluded=self.excluded,
            notes=tuple(_notes(self.measure, study, flags, self.options)),
            options=dict(self.options),
            source=self.source,
            flags=flags,
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per study: ``study, yi, vi, sei``."""
        import pandas as pd
        return pd.DataFrame(
            {"study": list(self.study), "yi": self.yi, "vi": self.vi, "sei": self.sei}
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "measure": self.measure,
            "k": self.k,
            "studies": [
                {"study": s, "yi": float(y), "vi": float(v)}
                for s, y, v in zip(self.study, self.yi, self.vi)
            ],
            "excluded": [e.to_dict() for e in self.excluded],
            "notes": list(self.notes),
            "options": dict(self.options),
        }

    def summary(self) -> str:
        lines = [
            f"Effect sizes: {MEASURES[self.measure][1]} ({self.measure}), k = {fmt_n(self.k)}",
        ]
        # the variance with the decimals of a standard error (both measure precision)
        lines.append(table_text(self.to_frame(), {"yi": "estimate", "vi": "se", "sei": "se"}))
        for e in self.excluded:
            lines.append(f"excluded: {e.study}: {e.reason}")
        for n in self.notes:
            lines.append(f"note: {n}")
        return "\n".join(lines)

    def __repr__(self) -> str:  # pragma: no cover - convenience
        return f"EffectSizes(measure={self.measure!r}, k={self.k})"


def effects(
    data,
    measure: str,
    *,
    correction: str = "exact",
    vtype: str = "LS",
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = False,
    source: str | None = None,
    by: str | None = None,
) -> EffectSizes:
    """Compute per-study effect sizes and sampling variances.

    Parameters
    ----------
    data : pandas.DataFrame or mapping
        One row per study. Continuous outcomes need ``study, m1, sd1, n1, m2,
        sd2, n2``; binary outcomes ``study, e1, n1, e2, n2`` (arm 1 is the
        treatment); ``GEN`` needs ``study, yi`` and ``vi`` or ``sei``. Other
        columns are kept as moderators.
    measure : {"SMD", "MD", "OR", "RR", "RD", "PETO", "GEN"}
        metafor's measure codes.
    correction : {"exact", "approx", "none"}
        SMD only. ``"exact"`` (default, metafor) is Hedges' g with the exact
        gamma-function correction; ``"approx"`` uses ``1 - 3/(4m - 1)`` (RevMan,
        Stata ``metan``); ``"none"`` gives Cohen's d.
    vtype : {"LS", "UB", "REVMAN"}
        SMD only. ``"LS"`` (default, metafor):
        ``1/n1 + 1/n2 + g^2 / (2 (n1 + n2))``; ``"UB"``: metafor's unbiased
        estimate; ``"REVMAN"``: ``(n1 + n2)/(n1 n2) + g^2 / (2 (n1 + n2 - 3.94))``
        as in RevMan 5.
    add : float
        Binary measures: the value added to the cells of a 2x2 table (metafor
        default 0.5).
    to : {"only0", "all", "if0all", "none"}
        Which tables get ``add``: only those with a zero cell (default), all,
        all when any table has a zero cell, or none.
    drop00 : bool
        Binary measures: leave out studies with no events (or only events) in
        both arms (default ``False``, as metafor's ``escalc``).
    source : str, optional
        File name used in error messages.
    by : str, optional
        For a table of independent analyses: study labels need only be
        unique within each value of this column.

    Returns
    -------
    EffectSizes

    Raises
    ------
    hepatostat.errors.InputError
        For missing columns, non-numeric cells, impossible values
        (SD <= 0, n < 2, events > n, vi <= 0), duplicate study labels.

    Notes
    -----
    SMD (Hedges 1981): ``d = (m1 - m2) / s_p`` with the pooled SD
    ``s_p^2 = ((n1-1) sd1^2 + (n2-1) sd2^2) / (n1 + n2 - 2)``; ``g = c(m) d``.

    MD: ``yi = m1 - m2``, ``vi = sd1^2/n1 + sd2^2/n2``.

    With ``a = e1, b = n1 - e1, c = e2, d = n2 - e2``:
    OR: ``yi = log(ad / bc)``, ``vi = 1/a + 1/b + 1/c + 1/d``;
    RR: ``yi = log((a/n1) / (c/n2))``, ``vi = 1/a - 1/n1 + 1/c - 1/n2``;
    RD: ``yi = a/n1 - c/n2``, ``vi = p1(1-p1)/n1 + p2(1-p2)/n2``;
    PETO: ``yi = (a - E)/V``, ``vi = 1/V`` with ``E = n1 (a + c)/N`` and
    ``V = n1 n2 (a + c)(b + d) / (N^2 (N - 1))`` (Yusuf et al. 1985); the
    zero-cell correction applies as for the other measures (as in metafor's
    ``escalc``), and a study with ``V = 0`` is excluded. Pooling with
    ``method="PETO"`` uses the uncorrected counts.
    """
    measure = str(measure).upper()
    if measure not in MEASURES:
        raise InputError(
            f"unknown measure {measure!r}; allowed: {', '.join(MEASURES)}",
        )
    if correction not in _SMD_CORRECTIONS:
        raise InputError(f"unknown SMD correction {correction!r}; allowed: {', '.join(_SMD_CORRECTIONS)}")
    vtype = str(vtype).upper()
    if vtype not in _SMD_VTYPES:
        raise InputError(f"unknown vtype {vtype!r}; allowed: {', '.join(_SMD_VTYPES)}")
    if to not in _TO_CHOICES:
        raise InputError(f"unknown zero-cell option to={to!r}; allowed: {', '.join(_TO_CHOICES)}")
    if not np.isfinite(add) or add < 0:
        raise InputError(f"add must be a non-negative number, got {add!r}")

    kind = MEASURES[measure][0]
    args = dict(correction=correction, vtype=vtype, add=add, to=to, drop00=drop00, source=source, by=by)
    from ._light import LightTable

    if isinstance(data, LightTable):
        # a plain CSV read without pandas: used when every row is complete and legal; otherwise
        # the usual reader and checks (the same messages and exclusions as always)
        light = data.validated(kind) if by is None else None
        if light is None:
            return effects(data.full(), measure, **args)
        out = _effects_light(data, light, measure, kind, args)
        return effects(data.full(), measure, **args) if out is None else out
    frame, excluded = validate_meta_frame(data, kind, source=source, by=by)
    excluded = list(excluded)
    options: dict[str, Any] = {}
    flags: dict[str, np.ndarray] = {}

    reasons = np.full(frame.shape[0], None, dtype=object)
    if kind == "continuous":
        yi, vi = _continuous(frame, measure, correction, vtype, options)
    elif kind == "binary":
        yi, vi = _binary(frame, measure, add, to, drop00, options, flags, reasons)
    else:
        yi = frame["yi"].to_numpy(dtype=float)
        vi = frame["vi"].to_numpy(dtype=float)

    # studies whose effect cannot be computed (e.g. Peto with V = 0) are logged
    keep = np.isfinite(yi) & np.isfinite(vi)
    if not keep.all():
        rows = frame["_row"].to_numpy() if "_row" in frame.columns else np.full(len(frame), None)
        for label, ok, why, row in zip(frame["study"], keep, reasons, rows):
            if not ok:
                excluded.append(Exclusion(str(label), why or "effect or variance not estimable",
                                          None if row is None else int(row)))
        frame, yi, vi = frame.loc[keep], yi[keep], vi[keep]
        flags = {key: val[keep] for key, val in flags.items()}

    frame = frame.drop(columns=["_row"], errors="ignore").reset_index(drop=True)
    study = tuple(frame["study"].tolist())
    return EffectSizes(
        measure=measure,
        study=study,
        yi=np.asarray(yi, dtype=float),
        vi=np.asarray(vi, dtype=float),
        _data=frame,
        excluded=tuple(excluded),
        notes=tuple(_notes(measure, study, flags, options)),
        options=options,
        source=None if source is None else str(source),
        flags=flags,
    )


def _effects_light(table, light, measure, kind, args):
    """EffectSizes from a validated LightTable; None when a study's effect is not estimable
    (the full path then logs it as an exclusion)."""
    study, cols = light
    options: dict[str, Any] = {}
    flags: dict[str, np.ndarray] = {}
    reasons = np.full(len(study), None, dtype=object)
    if kind == "continuous":
        yi, vi = _continuous(cols, measure, args["correction"], args["vtype"], options)
    elif kind == "binary":
        yi, vi = _binary(cols, measure, args["add"], args["to"], args["drop00"], options, flags, reasons)
    else:
        yi, vi = cols["yi"], cols["vi"]
    if not (np.all(np.isfinite(yi)) and np.all(np.isfinite(vi))):
        return None
    return EffectSizes(
        measure=measure,
        study=study,
        yi=np.asarray(yi, dtype=float),
        vi=np.asarray(vi, dtype=float),
        _data=partial(table.frame, kind),
        excluded=(),
        notes=tuple(_notes(measure, study, flags, options)),
        options=options,
        source=None if args["source"] is None else str(args["source"]),
        flags=flags,
    )


def _notes(measure, study, flags, options) -> list[str]:
    """The automatic choices to report for these studies."""
    notes = []
    if measure == "SMD" and (options.get("correction") != "exact" or options.get("vtype") != "LS"):
        notes.append(
            f"SMD with correction={options.get('correction')!r}, vtype={options.get('vtype')!r} "
            "(metafor's default is exact correction, vtype 'LS')"
        )
    corrected = flags.get("corrected")
    if corrected is not None and corrected.any():
        which = ", ".join(s for s, c in zip(study, corrected) if c)
        notes.append(f"{fmt_plain(options['add'])} added to every cell of the 2x2 table of {which} "
                     f"(zero cell; to={options['to']!r})")
    double = flags.get("double")
    if double is not None and double.any():
        which = ", ".join(s for s, d in zip(study, double) if d)
        notes.append(f"no events (or only events) in both arms, kept with the correction: {which}")
    return notes


def _continuous(frame, measure, correction, vtype, options):
    m1, sd1, n1, m2, sd2, n2 = (np.asarray(frame[c], dtype=float) for c in CONTINUOUS_COLUMNS[1:])
    if measure == "MD":
        options.update(vtype="LS")
        return m1 - m2, sd1**2 / n1 + sd2**2 / n2
    # SMD
    df = n1 + n2 - 2
    sp = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / df)
    d = (m1 - m2) / sp
    if correction == "none":
        cm = np.ones_like(d)
    else:
        cm = smd_correction_factor(df, exact=(correction == "exact"))
    g = cm * d
    if vtype == "LS":
        vi = 1 / n1 + 1 / n2 + g**2 / (2 * (n1 + n2))
    elif vtype == "UB":
        vi = 1 / n1 + 1 / n2 + (1 - (df - 2) / (df * cm**2)) * g**2
    else:  # REVMAN
        vi = (n1 + n2) / (n1 * n2) + g**2 / (2 * (n1 + n2 - 3.94))
    options.update(correction=correction, vtype=vtype)
    return g, vi


def peto_yi_vi(a, b, c, d):
    """Peto's one-step log odds ratio and its variance for 2x2 tables.

    Returns ``(yi, vi)``; both are NaN where ``V = 0`` (no events or only
    events in both arms). Yusuf S et al. (1985), Prog Cardiovasc Dis
    27(5):335-371, doi:10.1016/S0033-0620(85)80003-7.
    """
    n1, n2 = a + b, c + d
    n = n1 + n2
    expected = n1 * (a + c) / n
    var = (a + c) * (b + d) * (n1 / n) * (n2 / n) / (n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        yi = np.where(var > 0, (a - expected) / var, np.nan)
        vi = np.where(var > 0, 1 / var, np.nan)
    return yi, vi


def _binary(frame, measure, add, to, drop00, options, flags, reasons):
    e1, n1, e2, n2 = (np.asarray(frame[c], dtype=float) for c in BINARY_COLUMNS[1:])
    a, b, c, d = e1, n1 - e1, e2, n2 - e2
    double = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
    any_zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    if to == "all":
        corrected = np.ones_like(any_zero)
    elif to == "only0":
        corrected = any_zero.copy()
    elif to == "if0all":
        corrected = np.full_like(any_zero, any_zero.any())
    else:
        corrected = np.zeros_like(any_zero)
    if add == 0:
        corrected[:] = False
    if drop00:
        corrected &= ~double
    a2, b2, c2, d2 = (x + add * corrected for x in (a, b, c, d))
    n1c, n2c = a2 + b2, c2 + d2
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "OR":
            yi = np.log(a2 * d2 / (b2 * c2))
            vi = 1 / a2 + 1 / b2 + 1 / c2 + 1 / d2
        elif measure == "RR":
            yi = np.log((a2 / n1c) / (c2 / n2c))
            vi = 1 / a2 - 1 / n1c + 1 / c2 - 1 / n2c
        elif measure == "RD":
            p1, p2 = a2 / n1c, c2 / n2c
            yi = p1 - p2
            vi = p1 * (1 - p1) / n1c + p2 * (1 - p2) / n2c
        else:  # PETO
            yi, vi = peto_yi_vi(a2, b2, c2, d2)
    if drop00:
        yi = np.where(double, np.nan, yi)
        vi = np.where(double, np.nan, vi)
        reasons[double] = "no events (or only events) in both arms (drop00=True)"
    bad = ~(np.isfinite(yi) & (vi > 0)) & (reasons == None)  # noqa: E711
    if measure == "PETO":
        reasons[bad] = "no events (or only events) in both arms: Peto's variance is 0, the study carries no information"
    # e.g. a zero cell with no correction: log(0), or RD 0/n vs 0/n: variance 0
    yi = np.where(bad, np.nan, yi)
    vi = np.where(bad, np.nan, vi)
    reasons[bad] = f"{measure} not estimable from these counts without a zero-cell correction (add={fmt_plain(add)}, to={to!r})"
    options.update(add=add, to=to, drop00=drop00)
    flags["corrected"] = np.asarray(corrected, dtype=bool)
    flags["double"] = double & np.isfinite(yi)
    return yi, vi


def split_by_code(es: EffectSizes, code_column: str, row_code: dict, n_groups: int) -> list:
    """Split the effect sizes of a whole table into one EffectSizes per analysis.

    ``es.data[code_column]`` gives each kept study's analysis (0..n_groups-1);
    ``row_code`` maps the spreadsheet row of each excluded study to its
    analysis, so that every exclusion stays with the analysis it belongs to.
    """
    kept_codes = es.data[code_column].to_numpy()
    order = np.argsort(kept_codes, kind="stable")
    bounds = np.searchsorted(kept_codes[order], np.arange(n_groups + 1))
    data = es.data.drop(columns=code_column).iloc[order]
    study = np.asarray(es.study, dtype=object)[order]
    yi, vi = es.yi[order], es.vi[order]
    flags = {key: val[order] for key, val in es.flags.items()}
    excluded = [[] for _ in range(n_groups)]
    for e in es.excluded:
        excluded[row_code[e.row]].append(e)
    out = []
    for g in range(n_groups):
        sl = slice(bounds[g], bounds[g + 1])
        st = tuple(study[sl].tolist())
        fl = {key: val[sl] for key, val in flags.items()}
        out.append(EffectSizes(
            measure=es.measure, study=st, yi=yi[sl], vi=vi[sl], _data=partial(data.iloc.__getitem__, sl),
            excluded=tuple(excluded[g]), notes=tuple(_notes(es.measure, st, fl, es.options)),
            options=dict(es.options), source=es.source, flags=fl,
        ))
    return out
