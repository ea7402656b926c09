"""Supplementary tables of the review in the layout of Liu et al. 2022, Tables S1–S6.

For every outcome and every time point with enough studies:

- :func:`subgroup_table`: the pooled effect within each level of each
  subgroup variable (k, effect, 95% CI, P, I²) and the P value of the test
  for subgroup differences (the review's Tables S1, S3, S5);
- :func:`sensitivity_table`: the pooled effect with each study left out in
  turn (the review's Tables S2, S4, S6), with one sentence per time point on
  whether one omission explains the heterogeneity.

Numbers stay numbers (the report's one formatter shows them); ratio
measures are exponentiated. Each time point is pooled with the model the
plan asks for (the review's rule by default), and the subgroups and
leave-one-out refits use that time point's estimator.
"""

from __future__ import annotations

import math

import pandas as pd

__all__ = ["subgroup_columns", "subgroup_table", "sensitivity_table", "MIN_K_SUBGROUP", "MIN_K_SENSITIVITY"]

#: fewest studies at a time point for a subgroup analysis (at least two levels, one of them with two studies)
MIN_K_SUBGROUP = 4
#: fewest studies at a time point for leave-one-out (each refit keeps two or more)
MIN_K_SENSITIVITY = 3

_CORE = {"study", "outcome", "timepoint", "measure", "m1", "sd1", "n1", "m2", "sd2", "n2", "e1", "e2", "yi", "vi", "sei",
         "synthetic", "unit", "arm", "note", "notes", "source", "p_reported"}


def subgroup_columns(data: pd.DataFrame, *, outcome_col="outcome", time_col="timepoint", max_levels: int = 8) -> list:
    """Columns of the extraction table that describe studies in a few categories (candidate subgroups)."""
    out = []
    for c in data.columns:
        if c in _CORE or c in (outcome_col, time_col) or pd.api.types.is_numeric_dtype(data[c]):
            continue
        n = data[c].dropna().astype(str).nunique()
        if 2 <= n <= max_levels:
            out.append(c)
    return out


def _label(name: str) -> str:
    return str(name).replace("_", " ").capitalize()


def _tr(res):
    ratio = str(res.measure).upper() in ("OR", "RR", "PETO") or bool(getattr(res, "log_scale", False))
    return (math.exp if ratio else (lambda v: v)), ratio


def _measure_name(res) -> str:
    m = str(res.measure).upper()
    return {"SMD": "SMD", "MD": "MD", "OR": "OR", "RR": "RR", "PETO": "OR", "RD": "RD"}.get(m, "Estimate")


def subgroup_table(blocks, by: list, *, time_label=str) -> tuple[pd.DataFrame, list]:
    """The subgroup table of one outcome from ``pool_blocks`` output; returns (table, notes).

    Time points with fewer than :data:`MIN_K_SUBGROUP` studies, and variables
    with one level at a time point, are named in the notes, not dropped silently.
    """
    from ..errors import EstimationError, InputError
    from ..meta.subgroup import subgroup_analysis

    rows, notes, name = [], [], "Estimate"
    for t, es, res in blocks:
        if isinstance(res, Exception) or res is None:
            notes.append(f"{time_label(t)}: not estimable ({res}).")
            continue
        name = _measure_name(res)
        if res.k < MIN_K_SUBGROUP:
            notes.append(f"{time_label(t)}: {res.k} studies, too few for subgroups (at least {MIN_K_SUBGROUP}).")
            continue
        tr, _ = _tr(res)
        first_t = True
        for var in by:
            if var not in es.data.columns or es.data[var].dropna().astype(str).nunique() < 2:
                notes.append(f"{time_label(t)}: {_label(var).lower()} has one level only.")
                continue
            try:
                sg = subgroup_analysis(es, var, res.method, knha=res.knha)
            except (EstimationError, InputError) as exc:
                notes.append(f"{time_label(t)}, {_label(var).lower()}: not estimable ({exc}).")
                continue
            for j, (level, r) in enumerate(zip(sg.levels, sg.results)):
                rows.append({"Time point": time_label(t) if first_t else "", "Subgroup": _label(var) if j == 0 else "",
                             "Level": str(level), "Studies (k)": r.k, name: tr(r.estimate),
                             "95% CI lower": tr(r.ci_low), "95% CI upper": tr(r.ci_high), "P": r.pval,
                             "I²": r.I2 if r.k > 1 else None,
                             "P (subgroup difference)": sg.Q_between_pval if j == 0 else None})
                first_t = False
    return pd.DataFrame(rows), notes


def sensitivity_table(blocks, *, time_label=str) -> tuple[pd.DataFrame, list]:
    """Leave-one-out at every time point of one outcome; returns (table, sentences)."""
    from ..meta.sensitivity import leave_one_out

    rows, sentences, name = [], [], "Estimate"
    for t, es, res in blocks:
        if isinstance(res, Exception) or res is None or res.k < MIN_K_SENSITIVITY:
            continue
        name = _measure_name(res)
        tr, _ = _tr(res)
        loo = leave_one_out(res)
        f = loo.to_frame()
        rows.append({"Time point": time_label(t), "Study omitted": "None (all studies)", "Studies (k)": res.k,
                     name: tr(res.estimate), "95% CI lower": tr(res.ci_low), "95% CI upper": tr(res.ci_high),
                     "P": res.pval, "I²": res.I2, "P (heterogeneity)": res.Q_pval})
        for _, r in f.iterrows():
            ok = str(r.get("status", "ok")) == "ok"
            rows.append({"Time point": "", "Study omitted": str(r["omitted"]), "Studies (k)": res.k - 1,
                         name: tr(r["estimate"]) if ok else None, "95% CI lower": tr(r["ci_low"]) if ok else None,
                         "95% CI upper": tr(r["ci_high"]) if ok else None, "P": r.get("pval") if ok else None,
                         "I²": r["I2"] if ok else None, "P (heterogeneity)": r.get("Q_pval") if ok else None})
        sentences += [f"{time_label(t)}: {s}" for s in loo.sentences]
    return pd.DataFrame(rows), sentences
