"""Review figures and tables in the layout of Liu et al. 2022.

- :func:`forest_by_timepoint`: one forest plot per outcome with the time
  points as blocks (study rows, a pooled diamond and the heterogeneity line
  per block), as the review's Figures 3–8;
- :func:`binary_outcome_table`: the review's Table 2 (clinical symptoms):
  per outcome and time point the number of studies, I² and its P value, the
  odds ratio with its 95% CI and P.

Numbers come from :func:`hepatostat.meta.effects` and
:func:`hepatostat.meta.pool` (the same calls the rest of the report uses).
"""

from __future__ import annotations

import math

import pandas as pd

__all__ = ["pool_blocks", "forest_by_timepoint", "split_blocks", "binary_outcome_table", "TIME_ORDER", "MAX_ROWS"]

#: rows of a page-wide block forest plot that still print at 90 % or more on an A4 page (0.155 in a row)
MAX_ROWS = 54

TIME_ORDER = ("baseline", "W1", "W2", "W4", "W8", "W12", "W24", "W48", "end of treatment")


def _time_key(t) -> tuple:
    t = str(t)
    if t in TIME_ORDER:
        return (0, TIME_ORDER.index(t), t)
    digits = "".join(ch for ch in t if ch.isdigit())
    return (1, int(digits) if digits else 0, t)


def time_label(t) -> str:
    t = str(t)
    if t.lower() == "baseline":
        return "Baseline"
    if t.upper().startswith("W") and t[1:].isdigit():
        return f"Week {t[1:]}"
    return t[:1].upper() + t[1:]


def pool_blocks(data: pd.DataFrame, outcome: str, *, measure=None, method="auto", outcome_col="outcome",
                time_col="timepoint", source=None):
    """[(timepoint, effects, pooled result or exception)] for one outcome, time points in order."""
    from .. import meta
    from ..errors import EstimationError, InputError

    sub = data[data[outcome_col].astype(str) == str(outcome)]
    blocks = []
    for t in sorted(sub[time_col].astype(str).unique(), key=_time_key):
        d = sub[sub[time_col].astype(str) == t]
        m = measure or (str(d["measure"].iloc[0]) if "measure" in d.columns else None)
        try:
            es = meta.effects(d, m, source=source)
            res = meta.pool(es, method)
            blocks.append((t, es, res))
        except (EstimationError, InputError) as exc:
            blocks.append((t, None, exc))
    return blocks


def forest_by_timepoint(blocks, *, outcome_label: str, favours=("lower with treatment", "higher with treatment")):
    """One forest plot, time points as blocks (the review's Figures 3–8), page wide.

    Each block: the studies with their arm data (mean (SD), n or events/total
    per arm), weight, effect and 95% CI as text, and the time point's pooled
    diamond with its heterogeneity line (:func:`hepatostat.meta.plots.forest_blocks`).
    """
    from ..meta.plots import forest_blocks

    return forest_blocks([(time_label(t), res) for t, _, res in blocks], title=outcome_label,
                         favours=("← " + favours[0], favours[1] + " →"))


def split_blocks(blocks, max_rows: int = MAX_ROWS) -> list:
    """``blocks`` in consecutive parts of at most ``max_rows`` plot rows (studies + 4 per block), so that
    each part is one page-high figure; a single block longer than that stays whole."""
    parts, cur, rows = [], [], 0
    for b in blocks:
        res = b[2]
        n = (0 if isinstance(res, Exception) or res is None else res.k) + 4
        if cur and rows + n > max_rows:
            parts.append(cur)
            cur, rows = [], 0
        cur.append(b)
        rows += n
    if cur:
        parts.append(cur)
    return parts


def binary_outcome_table(data: pd.DataFrame, *, method="auto", outcome_col="outcome", time_col="timepoint",
                         measure="OR", source=None, labels: dict | None = None) -> pd.DataFrame:
    """The review's Table 2: OR, CI, I² and P per outcome and time point (numbers, not text)."""
    rows = []
    for outcome in dict.fromkeys(data[outcome_col].astype(str)):
        blocks = pool_blocks(data, outcome, measure=measure, method=method, outcome_col=outcome_col,
                             time_col=time_col, source=source)
        for i, (t, es, res) in enumerate(blocks):
            row = {"Outcome": (labels or {}).get(outcome, outcome) if i == 0 else "", "Time point": time_label(t)}
            if isinstance(res, Exception):
                row.update({"Studies (k)": None, "I²": None, "P (heterogeneity)": None, "Odds ratio": None,
                            "95% CI lower": None, "95% CI upper": None, "P": None, "Model": f"not estimable: {res}"})
            else:
                ex = res.exp if isinstance(res.exp, dict) else {}
                row.update({"Studies (k)": res.k, "I²": res.I2, "P (heterogeneity)": res.Q_pval,
                            "Odds ratio": ex.get("estimate", math.exp(res.estimate)),
                            "95% CI lower": ex.get("ci_low", math.exp(res.ci_low)),
                            "95% CI upper": ex.get("ci_high", math.exp(res.ci_high)), "P": res.pval,
                            "Model": "random effects" if getattr(res, "random", False) else "fixed effect"})
            rows.append(row)
    return pd.DataFrame(rows)
