"""Meta-regression: mixed-effects models with moderators, and permutation tests.

``meta_regression()`` fits ``yi = X b + u_i + e_i`` with any tau^2
estimator of :mod:`hepatostat.meta.estimators` (the same code as pooling),
z or Knapp-Hartung tests, the omnibus test of the moderators (QM), the test
of residual heterogeneity (QE) and the pseudo-R^2. ``permutation_test()``
gives permutation p-values by refitting with the rows of the model matrix
shuffled, as metafor's ``permutest()`` does.

References
----------
.. [1] Viechtbauer W (2010). Conducting meta-analyses in R with the metafor
   package. J Stat Softw 36(3):1-48. doi:10.18637/jss.v036.i03
.. [2] Raudenbush SW (2009). Analyzing effect sizes: random-effects models.
   In Cooper H, Hedges LV, Valentine JC (eds), The Handbook of Research
   Synthesis and Meta-Analysis, 2nd ed., 295-315 (pseudo-R^2).
.. [3] Knapp G, Hartung J (2003). Improved tests for a random effects
   meta-regression with a single covariate. Stat Med 22(17):2693-2710.
   doi:10.1002/sim.1482
.. [4] Higgins JPT, Thompson SG (2004). Controlling the risk of spurious
   findings from meta-regression. Stat Med 23(11):1663-1682.
   doi:10.1002/sim.1752 (permutation tests)
.. [5] Viechtbauer W, Lopez-Lopez JA, Sanchez-Meca J, Marin-Martinez F
   (2015). A comparison of procedures to test for moderators in
   mixed-effects meta-regression models. Psychol Methods 20(3):360-374.
   doi:10.1037/met0000023
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from . import _dist
from .._util import finite_or_none as _f
from ..errors import EstimationError, InputError
from ..io.format import (fmt, fmt_ci, fmt_level, fmt_n, fmt_p_eq, fmt_plain, fmt_stat, table_text_columns,
                         with_digits)
from .data import Exclusion
from .effects import EffectSizes
from .estimators import METHODS, RE_METHODS, fit_rma

__all__ = ["DesignMatrix", "design_matrix", "design_matrix_formula", "RegressionResult", "meta_regression", "PermutationResult", "permutation_test"]


@dataclass(frozen=True, eq=False)
class DesignMatrix:
    """A model matrix with its term names (intercept first)."""

    X: np.ndarray
    terms: tuple
    keep: np.ndarray  # rows of the input used (no missing moderator)
    excluded: tuple = ()
    levels: dict = field(default_factory=dict)  # categorical moderator -> levels (reference first)
    formula: str | None = None
    spec: Any = field(default=None, repr=False)  # formulaic ModelSpec (formula moderators)
    mods: tuple = ()
    categorical: tuple = ()

    def rows(self, newdata) -> np.ndarray:
        """Model-matrix rows for new moderator values (a mapping or a frame), coded as the fit was."""
        import pandas as pd

        new = pd.DataFrame([newdata]) if isinstance(newdata, dict) else pd.DataFrame(newdata)
        if self.spec is not None:
            try:
                mm = self.spec.get_model_matrix(new, na_action="raise")
            except Exception as exc:  # formulaic's errors name the problem; say which values
                raise InputError(f"cannot code the new moderator values {new.to_dict(orient='records')} "
                                 f"with {self.formula}: {exc}") from None
            return np.asarray(mm, dtype=float)
        cols = [np.ones(len(new))] if self.terms and self.terms[0] == "intrcpt" else []
        for m in self.mods:
            if m not in new.columns:
                raise InputError(f"a value of moderator '{m}' is needed to predict", column=m)
            if m in self.levels:
                vals = new[m].astype(str).to_numpy()
                bad = [x for x in vals if x not in self.levels[m]]
                if bad:
                    raise InputError(f"moderator '{m}' has no level {bad[0]!r}; levels are {', '.join(self.levels[m])}",
                                     column=m, value=bad[0])
                cols += [(vals == lv).astype(float) for lv in self.levels[m][1:]]
            else:
                cols.append(pd.to_numeric(new[m], errors="raise").to_numpy(dtype=float))
        return np.column_stack(cols)


def design_matrix(data: pd.DataFrame, mods: Sequence[str], *, categorical: Sequence[str] = (), study=None,
                  intercept: bool = True) -> DesignMatrix:
    """Build the model matrix from moderator columns.

    Numeric columns enter as they are; text columns and those named in
    ``categorical`` are dummy-coded with treatment contrasts, the first level
    in sorted order as reference (as R's ``factor()``). Term names are the
    column name for a numeric moderator and ``col[level]`` for a dummy.
    Rows with a missing moderator value are excluded and logged.
    """
    import pandas as pd

    mods = list(mods)
    for m in mods:
        if m not in data.columns:
            raise InputError(f"moderator column '{m}' not found; columns are {', '.join(map(str, data.columns))}")
    if len(set(mods)) != len(mods):
        raise InputError(f"a moderator is named twice: {', '.join(mods)}")
    unknown = [c for c in categorical if c not in mods]
    if unknown:
        raise InputError(f"categorical moderator(s) {', '.join(unknown)} not among the moderators {', '.join(mods)}")
    k = len(data)
    labels = list(study) if study is not None else [str(i) for i in range(k)]
    missing = np.zeros(k, dtype=bool)
    reasons = {}
    for m in mods:
        miss = data[m].isna().to_numpy()
        for i in np.flatnonzero(miss & ~missing):
            reasons[i] = f"missing value of moderator '{m}'"
        missing |= miss
    keep = ~missing
    sub = data.loc[keep]
    cols, terms, levels = [], [], {}
    if intercept:
        cols.append(np.ones(int(keep.sum())))
        terms.append("intrcpt")
    for m in mods:
        col = sub[m]
        is_cat = m in categorical or not pd.api.types.is_numeric_dtype(col)
        if is_cat:
            lv = sorted(pd.unique(col.astype(str)))
            if len(lv) < 2:
                raise InputError(f"moderator '{m}' has one level ({lv[0] if lv else 'none'}) among the studies analysed; "
                                 "a categorical moderator needs at least two", column=m)
            levels[m] = tuple(lv)
            s = col.astype(str).to_numpy()
            for level in lv[1:]:
                cols.append((s == level).astype(float))
                terms.append(f"{m}[{level}]")
        else:
            v = col.to_numpy(dtype=float)
            if np.ptp(v) == 0:
                raise InputError(f"moderator '{m}' is constant ({fmt_plain(v[0])}) among the studies analysed", column=m)
            cols.append(v)
            terms.append(m)
    X = np.column_stack(cols) if cols else np.empty((int(keep.sum()), 0))
    rank = np.linalg.matrix_rank(X) if X.size else 0
    if rank < X.shape[1]:
        # name the first term that adds nothing to the ones before it
        for j in range(1, X.shape[1] + 1):
            if np.linalg.matrix_rank(X[:, :j]) < j:
                raise InputError(
                    f"moderators are collinear: term '{terms[j - 1]}' is a linear combination of "
                    f"{', '.join(terms[:j - 1])}; drop one of them"
                )
    excluded = tuple(Exclusion(labels[i], reasons[i]) for i in sorted(reasons))
    return DesignMatrix(X=X, terms=tuple(terms), keep=keep, excluded=excluded, levels=levels, mods=tuple(mods),
                        categorical=tuple(categorical))


def _metafor_term(name: str) -> str:
    """formulaic's column name -> metafor's (``C(a)[T.x]`` -> ``factor(a)x``, ``a[T.x]`` -> ``ax``)."""
    import re

    if name == "Intercept":
        return "intrcpt"
    parts = []
    for part in name.split(":"):
        part = re.sub(r"^C\((\w+)\)\[T\.(.*)\]$", r"factor(\1)\2", part)
        part = re.sub(r"^(\w+)\[T\.(.*)\]$", r"\1\2", part)
        if part.startswith("I("):
            part = re.sub(r"\s*\^\s*", "^", part.replace("**", "^"))
        parts.append(part)
    return ":".join(parts)


def design_matrix_formula(data: pd.DataFrame, formula: str, *, study=None) -> DesignMatrix:
    """The model matrix of an R-style moderator formula (``"~ ablat + factor(alloc)"``).

    Built with formulaic: numeric columns as they are, text columns and
    ``factor(col)`` dummy-coded with treatment contrasts (first level in sorted
    order as reference, as R), ``a:b`` and ``a*b`` interactions, ``I(x^2)``.
    Term names are metafor's (``factor(alloc)random``, ``ablat:factor(alloc)random``).
    Rows with a missing moderator value are excluded and logged.
    """
    import re

    from formulaic import model_matrix

    text = str(formula).strip()
    if not text.startswith("~"):
        raise InputError(f"a moderator formula starts with '~' (e.g. '~ ablat + factor(alloc)'), got {text!r}")
    py = re.sub(r"\bfactor\(\s*(\w+)\s*\)", r"C(\1)", text)
    py = re.sub(r"\^", "**", py)
    names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", py)) - {"C", "I", "factor"}
    missing_cols = [n for n in names if n not in data.columns]
    if missing_cols:
        raise InputError(f"moderator column '{missing_cols[0]}' of {text} not found; "
                         f"columns are {', '.join(map(str, data.columns))}")
    used = [n for n in data.columns if n in names]
    k = len(data)
    labels = list(study) if study is not None else [str(i) for i in range(k)]
    miss = data[used].isna().any(axis=1).to_numpy() if used else np.zeros(k, dtype=bool)
    excluded = tuple(Exclusion(labels[i], f"missing value of a moderator in {text}") for i in np.flatnonzero(miss))
    sub = data.loc[~miss].reset_index(drop=True)
    try:
        mm = model_matrix(py, sub, na_action="raise")
    except Exception as exc:
        raise InputError(f"cannot build the model matrix of {text}: {exc}") from None
    X = np.asarray(mm, dtype=float)
    terms = tuple(_metafor_term(c) for c in mm.columns)
    if X.shape[1] and np.linalg.matrix_rank(X) < X.shape[1]:
        for j in range(1, X.shape[1] + 1):
            if np.linalg.matrix_rank(X[:, :j]) < j:
                raise InputError(f"moderators are collinear: term '{terms[j - 1]}' is a linear combination of "
                                 f"{', '.join(terms[:j - 1])}; drop one of them")
    return DesignMatrix(X=X, terms=terms, keep=~miss, excluded=excluded, formula=text, spec=mm.model_spec)



@dataclass(frozen=True, eq=False)
class RegressionResult:
    """A fitted meta-regression (mixed-effects or fixed-effects with moderators)."""

    measure: str
    method: str
    knha: bool
    level: float
    k: int
    terms: tuple
    estimate: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    pval: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    vcov: np.ndarray
    tau2: float
    se_tau2: float
    I2: float
    H2: float
    R2: float
    QM: float
    QM_df: tuple
    QM_pval: float
    QE: float
    QE_df: int
    QE_pval: float
    df: float | None
    study: tuple
    yi: np.ndarray
    vi: np.ndarray
    X: np.ndarray
    excluded: tuple = ()
    notes: tuple = ()
    tau2_ci: tuple = (np.nan, np.nan)
    design: DesignMatrix | None = field(default=None, repr=False)

    def predict(self, newdata) -> pd.DataFrame:
        """Predicted effects at new moderator values (metafor ``predict.rma(newmods=)``).

        ``newdata``: a mapping (one point) or a frame of moderator values, or a
        model-matrix array (with the intercept column). Returns ``pred, se,
        ci_low, ci_high, pi_low, pi_high`` per row; the prediction interval
        is ``pred ± crit sqrt(se² + tau2)`` (t with k - p df under
        Knapp-Hartung, else normal), as metafor.
        """
        import pandas as pd

        if isinstance(newdata, np.ndarray):
            Xn = np.atleast_2d(np.asarray(newdata, float))
        else:
            if self.design is None:
                raise InputError("this result has no moderator coding; give the model-matrix rows as an array")
            Xn = self.design.rows(newdata)
        if Xn.shape[1] != len(self.terms):
            raise InputError(f"new moderator rows have {Xn.shape[1]} columns; the model has {len(self.terms)} "
                             f"({', '.join(self.terms)})")
        pred = Xn @ self.estimate
        se = np.sqrt(np.einsum("ij,jk,ik->i", Xn, self.vcov, Xn))
        crit = (_dist.t_isf((1 - self.level) / 2, self.k - len(self.terms)) if self.knha
                else _dist.norm_isf((1 - self.level) / 2))
        pise = np.sqrt(se**2 + (self.tau2 if self.method in RE_METHODS else 0.0))
        frame = pd.DataFrame({"pred": pred, "se": se, "ci_low": pred - crit * se, "ci_high": pred + crit * se,
                              "pi_low": pred - crit * pise, "pi_high": pred + crit * pise})
        if not isinstance(newdata, np.ndarray):
            new = pd.DataFrame([newdata]) if isinstance(newdata, dict) else pd.DataFrame(newdata).reset_index(drop=True)
            frame = pd.concat([new, frame], axis=1)
        return frame

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``hepatostat meta regress``."""
        return {
            "measure": self.measure,
            "method": self.method,
            "test": "knha" if self.knha else "z",
            "k": self.k,
            "coefficients": [
                {"term": t, "estimate": _f(b), "se": _f(s), "stat": _f(z), "pval": _f(p), "ci_low": _f(lo), "ci_high": _f(hi)}
                for t, b, s, z, p, lo, hi in zip(self.terms, self.estimate, self.se, self.stat, self.pval, self.ci_low, self.ci_high)
            ],
            "tau2": _f(self.tau2),
            "se_tau2": _f(self.se_tau2),
            "tau2_ci": [_f(x) for x in self.tau2_ci],
            "formula": self.design.formula if self.design is not None else None,
            "I2": _f(self.I2),
            "H2": _f(self.H2),
            "R2": _f(self.R2),
            "QM": _f(self.QM),
            "QM_df": [int(d) if d is not None else None for d in self.QM_df],
            "QMp": _f(self.QM_pval),
            "QE": _f(self.QE),
            "QE_df": int(self.QE_df),
            "QEp": _f(self.QE_pval),
            "df": _f(self.df) if self.df is not None else None,
            "excluded": [e.to_dict() for e in self.excluded],
            "notes": list(self.notes),
        }

    def _columns(self) -> list:
        """The coefficient table as ``(name, values)`` pairs (:meth:`to_frame` without pandas)."""
        return [("term", list(self.terms)), ("estimate", np.asarray(self.estimate)), ("se", np.asarray(self.se)),
                ("stat", np.asarray(self.stat)), ("pval", np.asarray(self.pval)),
                ("ci_low", np.asarray(self.ci_low)), ("ci_high", np.asarray(self.ci_high))]

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(dict(self._columns()))

    def summary(self, digits: int | None = None) -> str:
        st = with_digits(digits)
        kind = "Mixed-effects" if self.method in RE_METHODS else "Fixed-effects"
        lines = [f"{kind} meta-regression ({self.method}{', Knapp-Hartung' if self.knha else ''}); "
                 f"k = {fmt_n(self.k, st)}; measure {self.measure}"]
        if self.method in RE_METHODS:
            r2 = "NA" if not np.isfinite(self.R2) else fmt(self.R2, "I2", st)
            ci = (f" ({fmt_level(self.level)} CI {fmt_ci(self.tau2_ci[0], self.tau2_ci[1], 'tau2', st)})"
                  if np.isfinite(self.tau2_ci[0]) else "")
            lines.append(f"residual tau² = {fmt(self.tau2, 'tau2', st)}{ci} (SE = {fmt(self.se_tau2, 'se', st)}); "
                         f"I² = {fmt(self.I2, 'I2', st)}; H² = {fmt(self.H2, 'stat', st)}; R² = {r2}")
        lines.append(f"Residual heterogeneity: {fmt_stat('QE', self.QE, self.QE_df, style=st)}, "
                     f"{fmt_p_eq(self.QE_pval, st)}")
        if self.knha:
            lines.append(f"Test of moderators: {fmt_stat('F', self.QM, tuple(self.QM_df), style=st)}, "
                         f"{fmt_p_eq(self.QM_pval, st)}")
        else:
            lines.append(f"Test of moderators: {fmt_stat('QM', self.QM, self.QM_df[0], style=st)}, "
                         f"{fmt_p_eq(self.QM_pval, st)}")
        tst = st if digits is not None else _coef_style(self.estimate, st)
        lines.append(_coef_text(self._columns(), f"{fmt_level(self.level)} CI", tst))
        for e in self.excluded:
            lines.append(f"Excluded: {e.study}: {e.reason}")
        for n in self.notes:
            lines.append(f"Note: {n}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _coef_style(estimates, style):
    """Decimals for a coefficient table: a slope per year or per unit is often 0.003, which the journal's
    two decimals would print as 0.00; use up to four so the smallest coefficient keeps two significant digits."""
    vals = [abs(float(v)) for v in np.atleast_1d(estimates) if np.isfinite(v) and v != 0]
    d = style.digits("estimate")
    if vals:
        d = int(min(4, max(d, 1 - math.floor(math.log10(min(vals))))))
    return style.with_(decimals={"estimate": d, "ci": d, "se": max(style.digits("se"), d)})


def _coef_text(columns, ci_name, style=None):
    """The coefficient table as text: ci_low and ci_high merged into one column ``a to b`` (as
    ``io.format.merge_ci``), printed by ``io.format.table_text_columns`` (no pandas)."""
    from ..io.format import DEFAULT

    style = DEFAULT if style is None else style
    d = dict(columns)
    merged = [fmt_ci(a, b, "ci", style) for a, b in zip(d["ci_low"].tolist(), d["ci_high"].tolist())]
    out = []
    for name, vals in columns:
        if name == "ci_low":
            out.append((ci_name, merged))
        elif name != "ci_high":
            out.append((name, vals))
    return table_text_columns(out, _COEF_KINDS, style)


#: how the coefficient table prints (io.format kinds)
_COEF_KINDS = {"estimate": "estimate", "se": "se", "stat": "stat", "pval": "p", "ci_low": "ci", "ci_high": "ci",
               "pval_perm": "p"}


def _fit_core(y, v, X, method, knha, level, btt):
    """One fit through the kernel: coefficient tests, QM and the Q-profile CI of tau²."""
    from .kernel import fit as kernel_fit

    k, p = X.shape
    f = kernel_fit(y, v, None, X, method=method, knha=knha, level=level, qprofile=method in RE_METHODS,
                   btt=btt or None)
    if f.status[0] != "ok":
        raise EstimationError(str(f.reason[0]))
    m = len(btt)
    qm_df = (m, k - p) if knha else (m, None)
    QM = float(f.QM[0]) if m else np.nan
    QMp = float(f.QM_pval[0]) if m else np.nan
    return f, QM, QMp, qm_df


def meta_regression(
    es: EffectSizes,
    mods: Sequence[str] | str,
    *,
    method: str = "REML",
    knha: bool = False,
    level: float = 0.95,
    categorical: Sequence[str] = (),
    design: DesignMatrix | None = None,
) -> RegressionResult:
    """Fit a meta-regression of the effect sizes on moderator columns.

    Parameters
    ----------
    es : EffectSizes
        Effect sizes whose ``data`` holds the moderator columns.
    mods : sequence of str, or str
        Moderator columns (see :func:`design_matrix` for coding), or an R-style
        formula such as ``"~ ablat + factor(alloc)"`` or ``"~ ablat * factor(alloc)"``
        (see :func:`design_matrix_formula`).
    method : str
        ``"FE"`` or a tau^2 estimator (``DL, REML, ML, PM, SJ, HE, EB``).
    knha : bool
        Knapp-Hartung: t tests with k - p df and an F test for QM.
    categorical : sequence of str
        Numeric columns to treat as categorical.
    design : DesignMatrix, optional
        The model matrix of ``mods`` already built (the command line builds it from a plain CSV without
        pandas: :func:`hepatostat.meta._light.regression_design`); ``es.data`` is then not read.

    Notes
    -----
    ``QM = b' V^-1 b`` over the non-intercept coefficients, chi-square with
    m df (or ``QM/m`` against F(m, k - p) under Knapp-Hartung).
    ``QE = y' P y`` with fixed-effect weights, chi-square with k - p df.
    Pseudo-R^2 (Raudenbush 2009) is
    ``max(0, 100 (tau2_RE - tau2_ME) / tau2_RE)`` with ``tau2_RE`` from the
    intercept-only model by the same estimator (0 when ``tau2_RE`` is 0);
    for a fixed-effects model it is metafor's adjusted R^2 of the weighted
    least-squares fit.
    """
    method = str(method).upper()
    if method not in METHODS:
        raise InputError(f"unknown method {method!r} for meta-regression; allowed: {', '.join(METHODS)}")
    if not mods:
        raise InputError("meta-regression needs at least one moderator (--mods)")
    if design is not None:
        dm = design
    elif isinstance(mods, str) and mods.strip().startswith("~"):
        if categorical:
            raise InputError("with a formula, mark categorical moderators as factor(col) in the formula")
        dm = design_matrix_formula(es.data, mods, study=es.study)
    else:
        dm = design_matrix(es.data, [mods] if isinstance(mods, str) else mods, categorical=categorical,
                           study=es.study)
    y, v = es.yi[dm.keep], es.vi[dm.keep]
    X = dm.X
    k, p = X.shape
    study = tuple(s for s, ok in zip(es.study, dm.keep) if ok)
    notes = list(es.notes)
    if k <= p:
        raise EstimationError(f"{k} studies cannot estimate {p} coefficients (moderators: {', '.join(dm.terms[1:])})")
    btt = list(range(1, p)) if dm.terms and dm.terms[0] == "intrcpt" else list(range(p))
    f, QM, QMp, qm_df = _fit_core(y, v, X, method, knha, level, btt)
    tau2 = float(f.tau2[0])
    R2 = _pseudo_r2(y, v, X, tau2, method)
    if method in RE_METHODS and tau2 == 0:
        notes.append("residual tau² estimated at 0")
    return RegressionResult(
        measure=es.measure, method=method, knha=knha, level=level, k=k, terms=dm.terms,
        estimate=f.beta[0], se=f.se[0], stat=f.stat[0], pval=f.pval[0], ci_low=f.ci_low[0], ci_high=f.ci_high[0],
        vcov=f.vb[0], tau2=tau2, se_tau2=float(f.se_tau2[0]) if method in RE_METHODS else np.nan, I2=float(f.I2[0]),
        H2=float(f.H2[0]), R2=R2, QM=QM, QM_df=qm_df, QM_pval=QMp, QE=float(f.QE[0]), QE_df=int(f.QE_df[0]),
        QE_pval=float(f.QE_pval[0]), df=float(k - p) if knha else None, study=study, yi=y, vi=v, X=X,
        excluded=tuple(es.excluded) + dm.excluded, notes=tuple(notes),
        tau2_ci=(float(f.tau2_ci_low[0]), float(f.tau2_ci_high[0])), design=dm,
    )


def _pseudo_r2(y, v, X, tau2_me, method):
    k, p = X.shape
    if method == "FE":
        if np.var(y) == 0:
            return 0.0
        w = 1 / v
        XtW = X.T * w
        b = np.linalg.solve(XtW @ X, XtW @ y)
        resid = y - X @ b
        ybar = np.sum(w * y) / np.sum(w)
        ss_res = np.sum(w * resid**2)
        ss_tot = np.sum(w * (y - ybar) ** 2)
        r2 = 1 - ss_res / ss_tot
        adj = 1 - (1 - r2) * (k - 1) / (k - p)
        return max(0.0, 100 * adj)
    tau2_re = fit_rma(y, v, method=method).tau2
    if tau2_re == 0:
        return 0.0
    return max(0.0, 100 * (tau2_re - tau2_me) / tau2_re)


@dataclass(frozen=True, eq=False)
class PermutationResult:
    """Permutation p-values for a meta-regression's coefficients and QM."""

    terms: tuple
    pval: np.ndarray
    QM_pval: float
    iterations: int
    exact: bool
    seed: int | None
    model: RegressionResult
    not_estimable: int = 0  # permutations whose refit could not be estimated (left out of the counts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "iterations": self.iterations,
            "not_estimable": self.not_estimable,
            "exact": self.exact,
            "seed": self.seed,
            "coefficients": [{"term": t, "pval_perm": _f(pv)} for t, pv in zip(self.terms, self.pval)],
            "QMp_perm": _f(self.QM_pval),
        }

    def _columns(self) -> list:
        return self.model._columns() + [("pval_perm", np.asarray(self.pval))]

    def to_frame(self) -> pd.DataFrame:
        frame = self.model.to_frame()
        frame["pval_perm"] = self.pval
        return frame

    def summary(self) -> str:
        kind = "exact" if self.exact else f"approximate, {fmt_n(self.iterations)} iterations, seed {self.seed}"
        lines = [f"Permutation test ({kind})", f"Test of moderators: permutation {fmt_p_eq(self.QM_pval)}"]
        lines.append(_coef_text(self._columns(), f"{fmt_level(self.model.level)} CI"))
        return "\n".join(lines)


_COMPTOL = np.sqrt(np.finfo(float).eps)  # as metafor's permutest (comptol)


def _multiset_permutations(counts):
    """All distinct orderings of a multiset given as counts per code (lexicographic)."""
    n = int(sum(counts))
    counts = list(counts)
    seq = [0] * n

    def rec(pos):
        if pos == n:
            yield tuple(seq)
            return
        for c in range(len(counts)):
            if counts[c]:
                counts[c] -= 1
                seq[pos] = c
                yield from rec(pos + 1)
                counts[c] += 1

    return rec(0)


def _n_unique_permutations(X):
    _, counts = np.unique(X, axis=0, return_counts=True)
    n = math.factorial(int(counts.sum()))
    for c in counts:
        n //= math.factorial(int(c))
    return n


def permutation_test(model: RegressionResult, *, iterations: int = 1000, seed: int | None = None,
                     exact: bool | None = None, progress=None) -> PermutationResult:
    """Permutation test of a meta-regression (Higgins & Thompson 2004).

    The rows of the model matrix are shuffled relative to ``(yi, vi)`` and the
    model refitted; a coefficient's p-value is the share of permutations
    (the observed one counted once) whose ``|z|`` (or ``|t|``) is at least the
    observed one, and the omnibus p-value likewise for QM, as in metafor's
    ``permutest()``. The exact test (all distinct permutations) is used when
    ``exact=True`` or when there are no more distinct permutations than
    ``iterations``.

    Parameters
    ----------
    model : RegressionResult
    iterations : int
        Number of random permutations (the observed order counts as one).
    seed : int, optional
        Seed of Python's Mersenne Twister (:class:`random.Random`); each
        permutation is the ranking of ``k`` uniform draws from it. Python keeps
        that generator's sequence for a seed across versions (numpy's
        ``Generator`` makes no such promise), so a seed gives the same
        permutations on any installation. They are not the ones
        R's ``set.seed`` draws, so p-values agree with metafor only within
        Monte Carlo error.
    exact : bool, optional
    progress : callable, optional
        Called as ``progress(done, total)``.
    """
    if iterations < 2:
        raise InputError(f"iterations must be >= 2, got {iterations}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise InputError(f"the random seed (--seed) must be a whole number >= 0, got {seed!r}")
    if model.k < 3:
        raise InputError(f"a permutation test needs k >= 3 studies, got k = {model.k}")
    X, y, v = model.X, model.yi, model.vi
    n_exact = _n_unique_permutations(X)
    use_exact = bool(exact) or (exact is None and n_exact <= iterations)
    if use_exact and n_exact > 1_000_000:
        raise InputError(f"an exact permutation test would need {n_exact} fits; use an approximate test (exact=False)")
    from .batch import fit_batch_reg

    p = X.shape[1]
    obs_z = np.abs(model.stat)
    obs_qm = model.QM
    if use_exact:
        uniq, codes = np.unique(X, axis=0, return_inverse=True)
        counts = np.bincount(codes.ravel(), minlength=len(uniq))
        orders = (np.array(seq) for seq in _multiset_permutations(counts))
        total = n_exact

        def draw(c):
            seqs = list(itertools.islice(orders, c))
            return uniq[np.stack(seqs)] if seqs else None
    else:
        import random  # (already imported by statistics: nothing added to the start-up)

        rng = random.Random(seed)
        total = iterations
        todo = iterations - 1  # the observed order is the first

        def draw(c):
            nonlocal todo
            c = min(c, todo)
            if c <= 0:
                return None
            todo -= c
            draw_one = rng.random
            u = np.array([draw_one() for _ in itertools.repeat(None, c * model.k)]).reshape(c, model.k)
            return X[np.argsort(u, axis=1, kind="stable")]
    count_z = np.zeros(p)
    count_qm = 0
    n = 0
    failed = 0
    if not use_exact:  # the observed data count as the first permutation (as metafor)
        count_z += 1
        count_qm += 1
        n = 1
    chunk = max(1, min(2048, 2_000_000 // max(1, model.k * model.k)))  # 1,000 permutations: one vectorised fit
    while True:
        Xs = draw(chunk)
        if Xs is None:
            break
        # (rows of the model's X, whose rank meta_regression checked: the same rank in any order)
        fit = fit_batch_reg(y, v, Xs, model.method, knha=model.knha, rank_checked=True)
        ok = (fit["status"] == "ok") & np.all(np.isfinite(fit["stat"]), axis=1)
        failed += int((~ok).sum())
        count_z += np.sum(np.abs(fit["stat"][ok]) >= obs_z - _COMPTOL, axis=0)
        count_qm += int(np.sum(fit["QM"][ok] >= obs_qm - _COMPTOL))
        n += int(ok.sum())
        if progress is not None:
            progress(n, total)
    return PermutationResult(
        terms=model.terms, pval=count_z / n, QM_pval=count_qm / n, iterations=n,
        exact=use_exact, seed=None if use_exact else seed, model=model, not_estimable=failed,
    )
