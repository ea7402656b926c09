"""Many outcomes and time points from one long table, as a review reports them.

A review such as Liu et al. 2022 (Stem Cell Res Ther) pools each
outcome (MELD, albumin, bilirubin, ...) at each time point (baseline, 2, 4,
12, 24, 48 weeks) separately and reports k, the pooled SMD or OR with its CI
and p, I², and the model used. It also reasons that when the groups already
differ at baseline, later time points are not comparable. This module does
both from one long table with ``outcome`` and ``timepoint`` columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import EstimationError, HepatostatError, InputError
from ..io.format import fmt, fmt_ci, fmt_n, fmt_p_eq, merge_ci, table_text
from .data import Exclusion, exclusion_text, spreadsheet_rows
from .effects import MEASURES, effects
from .fit import pool

__all__ = ["OutcomeTable", "outcome_table", "BASELINE_LABELS"]

#: time-point labels read as baseline (case-insensitive)
BASELINE_LABELS = ("baseline", "w0", "week 0", "0", "pre", "before")



@dataclass(frozen=True, eq=False)
class OutcomeTable:
    """One pooled analysis per outcome × time point, with baseline flags."""

    outcome_col: str
    time_col: str
    keys: tuple  # (outcome, timepoint) per analysis
    results: tuple  # PoolResult or None
    errors: tuple  # str or None
    flags: tuple  # str or None ("not comparable at baseline ...")
    alpha: float
    excluded: tuple = ()  # rows in no analysis (blank outcome or time point), as Exclusion


    def to_frame(self) -> pd.DataFrame:
        rows = []
        for (o, t), r, err, flag in zip(self.keys, self.results, self.errors, self.flags):
            row = {self.outcome_col: o, self.time_col: t}
            if r is None:
                row.update(k=0, measure=None, model=None, estimate=np.nan, ci_low=np.nan, ci_high=np.nan, pval=np.nan,
                           I2=np.nan, Q_pval=np.nan, flag=flag, note=err, excluded=None)
            else:
                ex = r.exp()
                est, lo, hi = (ex["estimate"], ex["ci_low"], ex["ci_high"]) if ex else (r.estimate, r.ci_low, r.ci_high)
                row.update(k=r.k, measure=r.measure, model=f"{r.model} ({r.method})", estimate=est, ci_low=lo,
                           ci_high=hi, pval=r.pval, I2=r.I2, Q_pval=r.Q_pval, flag=flag, note=None,
                           excluded=exclusion_text(r.excluded))
            rows.append(row)
        for e in self.excluded:
            rows.append({self.outcome_col: None, self.time_col: None, "k": 0, "note": e.reason,
                         "excluded": exclusion_text([e])})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        analyses = []
        for (o, t), r, err, flag in zip(self.keys, self.results, self.errors, self.flags):
            d: dict[str, Any] = {"outcome": o, "timepoint": t, "flag": flag}
            if r is None:
                d.update({"k": 0, "error": err})
            else:
                d.update(r.to_dict())
            analyses.append(d)
        return {"outcome_col": self.outcome_col, "time_col": self.time_col, "analyses": analyses,
                "excluded": [e.to_dict() for e in self.excluded]}

    def sentences(self) -> list[str]:
        """Results in the words a review uses ("The MELD score significantly decreased at 4 weeks (SMD …)")."""
        out = []
        for (o, t), r, flag in zip(self.keys, self.results, self.flags):
            if r is None:
                continue
            ex = r.exp()
            est, lo, hi = (ex["estimate"], ex["ci_low"], ex["ci_high"]) if ex else (r.estimate, r.ci_low, r.ci_high)
            name = {"SMD": "SMD", "MD": "MD", "OR": "OR", "RR": "RR", "RD": "RD", "PETO": "OR"}.get(r.measure, "estimate")
            p = fmt_p_eq(r.pval)
            i2 = "" if not np.isfinite(r.I2) else f"; I² = {fmt(r.I2, 'I2')}"
            sig = "differed significantly" if r.pval < self.alpha else "did not differ significantly"
            text = (f"{o} at {t}: the groups {sig} ({name} {fmt(est, 'estimate')}, 95% CI {fmt_ci(lo, hi)}; {p}{i2}; "
                    f"{r.model}, k = {fmt_n(r.k)}).")
            if flag:
                text += f" {flag}."
            out.append(text)
        return out

    def summary(self) -> str:
        frame = self.to_frame()
        show = frame.drop(columns=["note"]) if frame["note"].isna().all() else frame
        show = show.drop(columns=["excluded"])
        lines = [table_text(merge_ci(show, "ci_low", "ci_high", "95% CI"), {"estimate": "estimate"})]
        lines += self.sentences()
        for (o, t), err in zip(self.keys, self.errors):
            if err:
                lines.append(f"{o} at {t}: not estimable ({err})")
        for (o, t), r in zip(self.keys, self.results):
            for e in (r.excluded if r is not None else ()):
                lines.append(f"{o} at {t}: excluded {e.study}{f' (row {e.row})' if e.row is not None else ''}: {e.reason}")
        for e in self.excluded:
            lines.append(f"Excluded {e.study}{f' (row {e.row})' if e.row is not None else ''}: {e.reason}")
        return "\n".join(lines)


def _is_baseline(value, baseline) -> bool:
    if baseline is not None:
        return str(value).strip().lower() == str(baseline).strip().lower()
    return str(value).strip().lower() in BASELINE_LABELS


def outcome_table(data: pd.DataFrame, measure: str | None = None, method: str = "auto", *,
                  outcome: str = "outcome", timepoint: str = "timepoint", baseline: str | None = None,
                  knha: bool = False, level: float = 0.95, alpha: float = 0.05, auto_random: str = "DL",
                  source: str | None = None, effect_options: dict | None = None) -> OutcomeTable:
    """Pool every outcome × time point of a long table.

    Parameters
    ----------
    data : DataFrame
        One row per study × outcome × time point with arm-level columns (or
        ``yi``/``vi``). A ``measure`` column, when present, gives each
        outcome's measure (e.g. SMD for MELD, OR for survival).
    measure : str, optional
        The measure for rows without a ``measure`` column.
    method : str
        Pooling method; ``"auto"`` (default) applies the review's rule.
    outcome, timepoint : str
        Column names.
    baseline : str, optional
        The baseline time-point label; by default any of ``BASELINE_LABELS``.
    alpha : float
        Significance level of the baseline check.

    Notes
    -----
    Baseline check, as the review reasoned: when an outcome's baseline
    comparison differs significantly (p < alpha), its later time points are
    flagged "not comparable at baseline" (the result is still shown).
    Analyses keep the order of first appearance.
    """
    for col in (outcome, timepoint):
        if col not in data.columns:
            raise InputError(f"column '{col}' not found; columns are {', '.join(map(str, data.columns))}", file=source)
    has_measure_col = "measure" in data.columns
    if measure is None and not has_measure_col:
        raise InputError("give a measure (--measure) or a 'measure' column", file=source)
    effect_options = effect_options or {}
    excluded = []
    blank = np.zeros(len(data), dtype=bool)
    for col in (outcome, timepoint):
        blank |= data[col].isna().to_numpy() | data[col].astype(str).str.strip().eq("").to_numpy()
    if blank.any():
        rows = spreadsheet_rows(data)
        labels = data["study"].astype(str).tolist() if "study" in data.columns else [f"row {r}" for r in rows]
        for i in np.flatnonzero(blank):
            which = outcome if pd.isna(data[outcome].iloc[i]) or not str(data[outcome].iloc[i]).strip() else timepoint
            excluded.append(Exclusion(labels[i], f"no value of '{which}': belongs to no analysis", int(rows[i])))
        data = data.loc[~blank]
    keys, results, errors = [], [], []
    # analyses ordered by outcome, then time point, each in order of first appearance in the table
    o_rank = {v: i for i, v in enumerate(pd.unique(data[outcome]))}
    t_rank = {v: i for i, v in enumerate(pd.unique(data[timepoint]))}
    groups = sorted(data.groupby([outcome, timepoint], sort=False, dropna=False),
                    key=lambda g: (o_rank[g[0][0]], t_rank[g[0][1]]))
    for (o, t), sub in groups:
        m = measure
        if has_measure_col:
            ms = sub["measure"].dropna().astype(str).str.upper().unique()
            if len(ms) > 1:
                raise InputError(f"outcome {o} at {t} has more than one measure ({', '.join(ms)})", file=source, column="measure")
            if len(ms) == 1:
                m = ms[0]
        if m is None or m not in MEASURES:
            raise InputError(f"outcome {o} at {t}: unknown or missing measure {m!r}; allowed: {', '.join(MEASURES)}",
                             file=source, column="measure")
        # arm-level columns that belong to another measure kind may be empty here: keep only what this one needs
        try:
            es = effects(sub, m, source=source, **effect_options)
            r = pool(es, method, knha=knha, level=level, auto_random=auto_random)
            results.append(r)
            errors.append(None)
        except EstimationError as exc:
            results.append(None)
            errors.append(str(exc))
        except HepatostatError as exc:
            raise type(exc)(f"{outcome} = {o}, {timepoint} = {t}: {exc}") from None
        keys.append((o, t))
    flags = []
    base_sig = {}
    for (o, t), r in zip(keys, results):
        if _is_baseline(t, baseline) and r is not None:
            base_sig[o] = (r.pval < alpha, r)
    for (o, t) in keys:
        flag = None
        if not _is_baseline(t, baseline) and o in base_sig and base_sig[o][0]:
            b = base_sig[o][1]
            flag = f"not comparable at baseline (baseline {fmt_p_eq(b.pval)})"
        flags.append(flag)
    return OutcomeTable(outcome_col=outcome, time_col=timepoint, keys=tuple(keys), results=tuple(results),
                        errors=tuple(errors), flags=tuple(flags), alpha=alpha, excluded=tuple(excluded))
