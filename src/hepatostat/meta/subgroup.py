"""Subgroup analysis with the test for subgroup differences.

Each subgroup is pooled on its own, with its own tau^2 (the RevMan / R
``meta`` convention, Borenstein et al. 2009, ch. 19 "separate estimates of
tau^2"). Subgroup differences are tested with Cochran's Q between the
subgroup estimates (a fixed-effect meta-analysis of the subgroup results,
df = number of subgroups - 1). The alternative with a common tau^2 is the
meta-regression on the subgroup factor (QM), reported beside it.

References
----------
.. [1] Borenstein M, Hedges LV, Higgins JPT, Rothstein HR (2009).
   Introduction to Meta-Analysis. Wiley, chapter 19.
.. [2] Deeks JJ, Higgins JPT, Altman DG (eds) (2023). Chapter 10: Analysing
   data and undertaking meta-analyses, section 10.11.3.1. Cochrane Handbook
   for Systematic Reviews of Interventions, version 6.4.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import _dist
from .._util import finite_or_none as _f
from ..errors import EstimationError, InputError
from ..io.format import fmt, fmt_level, fmt_p_eq, fmt_stat, merge_ci, table_text
from .effects import EffectSizes
from .fit import NotEstimable, PoolResult, pool_many
from .regression import RegressionResult, meta_regression

__all__ = ["SubgroupResult", "subgroup_analysis"]



@dataclass(frozen=True, eq=False)
class SubgroupResult:
    """Per-subgroup pooled results and the tests for subgroup differences."""

    by: str
    levels: tuple
    results: tuple  # PoolResult per level
    overall: PoolResult
    Q_between: float
    Q_between_df: int
    Q_between_pval: float
    common: RegressionResult | None
    notes: tuple = ()

    def to_dict(self) -> dict[str, Any]:
        subgroups = []
        for level, r in zip(self.levels, self.results):
            d = {"level": level, "k": r.k, "estimate": _f(r.estimate), "se": _f(r.se), "ci_low": _f(r.ci_low),
                 "ci_high": _f(r.ci_high), "pval": _f(r.pval), "tau2": _f(r.tau2), "I2": _f(r.I2),
                 "Q": _f(r.Q), "Q_pval": _f(r.Q_pval), "method": r.method, "notes": list(r.notes)}
            ex = r.exp()
            if ex is not None:
                d["exp"] = {k: _f(v) for k, v in ex.items()}
            subgroups.append(d)
        common = None
        if self.common is not None:
            common = {"tau2": _f(self.common.tau2), "QM": _f(self.common.QM), "QMp": _f(self.common.QM_pval),
                      "QM_df": [d for d in self.common.QM_df]}
        return {
            "by": self.by,
            "measure": self.overall.measure,
            "method": self.overall.method,
            "subgroups": subgroups,
            "overall": {"k": self.overall.k, "estimate": _f(self.overall.estimate), "ci_low": _f(self.overall.ci_low),
                        "ci_high": _f(self.overall.ci_high), "tau2": _f(self.overall.tau2), "I2": _f(self.overall.I2)},
            "Q_between": _f(self.Q_between),
            "Q_between_df": int(self.Q_between_df),
            "Q_between_pval": _f(self.Q_between_pval),
            "common_tau2": common,
            "notes": list(self.notes),
        }

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for level, r in zip(self.levels, self.results):
            rows.append({self.by: level, "k": r.k, "estimate": r.estimate, "se": r.se, "ci_low": r.ci_low,
                         "ci_high": r.ci_high, "pval": r.pval, "tau2": r.tau2, "I2": r.I2})
        o = self.overall
        rows.append({self.by: "Overall", "k": o.k, "estimate": o.estimate, "se": o.se, "ci_low": o.ci_low,
                     "ci_high": o.ci_high, "pval": o.pval, "tau2": o.tau2, "I2": o.I2})
        return pd.DataFrame(rows)

    def summary(self) -> str:
        lines = [f"Subgroup analysis by '{self.by}' ({self.overall.method}, separate tau² per subgroup)"]
        ci = f"{fmt_level(self.overall.level)} CI"
        lines.append(table_text(merge_ci(self.to_frame(), "ci_low", "ci_high", ci), {"estimate": "estimate"}))
        lines.append(
            f"Test for subgroup differences: {fmt_stat('Q', self.Q_between, self.Q_between_df)}, "
            f"{fmt_p_eq(self.Q_between_pval)}"
        )
        if self.common is not None:
            stat = "F" if self.common.knha else "QM"
            lines.append(
                f"With a common tau² (meta-regression): tau² = {fmt(self.common.tau2, 'tau2')}, "
                f"{stat} = {fmt(self.common.QM, 'stat')}, {fmt_p_eq(self.common.QM_pval)}"
            )
        for n in self.notes:
            lines.append(f"Note: {n}")
        return "\n".join(lines)

    def plot(self, path=None, **kwargs):
        from .plots import subgroup_forest

        return subgroup_forest(self, path=path, **kwargs)


def subgroup_analysis(es: EffectSizes, by: str, method: str = "REML", *, knha: bool = False,
                      level: float = 0.95) -> SubgroupResult:
    """Pool within each level of ``by`` and test for subgroup differences.

    Parameters
    ----------
    es : EffectSizes
        Effect sizes whose ``data`` holds the column ``by``.
    by : str
        Subgroup column (levels in order of first appearance).
    method, knha, level
        As in :func:`hepatostat.meta.pool`; applied within each subgroup.

    Notes
    -----
    ``Q_between = sum_g w_g (b_g - b_w)^2`` with ``w_g = 1/se_g^2`` and
    ``b_w`` their weighted mean, chi-square with G - 1 df (equal to metafor's
    ``rma(b_g, sei=se_g, mods=~factor(g), method="FE")`` QM). A subgroup
    with one study contributes its own estimate and says so. Studies with
    a missing subgroup value are left out and listed.
    """
    if by not in es.data.columns:
        raise InputError(f"subgroup column '{by}' not found; columns are {', '.join(map(str, es.data.columns))}")
    col = es.data[by]
    notes = []
    missing = col.isna().to_numpy()
    if missing.any():
        which = ", ".join(s for s, m in zip(es.study, missing) if m)
        notes.append(f"left out (no value of '{by}'): {which}")
        es = es.subset(~missing)
        col = es.data[by]
    levels = list(pd.unique(col))
    if len(levels) < 2:
        raise InputError(f"subgroup column '{by}' has {len(levels)} level(s) ({', '.join(map(str, levels))}); "
                         "a subgroup analysis needs at least two", column=by)
    subsets = [es.subset((col == lv).to_numpy()) for lv in levels]
    for lv, sub in zip(levels, subsets):
        if sub.k == 1:
            notes.append(f"subgroup {by} = {lv} has k = 1: its estimate is the study's own")
    # every subgroup and the overall analysis in one batched pass
    pooled = pool_many(subsets + [es], str(method).upper(), knha=knha, level=level, auto_random="DL")
    if isinstance(pooled[-1], NotEstimable):
        raise EstimationError(f"the analysis of all studies is not estimable: {pooled[-1].reason}")
    # a subgroup that cannot be estimated is reported with its reason and left out of the test
    kept = []
    for lv, r in zip(levels, pooled[:-1]):
        if isinstance(r, NotEstimable):
            notes.append(f"subgroup {by} = {lv}: not estimable ({r.reason}); left out of the test for subgroup differences")
        else:
            kept.append((lv, r))
    if len(kept) < 2:
        raise EstimationError(f"fewer than two subgroups of '{by}' could be estimated")
    levels = [lv for lv, _ in kept]
    results, overall = [r for _, r in kept], pooled[-1]
    b = np.array([r.estimate for r in results])
    se = np.array([r.se for r in results])
    if np.any(se <= 0):
        raise EstimationError("a subgroup has a zero standard error; the test for subgroup differences is not defined")
    w = 1 / se**2
    bw = np.sum(w * b) / np.sum(w)
    Qb = float(np.sum(w * (b - bw) ** 2))
    dfb = len(levels) - 1
    common = None
    if method not in ("MH", "PETO", "AUTO"):
        try:
            common = meta_regression(es, [by], method=method, knha=knha, level=level, categorical=[by])
        except EstimationError as exc:
            notes.append(f"common-tau² model not estimable: {exc}")
    else:
        notes.append(f"no common-tau² model for {method} pooling")
    return SubgroupResult(
        by=by, levels=tuple(lv.item() if hasattr(lv, "item") else lv for lv in levels), results=tuple(results),
        overall=overall, Q_between=Qb, Q_between_df=dfb, Q_between_pval=float(_dist.chi2_sf(Qb, dfb)),
        common=common, notes=tuple(notes),
    )
